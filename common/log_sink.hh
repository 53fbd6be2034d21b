#pragma once

#include <string_view>
#include <utility>

#include <fmt/format.h>

namespace roster {

enum class log_level { debug, info, warn, error };

// Where the cores send their log lines. The daemon forwards to spdlog; tests and the simulation
// pass nothing or a recorder. The cores never log through a global.
class log_sink {
public:
    virtual ~log_sink() = default;
    [[nodiscard]] virtual bool enabled(log_level level) const = 0;
    virtual void write(log_level level, std::string_view line) = 0;
};

// Formats and writes only when the sink is there and wants the level.
template <typename... Args>
void log_to(log_sink* sink, log_level level, fmt::format_string<Args...> format, Args&&... args) {
    if (sink != nullptr && sink->enabled(level)) {
        sink->write(level, fmt::format(format, std::forward<Args>(args)...));
    }
}

} // namespace roster
