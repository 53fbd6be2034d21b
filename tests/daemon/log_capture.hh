#pragma once

#include <memory>
#include <sstream>
#include <string>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

namespace roster::daemon {

// A logger whose lines (the message only, one per line) the test reads back.
struct log_capture {
    std::ostringstream lines;
    std::shared_ptr<spdlog::logger> logger;

    explicit log_capture(spdlog::level::level_enum level = spdlog::level::info)
        : logger(std::make_shared<spdlog::logger>("test",
                                                  std::make_shared<spdlog::sinks::ostream_sink_st>(lines))) {
        logger->set_pattern("%v");
        logger->set_level(level);
    }
    [[nodiscard]] std::string text() const { return lines.str(); }
    // How many lines contain `part`.
    [[nodiscard]] int count(const std::string& part) const {
        std::istringstream in(lines.str());
        int n = 0;
        for (std::string line; std::getline(in, line);) {
            n += line.find(part) != std::string::npos ? 1 : 0;
        }
        return n;
    }
};

} // namespace roster::daemon
