// Named consensus scenarios (issue: "a single flaky link ... leadership changes at most once";
// "a partitioned voter that returns does not depose a healthy leader"; "a leader isolated from
// the majority steps down within the check-quorum interval"), run in the simulation with every
// invariant checked after every event.
#include <cstdio>

#include <gtest/gtest.h>

#include "tests/sim/raft_cluster.hh"

namespace roster::sim {
namespace {

raft_cluster_options three_voters(std::uint64_t seed) {
    raft_cluster_options o;
    o.seed = seed;
    o.voters = 3;
    o.base.election_ticks = 10;
    o.base.heartbeat_ticks = 2;
    return o;
}

// Runs until a leader is elected and has committed its first entry.
std::size_t elect(raft_cluster& c) {
    EXPECT_TRUE(c.run_until([&] { return c.leader() && c.max_committed() >= log_index(1); }, 5s));
    return c.leader().value_or(0);
}

// Makes the link between a and b flaky in both directions for `how_long`: 30 % loss, 5 %
// duplicates, slow outliers, and a full cut in one or both directions now and then.
void flaky_link(raft_cluster& c, std::size_t a, std::size_t b, duration how_long) {
    link_profile p;
    p.min_delay = 500us;
    p.max_delay = 20ms;
    p.loss = 0.3;
    p.duplicate = 0.05;
    p.slow = 0.05;
    p.slow_max = 300ms;
    c.network().profile(a, b) = p;
    c.network().profile(b, a) = p;
    const mono_time end = c.now() + how_long;
    while (c.now() < end && !c.violation()) {
        // Up for 0.1..5 s, then down (one way or both) for 0.1..3 s.
        c.run_for(duration(c.random().between(100'000'000, 5'000'000'000)));
        const auto mode = c.random().below(3);
        c.network().cut(a, b, mode != 1);
        c.network().cut(b, a, mode != 2);
        c.run_for(duration(c.random().between(100'000'000, 3'000'000'000)));
        c.network().cut(a, b, false);
        c.network().cut(b, a, false);
    }
}

TEST(raft_scenario, a_flaky_link_between_two_followers_does_not_move_leadership_in_an_hour) {
    for (std::uint64_t seed = 1; seed <= 3; ++seed) {
        raft_cluster c(three_voters(seed));
        const std::size_t leader = elect(c);
        const std::size_t f1 = (leader + 1) % 3, f2 = (leader + 2) % 3;
        const raft_term term = c.node(leader).term();
        flaky_link(c, f1, f2, 3600s);
        ASSERT_FALSE(c.violation()) << *c.violation();
        EXPECT_GE(c.now() - mono_time{}, 3600s);
        std::printf("seed %llu: %.0f s simulated, %llu events, %llu leadership changes\n",
                    static_cast<unsigned long long>(seed), to_ms(c.now() - mono_time{}) / 1000,
                    static_cast<unsigned long long>(c.events()),
                    static_cast<unsigned long long>(c.leader_changes()));
        EXPECT_LE(c.leader_changes(), 1u) << "seed " << seed;
        EXPECT_EQ(c.leader(), leader) << "seed " << seed;
        EXPECT_EQ(c.node(leader).term(), term) << "seed " << seed;
    }
}

TEST(raft_scenario, a_flaky_link_between_the_leader_and_a_follower_does_not_move_leadership_in_an_hour) {
    for (std::uint64_t seed = 1; seed <= 3; ++seed) {
        raft_cluster c(three_voters(seed));
        const std::size_t leader = elect(c);
        const std::size_t follower = (leader + 1) % 3;
        flaky_link(c, leader, follower, 3600s);
        ASSERT_FALSE(c.violation()) << *c.violation();
        EXPECT_GE(c.now() - mono_time{}, 3600s);
        std::printf(
            "seed %llu: %.0f s simulated, %llu events, %llu leadership changes, %llu pre-votes by the "
            "follower\n",
            static_cast<unsigned long long>(seed), to_ms(c.now() - mono_time{}) / 1000,
            static_cast<unsigned long long>(c.events()), static_cast<unsigned long long>(c.leader_changes()),
            static_cast<unsigned long long>(c.node(follower).counters().pre_elections));
        EXPECT_LE(c.leader_changes(), 1u) << "seed " << seed;
        EXPECT_GT(c.node(follower).counters().pre_elections, 0u)
            << "seed " << seed << ": the follower did lose touch (the scenario bites)";
        EXPECT_EQ(c.node(follower).counters().elections, 0u)
            << "seed " << seed << ": but never raised its term";
        // Entries kept committing throughout.
        const log_index before = c.max_committed();
        std::optional<log_index> index;
        ASSERT_TRUE(c.run_until(
            [&] {
                if (!index) {
                    if (auto l = c.leader()) {
                        index = c.propose(*l, bytes{1});
                    }
                }
                return index && c.max_committed() >= *index;
            },
            5s));
        EXPECT_GT(c.max_committed(), before);
    }
}

TEST(raft_scenario, a_partitioned_voter_that_returns_does_not_depose_a_healthy_leader) {
    for (std::uint64_t seed = 1; seed <= 5; ++seed) {
        raft_cluster c(three_voters(seed));
        const std::size_t leader = elect(c);
        const std::size_t away = (leader + 2) % 3;
        const raft_term term = c.node(leader).term();
        c.network().isolate(away);
        ASSERT_TRUE(c.run_for(30s));
        EXPECT_GT(c.node(away).counters().pre_elections, 10u);
        c.network().isolate(away, false);
        ASSERT_TRUE(c.run_for(30s));
        EXPECT_EQ(c.leader(), leader) << "seed " << seed;
        EXPECT_EQ(c.node(leader).term(), term) << "seed " << seed;
        EXPECT_EQ(c.leader_changes(), 0u) << "seed " << seed;
        EXPECT_EQ(c.node(away).leader(), voter_id(static_cast<std::uint32_t>(leader + 1)));
        EXPECT_EQ(c.node(away).commit_index(), c.node(leader).commit_index()) << "it caught up";
    }
}

TEST(raft_scenario, a_leader_isolated_from_the_majority_steps_down_within_the_check_quorum_interval) {
    for (std::uint64_t seed = 1; seed <= 5; ++seed) {
        auto o = three_voters(seed);
        raft_cluster c(o);
        const std::size_t leader = elect(c);
        c.network().isolate(leader);
        const mono_time cut_at = c.now();
        // Check-quorum runs once per election timeout; an isolation just after a check is
        // noticed at the end of the next period: at most 2 election timeouts.
        const duration bound = 2 * o.base.election_ticks * o.tick;
        ASSERT_TRUE(c.run_until([&] { return c.node(leader).role() != consensus::role::leader; }, 10s));
        EXPECT_LE(c.now() - cut_at, bound) << "seed " << seed;
        EXPECT_EQ(c.node(leader).counters().check_quorum_step_downs, 1u);
        // The majority side elects a new leader.
        ASSERT_TRUE(c.run_until([&] { return c.leader() && *c.leader() != leader; }, 5s)) << "seed " << seed;
    }
}

TEST(raft_scenario, five_voters_keep_committing_with_two_down) {
    auto o = three_voters(9);
    o.voters = 5;
    raft_cluster c(o);
    const std::size_t leader = elect(c);
    c.crash((leader + 1) % 5);
    c.crash((leader + 2) % 5);
    std::optional<log_index> index;
    ASSERT_TRUE(c.run_until(
        [&] {
            if (!index) {
                index = c.propose(leader, bytes{7});
            }
            return index && c.max_committed() >= *index;
        },
        5s));
}

} // namespace
} // namespace roster::sim
