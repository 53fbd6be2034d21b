// One test per rule of the Raft paper (Ongaro & Ousterhout, "In Search of an Understandable
// Consensus Algorithm", 2014) and of the thesis (Ongaro, "Consensus: Bridging Theory and
// Practice", 2014) for pre-vote and check-quorum. Each ends with the section it checks.
#include <algorithm>
#include <set>

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
using testing::v4;
using testing::v5;

// Plain Raft (no pre-vote, no check-quorum), for the rules of the paper itself.
void plain(raft_config& c) {
    c.pre_vote = false;
    c.check_quorum = false;
}

raft_config three_voters(voter_id id) {
    raft_config c;
    c.id = id;
    c.voters = {v1, v2, v3};
    plain(c);
    return c;
}

using testing::e;

template <typename T>
std::vector<T> bodies_of(const std::vector<message>& ms, voter_id to = voter_id()) {
    std::vector<T> out;
    for (const auto& m : ms) {
        if (const auto* b = std::get_if<T>(&m.body); b && (to == voter_id() || m.to == to)) {
            out.push_back(*b);
        }
    }
    return out;
}

TEST(raft_paper, a_higher_term_turns_a_leader_into_a_follower) {
    raft_network net(3, plain);
    net.elect(v1);
    ASSERT_EQ(net.node(v1).role(), role::leader);
    const raft_term t = net.node(v1).term();
    net.deliver({v2, v1, vote_request{t + 5, log_index(0), raft_term(0), false}});
    EXPECT_EQ(net.node(v1).role(), role::follower);
    EXPECT_EQ(net.node(v1).term(), t + 5);
    // Raft §5.1: "If a candidate or leader discovers that its term is out of date, it
    // immediately reverts to follower state."
}

TEST(raft_paper, a_message_of_a_stale_term_is_refused) {
    raft_network net(3, plain);
    net.elect(v1);
    net.elect(v2); // v2 wins term 2 (v1's log is not ahead)
    ASSERT_EQ(net.node(v2).role(), role::leader);
    const auto dropped = net.node(v3).counters().dropped_stale_term;
    const auto log_before = net.node(v3).log().last_index();
    net.deliver({v1, v3, append_request{raft_term(1), log_index(1), raft_term(1), {e(2, 1)}, log_index(1)}});
    EXPECT_EQ(net.node(v3).counters().dropped_stale_term, dropped + 1);
    EXPECT_EQ(net.node(v3).log().last_index(), log_before);
    // Raft §5.1: "If a server receives a request with a stale term number, it rejects the request."
}

TEST(raft_paper, a_follower_that_hears_nothing_becomes_a_candidate) {
    raft r(three_voters(v1), prng(1), persisted_state{});
    int ticks = 0;
    while (r.role() == role::follower) {
        r.tick();
        ++ticks;
        ASSERT_LT(ticks, 100);
    }
    EXPECT_EQ(r.role(), role::candidate);
    EXPECT_EQ(r.term(), raft_term(1));
    EXPECT_EQ(r.vote(), v1);
    const auto rd = r.take_ready();
    const auto requests = bodies_of<vote_request>(rd.messages);
    ASSERT_EQ(requests.size(), 2u);
    for (const auto& q : requests) {
        EXPECT_EQ(q.term, raft_term(1));
        EXPECT_FALSE(q.pre_vote);
    }
    ASSERT_TRUE(rd.hard);
    EXPECT_EQ(rd.hard->vote, v1) << "the vote for itself is persisted before the requests go out";
    // Raft §5.2: "a follower increments its current term and transitions to candidate state. It
    // then votes for itself and issues RequestVote RPCs in parallel to each of the other servers."
}

