// Messages that no correct voter sends, built as a forger would: each is refused and counted
// before it can reach an invariant of the log, and the cluster goes on. (Authentication keeps
// strangers out; this keeps a confused or corrupted voter from stopping the others.)
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

using testing::e;

struct refusals : ::testing::Test {
    raft_network net{3};

    void SetUp() override {
        net.elect(v1);
        ASSERT_EQ(net.node(v1).role(), role::leader);
        ASSERT_TRUE(net.node(v1).propose({1, 2, 3}));
        net.settle();
    }

    // Delivers `body` from v1 to v3 (the follower), and checks it was refused and changed nothing.
    void refused_by_follower(message_body body) {
        const log_index last = net.node(v3).log().last_index();
        const log_index commit = net.node(v3).commit_index();
        const auto before = net.node(v3).counters().dropped_invalid;
        net.deliver({v1, v3, std::move(body)});
        EXPECT_EQ(net.node(v3).counters().dropped_invalid, before + 1);
        EXPECT_EQ(net.node(v3).log().last_index(), last);
        EXPECT_EQ(net.node(v3).commit_index(), commit);
    }

    // The cluster still commits.
    void still_commits() {
        const log_index commit = net.node(v1).commit_index();
        ASSERT_TRUE(net.node(v1).propose({4}));
        net.settle();
        EXPECT_GT(net.node(v1).commit_index(), commit);
        EXPECT_EQ(net.node(v3).commit_index(), net.node(v1).commit_index());
    }
};

TEST_F(refusals, an_append_with_a_gap_in_its_indices) {
    const raft_term t = net.node(v1).term();
    const log_index last = net.node(v3).log().last_index();
    refused_by_follower(append_request{t, last, t, {e(last + 2, t)}, last});
    still_commits();
}

TEST_F(refusals, an_append_whose_terms_go_down) {
    const raft_term t = net.node(v1).term();
    const log_index last = net.node(v3).log().last_index();
    refused_by_follower(append_request{t, last, t, {e(last + 1, t), e(last + 2, t.prev())}, last});
    still_commits();
}

TEST_F(refusals, an_append_with_an_entry_of_a_later_term_than_its_own) {
    const raft_term t = net.node(v1).term();
    const log_index last = net.node(v3).log().last_index();
    refused_by_follower(append_request{t, last, t, {e(last + 1, t.next())}, last});
    still_commits();
}

TEST_F(refusals, a_reply_acknowledging_entries_the_leader_never_had) {
    const raft_term t = net.node(v1).term();
    const log_index commit = net.node(v1).commit_index();
    const auto before = net.node(v1).counters().dropped_invalid;
    net.deliver(
        {v2, v1, append_reply{t, true, net.node(v1).log().last_index() + 1000, log_index(), raft_term()}});
    EXPECT_EQ(net.node(v1).counters().dropped_invalid, before + 1);
    EXPECT_EQ(net.node(v1).commit_index(), commit);
    EXPECT_EQ(net.node(v1).role(), role::leader);
    still_commits();
}

TEST_F(refusals, a_snapshot_reply_acknowledging_entries_the_leader_never_had) {
    const raft_term t = net.node(v1).term();
    const auto before = net.node(v1).counters().dropped_invalid;
    net.deliver({v2, v1, snapshot_reply{t, true, net.node(v1).log().last_index() + 1000}});
    EXPECT_EQ(net.node(v1).counters().dropped_invalid, before + 1);
    still_commits();
}

TEST_F(refusals, a_correct_append_is_not_refused) {
    const raft_term t = net.node(v1).term();
    const log_index last = net.node(v3).log().last_index();
    const auto before = net.node(v3).counters().dropped_invalid;
    net.deliver({v1, v3, append_request{t, last, t, {e(last + 1, t), e(last + 2, t)}, last}});
    EXPECT_EQ(net.node(v3).counters().dropped_invalid, before);
    EXPECT_EQ(net.node(v3).log().last_index(), last + 2);
}

// ---- terms that could wrap -----------------------------------------------------------------

// What a forger sends to make every later term wrap: 2^64 - 1, and the first term past the bound.
const raft_term huge_terms[] = {raft_term(~std::uint64_t{0}), max_term.next()};

