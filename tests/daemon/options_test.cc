#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "auth/keys.hh"
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

// Found by fuzz/options.cc: the message for a parse error named the config file with
// as<std::string>(), which threw (uncaught) when --config was given twice.
TEST(options, config_given_twice_is_an_error_not_a_crash) {
    const roster::testing::temp_dir dir{"roster-options-test"};
    const auto file = (dir.path() / "a.toml").string();
    std::ofstream(file) << "name = \"a\"\n";
    const auto r = parse({"--config", file, "--config", file});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, 2);
    EXPECT_NE(r.error().message.find("--config"), std::string::npos) << r.error().message;
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


// --- numbers: the range in the message, "not a number" for a word --------------------------------

// A voter on loopback with `extra` flags.
result<options, exit_now> voter_flags(std::vector<std::string> extra) {
    std::vector<std::string> args{"--voter-id", "1", "--voters", "1@127.0.0.1:7401", "--data-dir", "/tmp/unused"};
    args.insert(args.end(), extra.begin(), extra.end());
    return parse(args);
}

// The message of a refused command line, which must exit 2.
std::string refusal(const result<options, exit_now>& r) {
    if (r) {
        return "(accepted)";
    }
    EXPECT_EQ(r.error().code, exit_usage) << r.error().message;
    return r.error().message;
}

TEST(options, a_number_out_of_range_states_the_range) {
    EXPECT_EQ(refusal(voter_flags({"--metrics-member-limit", "-1"})),
              "rosterd: --metrics-member-limit -1: must be between 0 and 1000000");
    EXPECT_EQ(refusal(voter_flags({"--heartbeat-interval-ms", "5"})),
              "rosterd: --heartbeat-interval-ms 5: must be between 10 and 60000");
    EXPECT_EQ(refusal(voter_flags({"--phi-threshold", "100.5"})),
              "rosterd: --phi-threshold 100.5: must be between 0.5 and 100");
    EXPECT_EQ(refusal(voter_flags({"--max-members", "99999999999999999999999"})),
              "rosterd: --max-members 99999999999999999999999: must be between 1 and 10000000");
    EXPECT_EQ(refusal(parse({"--voter-id", "0", "--voters", "1@127.0.0.1:7401", "--data-dir", "/tmp/x"})),
              "rosterd: --voter-id 0: must be between 1 and 4294967295");
    EXPECT_EQ(refusal(voter_flags({"--metrics-threads", "1"})),
              "rosterd: --metrics-threads 1: must be between 2 and 4096");
    EXPECT_EQ(refusal(voter_flags({"--metrics-request-timeout-ms", "60001"})),
              "rosterd: --metrics-request-timeout-ms 60001: must be between 100 and 60000");
    EXPECT_EQ(refusal(voter_flags({"--join-settle-ms", "-5"})),
              "rosterd: --join-settle-ms -5: must be between 0 and 10000");
    EXPECT_EQ(refusal(voter_flags({"--election-timeout-ms", "49"})),
              "rosterd: --election-timeout-ms 49: must be between 50 and 10000");
    EXPECT_EQ(refusal(voter_flags({"--removal-settle-ms", "10001"})),
              "rosterd: --removal-settle-ms 10001: must be between 0 and 10000");
}