TEST(raft_paper, election_timeouts_are_random_between_t_and_2t) {
    std::set<int> seen;
    const int t = raft_config{}.election_ticks;
    for (std::uint64_t seed = 1; seed <= 200; ++seed) {
        raft r(three_voters(v1), prng(seed), persisted_state{});
        int ticks = 0;
        while (r.role() == role::follower) {
            r.tick();
            ++ticks;
        }
        EXPECT_GE(ticks, t);
        EXPECT_LT(ticks, 2 * t);
        seen.insert(ticks);
    }
    EXPECT_GE(seen.size(), static_cast<std::size_t>(t / 2)) << "timeouts should spread over the range";
    // Raft §5.2: "election timeouts are chosen randomly from a fixed interval (e.g., 150-300ms)."
}

TEST(raft_paper, a_candidate_with_a_majority_becomes_leader_and_says_so) {
    raft_network net(3, plain);
    net.elect(v1);
    EXPECT_EQ(net.node(v1).role(), role::leader);
    for (voter_id v : {v2, v3}) {
        EXPECT_EQ(net.node(v).role(), role::follower);
        EXPECT_EQ(net.node(v).leader(), v1);
        EXPECT_EQ(net.node(v).term(), net.node(v1).term());
    }
    // Raft §5.2: "A candidate wins an election if it receives votes from a majority ... It then
    // sends heartbeat messages to all of the other servers to establish its authority."
}

TEST(raft_paper, a_candidate_steps_down_on_an_append_from_a_leader_of_its_term) {
    raft r(three_voters(v2), prng(3), persisted_state{});
    while (r.role() != role::candidate) {
        r.tick();
    }
    (void)r.take_ready();
    r.step({v1, v2, append_request{r.term(), log_index(0), raft_term(0), {}, log_index(0)}});
    EXPECT_EQ(r.role(), role::follower);
    EXPECT_EQ(r.leader(), v1);
    // Raft §5.2: "If the leader's term ... is at least as large as the candidate's current term,
    // then the candidate recognizes the leader as legitimate and returns to follower state."
}

TEST(raft_paper, a_voter_grants_one_vote_per_term_even_across_a_restart) {
    raft_network net(3, plain);
    net.cut_both(v1, v2); // keep the candidates from hearing each other
    net.deliver({v1, v3, vote_request{raft_term(2), log_index(0), raft_term(0), false}});
    EXPECT_EQ(net.node(v3).vote(), v1);
    net.crash(v3);
    net.restart(v3);
    EXPECT_EQ(net.node(v3).vote(), v1) << "the vote was persisted";
    net.clear_sent();
    net.deliver({v2, v3, vote_request{raft_term(2), log_index(0), raft_term(0), false}});
    const auto replies = bodies_of<vote_reply>(net.sent(), v2);
    ASSERT_EQ(replies.size(), 1u);
    EXPECT_FALSE(replies[0].granted);
    // Raft §5.2: "Each server will vote for at most one candidate in a given term, on a
    // first-come-first-served basis" (and Figure 2: votedFor is persistent state).
}

TEST(raft_paper, a_voter_refuses_a_candidate_whose_log_is_less_up_to_date) {
    struct probe {
        std::uint64_t last_index, last_term;
        bool granted;
    };
    // The voter's log ends at index 5, term 3.
    for (const probe& p : {probe{10, 2, false}, probe{4, 3, false}, probe{5, 3, true}, probe{1, 4, true}}) {
        persisted_state st;
        st.hard.term = raft_term(3);
        st.entries = {e(1, 1), e(2, 1), e(3, 3), e(4, 3), e(5, 3)};
        raft r(three_voters(v3), prng(1), st);
        (void)r.take_ready();
        r.step({v1, v3, vote_request{raft_term(4), log_index(p.last_index), raft_term(p.last_term), false}});
        const auto replies = bodies_of<vote_reply>(r.take_ready().messages);
        ASSERT_EQ(replies.size(), 1u);
        EXPECT_EQ(replies[0].granted, p.granted)
            << "candidate log ends at " << p.last_index << "/" << p.last_term;
    }
    // Raft §5.4.1: "the voter denies its vote if its own log is more up-to-date than that of the
    // candidate ... If the logs have last entries with different terms, then the log with the
    // later term is more up-to-date. If the logs end with the same term, then whichever log is
    // longer is more up-to-date."
}