TEST_F(refusals, every_kind_of_message_with_a_term_above_the_largest) {
    for (const raft_term huge : huge_terms) {
        const log_index last = net.node(v3).log().last_index();
        const message_body bodies[] = {
            append_request{huge, last, net.node(v3).log().last_term(), {}, last},
            vote_request{huge, last + 100, huge, false},
            vote_request{huge, last + 100, huge, true},
            vote_reply{huge, false, false},
            append_reply{huge, false, last, log_index(), raft_term()},
            snapshot_request{huge, last + 100, huge, {1, 2}},
            snapshot_reply{huge, true, last},
        };
        for (const auto& body : bodies) {
            const raft_term term = net.node(v3).term();
            const voter_id leader = net.node(v3).leader();
            const voter_id vote = net.node(v3).vote();
            refused_by_follower(body);
            EXPECT_EQ(net.node(v3).term(), term) << "message kind " << body.index();
            EXPECT_EQ(net.node(v3).leader(), leader);
            EXPECT_EQ(net.node(v3).vote(), vote);
            EXPECT_EQ(net.node(v3).role(), role::follower);
        }
    }
    still_commits();
}

TEST_F(refusals, a_term_above_the_largest_inside_a_message_of_a_correct_term) {
    const raft_term t = net.node(v1).term();
    const log_index last = net.node(v3).log().last_index();
    refused_by_follower(append_request{t, last, t, {e(last + 1, raft_term(~std::uint64_t{0}))}, last});
    refused_by_follower(vote_request{t.next(), last, max_term.next(), true});
    EXPECT_EQ(net.node(v3).term(), t);
    still_commits();
}

TEST_F(refusals, the_leader_refuses_a_reply_with_a_term_above_the_largest) {
    const raft_term t = net.node(v1).term();
    const auto before = net.node(v1).counters().dropped_invalid;
    net.deliver(
        {v2, v1, append_reply{raft_term(~std::uint64_t{0}), false, log_index(), log_index(), raft_term()}});
    EXPECT_EQ(net.node(v1).counters().dropped_invalid, before + 1);
    EXPECT_EQ(net.node(v1).role(), role::leader);
    EXPECT_EQ(net.node(v1).term(), t);
    still_commits();
}

// The largest term itself is a term like any other: taken, voted in, led in.
TEST(max_term, is_taken_and_a_leader_of_it_commits) {
    raft_network net(3);
    for (voter_id v : net.ids()) {
        net.crash(v);
        ready r;
        r.hard = hard_state{max_term.prev(), voter_id(), log_index()};
        ASSERT_FALSE(net.disk(v).save(r));
        net.restart(v);
    }
    net.elect(v1);
    ASSERT_EQ(net.node(v1).role(), role::leader);
    EXPECT_EQ(net.node(v1).term(), max_term);
    ASSERT_TRUE(net.node(v1).propose({7}));
    net.settle();
    EXPECT_EQ(net.node(v3).commit_index(), net.node(v1).commit_index());
    EXPECT_EQ(net.node(v3).term(), max_term);
    net.tick_all(50); // heartbeats go on at the largest term
    EXPECT_EQ(net.node(v1).role(), role::leader);
    EXPECT_EQ(net.node(v2).counters().campaigns_at_max_term, 0u);
}

// A voter at the largest term never moves past it: it does not campaign (the next term would be
// out of range, and near 2^64 would wrap), and says so once.
TEST(max_term, a_voter_there_does_not_campaign) {
    raft_network net(3);
    net.deliver({v1, v2, append_request{max_term, log_index(), raft_term(), {}, log_index()}});
    ASSERT_EQ(net.node(v2).term(), max_term);
    net.isolate(v2);
    net.tick(v2, 200);
    EXPECT_EQ(net.node(v2).term(), max_term);
    EXPECT_EQ(net.node(v2).role(), role::follower);
    EXPECT_EQ(net.node(v2).counters().elections, 0u);
    EXPECT_EQ(net.node(v2).counters().pre_elections, 0u);
    EXPECT_GT(net.node(v2).counters().campaigns_at_max_term, 1u);
    // Restarted from what it persisted, it is still there, and still does not campaign.
    net.crash(v2);
    net.restart(v2);
    EXPECT_EQ(net.node(v2).term(), max_term);
    net.tick(v2, 200);
    EXPECT_EQ(net.node(v2).term(), max_term);
    EXPECT_EQ(net.node(v2).counters().elections, 0u);
}

TEST(max_term, a_recovered_term_above_it_is_a_broken_precondition) {
    raft_config c;
    c.id = v1;
    c.voters = {v1};
    persisted_state recovered;
    recovered.hard.term = max_term.next();
    EXPECT_DEATH({ raft r(c, prng(1), recovered); }, "above the largest term");
}

} // namespace
} // namespace roster::consensus
