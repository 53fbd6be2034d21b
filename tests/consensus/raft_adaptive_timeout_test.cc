// raft_config::max_election_ticks: the election timeout follows the silences between voters.
#include <functional>

#include <gtest/gtest.h>

#include "consensus/raft.hh"
#include "tests/consensus/entries.hh"
#include "tests/consensus/raft_network.hh"

namespace roster::consensus {
namespace {

using testing::raft_network;
using testing::v1;
using testing::v2;
using testing::v3;

// Pre-vote and check-quorum on (as rosterd), 10 ticks floor, 100 ceiling; silences judged over 5
// periods of 10 ticks.
void adaptive(raft_config& c) {
    c.election_ticks = 10;
    c.heartbeat_ticks = 2;
    c.max_election_ticks = 100;
    c.silence_period_ticks = 10;
    c.silence_periods = 5;
}

// Runs `ticks` ticks on every voter; v1's messages to the followers are lost whenever
// `quiet(tick)` says so.
void run(raft_network& net, int ticks, const std::function<bool(int)>& quiet) {
    for (int t = 0; t < ticks; ++t) {
        const bool drop = quiet(t);
        net.set_filter([drop](const message& m) { return drop && m.from == v1; });
        net.tick_all();
    }
    net.set_filter({});
}

// The leader goes silent for 8 ticks out of every 10 (below the 10-tick floor).
bool bursts(int t) { return t % 10 < 8; }

TEST(raft_adaptive_timeout, steady_heartbeats_keep_the_floor) {
    raft_network net(3, adaptive);
    net.elect(v1);
    run(net, 200, [](int) { return false; });
    for (voter_id v : {v1, v2, v3}) {
        EXPECT_EQ(net.node(v).election_ticks(), 10) << "voter " << v << ": silences of one heartbeat interval";
    }
}

TEST(raft_adaptive_timeout, repeated_silences_raise_the_timeout_to_twice_their_length) {
    raft_network net(3, adaptive);
    net.elect(v1);
    const raft_term term = net.node(v1).term();
    run(net, 60, bursts);
    for (voter_id v : {v1, v2, v3}) {
        // Followers hear v1 after 9 ticks (8 lost, then the next heartbeat); v1 hears their answers
        // as late. Twice 9 or 10.
        EXPECT_GE(net.node(v).election_ticks(), 18) << "voter " << v;
        EXPECT_LE(net.node(v).election_ticks(), 20) << "voter " << v;
    }
    // Now silences of 14 ticks: above the old timeout (10..20 randomized), below the new one.
    const auto pre_elections = net.node(v2).counters().pre_elections + net.node(v3).counters().pre_elections;
    run(net, 100, [](int t) { return t % 16 < 14; });
    EXPECT_EQ(net.node(v2).counters().pre_elections + net.node(v3).counters().pre_elections, pre_elections)
        << "no follower gave up on the leader";
    EXPECT_EQ(net.node(v1).counters().check_quorum_step_downs, 0u);
    EXPECT_EQ(net.node(v1).role(), role::leader);
    EXPECT_EQ(net.node(v1).term(), term);
}

TEST(raft_adaptive_timeout, a_fixed_timeout_gives_up_on_the_same_silences) {
    raft_network net(3, [](raft_config& c) {
        adaptive(c);
        c.max_election_ticks = 0;
    });
    net.elect(v1);
    run(net, 60, bursts);
    EXPECT_EQ(net.node(v2).election_ticks(), 10);
    const auto pre_elections = net.node(v2).counters().pre_elections + net.node(v3).counters().pre_elections;
    run(net, 100, [](int t) { return t % 16 < 14; });
    EXPECT_GT(net.node(v2).counters().pre_elections + net.node(v3).counters().pre_elections, pre_elections)
        << "the schedule of the test above makes a fixed timeout campaign";
}

TEST(raft_adaptive_timeout, a_silence_above_the_ceiling_is_a_fault_and_not_counted) {
    // v2 cut off from v1 twice for `silence` ticks; v3 keeps v1 the leader (v2's pre-votes fail).
    // The leader measures the silence of v2's answers; the window (50 periods of 10 ticks) holds
    // both silences, so below the ceiling they count, above it they do not.
    const auto leader_timeout_after = [](int silence) {
        raft_network net(3, [](raft_config& c) {
            adaptive(c);
            c.silence_periods = 50;
        });
        net.elect(v1);
        for (int round = 0; round < 2; ++round) {
            net.cut_both(v1, v2);
            net.tick_all(silence);
            net.heal();
            net.tick_all(20);
        }
        EXPECT_EQ(net.node(v1).role(), role::leader);
        EXPECT_EQ(net.node(v2).leader(), v1);
        return net.node(v1).election_ticks();
    };
    EXPECT_EQ(leader_timeout_after(60), 100) << "two 60-tick silences: twice that, at the 100-tick ceiling";
    EXPECT_EQ(leader_timeout_after(150), 10) << "two 150-tick silences, above the 100-tick ceiling";
}

TEST(raft_adaptive_timeout, the_timeout_comes_back_when_the_network_calms) {
    raft_network net(3, adaptive);
    net.elect(v1);
    run(net, 60, bursts);
    ASSERT_GE(net.node(v2).election_ticks(), 18);
    run(net, 60, [](int) { return false; });
    EXPECT_EQ(net.node(v2).election_ticks(), 10) << "the window (5 periods of 10 ticks) holds only calm";
    EXPECT_EQ(net.node(v1).election_ticks(), 10);
}

TEST(raft_adaptive_timeout, a_ceiling_below_the_floor_is_refused) {
    raft_config c;
    c.id = v1;
    c.voters = {v1, v2, v3};
    c.election_ticks = 10;
    c.max_election_ticks = 9;
    EXPECT_EQ(c.validate(), "max_election_ticks must be 0 (a fixed timeout) or at least election_ticks");
    c.max_election_ticks = 10;
    EXPECT_EQ(c.validate(), std::nullopt);
    c.silence_periods = 1;
    EXPECT_EQ(c.validate(), "need silence_period_ticks >= 1 and silence_periods >= 2");
}

} // namespace
} // namespace roster::consensus