TEST(raft_paper, the_leader_commits_an_entry_once_a_majority_stores_it) {
    raft_network net(3, plain);
    net.elect(v1);
    net.cut_both(v1, v3);
    const auto index = net.node(v1).propose(bytes{42});
    ASSERT_TRUE(index);
    net.settle();
    EXPECT_EQ(net.node(v1).commit_index(), *index);
    EXPECT_EQ(net.node(v3).log().last_index(), index->prev());
    ASSERT_FALSE(net.applied(v1).empty());
    EXPECT_EQ(net.applied(v1).back().data, bytes{42});
    net.tick(v1, 2); // a heartbeat carries the new commit index to v2
    EXPECT_EQ(net.node(v2).commit_index(), *index);
    EXPECT_EQ(net.applied(v2).back().data, bytes{42});
    net.heal();
    net.tick(v1, 2);
    EXPECT_EQ(net.node(v3).commit_index(), *index);
    // Raft §5.3: "A log entry is committed once the leader that created the entry has replicated
    // it on a majority of the servers ... Once a follower learns that a log entry is committed, it
    // applies the entry to its local state machine."
}

TEST(raft_paper, the_leader_overwrites_conflicting_entries_of_a_follower) {
    raft_network net(3, plain);
    net.elect(v1);
    net.isolate(v1);
    for (std::uint8_t i = 0; i < 3; ++i) {
        ASSERT_TRUE(net.node(v1).propose(bytes{i}));
    }
    net.settle(); // appended on v1 only: uncommitted
    const log_index v1_last = net.node(v1).log().last_index();
    net.elect(v2);
    ASSERT_EQ(net.node(v2).role(), role::leader);
    ASSERT_TRUE(net.node(v2).propose(bytes{99}));
    net.settle();
    net.heal();
    net.tick(v2, 2);
    EXPECT_EQ(net.node(v1).role(), role::follower);
    const auto& l1 = net.node(v1).log();
    const auto& l2 = net.node(v2).log();
    ASSERT_EQ(l1.last_index(), l2.last_index());
    for (log_index i(1); i <= l2.last_index(); ++i) {
        EXPECT_EQ(l1.at(i), l2.at(i)) << "index " << i;
    }
    EXPECT_LT(l2.last_index(), v1_last + 2);
    EXPECT_EQ(net.node(v1).commit_index(), net.node(v2).commit_index());
    // Raft §5.3: "the leader handles inconsistencies by forcing the followers' logs to duplicate
    // its own. This means that conflicting entries in follower logs will be overwritten."
}

TEST(raft_paper, an_entry_of_an_earlier_term_is_not_committed_by_counting_replicas) {
    raft_network net(3, [](raft_config& c) {
        plain(c);
        c.max_append_entries = 1; // one entry per append, so the filter below can hold one back
    });
    net.elect(v1); // term 1, no-op at index 1 committed everywhere
    const raft_term t1 = net.node(v1).term();
    net.isolate(v1);
    ASSERT_TRUE(net.node(v1).propose(bytes{7})); // index 2, term 1: only on v1
    net.settle();
    net.crash(v1);
    net.heal();
    net.restart(v1);
    // Hold back the coming no-op: followers will get only index 2 (term 1).
    // (A probe that carries it to a follower without index 2 is let through: it is refused,
    // and the leader backs off to index 2.)
    net.set_filter([&net](const message& m) {
        const auto* a = std::get_if<append_request>(&m.body);
        return a && !a->entries.empty() && a->entries.front().index >= log_index(3) &&
               net.node(m.to).log().last_index() >= log_index(2);
    });
    net.elect(v1); // v1's log is the most up-to-date: it wins term 2 and appends a no-op at 3
    ASSERT_EQ(net.node(v1).role(), role::leader);
    ASSERT_GT(net.node(v1).term(), t1);
    net.tick(v1, 4);
    EXPECT_EQ(net.node(v2).log().last_index(), log_index(2));
    EXPECT_EQ(net.node(v3).log().last_index(), log_index(2));
    EXPECT_EQ(net.node(v1).progress()->at(v2).match, log_index(2));
    EXPECT_EQ(net.node(v1).commit_index(), log_index(1))
        << "index 2 is on every voter but is of an earlier term: not committed by counting";
    net.set_filter({});
    net.tick(v1, 4);
    EXPECT_EQ(net.node(v1).commit_index(), log_index(3))
        << "the no-op of the new term commits, and index 2 with it";
    // Raft §5.4.2: "Raft never commits log entries from previous terms by counting replicas. Only
    // log entries from the leader's current term are committed by counting replicas; once an
    // entry from the current term has been committed in this way, then all prior entries are
    // committed indirectly." (And §8: a no-op at the start of each term.)
}

