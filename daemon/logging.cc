#include "daemon/logging.hh"

#include <cstdio>
#include <mutex>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>

#include "common/escape.hh"

namespace roster::daemon {

namespace {

// Log lines carry names, addresses and error texts from the network (and from the cores, through
// spdlog_sink). Both sinks escape every message here, the one place every line passes whoever wrote
// it, so that call sites never escape (and never escape twice).

// One line per event on stderr, the message through escape_for_terminal: a name with a newline
// cannot forge a line, one with an escape sequence cannot reach the terminal that shows the log.
class text_sink final : public spdlog::sinks::base_sink<std::mutex> {
protected:
    void sink_it_(const spdlog::details::log_msg& msg) override {
        const std::string escaped =
            escape_for_terminal(std::string_view(msg.payload.data(), msg.payload.size()));
        spdlog::details::log_msg shown = msg;
        shown.payload = spdlog::string_view_t(escaped.data(), escaped.size());
        spdlog::memory_buf_t line;
        formatter_->format(shown, line);
        std::fwrite(line.data(), 1, line.size(), stderr);
    }
    void flush_() override { std::fflush(stderr); }
};

// One JSON object per line on stderr; the message is escaped here (a pattern cannot), into valid
// JSON whatever bytes it holds.
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
        line += escape_json(std::string_view(msg.logger_name.data(), msg.logger_name.size()));
        line += "\",\"msg\":\"";
        line += escape_json(std::string_view(msg.payload.data(), msg.payload.size()));
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
        logger = std::make_shared<spdlog::logger>("rosterd", std::make_shared<text_sink>());
        logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ %v");
    }
    logger->set_level(spdlog::level::from_str(level));
    logger->flush_on(spdlog::level::info);
    return logger;
}

} // namespace roster::daemon
