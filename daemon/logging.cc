#include "daemon/logging.hh"

#include <cstdio>
#include <mutex>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

namespace roster::daemon {

namespace {

// One JSON object per line on stderr; the message is escaped here (a pattern cannot).
class json_sink final : public spdlog::sinks::base_sink<std::mutex> {
protected:
    void sink_it_(const spdlog::details::log_msg& msg) override {
        std::string line;
        line.reserve(msg.payload.size() + 96);
        const auto t =
            std::chrono::duration_cast<std::chrono::microseconds>(msg.time.time_since_epoch()).count();
        line += "{\"time_us\":" + std::to_string(t) + ",\"level\":\"";
        const auto level = spdlog::level::to_string_view(msg.level);
        line.append(level.data(), level.size());
        line += "\",\"logger\":\"";
        line.append(msg.logger_name.data(), msg.logger_name.size());
        line += "\",\"msg\":\"";
        for (char c : std::string_view(msg.payload.data(), msg.payload.size())) {
            switch (c) {
            case '"':
                line += "\\\"";
                break;
            case '\\':
                line += "\\\\";
                break;
            case '\n':
                line += "\\n";
                break;
            case '\t':
                line += "\\t";
                break;
            default:
                if (static_cast<unsigned char>(c) < 0x20) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
                    line += buf;
                } else {
                    line += c;
                }
            }
        }
        line += "\"}\n";
        std::fwrite(line.data(), 1, line.size(), stderr);
    }
    void flush_() override { std::fflush(stderr); }
};

} // namespace

std::shared_ptr<spdlog::logger> make_logger(const std::string& format, const std::string& level) {
    std::shared_ptr<spdlog::logger> logger;
    if (format == "json") {
        logger = std::make_shared<spdlog::logger>("rosterd", std::make_shared<json_sink>());
    } else {
        logger =
            std::make_shared<spdlog::logger>("rosterd", std::make_shared<spdlog::sinks::stderr_sink_mt>());
        logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ %v");
    }
    logger->set_level(spdlog::level::from_str(level));
    logger->flush_on(spdlog::level::info);
    return logger;
}

} // namespace roster::daemon