TEST(raft_paper, a_follower_behind_the_compacted_log_receives_a_snapshot) {
    raft_network net(3, plain);
    net.elect(v1);
    net.isolate(v3);
    for (std::uint8_t i = 0; i < 10; ++i) {
        ASSERT_TRUE(net.node(v1).propose(bytes{i}));
    }
    net.settle();
    const log_index applied = net.node(v1).applied_index();
    ASSERT_GE(applied, log_index(11));
    net.node(v1).compact(applied.prev(), std::make_shared<const bytes>(bytes{0xAB}));
    net.settle();
    ASSERT_TRUE(net.disk(v1).snap());
    EXPECT_EQ(net.disk(v1).snap()->meta.index, applied.prev());
    net.heal();
    net.tick(v1, 2);
    const auto& l3 = net.node(v3).log();
    EXPECT_EQ(l3.snapshot_point().index, applied.prev());
    EXPECT_EQ(l3.last_index(), net.node(v1).log().last_index());
    EXPECT_EQ(net.node(v3).counters().snapshots_installed, 1u);
    ASSERT_TRUE(net.disk(v3).snap());
    EXPECT_EQ(*net.disk(v3).snap()->data, bytes{0xAB});
    EXPECT_EQ(net.node(v3).commit_index(), net.node(v1).commit_index());
    // Raft §7: "the leader must occasionally send snapshots to followers that lag behind ...
    // the follower discards its entire log; it is all superseded by the snapshot."
}

TEST(raft_thesis, a_pre_vote_changes_no_term_and_a_returning_voter_does_not_disrupt) {
    raft_network net(3, [](raft_config& c) { c.check_quorum = true; });
    net.elect(v1);
    const raft_term term = net.node(v1).term();
    net.isolate(v3);
    net.tick(v3, 200); // many election timeouts alone
    EXPECT_GT(net.node(v3).counters().pre_elections, 5u);
    EXPECT_EQ(net.node(v3).counters().elections, 0u);
    EXPECT_EQ(net.node(v3).term(), term) << "pre-votes raise no term";
    net.heal();
    net.tick_all(30);
    EXPECT_EQ(net.leader(), v1);
    EXPECT_EQ(net.node(v1).term(), term);
    EXPECT_EQ(net.node(v3).leader(), v1);
    // Thesis §9.6: "a candidate would first ask other servers whether its log was up-to-date
    // enough to get their vote ... the candidate would not increment its term or start a normal
    // election unless the pre-vote phase succeeded."
}

TEST(raft_thesis, without_pre_vote_a_returning_voter_disrupts_the_leader) {
    raft_network net(3, [](raft_config& c) {
        c.pre_vote = false;
        c.check_quorum = false;
    });
    net.elect(v1);
    const raft_term term = net.node(v1).term();
    net.isolate(v3);
    net.tick(v3, 200);
    EXPECT_GT(net.node(v3).term(), term + 5);
    net.heal();
    net.tick_all(30);
    EXPECT_GT(net.node(v1).term(), term) << "the contrast that motivates pre-vote";
}

