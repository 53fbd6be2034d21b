// The daemon's log lines, as they reach stderr: whatever a member or peer put into a name or an
// error text, a text line stays one line without an escape sequence, and a JSON line stays valid
// JSON (valid UTF-8, every control character escaped).
#include <gtest/gtest.h>

#include "common/escape.hh"
#include "daemon/logging.hh"

namespace roster::daemon {
namespace {

// What one log call writes to stderr.
template <typename... Args>
std::string logged(const std::string& format, spdlog::format_string_t<Args...> pattern, Args&&... args) {
    auto logger = make_logger(format, "info");
    ::testing::internal::CaptureStderr();
    logger->info(pattern, std::forward<Args>(args)...);
    logger->flush();
    return ::testing::internal::GetCapturedStderr();
}

const std::string hostile = "evil\x1b]0;owned\x07\x1b[2J\nINFO forged line\r\t\xc2\x9b"
                            "31m\xff\"\\";

TEST(logging, a_text_line_shows_control_characters_and_bad_bytes_as_escapes) {
    const std::string line = logged("text", "member 7 '{}' joined in view 3", hostile);
    EXPECT_EQ(line.find('\x1b'), std::string::npos) << line;
    EXPECT_EQ(line.find('\r'), std::string::npos) << line;
    EXPECT_EQ(line.find('\n'), line.size() - 1) << "one line: " << line;
    EXPECT_TRUE(is_valid_utf8(line)) << line;
    EXPECT_NE(
        line.find("member 7 'evil\\x1b]0;owned\\x07\\x1b[2J\\nINFO forged line\\r\\t\\u009b31m\\xff\"\\' "
                  "joined in view 3"),
        std::string::npos)
        << line;
}

TEST(logging, a_json_line_is_valid_json_whatever_the_message_holds) {
    const std::string line = logged("json", "member 7 '{}' joined", hostile);
    EXPECT_EQ(line.find('\n'), line.size() - 1) << "one line: " << line;
    EXPECT_TRUE(is_valid_utf8(line)) << line;
    EXPECT_FALSE(find_text_flaw(line.substr(0, line.size() - 1))) << "no raw control character: " << line;
    EXPECT_NE(
        line.find("\"msg\":\"member 7 'evil\\u001b]0;owned\\u0007\\u001b[2J\\nINFO forged line\\r\\t\\u009b"
                  "31m\\ufffd\\\"\\\\' joined\"}"),
        std::string::npos)
        << line;
    EXPECT_EQ(line.rfind("{\"time_us\":", 0), 0u) << line;
}

TEST(logging, plain_lines_are_unchanged) {
    EXPECT_NE(logged("text", "view {} committed: {} members", 4, 3).find(" view 4 committed: 3 members\n"),
              std::string::npos);
    EXPECT_NE(logged("json", "member '{}' joined", "Zürich-1").find("\"msg\":\"member 'Zürich-1' joined\"}"),
              std::string::npos);
}

} // namespace
} // namespace roster::daemon
