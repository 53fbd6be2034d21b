#include <filesystem>
#include <fstream>
#include <unistd.h>

#include <gtest/gtest.h>

#include "tests/temp_dir.hh"

#include "daemon/metrics_auth.hh"

namespace roster::daemon {
namespace {

metrics_auth parsed(std::string_view text) {
    auto a = metrics_auth::parse(text, "auth.txt");
    EXPECT_TRUE(a.ok()) << (a.ok() ? "" : a.error());
    return std::move(a).value();
}

std::string error_of(std::string_view text) {
    auto a = metrics_auth::parse(text, "auth.txt");
    EXPECT_FALSE(a.ok()) << "accepted: " << text;
    return a.ok() ? "" : a.error();
}

TEST(constant_time_equal, equal_only_for_the_same_bytes_and_length) {
    EXPECT_TRUE(constant_time_equal("secret", "secret"));
    EXPECT_TRUE(constant_time_equal("", ""));
    EXPECT_FALSE(constant_time_equal("secreT", "secret"));
    EXPECT_FALSE(constant_time_equal("secret", "secrets"));
    EXPECT_FALSE(constant_time_equal("secrets", "secret"));
    EXPECT_FALSE(constant_time_equal("secretsecret", "secret")); // the wrap-around is not a match
    EXPECT_FALSE(constant_time_equal("", "secret"));
    EXPECT_FALSE(constant_time_equal("x", ""));
    EXPECT_TRUE(constant_time_equal(std::string_view("a\0b", 3), std::string_view("a\0b", 3)));
    EXPECT_FALSE(constant_time_equal(std::string_view("a\0b", 3), std::string_view("a\0c", 3)));
}

TEST(metrics_auth, users_comments_and_blank_lines) {
    const auto a = parsed("# who may scrape\n"
                          "prometheus:s3cret:with:colons\n"
                          "\n"
                          "   # indented comment\n"
                          "grafana:p@ss word\r\n");
    EXPECT_EQ(a.size(), 2u);
    EXPECT_TRUE(a.allows("prometheus", "s3cret:with:colons"));
    EXPECT_TRUE(a.allows("grafana", "p@ss word")); // the CR of a CRLF file is not part of it
    EXPECT_FALSE(a.allows("prometheus", "p@ss word"));
    EXPECT_FALSE(a.allows("grafana", "s3cret:with:colons"));
    EXPECT_FALSE(a.allows("prometheus", "s3cret"));
    EXPECT_FALSE(a.allows("prometheus", ""));
    EXPECT_FALSE(a.allows("", ""));
    EXPECT_FALSE(a.allows("nobody", "s3cret:with:colons"));
    EXPECT_FALSE(a.allows("Prometheus", "s3cret:with:colons"));
}

TEST(metrics_auth, a_bad_line_names_the_file_and_the_line_but_not_the_password) {
    for (const auto& [text, line, why] : std::vector<std::tuple<std::string, int, std::string>>{
             {"ok:fine\nno-colon-here\n", 2, "no colon; each line is user:password"},
             {":hunter2\n", 1, "the user name is empty"},
             {"# c\n\nalice:\n", 3, "the password is empty"},
             {"al ice:hunter2\n", 1, "printable ASCII only, without spaces"},
             {"alice: hunter2\n", 1, "begins or ends with a space"},
             {"alice:hunter2 \n", 1, "begins or ends with a space"},
             {"alice:hun\tter2\n", 1, "control character"},
             {"alice:hunter2\nbob:x\nalice:other\n", 3, "user 'alice' appears twice"},
             {std::string(256, 'u') + ":hunter2\n", 1, "longer than 255 bytes"},
             {"alice:" + std::string(1025, 'p') + "\n", 1, "longer than 1024 bytes"},
         }) {
        const auto e = error_of(text);
        EXPECT_NE(e.find("--metrics-auth-file auth.txt, line " + std::to_string(line) + ": "),
                  std::string::npos)
            << e;
        EXPECT_NE(e.find(why), std::string::npos) << e;
        EXPECT_EQ(e.find("hunter2"), std::string::npos) << e;
    }
}

TEST(metrics_auth, a_file_without_users_is_refused) {
    for (const char* text : {"", "\n\n", "# only a comment\n"}) {
        EXPECT_NE(error_of(text).find("--metrics-auth-file auth.txt: no user:password line"),
                  std::string::npos);
    }
}

class metrics_auth_file : public ::testing::Test {
protected:

    std::string write(const std::string& text, std::filesystem::perms mode) {
        const auto path = (_dir.path() / "auth").string();
        std::ofstream(path) << text;
        std::filesystem::permissions(path, mode);
        return path;
    }

    roster::testing::temp_dir _dir{"metrics-auth-test"};
};

TEST_F(metrics_auth_file, an_owner_only_file_loads) {
    using p = std::filesystem::perms;
    const auto path = write("prometheus:s3cret\n", p::owner_read | p::owner_write);
    auto a = metrics_auth::load(path);
    ASSERT_TRUE(a.ok()) << a.error();
    EXPECT_TRUE(a->allows("prometheus", "s3cret"));
}

TEST_F(metrics_auth_file, a_file_others_may_read_is_refused_with_its_mode) {
    using p = std::filesystem::perms;
    const auto path =
        write("prometheus:s3cret\n", p::owner_read | p::owner_write | p::group_read | p::others_read);
    auto a = metrics_auth::load(path);
    ASSERT_FALSE(a.ok());
    EXPECT_EQ(a.error(),
              "--metrics-auth-file " + path + ": mode 0644, must not be readable by others (chmod 600)");
}

TEST_F(metrics_auth_file, a_missing_file_says_so) {
    auto a = metrics_auth::load((_dir.path() / "absent").string());
    ASSERT_FALSE(a.ok());
    EXPECT_EQ(a.error(), "--metrics-auth-file " + (_dir.path() / "absent").string() + ": No such file or directory");
}

} // namespace
} // namespace roster::daemon