TEST(raft_thesis, a_leader_that_cannot_hear_a_majority_steps_down) {
    raft_network net(3, [](raft_config& c) { c.check_quorum = true; });
    net.elect(v1);
    net.isolate(v1);
    const int t = raft_config{}.election_ticks;
    int ticks = 0;
    while (net.node(v1).role() == role::leader && ticks < 10 * t) {
        net.tick(v1);
        ++ticks;
    }
    EXPECT_EQ(net.node(v1).role(), role::follower);
    EXPECT_LE(ticks, 2 * t) << "within two check-quorum periods";
    EXPECT_EQ(net.node(v1).counters().check_quorum_step_downs, 1u);
    EXPECT_EQ(net.node(v1).counters().higher_term_step_downs, 0u);
    const auto& lines = net.log_lines();
    EXPECT_TRUE(std::any_of(lines.begin(), lines.end(), [](const std::string& l) {
        return l.find("raft 1: stepping down at term") != std::string::npos &&
               l.find("lost check-quorum, heard from 0 other voter(s) [] of 3") != std::string::npos;
    })) << "the step-down is logged with its reason";
    // Thesis §6.2: "a leader steps down if an election timeout elapses without a successful
    // round of heartbeats to a majority of its cluster."
}

TEST(raft_reasons, a_leader_that_sees_a_higher_term_steps_down_and_says_from_whom) {
    raft_network net(3);
    net.elect(v1);
    const raft_term t = net.node(v1).term();
    // v3 was cut off and campaigned without pre-vote (say, restarted with an old config).
    net.deliver({v3, v1, vote_request{t.next(), log_index(), raft_term(), false}});
    EXPECT_EQ(net.node(v1).role(), role::leader) << "in its lease the leader ignores the vote request";
    EXPECT_EQ(net.node(v1).counters().higher_term_step_downs, 0u);
    net.deliver({v3, v1, append_reply{t.next(), false, log_index(), log_index(), raft_term()}});
    EXPECT_EQ(net.node(v1).role(), role::follower);
    EXPECT_EQ(net.node(v1).counters().higher_term_step_downs, 1u);
    const auto& lines = net.log_lines();
    const std::string want = fmt::format("raft 1: stepping down at term {}: voter 3 sent an append reply at term {}", t, t.next());
    EXPECT_TRUE(std::find(lines.begin(), lines.end(), want) != lines.end()) << want;
}

TEST(raft_reasons, a_follower_says_why_it_starts_an_election) {
    raft_network net(3);
    net.elect(v1);
    net.isolate(v2);
    net.tick(v2, 10 * raft_config{}.election_ticks);
    const auto& lines = net.log_lines();
    EXPECT_TRUE(std::any_of(lines.begin(), lines.end(), [](const std::string& l) {
        return l.find("raft 2: no message from leader 1 in") != std::string::npos &&
               l.find("(election timeout); starting a pre-vote for term") != std::string::npos;
    }));
}

TEST(raft_thesis, a_follower_that_hears_its_leader_ignores_vote_requests) {
    raft_network net(3, [](raft_config& c) { c.check_quorum = true; });
    net.elect(v1);
    const raft_term term = net.node(v2).term();
    net.clear_sent();
    net.deliver({v3, v2, vote_request{term + 1, log_index(100), term, false}});
    EXPECT_EQ(net.node(v2).term(), term);
    EXPECT_EQ(net.node(v2).counters().votes_ignored_in_lease, 1u);
    EXPECT_TRUE(bodies_of<vote_reply>(net.sent(), v3).empty());
    // Thesis §6.2 (and §4.2.3): "if a server receives a RequestVote request within the minimum
    // election timeout of hearing from a current leader, it does not update its term or grant
    // its vote."
}

TEST(raft, a_message_from_an_unknown_voter_is_dropped_and_counted) {
    raft r(three_voters(v1), prng(1), persisted_state{});
    (void)r.take_ready();
    r.step({voter_id(9), v1, vote_request{raft_term(5), log_index(0), raft_term(0), false}});
    r.step({v2, voter_id(7), vote_request{raft_term(5), log_index(0), raft_term(0), false}});
    EXPECT_EQ(r.counters().dropped_unknown_voter, 2u);
    EXPECT_EQ(r.term(), raft_term(0));
    EXPECT_FALSE(r.has_ready());
}

