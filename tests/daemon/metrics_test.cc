// The /metrics text: whatever bytes a member name, the cluster or the node name hold, Prometheus
// must accept the scrape (one invalid label value makes it drop the whole scrape): label values
// are valid UTF-8, escaped by the text format.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
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

// A voter whose view holds `members` restored from its own storage, the one place no join check runs
// (a view of an older build, or a damaged file).
std::unique_ptr<node::voter_node> voter_with(std::vector<views::member> members) {
    const options o{.name = "v1", .voter = voter_id(1), .voters = {{voter_id(1), {"127.0.0.1", 7401}}}};
    membership::membership_snapshot s;
    s.view.id = view_id(1);
    for (auto& m : members) {
        s.incarnations.emplace_back(m.name, m.incarnation);
    }
    std::sort(s.incarnations.begin(), s.incarnations.end());
    s.view.members = std::move(members);
    s.view.leader = s.view.members.front().id;
    s.view.fencing_token = view_id(1);
    s.next_member = member_id(s.view.members.back().id.value() + 1);
    consensus::persisted_state recovered;
    recovered.snap = consensus::snapshot{{log_index(1), raft_term(1)},
                                         std::make_shared<const bytes>(wire::encode_snapshot(s))};
    recovered.hard = {raft_term(1), voter_id(), log_index(1)};
    return std::make_unique<node::voter_node>(make_voter_config(o, incarnation_number(1)).value(), prng(1),
                                              recovered, at(0));
}

// A voter whose view holds a member with a hostile name.
std::unique_ptr<node::voter_node> voter_with_member_named(const std::string& name) {
    views::member m;
    m.id = member_id(1);
    m.name = name;
    m.incarnation = incarnation_number(1);
    return voter_with({m});
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
    const std::string hostile_name = "bad\xff\xc3 \"quoted\" back\\slash\nnew line \x1b[2J";
    metrics m("clu\xfe ster", "node\xff\n", true, 1000);
    auto voter = voter_with_member_named(hostile_name);
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

// The counter of each socket is found once and kept (received() runs for every message).
TEST(metrics, messages_received_are_counted_by_socket) {
    metrics m{"roster", "v1", true, 1000};
    for (int i = 0; i < 3; ++i) {
        m.received("listen");
    }
    m.received("peer");
    m.received(std::string("listen")); // another string with the same name: the same series
    EXPECT_EQ(m.value("roster_messages_received_total", {{"socket", "listen"}}), 4);
    EXPECT_EQ(m.value("roster_messages_received_total", {{"socket", "peer"}}), 1);
    EXPECT_EQ(m.value("roster_messages_received_total", {{"socket", "sub"}}), 0);
}

} // namespace
} // namespace roster::daemon

// ---- tags and health (issue 15) -------------------------------------------------------------