// bench/scale plays thousands of members over a few connections; the per-connection join budget
// is raised for it through the environment, and a bad value is refused like a bad flag.
TEST(options, the_join_budget_is_read_from_the_environment_and_a_bad_one_is_refused) {
    struct unset_at_exit {
        ~unset_at_exit() { ::unsetenv("ROSTER_JOIN_BUDGET"); }
    } restore;
    auto defaults = voter_flags({});
    ASSERT_TRUE(defaults);
    EXPECT_EQ(defaults.value().join_burst, 20);
    EXPECT_EQ(defaults.value().joins_per_second, 10);
    ::setenv("ROSTER_JOIN_BUDGET", "5000/2500.5", 1);
    auto raised = voter_flags({});
    ASSERT_TRUE(raised);
    EXPECT_EQ(raised.value().join_burst, 5000);
    EXPECT_EQ(raised.value().joins_per_second, 2500.5);
    // Each number read like a flag's (read_number), what is printed escaped.
    const std::pair<const char*, const char*> refused[] = {
        {"5000", "ROSTER_JOIN_BUDGET=5000: expected BURST/RATE (joins at once, then a second)"},
        {"5000/", "ROSTER_JOIN_BUDGET rate : not a number (must be between 1 and 1000000)"},
        {"/10", "ROSTER_JOIN_BUDGET burst : not a number (must be between 1 and 1000000)"},
        {"0/10", "ROSTER_JOIN_BUDGET burst 0: must be between 1 and 1000000"},
        {"10/0", "ROSTER_JOIN_BUDGET rate 0: must be between 1 and 1000000"},
        {"x/10", "ROSTER_JOIN_BUDGET burst x: not a number (must be between 1 and 1000000)"},
        {"10/1e7", "ROSTER_JOIN_BUDGET rate 1e7: must be between 1 and 1000000"},
        {"10/10/10", "ROSTER_JOIN_BUDGET rate 10/10: not a number (must be between 1 and 1000000)"},
        {"10 /10", "ROSTER_JOIN_BUDGET burst 10 : not a number (must be between 1 and 1000000)"},
        {"\x1b[2J10", "ROSTER_JOIN_BUDGET=\\x1b[2J10: expected BURST/RATE (joins at once, then a second)"},
    };
    for (const auto& [bad, why] : refused) {
        ::setenv("ROSTER_JOIN_BUDGET", bad, 1);
        EXPECT_EQ(refusal(voter_flags({})), std::string("rosterd: ") + why) << bad;
    }
}

TEST(options, a_word_where_a_number_belongs_is_not_a_number) {
    EXPECT_EQ(refusal(voter_flags({"--phi-threshold", "abc"})),
              "rosterd: --phi-threshold abc: not a number (must be between 0.5 and 100)");
    EXPECT_EQ(refusal(voter_flags({"--phi-threshold", "nan"})),
              "rosterd: --phi-threshold nan: not a number (must be between 0.5 and 100)");
    EXPECT_EQ(refusal(voter_flags({"--heartbeat-interval-ms", "100ms"})),
              "rosterd: --heartbeat-interval-ms 100ms: not a number (must be between 10 and 60000)");
    EXPECT_EQ(refusal(parse({"--voter-id", "one", "--voters", "1@127.0.0.1:7401", "--data-dir", "/tmp/x"})),
              "rosterd: --voter-id one: not a number (must be between 1 and 4294967295)");
    EXPECT_EQ(refusal(voter_flags({"--max-members", "2.5"})),
              "rosterd: --max-members 2.5: not a whole number (must be between 1 and 10000000)");
    EXPECT_EQ(refusal(voter_flags({"--metrics-member-limit", ""})),
              "rosterd: --metrics-member-limit : not a number (must be between 0 and 1000000)");
}