TEST(raft, entries_and_the_acknowledgement_leave_in_one_ready_persist_first) {
    raft r(three_voters(v2), prng(1), persisted_state{});
    (void)r.take_ready();
    r.step(
        {v1, v2, append_request{raft_term(1), log_index(0), raft_term(0), {e(1, 1), e(2, 1)}, log_index(0)}});
    const auto rd = r.take_ready();
    ASSERT_EQ(rd.entries.size(), 2u);
    ASSERT_TRUE(rd.hard);
    EXPECT_EQ(rd.hard->term, raft_term(1));
    const auto replies = bodies_of<append_reply>(rd.messages);
    ASSERT_EQ(replies.size(), 1u);
    EXPECT_TRUE(replies[0].success);
    EXPECT_EQ(replies[0].index, log_index(2));
}

TEST(raft, a_single_voter_elects_itself_and_commits_alone) {
    raft_config c;
    c.id = v1;
    c.voters = {v1};
    raft r(c, prng(1), persisted_state{});
    for (int i = 0; i < 30 && r.role() != role::leader; ++i) {
        r.tick();
    }
    ASSERT_EQ(r.role(), role::leader);
    (void)r.take_ready();
    const auto index = r.propose(bytes{1, 2});
    ASSERT_TRUE(index);
    const auto rd = r.take_ready();
    ASSERT_EQ(rd.entries.size(), 1u);
    ASSERT_EQ(rd.committed.size(), 1u);
    EXPECT_EQ(rd.committed[0].data, (bytes{1, 2}));
    EXPECT_TRUE(rd.messages.empty());
}

TEST(raft, a_follower_refuses_proposals) {
    raft r(three_voters(v1), prng(1), persisted_state{});
    const auto p = r.propose(bytes{1});
    ASSERT_FALSE(p);
    EXPECT_EQ(p.error(), propose_error::not_leader);
}

TEST(raft, a_restarted_voter_reapplies_its_committed_entries) {
    raft_network net(3, plain);
    net.elect(v1);
    for (std::uint8_t i = 0; i < 5; ++i) {
        ASSERT_TRUE(net.node(v1).propose(bytes{i}));
    }
    net.settle();
    net.tick(v1, 2);
    const auto before = net.applied(v2);
    ASSERT_EQ(before.size(), 6u);
    net.crash(v2);
    net.restart(v2);
    EXPECT_EQ(net.applied(v2), before);
}

TEST(raft, five_voters_tolerate_two_crashes) {
    raft_network net(5, plain);
    net.elect(v1);
    net.crash(v4);
    net.crash(v5);
    const auto index = net.node(v1).propose(bytes{5});
    ASSERT_TRUE(index);
    net.settle();
    EXPECT_EQ(net.node(v1).commit_index(), *index);
    net.crash(v3);
    ASSERT_TRUE(net.node(v1).propose(bytes{6}));
    net.settle();
    EXPECT_EQ(net.node(v1).commit_index(), *index) << "two of five cannot commit";
}

TEST(raft_config, validation_names_what_is_wrong) {
    raft_config c = three_voters(v1);
    EXPECT_FALSE(c.validate());
    c.voters = {v1, v2};
    ASSERT_TRUE(c.validate());
    EXPECT_NE(c.validate()->find("1, 3 or 5"), std::string::npos);
    c.voters = {v1, v1, v2};
    EXPECT_NE(c.validate()->find("twice"), std::string::npos);
    c = three_voters(v4);
    EXPECT_NE(c.validate()->find("not in the voter list"), std::string::npos);
    c = three_voters(v1);
    c.heartbeat_ticks = c.election_ticks;
    EXPECT_TRUE(c.validate());
}

