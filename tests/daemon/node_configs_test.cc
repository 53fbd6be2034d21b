#include <gtest/gtest.h>
#include <utility>

#include "daemon/node_configs.hh"

namespace roster::daemon {
namespace {

// A voter as the flags describe it: the second of three, every tunable away from its default.
options voter_two() {
    return {.name = "v2",
            .cluster = "blue",
            .listen = {"10.0.0.2", 7500},
            .publish = {"10.0.0.2", 7502},
            .voter = voter_id(2),
            .peer_listen = {"10.0.0.2", 7501},
            .voters = {{voter_id(1), {"10.0.0.1", 7501}},
                       {voter_id(2), {"10.0.0.2", 7501}},
                       {voter_id(3), {"10.0.0.3", 7501}}},
            .heartbeat_interval_ms = 200,
            .phi_threshold = 10.5,
            .join_settle_ms = 70,
            .removal_settle_ms = 20,
            .max_members = 400};
}

options member_of_three() {
    return {.name = "m1",
            .cluster = "blue",
            .listen = {"10.0.0.9", 7400},
            .publish = {"10.0.0.9", 7402},
            .join = {{"10.0.0.1", 7500}, {"10.0.0.2", 7500}, {"10.0.0.3", 7500}},
            .heartbeat_interval_ms = 250};
}

// Expects each of `fields` of `c` to hold what a default-constructed C holds.
template <typename C, typename... T>
void expect_defaults(const C& c, T C::*... fields) {
    const C defaults;
    int i = 0;
    auto same = [&](const auto& got, const auto& want) {
        EXPECT_EQ(got, want) << "field " << i++ << " of the list";
    };
    (same(c.*fields, defaults.*fields), ...);
}

TEST(make_voter_config, takes_identity_endpoints_and_voters_from_the_flags) {
    auto c = make_voter_config(voter_two(), incarnation_number(77));
    ASSERT_TRUE(c) << c.error();
    EXPECT_EQ(c->cluster, "blue");
    EXPECT_EQ(c->name, "v2");
    EXPECT_EQ(c->id, voter_id(2));
    EXPECT_EQ(c->voters, (std::vector<voter_id>{voter_id(1), voter_id(2), voter_id(3)}));
    // A voter's flags name only its own --listen endpoint.
    EXPECT_EQ(c->listen_of, (std::map<voter_id, std::string>{{voter_id(2), "10.0.0.2:7500"}}));
    EXPECT_EQ(c->address, "10.0.0.2:7500");
    EXPECT_EQ(c->publish_endpoint, "10.0.0.2:7502");
    EXPECT_TRUE(c->tags.empty());
    EXPECT_EQ(c->incarnation, incarnation_number(77));
}

TEST(make_voter_config, tunes_the_detector_and_the_settle_windows_to_the_flags) {
    auto c = make_voter_config(voter_two(), incarnation_number(1));
    ASSERT_TRUE(c) << c.error();
    EXPECT_EQ(c->heartbeat_interval, 200ms);
    EXPECT_TRUE(c->heartbeat_levels.empty()) << "--heartbeat-interval-ms fixes it";
    const auto expected = detector::phi_accrual_config::for_heartbeat_interval(200ms);
    const auto& d = c->detector.detector;
    EXPECT_EQ(d.window_size, expected.window_size);
    EXPECT_EQ(d.min_std_deviation, expected.min_std_deviation);
    EXPECT_EQ(d.acceptable_pause, expected.acceptable_pause);
    EXPECT_EQ(d.first_heartbeat_estimate, expected.first_heartbeat_estimate);
    EXPECT_EQ(d.threshold, 10.5);
    EXPECT_EQ(c->batching.removal_settle_max, 300ms) << "1.5 heartbeat intervals";
    EXPECT_EQ(c->batching.join_settle, 70ms);
    EXPECT_EQ(c->batching.removal_settle, 20ms);
    EXPECT_EQ(c->max_members, 400u);
}

TEST(make_voter_config, leaves_what_no_flag_sets_at_the_node_defaults) {
    auto c = make_voter_config(voter_two(), incarnation_number(1));
    ASSERT_TRUE(c) << c.error();
    using node::voter_config;
    expect_defaults(*c, &voter_config::raft_tick, &voter_config::report_interval,
                    &voter_config::suspicion_ttl, &voter_config::compact_every, &voter_config::publisher_ring,
                    &voter_config::forward_timeout);
    expect_defaults(c->batching, &node::batcher_config::max_ops_per_command, &node::batcher_config::max_command_bytes,
                    &node::batcher_config::proposal_timeout);
    expect_defaults(c->raft, &consensus::raft_config::pre_vote, &consensus::raft_config::check_quorum);
    expect_defaults(c->detector, &detector::registry_config::clear_threshold,
                    &detector::registry_config::silent_grace);
}

TEST(make_voter_config, the_election_timeout_is_counted_in_ticks_and_the_heartbeat_is_a_fifth_of_it) {
    const auto ticks = [](int ms) {
        auto o = voter_two();
        o.election_timeout_ms = ms;
        auto c = make_voter_config(o, incarnation_number(1));
        EXPECT_TRUE(c) << c.error();
        EXPECT_EQ(c->raft_tick, 10ms);
        return std::pair{c->raft.election_ticks, c->raft.heartbeat_ticks};
    };
    EXPECT_EQ(ticks(100), std::pair(10, 2)) << "the default: the node's own defaults";
    EXPECT_EQ(ticks(50), std::pair(5, 2)) << "never more often than every other tick";
    EXPECT_EQ(ticks(55), std::pair(6, 2)) << "rounded up to whole ticks";
    EXPECT_EQ(ticks(300), std::pair(30, 6));
    EXPECT_EQ(ticks(1000), std::pair(100, 10)) << "heartbeats at least every 100 ms";
    EXPECT_EQ(ticks(10'000), std::pair(1000, 10));
    const consensus::raft_config node_defaults;
    EXPECT_EQ(ticks(options{}.election_timeout_ms), std::pair(node_defaults.election_ticks, node_defaults.heartbeat_ticks));
}

TEST(make_voter_config, the_election_timeout_adapts_up_to_2_s_or_the_given_ceiling) {
    const auto ceiling = [](int floor_ms, int max_ms) {
        auto o = voter_two();
        o.election_timeout_ms = floor_ms;
        o.election_timeout_max_ms = max_ms;
        auto c = make_voter_config(o, incarnation_number(1));
        EXPECT_TRUE(c) << c.error();
        EXPECT_EQ(c->raft.silence_period_ticks, 100) << "silences judged per second";
        EXPECT_EQ(c->raft.silence_periods, 30) << "over the last 30 s";
        return c->raft.max_election_ticks;
    };
    EXPECT_EQ(ceiling(100, 0), 200) << "the default: 2 s";
    EXPECT_EQ(ceiling(5'000, 0), 500) << "a floor above 2 s: fixed at it";
    EXPECT_EQ(ceiling(100, 100), 10) << "equal: fixed";
    EXPECT_EQ(ceiling(100, 30'000), 3'000);
}

TEST(make_voter_config, the_default_flags_give_the_lan_settings) {
    const options o{.name = "dev", .voter = voter_id(1), .voters = {{voter_id(1), {"127.0.0.1", 7401}}}};
    auto c = make_voter_config(o, incarnation_number(1));
    ASSERT_TRUE(c) << c.error();
    EXPECT_EQ(c->cluster, "roster");
    EXPECT_EQ(c->heartbeat_levels.size(), std::size(detector::adaptive_levels))
        << "no --heartbeat-interval-ms: the interval adapts to the cluster's size";
    EXPECT_EQ(c->heartbeat_interval, 50ms) << "the shortest level: the detectors' base";
    EXPECT_EQ(c->detector.detector.threshold, 8.0);
    EXPECT_EQ(c->detector.detector.acceptable_pause,
              detector::phi_accrual_config::for_heartbeat_interval(50ms).acceptable_pause);
    EXPECT_EQ(c->batching.removal_settle_max, 75ms);
    EXPECT_EQ(c->batching.join_settle, 50ms);
    EXPECT_EQ(c->batching.removal_settle, 10ms);
    EXPECT_EQ(c->address, "127.0.0.1:7400");
    EXPECT_EQ(c->publish_endpoint, "127.0.0.1:7402");
    EXPECT_EQ(c->max_members, 10'000u);
}

TEST(make_voter_config, says_why_the_voter_refuses_it) {
    options o = voter_two();
    o.name.clear();
    auto c = make_voter_config(o, incarnation_number(1));
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error(), "invalid configuration: the voter needs a name");

    o = voter_two();
    o.phi_threshold = 0; // below what the flag allows; the detector refuses it
    c = make_voter_config(o, incarnation_number(1));
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error(), "invalid configuration: phi threshold must be greater than 0 and less than 300");

    o = voter_two();
    o.max_members = 2;
    c = make_voter_config(o, incarnation_number(1));
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error(), "invalid configuration: max_members (2) must leave room for the 3 voters");

    // The voter's own entry must pass what every voter checks at join.
    o = voter_two();
    o.name = "v2\x1b[31m";
    c = make_voter_config(o, incarnation_number(1));
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error(),
              "invalid configuration: its member entry: the name has control character U+001B at byte 2");
}

TEST(make_member_config, takes_every_field_from_the_flags) {
    auto c = make_member_config(member_of_three(), incarnation_number(5));
    ASSERT_TRUE(c) << c.error();
    EXPECT_EQ(c->cluster, "blue");
    EXPECT_EQ(c->name, "m1");
    EXPECT_EQ(c->address, "10.0.0.9:7400");
    EXPECT_EQ(c->publish_endpoint, "10.0.0.9:7402");
    EXPECT_TRUE(c->tags.empty());
    EXPECT_EQ(c->voters, 3u) << "one per --join endpoint, by index";
    EXPECT_EQ(c->incarnation, incarnation_number(5));
    EXPECT_EQ(c->heartbeat_interval, 250ms);
    using node::member_config;
    expect_defaults(*c, &member_config::request_timeout, &member_config::retry_backoff,
                    &member_config::sync_timeout, &member_config::poll_interval,
                    &member_config::publisher_ring);
}

TEST(make_member_config, says_why_the_member_refuses_it) {
    options o = member_of_three();
    o.join.clear();
    auto c = make_member_config(o, incarnation_number(1));
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error(),
              "invalid configuration: the member needs at least one voter endpoint to join through");

    o = member_of_three();
    o.name.clear();
    c = make_member_config(o, incarnation_number(1));
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error(), "invalid configuration: the member needs a name");

    // Refused at start, not at every join: the voters would reject it.
    o = member_of_three();
    o.name = "m\xff";
    c = make_member_config(o, incarnation_number(1));
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error(), "invalid configuration: the name has invalid UTF-8 at byte 1 (0xff)");
}

} // namespace
} // namespace roster::daemon

namespace roster::daemon {
namespace {

TEST(node_configs, carry_the_tags_of_the_flags_into_the_join) {
    options v = voter_two();
    v.tags = {{"role", "scheduler"}, {"zone", "a"}};
    auto c = make_voter_config(v, incarnation_number(1));
    ASSERT_TRUE(c) << c.error();
    EXPECT_EQ(c->tags, v.tags);
    options m;
    m.name = "m1";
    m.join = {{"127.0.0.1", 7400}};
    m.join_voters = {voter_id()};
    m.tags = {{"role", "scheduler"}};
    auto mc = make_member_config(m, incarnation_number(1));
    ASSERT_TRUE(mc) << mc.error();
    EXPECT_EQ(mc->tags, m.tags);
}

} // namespace
} // namespace roster::daemon