TEST(options, the_ends_of_each_range_are_accepted) {
    const auto low = voter_flags({"--heartbeat-interval-ms", "10", "--phi-threshold", "0.5", "--metrics-member-limit",
                                 "0", "--max-members", "1", "--join-settle-ms", "0", "--election-timeout-ms", "50"});
    ASSERT_TRUE(low) << low.error().message;
    EXPECT_EQ(low->heartbeat_interval_ms, 10);
    EXPECT_EQ(low->election_timeout_ms, 50);
    EXPECT_EQ(low->phi_threshold, 0.5);
    EXPECT_EQ(low->metrics_member_limit, 0u);
    EXPECT_EQ(low->max_members, 1u);
    const auto high = voter_flags({"--heartbeat-interval-ms", "60000", "--phi-threshold", "1e2", "--max-members",
                                  "10000000", "--metrics-threads", "4096", "--election-timeout-ms", "10000"});
    ASSERT_TRUE(high) << high.error().message;
    EXPECT_EQ(high->phi_threshold, 100.0);
    EXPECT_EQ(high->max_members, 10'000'000u);
    EXPECT_EQ(high->metrics_threads, 4096u);
    EXPECT_EQ(high->election_timeout_ms, 10'000);
}

// --- endpoints ---------------------------------------------------------------------------------

TEST(options, an_election_timeout_ceiling_below_its_floor_is_refused) {
    EXPECT_EQ(refusal(voter_flags({"--election-timeout-ms", "500", "--election-timeout-max-ms", "400"})),
              "rosterd: --election-timeout-max-ms (400) must be at least --election-timeout-ms (500); give both the "
              "same value for a timeout that does not adapt");
    const auto fixed = voter_flags({"--election-timeout-ms", "500", "--election-timeout-max-ms", "500"});
    ASSERT_TRUE(fixed) << fixed.error().message;
    EXPECT_EQ(fixed->election_timeout_max_ms, 500);
    EXPECT_EQ(refusal(voter_flags({"--election-timeout-max-ms", "60001"})),
              "rosterd: --election-timeout-max-ms 60001: must be between 50 and 60000");
}

TEST(options, two_voters_on_one_endpoint_are_refused) {
    EXPECT_EQ(refusal(parse({"--voter-id", "1", "--voters", "1@127.0.0.1:7401,2@127.0.0.1:7401,3@127.0.0.1:7405",
                             "--data-dir", "/tmp/x"})),
              "rosterd: --voters: voters 1 and 2 are both at 127.0.0.1:7401; each voter needs its own endpoint");
    EXPECT_EQ(refusal(parse({"--voter-id", "1", "--voters", "1@127.0.0.1:7401,1@127.0.0.1:7402,3@127.0.0.1:7405",
                             "--data-dir", "/tmp/x"})),
              "rosterd: --voters: voter id 1 appears twice");
    EXPECT_EQ(refusal(parse({"--join", "127.0.0.1:7400,127.0.0.1:7400"})),
              "rosterd: --join: 127.0.0.1:7400 appears twice");
}

TEST(options, two_sockets_of_this_node_on_one_port_are_refused) {
    EXPECT_EQ(refusal(voter_flags({"--publish", "127.0.0.1:7400"})),
              "rosterd: --listen 127.0.0.1:7400 and --publish 127.0.0.1:7400 share a port; each socket "
              "needs its own");
    EXPECT_EQ(refusal(voter_flags({"--metrics-listen", "127.0.0.1:7401"})),
              "rosterd: --metrics-listen 127.0.0.1:7401 and --peer-listen 127.0.0.1:7401 share a port; each "
              "socket needs its own");
    // A wildcard host covers every address.
    EXPECT_NE(refusal(voter_flags({"--insecure", "--listen", "0.0.0.0:7500", "--publish", "127.0.0.1:7500"}))
                  .find("share a port"),
              std::string::npos);
    // The same port on two addresses is two sockets.
    const auto r = voter_flags({"--insecure", "--listen", "127.0.0.1:7500", "--publish", "127.0.0.2:7500"});
    EXPECT_TRUE(r) << r.error().message;
}

// --- CLI11's errors all exit 2 (not 103, 105, 106, 109) -----------------------------------------

TEST(options, every_parse_error_exits_2_with_one_line) {
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"--no-such-flag"},
             {"--dev", "--listen"},
             {"--dev", "--log-format", "xml"},
             {"--dev", "--listen", "127.0.0.1:7500", "--listen", "127.0.0.1:7501"},
             {"--dev", "stray"},
             {"--config", "/nonexistent/rosterd.toml"},
         }) {
        const auto r = parse(args);
        ASSERT_FALSE(r) << args.front();
        EXPECT_EQ(r.error().code, exit_usage) << r.error().message;
        EXPECT_EQ(r.error().message.rfind("rosterd: ", 0), 0u) << r.error().message;
        EXPECT_EQ(r.error().message.find('\n'), std::string::npos) << r.error().message;
    }
    EXPECT_NE(parse({"--config", "/nonexistent/rosterd.toml"}).error().message.find("/nonexistent/rosterd.toml"),
              std::string::npos);
}

