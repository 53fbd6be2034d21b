#pragma once

#include <memory>
#include <string>

#include <spdlog/spdlog.h>

#include "common/log_sink.hh"

namespace roster::daemon {

// Sets up the process logger on stderr: `format` "text" (one line per event, human first) or
// "json" (one JSON object per line: time, level, msg). `level` is a spdlog level name. Every
// message is escaped by the sink (common/escape.hh): a text line shows control characters and
// invalid UTF-8 as escapes, a JSON line is valid JSON; log calls pass strings from the network as
// they are.
std::shared_ptr<spdlog::logger> make_logger(const std::string& format, const std::string& level);

// Hands the cores' log lines to spdlog.
class spdlog_sink final : public log_sink {
public:
    explicit spdlog_sink(std::shared_ptr<spdlog::logger> logger)
        : _logger(std::move(logger)) {}
    [[nodiscard]] bool enabled(log_level level) const override { return _logger->should_log(convert(level)); }
    void write(log_level level, std::string_view line) override { _logger->log(convert(level), "{}", line); }

private:
    static spdlog::level::level_enum convert(log_level l) {
        switch (l) {
        case log_level::debug:
            return spdlog::level::debug;
        case log_level::info:
            return spdlog::level::info;
        case log_level::warn:
            return spdlog::level::warn;
        case log_level::error:
            return spdlog::level::err;
        }
        return spdlog::level::info;
    }

    std::shared_ptr<spdlog::logger> _logger;
};

} // namespace roster::daemon