TEST(raft, a_leader_sends_its_appends_before_its_own_write_and_nothing_else) {
    raft_network net(3, plain);
    net.elect(v1);
    ASSERT_EQ(net.node(v1).role(), role::leader);
    raft& leader = net.node(v1);
    ASSERT_TRUE(leader.propose(bytes{7}));
    const auto rd = leader.take_ready();
    ASSERT_EQ(rd.entries.size(), 1u); // still to be written...
    const auto early = bodies_of<append_request>(rd.early_messages);
    ASSERT_EQ(early.size(), 2u); // ...and already on its way to both followers
    for (const auto& a : early) {
        ASSERT_EQ(a.entries.size(), 1u);
        EXPECT_EQ(a.entries[0].index, rd.entries[0].index);
    }
    EXPECT_TRUE(rd.messages.empty());
    // Nothing commits on the leader's own write: only an acknowledgement (an input, so after the
    // write) moves the commit index.
    EXPECT_LT(leader.commit_index(), rd.entries[0].index);

    // A follower's acknowledgement waits for its write.
    net.node(v2).step({v1, v2, early[0]});
    const auto frd = net.node(v2).take_ready();
    EXPECT_TRUE(frd.early_messages.empty());
    EXPECT_EQ(bodies_of<append_reply>(frd.messages).size(), 1u);
    EXPECT_EQ(frd.entries.size(), 1u);
    // Raft thesis §10.2.1: "the leader [can] write to its disk in parallel with replicating".
}

TEST(raft, a_new_leaders_first_appends_and_every_vote_wait_for_the_write) {
    raft r(three_voters(v1), prng(1), persisted_state{});
    while (r.role() != role::candidate) {
        r.tick();
    }
    auto rd = r.take_ready();
    ASSERT_TRUE(rd.hard); // the vote for itself...
    EXPECT_TRUE(rd.early_messages.empty()); // ...is written before any request leaves
    EXPECT_EQ(bodies_of<vote_request>(rd.messages).size(), 2u);
    r.step({v2, v1, vote_reply{r.term(), true, false}});
    ASSERT_EQ(r.role(), role::leader);
    rd = r.take_ready();
    // The term was handed out before: the leader's first appends may go early.
    EXPECT_EQ(bodies_of<append_request>(rd.early_messages).size(), 2u);
    EXPECT_TRUE(bodies_of<append_request>(rd.messages).empty());
}

TEST(raft, without_early_appends_every_message_waits_for_the_write) {
    raft_network net(3, [](raft_config& c) {
        plain(c);
        c.early_appends = false;
    });
    net.elect(v1);
    ASSERT_TRUE(net.node(v1).propose(bytes{7}));
    const auto rd = net.node(v1).take_ready();
    EXPECT_TRUE(rd.early_messages.empty());
    EXPECT_EQ(bodies_of<append_request>(rd.messages).size(), 2u);
}

TEST(raft, a_ready_that_only_moves_the_commit_index_says_so) {
    raft_network net(3, plain);
    net.elect(v1);
    raft& leader = net.node(v1);
    ASSERT_TRUE(leader.propose(bytes{7}));
    auto rd = leader.take_ready();
    EXPECT_FALSE(rd.only_commit_to_persist()); // entries
    const auto early = bodies_of<append_request>(rd.early_messages);
    ASSERT_FALSE(early.empty());
    net.node(v2).step({v1, v2, early[0]});
    const auto frd = net.node(v2).take_ready();
    const auto acks = bodies_of<append_reply>(frd.messages);
    ASSERT_EQ(acks.size(), 1u);
    leader.step({v2, v1, acks[0]});
    rd = leader.take_ready();
    ASSERT_TRUE(rd.hard);
    EXPECT_EQ(rd.hard->commit, rd.committed.back().index);
    EXPECT_TRUE(rd.only_commit_to_persist()); // may be written after the answers leave

    // A new term is never "only the commit index".
    raft r(three_voters(v1), prng(1), persisted_state{});
    (void)r.take_ready();
    r.step({v2, v1, append_request{raft_term(4), log_index(0), raft_term(0), {}, log_index(0)}});
    rd = r.take_ready();
    ASSERT_TRUE(rd.hard);
    EXPECT_FALSE(rd.only_commit_to_persist());
}

} // namespace
} // namespace roster::consensus