TEST(options, help_and_version_exit_0) {
    const auto help = parse({"--help"});
    ASSERT_FALSE(help);
    EXPECT_EQ(help.error().code, exit_ok);
    const auto version = parse({"--version"});
    ASSERT_FALSE(version);
    EXPECT_EQ(version.error().code, exit_ok);
}

// --- the config file -----------------------------------------------------------------------------

// A TOML file in a directory of its own.
class config_file {
public:
    explicit config_file(const std::string& text) {
        std::ofstream(path()) << text;
    }
    [[nodiscard]] std::string path() const { return (_dir.path() / "rosterd.toml").string(); }
    [[nodiscard]] const fs::path& dir() const { return _dir.path(); }

private:
    const roster::testing::temp_dir _dir{"roster-config-test"};
};

TEST(options, an_unknown_key_in_the_config_file_is_refused_with_its_name_and_the_file) {
    const config_file f("voter-id = 1\nvoters = \"1@127.0.0.1:7401\"\ndata-dir = \"/tmp/x\"\nbogus-key = 3\n");
    EXPECT_EQ(refusal(parse({"--config", f.path()})),
              "rosterd: --config " + f.path() +
                  ": unknown key 'bogus-key' (the keys are the flag names without the dashes, see rosterd --help)");
    const config_file typo("voter-id = 1\nvoters = \"1@127.0.0.1:7401\"\ndata-dir = \"/tmp/x\"\n"
                           "heartbeat-interval = 50\n");
    EXPECT_EQ(refusal(parse({"--config", typo.path()})),
              "rosterd: --config " + typo.path() +
                  ": unknown key 'heartbeat-interval' (the keys are the flag names without the dashes, see rosterd "
                  "--help); did you mean 'heartbeat-interval-ms'?");
    const config_file section("[voter]\nid = 1\n");
    EXPECT_EQ(refusal(parse({"--config", section.path()})),
              "rosterd: --config " + section.path() +
                  ": unknown section [voter] (the keys are the flag names, without sections)");
    // What only the command line may say.
    const config_file check("check-config = true\n");
    EXPECT_NE(refusal(parse({"--config", check.path()})).find("check-config"), std::string::npos);
}

TEST(options, a_bad_number_in_the_config_file_is_refused_like_on_the_command_line) {
    const config_file f("voter-id = 1\nvoters = \"1@127.0.0.1:7401\"\ndata-dir = \"/tmp/x\"\n"
                        "phi-threshold = \"abc\"\n");
    EXPECT_EQ(refusal(parse({"--config", f.path()})),
              "rosterd: --phi-threshold abc: not a number (must be between 0.5 and 100)");
}

// CLI11 alone cut a line at a '#' inside quotes: a Z85 key with a '#' in --voter-keys was lost.
TEST(options, a_hash_inside_quotes_is_a_value_and_outside_a_comment) {
    const roster::testing::temp_dir dir{"roster-hash"};
    const auto key_path = (dir.path() / "k").string();
    const auto pair = auth::generate_key_pair();
    ASSERT_TRUE(pair);
    ASSERT_FALSE(auth::write_key_files(key_path, pair.value()));
    // A voter key with a '#' in its Z85 text (about 4 keys in 10 have one).
    std::optional<auth::curve_key> voter;
    for (int i = 0; i < 200 && !voter; ++i) {
        const auto k = auth::generate_key_pair();
        ASSERT_TRUE(k);
        if (k->public_key.z85().find('#') != std::string::npos) {
            voter = k->public_key;
        }
    }
    ASSERT_TRUE(voter);
    const config_file f("join = \"1@127.0.0.1:7400\" # the voter\n"
                        "key-file = \"" + key_path + "\"\n"
                        "voter-keys = \"1=" + voter->z85() + "\"   # one voter\n"
                        "name = 'a#b'\n"
                        "heartbeat-interval-ms = 250 # ms\n");
    const auto r = parse({"--config", f.path()});
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->voter_keys.at(voter_id(1)), *voter);
    EXPECT_EQ(r->name, "a#b");
    EXPECT_EQ(r->heartbeat_interval_ms, 250);
}

