// The /metrics text: whatever bytes a member name, the cluster or the node name hold, Prometheus
// must accept the scrape (one invalid label value makes it drop the whole scrape): label values
// are valid UTF-8, escaped by the text format.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "common/escape.hh"
#include "tests/temp_dir.hh"
#include "daemon/metrics.hh"
#include "daemon/node_configs.hh"
#include "wire/codec.hh"

namespace roster::daemon {
namespace {

mono_time at(int ms) { return mono_time(std::chrono::milliseconds(ms)); }

// A voter whose view holds a member with a hostile name: restored from its own storage, the one
// place no join check runs (a view of an older build, or a damaged file).
std::unique_ptr<node::voter_node> voter_with_member_named(const std::string& name) {
    const options o{.name = "v1", .voter = voter_id(1), .voters = {{voter_id(1), {"127.0.0.1", 7401}}}};
    membership::membership_snapshot s;
    s.view.id = view_id(1);
    views::member m;
    m.id = member_id(1);
    m.name = name;
    m.incarnation = incarnation_number(1);
    s.view.members = {m};
    s.view.leader = member_id(1);
    s.view.fencing_token = view_id(1);
    s.next_member = member_id(2);
    s.incarnations = {{name, incarnation_number(1)}};
    consensus::persisted_state recovered;
    recovered.snap = consensus::snapshot{{log_index(1), raft_term(1)},
                                         std::make_shared<const bytes>(wire::encode_snapshot(s))};
    recovered.hard = {raft_term(1), voter_id(), log_index(1)};
    return std::make_unique<node::voter_node>(make_voter_config(o, incarnation_number(1)).value(), prng(1),
                                              recovered, at(0));
}

// promtool's verdict on `text` (its exit code and what it said), or nothing without promtool.
std::optional<std::pair<int, std::string>> promtool_check(const std::string& text) {
    if (std::system("command -v promtool > /dev/null 2>&1") != 0) {
        return std::nullopt;
    }
    const roster::testing::temp_dir dir("roster-metrics");
    const std::filesystem::path in = dir.path() / "metrics.txt";
    const std::filesystem::path out = dir.path() / "promtool.txt";
    std::ofstream(in, std::ios::binary) << text;
    const int status =
        std::system(("promtool check metrics < " + in.string() + " > " + out.string() + " 2>&1").c_str());
    std::ifstream said(out);
    const std::string verdict((std::istreambuf_iterator<char>(said)), {});
    return std::make_pair(WIFEXITED(status) ? WEXITSTATUS(status) : -1, verdict);
}

TEST(metrics, label_values_stay_valid_whatever_the_names) {
    const std::string hostile = "bad\xff\xc3 \"quoted\" back\\slash\nnew line \x1b[2J";
    metrics m("clu\xfe ster", "node\xff\n", true, 1000);
    auto voter = voter_with_member_named(hostile);
    ASSERT_EQ(voter->view().members.size(), 1u);
    m.observe(*voter, at(100));
    const std::string text = m.text();
    EXPECT_TRUE(is_valid_utf8(text));
    EXPECT_NE(
        text.find("member=\"bad\xef\xbf\xbd\xef\xbf\xbd \\\"quoted\\\" back\\\\slash\\nnew line \x1b[2J\""),
        std::string::npos)
        << text;
    EXPECT_NE(text.find("cluster=\"clu\xef\xbf\xbd ster\""), std::string::npos);
    EXPECT_NE(text.find("node=\"node\xef\xbf\xbd\\n\""), std::string::npos);
    EXPECT_EQ(m.value("roster_member_up", {{"member_id", "1"}}), 1);

    const auto verdict = promtool_check(text);
    if (!verdict) {
        GTEST_SKIP() << "promtool is not installed (Debian package prometheus)";
    }
    EXPECT_EQ(verdict->first, 0) << verdict->second;
}

} // namespace
} // namespace roster::daemon

namespace roster::daemon {
namespace {

TEST(metrics, step_downs_and_suspicions_are_counted_by_reason_from_zero) {
    metrics m{"roster", "v1", true, 1000};
    // Every reason is a series from the start (a rate() over it sees 0, not nothing): value()
    // says 0 for a missing series too, so the text is what shows they are there.
    const std::string text = m.text();
    for (const char* r : {"lost_quorum", "higher_term"}) {
        EXPECT_NE(text.find(fmt::format("reason=\"{}\"", r)), std::string::npos) << r;
        EXPECT_EQ(m.value("roster_raft_step_downs_total", {{"reason", r}}), 0) << r;
    }
    for (const char* c : {"phi", "never_heard"}) {
        EXPECT_NE(text.find(fmt::format("cause=\"{}\"", c)), std::string::npos)
            << c;
        EXPECT_EQ(m.value("roster_suspicions_raised_total", {{"cause", c}}), 0) << c;
    }
    m.on_event(node::voter_event::judged(true, view_id(3), member_id(7), "m7", 9.1, 40, 412ms));
    m.on_event(node::voter_event::judged(true, view_id(3), member_id(8), "m8", 1e9, 0, std::nullopt));
    m.on_event(node::voter_event::judged(true, view_id(3), member_id(9), "m9", 8.5, 12, 300ms));
    m.on_event(node::voter_event::judged(false, view_id(3), member_id(9), "m9", 0.1, 13, 5ms));
    EXPECT_EQ(m.value("roster_suspicions_raised_total", {{"cause", "phi"}}), 2);
    EXPECT_EQ(m.value("roster_suspicions_raised_total", {{"cause", "never_heard"}}), 1);
}

} // namespace
} // namespace roster::daemon
