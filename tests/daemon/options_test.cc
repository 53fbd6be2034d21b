#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "daemon/options.hh"
#include "tests/temp_dir.hh"

namespace roster::daemon {
namespace {

namespace fs = std::filesystem;

result<options, exit_now> parse(std::vector<std::string> args) {
    args.insert(args.begin(), "rosterd");
    std::vector<char*> argv;
    for (auto& a : args) {
        argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    return parse_options(static_cast<int>(args.size()), argv.data());
}

// $TMPDIR pointed at an empty directory of the test's own for as long as it lives.
class temporary_tmpdir {
public:
    temporary_tmpdir() {
        const char* old = std::getenv("TMPDIR");
        _old = old != nullptr ? std::optional<std::string>(old) : std::nullopt;
        ::setenv("TMPDIR", dir().c_str(), 1);
    }
    ~temporary_tmpdir() {
        if (_old) {
            ::setenv("TMPDIR", _old->c_str(), 1);
        } else {
            ::unsetenv("TMPDIR");
        }
    }
    [[nodiscard]] const fs::path& dir() const { return _tmp.path(); }
    [[nodiscard]] bool empty() const { return fs::is_empty(dir()); }

private:
    const roster::testing::temp_dir _tmp{"roster-options-test"};
    std::optional<std::string> _old;
};

// Found by fuzz/options.cc: the --peer-listen of --dev was parsed with .value() on its result.
TEST(options, dev_with_a_bad_peer_listen_is_an_error_not_a_crash) {
    const temporary_tmpdir tmp;
    const auto r = parse({"--dev", "--peer-listen", "127.0.0.1:99999"});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, 2);
    EXPECT_EQ(r.error().message,
              "rosterd: --peer-listen: '127.0.0.1:99999' is not HOST:PORT (port must be 1..65535)");
    EXPECT_TRUE(tmp.empty());
}

TEST(options, dev_makes_its_temporary_data_dir_in_tmpdir) {
    const temporary_tmpdir tmp;
    const auto r = parse({"--dev", "--peer-listen", "127.0.0.1:7501"});
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_TRUE(r->dev_temporary_dir);
    EXPECT_EQ(fs::path(r->data_dir).parent_path(), tmp.dir());
    EXPECT_TRUE(fs::is_directory(r->data_dir));
    ASSERT_EQ(r->voters.size(), 1u);
    EXPECT_EQ(r->voters[0].second.port, 7501);
}

// A refused command line leaves no temporary data dir behind (one was made before the checks).
TEST(options, a_refused_dev_command_line_leaves_no_directory) {
    const temporary_tmpdir tmp;
    const auto both = parse({"--dev", "--join", "127.0.0.1:7400"});
    ASSERT_FALSE(both);
    EXPECT_NE(both.error().message.find("either a voter"), std::string::npos) << both.error().message;
    const auto unsecured = parse({"--dev", "--listen", "10.1.2.3:7400"});
    ASSERT_FALSE(unsecured);
    EXPECT_NE(unsecured.error().message.find("not a loopback address"), std::string::npos)
        << unsecured.error().message;
    EXPECT_TRUE(tmp.empty());
}

TEST(options, dev_keeps_a_given_data_dir) {
    const temporary_tmpdir tmp;
    const auto r = parse({"--dev", "--data-dir", (tmp.dir() / "mine").string()});
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_FALSE(r->dev_temporary_dir);
    EXPECT_EQ(r->data_dir, (tmp.dir() / "mine").string());
    EXPECT_TRUE(tmp.empty()) << "parsing creates no directory of its own";
}

} // namespace
} // namespace roster::daemon

// ---- tags (issue 15) --------------------------------------------------------------------------

namespace roster::daemon {
namespace {

TEST(options, tags_are_key_value_pairs_within_the_bounds_of_a_join) {
    auto r = parse({"--dev", "--data-dir", "/nonexistent-roster-test", "--tag", "role=scheduler", "--tag", "zone=a=b",
                    "--tag", "empty=", "--metrics-tag-keys", "role,zone"});
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->tags, (std::vector<views::tag>{{"role", "scheduler"}, {"zone", "a=b"}, {"empty", ""}}));
    EXPECT_EQ(r->metrics_tag_keys, (std::vector<std::string>{"role", "zone"}));

    r = parse({"--dev", "--data-dir", "/nonexistent-roster-test", "--tag", "role"});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, 2);
    EXPECT_EQ(r.error().message, "rosterd: --tag role: expected KEY=VALUE");
    r = parse({"--dev", "--data-dir", "/nonexistent-roster-test", "--tag", "=x"});
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("--tag: the key of tag 1"), std::string::npos) << r.error().message;
    r = parse({"--dev", "--data-dir", "/nonexistent-roster-test", "--tag", "k=" + std::string(300, 'v')});
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("--tag: the value of tag 1"), std::string::npos) << r.error().message;
    r = parse({"--dev", "--data-dir", "/nonexistent-roster-test", "--metrics-tag-keys", "a,,b"});
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("--metrics-tag-keys: key 2"), std::string::npos) << r.error().message;
    r = parse({"--dev", "--data-dir", "/nonexistent-roster-test", "--metrics-tag-keys", "a,b,c,d,e,f,g,h,i"});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message, "rosterd: --metrics-tag-keys names 9 keys, at most 8");
}

TEST(options, tags_come_from_a_config_file_as_a_list) {
    const roster::testing::temp_dir dir("roster-options-tags");
    const auto toml = dir.path() / "rosterd.toml";
    std::ofstream(toml) << "dev = true\ndata-dir = \"/nonexistent-roster-test\"\ntag = [\"role=scheduler\", \"zone=a\"]\n";
    const auto r = parse({"--config", toml.string()});
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->tags, (std::vector<views::tag>{{"role", "scheduler"}, {"zone", "a"}}));
}

} // namespace
} // namespace roster::daemon