TEST(options, the_command_line_wins_over_the_config_file) {
    const config_file f("voter-id = 1\nvoters = \"1@127.0.0.1:7401\"\ndata-dir = \"/tmp/x\"\n"
                        "heartbeat-interval-ms = 50\n");
    const auto r = parse({"--config", f.path(), "--heartbeat-interval-ms", "70"});
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->heartbeat_interval_ms, 70);
}

// Every key of config_keys() set to a value other than its default, in one of two files (a
// voter's and a secured member's, since some keys exclude others), and read into the options. A
// flag added without a row here fails the first check: add the row (and the key to
// packaging/rosterd.toml, which tests/packaging checks).
TEST(options, every_config_key_is_read) {
    const roster::testing::temp_dir dir{"roster-every-key"};
    const auto key_path = (dir.path() / "member.key").string();
    const auto voter_key = auth::generate_key_pair();
    const auto member_key = auth::generate_key_pair();
    ASSERT_TRUE(voter_key && member_key);
    ASSERT_FALSE(auth::write_key_files(key_path, member_key.value()));
    const std::string voter_pub = voter_key->public_key.z85();

    struct row {
        std::string key;
        std::string value;                        // TOML
        bool member;                              // set in the member's file, else the voter's
        std::function<bool(const options&)> read; // the option holds it
    };
    const std::vector<row> rows{
        {"name", "\"n1\"", false, [](const options& o) { return o.name == "n1"; }},
        {"data-dir", "\"/srv/roster\"", false, [](const options& o) { return o.data_dir == "/srv/roster"; }},
        {"cluster", "\"c1\"", false, [](const options& o) { return o.cluster == "c1"; }},
        {"listen", "\"127.0.0.2:8400\"", false,
         [](const options& o) { return o.listen == endpoint{"127.0.0.2", 8400}; }},
        {"publish", "\"127.0.0.2:8402\"", false,
         [](const options& o) { return o.publish == endpoint{"127.0.0.2", 8402}; }},
        {"metrics-listen", "\"127.0.0.2:8403\"", false,
         [](const options& o) { return o.metrics_listen == endpoint{"127.0.0.2", 8403}; }},
        {"voter-id", "2", false, [](const options& o) { return o.voter == voter_id(2); }},
        {"peer-listen", "\"127.0.0.2:8401\"", false,
         [](const options& o) { return o.peer_listen == endpoint{"127.0.0.2", 8401}; }},
        {"voters", "\"1@127.0.0.1:8401,2@127.0.0.2:8401,3@127.0.0.3:8401\"", false,
         [](const options& o) { return o.voters.size() == 3 && o.voters[2].second == endpoint{"127.0.0.3", 8401}; }},
        {"join", "\"1@127.0.0.1:8400\"", true,
         [](const options& o) { return o.join == std::vector<endpoint>{{"127.0.0.1", 8400}}; }},
        {"key-file", "\"" + key_path + "\"", true,
         [&](const options& o) { return o.key && o.key->public_key == member_key->public_key; }},
        {"voter-keys", "\"1=" + voter_pub + "\"", true,
         [&](const options& o) {
             const auto k = o.voter_keys.find(voter_id(1));
             return k != o.voter_keys.end() && k->second == voter_key->public_key;
         }},
        {"authorized-keys", "\"/etc/roster/authorized\"", true,
         [](const options& o) { return o.authorized_keys == "/etc/roster/authorized"; }},
        {"insecure", "true", false, [](const options& o) { return o.insecure; }},
        {"heartbeat-interval-ms", "250", false, [](const options& o) { return o.heartbeat_interval_ms == 250; }},
        {"election-timeout-ms", "400", false, [](const options& o) { return o.election_timeout_ms == 400; }},
        {"election-timeout-max-ms", "3000", false,
         [](const options& o) { return o.election_timeout_max_ms == 3000; }},
        {"phi-threshold", "12.5", false, [](const options& o) { return o.phi_threshold == 12.5; }},
        {"log-level", "\"debug\"", false, [](const options& o) { return o.log_level == "debug"; }},
        {"log-format", "\"json\"", false, [](const options& o) { return o.log_format == "json"; }},
        {"metrics-member-limit", "7", false, [](const options& o) { return o.metrics_member_limit == 7; }},
        {"metrics-threads", "9", false, [](const options& o) { return o.metrics_threads == 9; }},
        {"metrics-request-timeout-ms", "700", false,
         [](const options& o) { return o.metrics_request_timeout_ms == 700; }},
        {"metrics-auth-file", "\"/etc/roster/metrics\"", false,
         [](const options& o) { return o.metrics_auth_file == "/etc/roster/metrics"; }},
        {"join-settle-ms", "77", false, [](const options& o) { return o.join_settle_ms == 77; }},
        {"removal-settle-ms", "33", false, [](const options& o) { return o.removal_settle_ms == 33; }},
        {"max-members", "55", false, [](const options& o) { return o.max_members == 55; }},
        {"dev", "true", false, [](const options& o) { return o.dev; }},
        {"tag", "[\"role=scheduler\", \"zone=a=b\"]", true,
         [](const options& o) {
             return o.tags == std::vector<views::tag>{{"role", "scheduler"}, {"zone", "a=b"}};
         }},
        {"metrics-tag-keys", "\"role,zone\"", false,
         [](const options& o) { return o.metrics_tag_keys == std::vector<std::string>{"role", "zone"}; }},
    };

    std::set<std::string> in_rows;
    for (const auto& r : rows) {
        in_rows.insert(r.key);
    }
    const auto keys = config_keys();
    EXPECT_EQ(in_rows, std::set<std::string>(keys.begin(), keys.end()))
        << "every key rosterd accepts in --config has a row here, and no other";

    std::string voter_text, member_text;
    for (const auto& r : rows) {
        (r.member ? member_text : voter_text) += r.key + " = " + r.value + "\n";
    }
    const config_file voter_file(voter_text);
    const config_file member_file(member_text);
    const auto voter = parse({"--config", voter_file.path()});
    ASSERT_TRUE(voter) << voter.error().message;
    const auto member = parse({"--config", member_file.path()});
    ASSERT_TRUE(member) << member.error().message;
    for (const auto& r : rows) {
        EXPECT_TRUE(r.read(r.member ? member.value() : voter.value())) << r.key << " = " << r.value;
    }
    // A default is not a value that passes by chance: the options of an empty command line fail each row.
    const options defaults;
    for (const auto& r : rows) {
        EXPECT_FALSE(r.read(defaults)) << r.key << "'s row holds its default";
    }
}

