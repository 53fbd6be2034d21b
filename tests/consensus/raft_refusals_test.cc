// Messages that no correct voter sends, built as a forger would: each is refused and counted
// before it can reach an invariant of the log, and the cluster goes on. (Authentication keeps
// strangers out; this keeps a confused or corrupted voter from stopping the others.)
#include <gtest/gtest.h>

#include "consensus/raft.hh"
#include "tests/consensus/raft_network.hh"

namespace roster::consensus {
namespace {

using testing::raft_network;

const voter_id v1(1), v2(2), v3(3);

entry e(log_index index, raft_term term) { return {index, term, entry_kind::normal, {}}; }

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

} // namespace
} // namespace roster::consensus