namespace roster::daemon {
namespace {

views::member tagged(std::uint64_t id, std::vector<views::tag> tags) {
    return {member_id(id), "m" + std::to_string(id), "", "", incarnation_number(1), std::move(tags)};
}

TEST(metrics, members_are_counted_by_the_values_of_the_chosen_tag_keys_at_most_32_a_key) {
    std::vector<views::member> members;
    // 40 zones: z0 has 5 members, z1 4, z2..z39 one each; and a role on some; a key nobody asked for.
    std::uint64_t id = 1;
    for (int zone = 0; zone < 40; ++zone) {
        for (int i = 0; i < (zone == 0 ? 5 : zone == 1 ? 4 : 1); ++i) {
            std::vector<views::tag> tags{{"zone", fmt::format("z{}", zone)}, {"secret", "x"}};
            if (id % 2 == 0) {
                tags.push_back({"role", "sched\"uler\\"});
            }
            members.push_back(tagged(id++, std::move(tags)));
        }
    }
    const std::size_t total = members.size();
    metrics m("roster", "v1", true, 1000);
    m.count_tags({"zone", "role"});
    auto voter = voter_with(std::move(members));
    m.observe(*voter, at(100));
    EXPECT_EQ(m.value("roster_members_tagged", {{"key", "zone"}, {"value", "z0"}}), 5);
    EXPECT_EQ(m.value("roster_members_tagged", {{"key", "zone"}, {"value", "z1"}}), 4);
    // 32 values of their own (the most common first, then by value), the other 8 summed.
    const std::string text = m.text();
    std::size_t zone_series = 0;
    for (std::size_t at = text.find("roster_members_tagged{"); at != std::string::npos;
         at = text.find("roster_members_tagged{", at + 1)) {
        zone_series += text.compare(text.find("key=", at), 10, "key=\"zone\"") == 0 ? 1 : 0;
    }
    EXPECT_EQ(zone_series, 33u) << text;
    EXPECT_EQ(m.value("roster_members_tagged", {{"key", "zone"}, {"value", "other"}}), 8);
    EXPECT_EQ(m.value("roster_members_tagged", {{"key", "role"}, {"value", "sched\"uler\\"}}),
              static_cast<double>(total / 2));
    EXPECT_EQ(text.find("key=\"secret\""), std::string::npos) << "only the keys asked for";
    EXPECT_NE(text.find("value=\"sched\\\"uler\\\\\""), std::string::npos) << "escaped by the text format";
    const auto verdict = promtool_check(text);
    if (verdict) {
        EXPECT_EQ(verdict->first, 0) << verdict->second;
    }
}

TEST(metrics, health_responses_are_json_with_the_reason_escaped) {
    const node::health h{false, "no \"leader\"\n", true, ""};
    EXPECT_EQ(metrics::health_response("/health", h),
              std::make_pair(503, std::string("{\"health\":\"false\",\"reason\":\"no \\\"leader\\\"\\n\"}\n")));
    EXPECT_EQ(metrics::health_response("/ready", h), std::make_pair(200, std::string("{\"ready\":\"true\"}\n")));
}

// GET `path` from 127.0.0.1:`port`: the whole response (status line, headers, body).
std::string http_get(int port, const std::string& path, const std::string& method = "GET") {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ::close(fd);
        return "connect failed";
    }
    const std::string q = method + " " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    (void)::write(fd, q.data(), q.size());
    std::string out;
    char buf[4096];
    for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) {
        out.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return out;
}

TEST(metrics, health_and_ready_are_served_without_the_metrics_password) {
    const roster::testing::temp_dir dir("roster-health");
    const auto auth = dir.path() / "auth";
    std::ofstream(auth) << "prom:secret\n";
    std::filesystem::permissions(auth, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write,
                                 std::filesystem::perm_options::replace);
    options o;
    o.metrics_listen = {"127.0.0.1", 0};
    o.metrics_threads = 2;
    o.metrics_auth_file = auth.string();
    metrics m("roster", "v1", true, 1000);
    ASSERT_FALSE(m.serve(o));
    ASSERT_EQ(m.listening_ports().size(), 1u);
    const int port = m.listening_ports()[0];
    EXPECT_NE(http_get(port, "/metrics").find("401"), std::string::npos) << "the password guards /metrics";

    std::string r = http_get(port, "/health");
    EXPECT_EQ(r.rfind("HTTP/1.1 503", 0), 0u) << r;
    EXPECT_NE(r.find("{\"health\":\"false\",\"reason\":\"starting\"}"), std::string::npos) << r;
    m.set_health({true, "", false, "not in the view yet: joining"});
    r = http_get(port, "/health?verbose=1");
    EXPECT_EQ(r.rfind("HTTP/1.1 200", 0), 0u) << r;
    EXPECT_NE(r.find("Content-Type: application/json"), std::string::npos) << r;
    EXPECT_NE(r.find("{\"health\":\"true\"}"), std::string::npos) << r;
    r = http_get(port, "/ready");
    EXPECT_EQ(r.rfind("HTTP/1.1 503", 0), 0u) << r;
    EXPECT_NE(r.find("not in the view yet: joining"), std::string::npos) << r;
    r = http_get(port, "/health", "POST");
    EXPECT_EQ(r.rfind("HTTP/1.1 405", 0), 0u) << r;
    r = http_get(port, "/health", "HEAD");
    EXPECT_EQ(r.rfind("HTTP/1.1 200", 0), 0u) << r;
    EXPECT_EQ(r.find("{"), std::string::npos) << "no body for HEAD";
}

} // namespace
} // namespace roster::daemon