// --- --check-config ------------------------------------------------------------------------------

TEST(options, check_config_exits_0_saying_what_it_checked_and_makes_nothing) {
    const temporary_tmpdir tmp;
    const auto r = parse({"--dev", "--check-config"});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, exit_ok) << r.error().message;
    EXPECT_EQ(r.error().message, "rosterd: the configuration is valid: voter 1 of 1 in cluster 'roster', "
                                 "listening on 127.0.0.1:7400");
    EXPECT_TRUE(tmp.empty()) << "--check-config made the --dev data dir";
}

TEST(options, check_config_loads_the_files_the_start_would_read) {
    const roster::testing::temp_dir dir{"roster-check-config"};
    const auto missing = (dir.path() / "missing").string();
    const auto keys = refusal(voter_flags({"--check-config", "--metrics-auth-file", missing}));
    EXPECT_NE(keys.find(missing), std::string::npos) << keys;
    // Without --check-config the file is read at start (daemon/metrics.cc), not while parsing.
    EXPECT_TRUE(voter_flags({"--metrics-auth-file", missing}));
}

TEST(options, config_keys_are_the_flags_but_help_version_config_and_check_config) {
    const auto keys = config_keys();
    for (const char* not_a_key : {"help", "version", "config", "check-config"}) {
        EXPECT_EQ(std::count(keys.begin(), keys.end(), not_a_key), 0) << not_a_key;
    }
    EXPECT_EQ(std::count(keys.begin(), keys.end(), "heartbeat-interval-ms"), 1);
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
