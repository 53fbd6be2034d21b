#include <deque>
#include <functional>
#include <set>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "consensus/memory_storage.hh"
#include "node/voter_node.hh"
#include "wire/codec.hh"
#include "tests/clock.hh"

namespace roster::node {

using namespace roster::membership;
using namespace roster::views;
using namespace roster::wire;
namespace {

using roster::testing::at;

voter_config single(const std::string& name = "v1") {
    voter_config c;
    c.name = name;
    c.id = voter_id(1);
    c.voters = {voter_id(1)};
    c.listen_of[voter_id(1)] = "127.0.0.1:7400";
    c.address = "127.0.0.1:7400";
    c.publish_endpoint = "127.0.0.1:7402";
    c.compact_every = 5;
    return c;
}

// Drives one voter alone: persists its output and keeps what it replied and published.
struct harness {
    consensus::memory_storage disk;
    std::unique_ptr<voter_node> node;
    std::vector<std::pair<route_id, body>> replies;
    std::vector<body> published;
    int now_ms = 0;

    explicit harness(voter_config c = single()) {
        node = std::make_unique<voter_node>(c, prng(1), consensus::persisted_state{}, at(0));
        collect();
    }
    void collect() {
        output out = node->take_output();
        for (const auto& rd : out.persist) {
            EXPECT_FALSE(disk.save(rd));
        }
        for (auto& r : out.replies) {
            replies.push_back(std::move(r));
        }
        for (auto& p : out.published) {
            published.push_back(std::move(p));
        }
    }
    void run(int ms) {
        for (int i = 0; i < ms; ++i) {
            node->tick(at(++now_ms));
            collect();
        }
    }
    void request(route_id r, body b) {
        node->on_request(r, b, at(now_ms));
        collect();
    }
    template <typename T>
    std::vector<T> replies_to(route_id r) const {
        std::vector<T> out;
        for (const auto& [route, b] : replies) {
            if (route == r) {
                if (const auto* x = std::get_if<T>(&b)) {
                    out.push_back(*x);
                }
            }
        }
        return out;
    }
};

TEST(voter_node, a_single_voter_elects_itself_and_joins_its_own_view) {
    harness h;
    h.run(500);
    EXPECT_EQ(h.node->consensus().role(), consensus::role::leader);
    ASSERT_EQ(h.node->view().members.size(), 1u);
    EXPECT_EQ(h.node->view().members[0].name, "v1");
    EXPECT_EQ(h.node->self(), h.node->view().members[0].id);
    EXPECT_EQ(h.node->view().leader, h.node->self());
    ASSERT_FALSE(h.published.empty());
    EXPECT_TRUE(std::holds_alternative<views::view_change>(h.published.back()));
}

TEST(voter_node, a_join_is_answered_once_it_commits) {
    harness h;
    h.run(300);
    h.request(42, join_request{7, "m1", "10.0.0.9:7400", "10.0.0.9:7402", incarnation_number(3), {}});
    EXPECT_TRUE(h.replies_to<join_reply>(42).empty()) << "held for the settle window";
    h.run(100);
    const auto replies = h.replies_to<join_reply>(42);
    ASSERT_EQ(replies.size(), 1u);
    EXPECT_EQ(replies[0].request_id, 7u);
    EXPECT_EQ(replies[0].status, request_status::ok);
    EXPECT_EQ(replies[0].incarnation, incarnation_number(3));
    EXPECT_EQ(replies[0].view, h.node->view().id);
    EXPECT_NE(h.node->state().find(replies[0].member), nullptr);
    // A retry of the same join gets the same id at once.
    h.request(43, join_request{8, "m1", "10.0.0.9:7400", "10.0.0.9:7402", incarnation_number(3), {}});
    ASSERT_EQ(h.replies_to<join_reply>(43).size(), 1u);
    EXPECT_EQ(h.replies_to<join_reply>(43)[0].member, replies[0].member);
}

TEST(voter_node, joins_arriving_together_share_one_view) {
    harness h;
    h.run(300);
    const view_id before = h.node->view().id;
    for (int i = 0; i < 20; ++i) {
        h.request(100 + i, join_request{1, "m" + std::to_string(i), "", "", incarnation_number(1), {}});
    }
    h.run(100);
    EXPECT_EQ(h.node->view().id, before.next());
    EXPECT_EQ(h.node->view().members.size(), 21u);
}

TEST(voter_node, a_silent_member_is_removed_and_a_departed_one_is_told) {
    harness h;
    h.run(300);
    h.request(1, join_request{1, "quiet", "", "", incarnation_number(1), {}});
    h.run(100);
    const member_id id = h.replies_to<join_reply>(1).at(0).member;
    // It never heartbeats: suspected after the grace period (2 s), removed by the lone voter.
    h.run(2500);
    EXPECT_EQ(h.node->state().find(id), nullptr);
    ASSERT_FALSE(h.node->view().removed.empty());
    EXPECT_EQ(h.node->view().removed[0].reason, views::removal_reason::suspected);
    // Its heartbeat now gets "removed".
    h.request(2, heartbeat{id, incarnation_number(1), 1, view_id()});
    const auto replies = h.replies_to<heartbeat_reply>(2);
    ASSERT_EQ(replies.size(), 1u);
    EXPECT_EQ(replies[0].status, member_status::removed);
}

TEST(voter_node, a_heartbeating_member_stays) {
    harness h;
    h.run(300);
    h.request(1, join_request{1, "busy", "", "", incarnation_number(1), {}});
    h.run(100);
    const member_id id = h.replies_to<join_reply>(1).at(0).member;
    for (int i = 0; i < 100; ++i) {
        h.request(1, heartbeat{id, incarnation_number(1), static_cast<std::uint64_t>(i), view_id()});
        h.run(100);
    }
    EXPECT_NE(h.node->state().find(id), nullptr);
    EXPECT_EQ(h.node->counters().suspicions_raised, 0u);
}

TEST(voter_node, a_leave_commits_as_left) {
    harness h;
    h.run(300);
    h.request(1, join_request{1, "goer", "", "", incarnation_number(1), {}});
    h.run(100);
    const member_id id = h.replies_to<join_reply>(1).at(0).member;
    h.request(2, leave_request{5, id, incarnation_number(1)});
    h.run(100);
    ASSERT_EQ(h.replies_to<leave_reply>(2).size(), 1u);
    EXPECT_EQ(h.replies_to<leave_reply>(2)[0].status, request_status::ok);
    EXPECT_EQ(h.node->view().removed.at(0).reason, views::removal_reason::left);
}

TEST(voter_node, answers_sync_and_status) {
    harness h;
    h.run(300);
    h.request(9, sync_request{3, view_id(), true});
    const auto sync = h.replies_to<sync_reply>(9);
    ASSERT_EQ(sync.size(), 1u);
    ASSERT_TRUE(sync[0].full);
    EXPECT_EQ(*sync[0].full, h.node->view());
    h.request(9, status_request{4});
    const auto st = h.replies_to<status_reply>(9);
    ASSERT_EQ(st.size(), 1u);
    EXPECT_EQ(st[0].role, node_role::leader);
    EXPECT_EQ(st[0].voter, voter_id(1));
    EXPECT_EQ(st[0].view, h.node->view().id);
    EXPECT_EQ(st[0].name, "v1");
}

TEST(voter_node, a_restart_recovers_the_views_from_storage_and_replaces_its_ghost) {
    harness h;
    h.run(300);
    for (int i = 0; i < 12; ++i) { // enough commands for a snapshot (compact_every = 5)
        h.request(1, join_request{1, "m" + std::to_string(i), "", "", incarnation_number(1), {}});
        h.run(60);
    }
    ASSERT_TRUE(h.disk.snap()) << "compaction happened";
    const views::view before = h.node->view();
    voter_config c = single();
    c.incarnation = incarnation_number(2);
    voter_node restarted(c, prng(2), h.disk.recovered(), at(h.now_ms));
    (void)restarted.take_output();
    EXPECT_EQ(restarted.view(), before) << "recovered from snapshot and log, before any new commit";
    // Once it leads again, its new incarnation replaces its old member in one view.
    h.node = std::make_unique<voter_node>(c, prng(3), h.disk.recovered(), at(h.now_ms));
    h.collect();
    h.run(500);
    EXPECT_EQ(h.node->view().id, before.id.next());
    ASSERT_EQ(h.node->view().removed.size(), 1u);
    EXPECT_EQ(h.node->view().removed[0].reason, views::removal_reason::replaced);
    EXPECT_EQ(h.node->state().find(h.node->self())->incarnation, incarnation_number(2));
}

TEST(voter_node, a_voter_restarted_below_an_incarnation_its_name_reached_joins_again_past_it) {
    voter_config c = single();
    c.incarnation = incarnation_number(5);
    harness h(c);
    h.run(300);
    ASSERT_NE(h.node->self(), member_id());
    h.node->leave(at(h.now_ms));
    h.collect();
    h.run(200);
    ASSERT_TRUE(h.node->left()) << "incarnation 5 of v1 has departed";
    // The next process starts below it (an incarnation kept from before the last one rejoined, or
    // a clock that went back): incarnations 3, 4 and 5 of v1 are stale.
    c.incarnation = incarnation_number(3);
    h.node = std::make_unique<voter_node>(c, prng(2), h.disk.recovered(), at(h.now_ms));
    h.collect();
    h.run(1000);
    const views::member* me = h.node->state().find_by_name("v1");
    ASSERT_NE(me, nullptr) << "its own entry never came back";
    EXPECT_EQ(me->incarnation, incarnation_number(6));
    EXPECT_EQ(h.node->self(), me->id);
    EXPECT_EQ(h.node->self_phase(), self_member::phase::active);
}

TEST(voter_config, validation_names_what_is_wrong) {
    voter_config c = single();
    EXPECT_FALSE(c.validate());
    c.name = "";
    EXPECT_NE(c.validate()->find("name"), std::string::npos);
    c = single();
    c.voters = {voter_id(1), voter_id(2)};
    EXPECT_NE(c.validate()->find("1, 3 or 5"), std::string::npos);
    c = single();
    c.suspicion_ttl = c.report_interval;
    EXPECT_NE(c.validate()->find("ttl"), std::string::npos);
    // Its own member entry passes what every voter checks at join.
    c = single("v1\x1b[0m");
    EXPECT_NE(c.validate()->find("its member entry: the name has control character U+001B"),
              std::string::npos);
    c = single();
    c.incarnation = incarnation_number(0);
    EXPECT_NE(c.validate()->find("incarnation 0"), std::string::npos);
    c = single();
    c.max_members = 0;
    EXPECT_NE(c.validate()->find("max_members"), std::string::npos);
}

} // namespace
} // namespace roster::node

namespace roster::node {
namespace {

TEST(voter_node, a_graceful_leave_of_the_voter_commits_its_member_as_left) {
    harness h;
    h.run(300);
    const member_id self = h.node->self();
    ASSERT_NE(self, member_id());
    h.node->leave(at(h.now_ms));
    h.collect();
    h.run(200);
    EXPECT_TRUE(h.node->left());
    EXPECT_EQ(h.node->state().find(self), nullptr);
    EXPECT_EQ(h.node->view().removed.at(0).reason, views::removal_reason::left);
    h.run(2000);
    EXPECT_TRUE(h.node->view().members.empty()) << "a leaving voter does not join again";
}

} // namespace
} // namespace roster::node

// ---- three voters, messages between them routed by hand ----------------------------------

namespace roster::node {
namespace {

using namespace roster::membership;
using namespace roster::wire;

const voter_id v1(1), v2(2), v3(3);

struct trio {
    struct voter {
        consensus::memory_storage disk;
        std::unique_ptr<voter_node> node;
    };
    struct message {
        voter_id from;
        voter_id to;
        body msg;
    };
    std::map<voter_id, voter> voters;
    std::set<std::pair<voter_id, voter_id>> cut;
    std::deque<message> wire;                       // sent between voters, not yet delivered
    std::vector<message> sent;                      // everything sent between voters
    std::vector<std::pair<route_id, body>> replies; // replies on any voter's listen socket
    int now_ms = 0;

    explicit trio(const std::function<void(voter_config&)>& tweak = {}) {
        for (voter_id v : {v1, v2, v3}) {
            voter_config c;
            c.name = fmt::format("v{}", v);
            c.id = v;
            c.voters = {v1, v2, v3};
            for (voter_id o : {v1, v2, v3}) {
                c.listen_of[o] = fmt::format("127.0.0.1:74{}0", o);
            }
            c.address = c.listen_of[v];
            if (tweak) {
                tweak(c);
            }
            voters[v].node =
                std::make_unique<voter_node>(c, prng(v.value()), consensus::persisted_state{}, at(0));
        }
        for (voter_id v : {v1, v2, v3}) {
            collect(v);
        }
    }
    voter_node& node(voter_id v) { return *voters.at(v).node; }
    void collect(voter_id v) {
        output out = voters.at(v).node->take_output();
        for (auto& [to, b] : out.early_to_voters) {
            sent.push_back({v, to, b});
            if (!cut.count({v, to})) {
                wire.push_back({v, to, std::move(b)});
            }
        }
        for (const auto& rd : out.persist) {
            EXPECT_FALSE(voters.at(v).disk.save(rd));
        }
        for (auto& [to, b] : out.to_voters) {
            sent.push_back({v, to, b});
            if (!cut.count({v, to})) {
                wire.push_back({v, to, std::move(b)});
            }
        }
        for (auto& r : out.replies) {
            replies.push_back(std::move(r));
        }
    }
    void deliver_all() {
        while (!wire.empty()) {
            message m = std::move(wire.front());
            wire.pop_front();
            node(m.to).on_peer(m.from, m.msg, at(now_ms));
            collect(m.to);
        }
    }
    void run(int ms) {
        for (int i = 0; i < ms; ++i) {
            ++now_ms;
            for (voter_id v : {v1, v2, v3}) {
                node(v).tick(at(now_ms));
                collect(v);
            }
            deliver_all();
        }
    }
    void isolate(voter_id v) {
        for (voter_id o : {v1, v2, v3}) {
            cut.insert({v, o});
            cut.insert({o, v});
        }
    }
    voter_id leader() {
        for (voter_id v : {v1, v2, v3}) {
            if (node(v).consensus().role() == consensus::role::leader) {
                return v;
            }
        }
        return voter_id();
    }
    voter_id a_follower() {
        for (voter_id v : {v1, v2, v3}) {
            if (v != leader()) {
                return v;
            }
        }
        return voter_id();
    }
    void request(voter_id v, route_id r, body b, const requester& who = {}) {
        node(v).on_request(r, b, at(now_ms), who);
        collect(v);
        deliver_all();
    }
    // `b` arrives at `to` as if `from` sent it.
    void from_peer(voter_id to, voter_id from, body b) {
        node(to).on_peer(from, b, at(now_ms));
        collect(to);
    }
    template <typename T>
    std::vector<T> replies_to(route_id r) const {
        std::vector<T> out;
        for (const auto& [route, b] : replies) {
            if (const auto* x = std::get_if<T>(&b); x && route == r) {
                out.push_back(*x);
            }
        }
        return out;
    }
    template <typename T>
    std::vector<T> sent_to(voter_id to, voter_id from) const {
        std::vector<T> out;
        for (const auto& m : sent) {
            if (const auto* x = std::get_if<T>(&m.msg); x && m.to == to && m.from == from) {
                out.push_back(*x);
            }
        }
        return out;
    }
    // Runs until a leader leads a view holding all three voters.
    void form() {
        for (int i = 0; i < 50 && !(leader() != voter_id() && node(leader()).view().members.size() == 3);
             ++i) {
            run(100);
        }
        ASSERT_NE(leader(), voter_id());
        ASSERT_EQ(node(leader()).view().members.size(), 3u);
        run(100); // every voter applied it
    }
};

TEST(voter_node_trio, a_join_sent_to_a_follower_is_forwarded_to_the_leader_and_answered_there) {
    trio t;
    t.form();
    const voter_id f = t.a_follower();
    const auto forwarded = t.node(f).requests_forwarded(); // its own join went this way too
    t.request(f, 42, join_request{7, "m1", "10.0.0.9:7400", "10.0.0.9:7402", incarnation_number(3), {}});
    EXPECT_EQ(t.node(f).requests_forwarded(), forwarded + 1);
    t.run(200);
    const auto r = t.replies_to<join_reply>(42);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].request_id, 7u) << "the requester's id, not the forwarder's";
    EXPECT_EQ(r[0].status, request_status::ok);
    EXPECT_EQ(r[0].leader_hint, fmt::format("127.0.0.1:74{}0", t.leader()));
    ASSERT_NE(t.node(f).state().find(r[0].member), nullptr);
    EXPECT_EQ(t.node(f).state().find(r[0].member)->name, "m1");
}

// Each voter's own entry names the voter (rosterctl members shows its consensus role from it); no
// request from the listen socket, and no voter for another voter's name, can claim a voter id.
TEST(voter_node_trio, only_a_voter_itself_marks_its_entry_as_that_voters) {
    trio t;
    t.form();
    for (voter_id v : {v1, v2, v3}) {
        for (voter_id at : {v1, v2, v3}) {
            const auto* self = t.node(at).state().find_by_name(fmt::format("v{}", v));
            ASSERT_NE(self, nullptr);
            EXPECT_EQ(self->voter, v) << "v" << v << "'s entry as voter " << at << " holds it";
            EXPECT_NE(self->joined_view, view_id());
        }
    }
    const voter_id f = t.a_follower();
    const view_id formed = t.node(t.leader()).view().id;
    join_request claims{7, "m1", "10.0.0.9:7400", "", incarnation_number(3), {}};
    claims.voter = f;
    t.request(f, 42, claims); // on f's listen socket
    join_request other{8, "m2", "10.0.0.8:7400", "", incarnation_number(3), {}};
    other.voter = f == v1 ? v2 : v1;
    t.from_peer(t.leader(), f, other); // f forwards a join claiming another voter's id
    t.deliver_all();
    t.run(200);
    for (const char* name : {"m1", "m2"}) {
        const auto* m = t.node(t.leader()).state().find_by_name(name);
        ASSERT_NE(m, nullptr) << name;
        EXPECT_EQ(m->voter, voter_id()) << name;
        EXPECT_GT(m->joined_view, formed) << name;
        EXPECT_LE(m->joined_view, t.node(t.leader()).view().id) << name;
    }
}

TEST(voter_node_trio, a_leave_sent_to_a_follower_is_forwarded_to_the_leader_and_answered_there) {
    trio t;
    t.form();
    const voter_id f = t.a_follower();
    const auto forwarded = t.node(f).requests_forwarded();
    t.request(f, 1, join_request{1, "goer", "", "", incarnation_number(1), {}});
    t.run(200);
    const member_id id = t.replies_to<join_reply>(1).at(0).member;
    t.request(f, 2, leave_request{9, id, incarnation_number(1)});
    EXPECT_EQ(t.node(f).requests_forwarded(), forwarded + 2) << "joins and leaves are both counted";
    t.run(200);
    const auto r = t.replies_to<leave_reply>(2);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].request_id, 9u);
    EXPECT_EQ(r[0].status, request_status::ok);
    EXPECT_EQ(t.node(f).state().find(id), nullptr);
    EXPECT_EQ(t.node(f).view().removed.at(0).reason, views::removal_reason::left);
}

TEST(voter_node_trio, a_forwarded_request_that_reaches_a_follower_is_refused_as_not_leader) {
    trio t;
    t.form();
    const voter_id f = t.a_follower();
    const voter_id other =
        f == v1 ? (t.leader() == v2 ? v3 : v2) : (t.leader() == v1 ? (f == v2 ? v3 : v2) : v1);
    ASSERT_NE(other, f);
    ASSERT_NE(other, t.leader());
    const auto forwarded = t.node(f).requests_forwarded();
    t.from_peer(f, other, join_request{5, "m1", "", "", incarnation_number(1), {}});
    t.from_peer(f, other, leave_request{6, member_id(99), incarnation_number(1)});
    const auto j = t.sent_to<join_reply>(other, f);
    const auto l = t.sent_to<leave_reply>(other, f);
    ASSERT_EQ(j.size(), 1u);
    ASSERT_EQ(l.size(), 1u);
    EXPECT_EQ(j[0].status, request_status::not_leader);
    EXPECT_EQ(j[0].request_id, 5u);
    EXPECT_EQ(l[0].status, request_status::not_leader) << "leaves are refused like joins";
    EXPECT_EQ(l[0].request_id, 6u);
    EXPECT_EQ(t.node(f).requests_forwarded(), forwarded) << "never forwarded a second time";
}

TEST(voter_node_trio, without_a_leader_joins_and_leaves_are_unavailable) {
    trio t;
    ASSERT_EQ(t.node(v1).consensus().leader(), voter_id());
    t.request(v1, 3, join_request{1, "early", "", "", incarnation_number(1), {}});
    t.request(v1, 4, leave_request{2, member_id(5), incarnation_number(1)});
    ASSERT_EQ(t.replies_to<join_reply>(3).size(), 1u);
    ASSERT_EQ(t.replies_to<leave_reply>(4).size(), 1u);
    EXPECT_EQ(t.replies_to<join_reply>(3)[0].status, request_status::unavailable);
    EXPECT_EQ(t.replies_to<leave_reply>(4)[0].status, request_status::unavailable);
}

TEST(voter_node_trio, pending_requests_are_told_not_leader_when_leadership_is_lost) {
    trio t;
    t.form();
    const voter_id l = t.leader();
    const voter_id f = t.a_follower();
    t.request(l, 8, join_request{3, "late", "", "", incarnation_number(1), {}});
    EXPECT_TRUE(t.replies_to<join_reply>(8).empty()) << "waiting for the settle window";
    // A leader of a later term shows up: this one steps down with the join still waiting.
    const raft_term next = t.node(l).consensus().term().next();
    t.from_peer(l, f, consensus::append_request{next, log_index(), raft_term(), {}, log_index()});
    ASSERT_NE(t.node(l).consensus().role(), consensus::role::leader);
    const auto r = t.replies_to<join_reply>(8);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].status, request_status::not_leader);
    EXPECT_EQ(r[0].request_id, 3u);
}

TEST(voter_node_trio, a_proposal_not_applied_in_time_is_proposed_again_and_answered_once) {
    trio t([](voter_config& c) {
        c.batching.join_settle = 10ms;
        c.batching.proposal_timeout = 20ms;
    });
    t.form();
    const voter_id l = t.leader();
    const auto proposed = t.node(l).counters().commands_proposed;
    // Cut off for less than an election timeout (100 ms): it stays leader, its entry cannot commit.
    t.isolate(l);
    t.request(l, 8, join_request{3, "slow", "", "", incarnation_number(1), {}});
    t.run(10); // the settle window: proposed now
    ASSERT_EQ(t.node(l).counters().commands_proposed, proposed + 1);
    t.run(40); // the proposal times out (20 ms) and goes again after the settle window
    EXPECT_EQ(t.node(l).counters().commands_proposed, proposed + 2);
    EXPECT_TRUE(t.replies_to<join_reply>(8).empty());
    EXPECT_EQ(t.node(l).consensus().role(), consensus::role::leader);
    t.cut.clear();
    t.run(300);
    const auto r = t.replies_to<join_reply>(8);
    ASSERT_EQ(r.size(), 1u) << "answered once, by the first entry that applied";
    EXPECT_EQ(r[0].status, request_status::ok);
    int count = 0;
    for (const auto& m : t.node(v1).view().members) {
        count += m.name == "slow" ? 1 : 0;
    }
    EXPECT_EQ(count, 1);
}

TEST(voter_node_trio, a_snapshot_that_is_not_a_membership_snapshot_is_refused_and_counted) {
    trio t;
    t.form();
    const voter_id l = t.leader();
    const voter_id f = t.a_follower();
    const raft_term term = t.node(f).consensus().term();
    const view_id before = t.node(f).view().id;
    t.from_peer(f, l,
                consensus::snapshot_request{term, log_index(500), term, bytes{1, 2, 3, 4, 5, 6, 7, 8, 9}});
    EXPECT_EQ(t.node(f).counters().snapshots_refused, 1u);
    // Well-formed bytes, impossible contents: the same name twice.
    membership::membership_snapshot twice;
    twice.view.id = view_id(3);
    twice.view.members = {{member_id(1), "x", "", "", incarnation_number(1), {}},
                          {member_id(2), "x", "", "", incarnation_number(1), {}}};
    twice.view.leader = member_id(1);
    twice.next_member = member_id(3);
    t.from_peer(f, l, consensus::snapshot_request{term, log_index(500), term, wire::encode_snapshot(twice)});
    EXPECT_EQ(t.node(f).counters().snapshots_refused, 2u);
    EXPECT_EQ(t.node(f).view().id, before);
    EXPECT_LT(t.node(f).consensus().commit_index(), log_index(500));
    t.run(200);
    EXPECT_EQ(t.node(f).consensus().role(), consensus::role::follower) << "still a working voter";
}

// ---- limits that hold for any member ------------------------------------------------------

join_request join(std::uint64_t request_id, std::string name, std::uint64_t incarnation = 1) {
    join_request q;
    q.request_id = request_id;
    q.name = std::move(name);
    q.address = "10.0.0.9:7400";
    q.publish_endpoint = "10.0.0.9:7402";
    q.incarnation = incarnation_number(incarnation);
    return q;
}

TEST(voter_node_trio, a_join_beyond_the_bounds_is_rejected_with_the_reason_by_the_voter_that_gets_it) {
    trio t;
    t.form();
    const voter_id f = t.a_follower();
    const voter_id l = t.leader();
    struct bad_join {
        join_request q;
        std::string reason;
    };
    std::vector<bad_join> cases = {
        {join(1, ""), "the name is empty"},
        {join(1, std::string(256, 'n')), "the name is 256 bytes, at most 255"},
        {join(1, "evil\x1b]0;owned\x07"), "the name has control character U+001B at byte 4"},
        {join(1, "c1\xc2\x9b"), "the name has control character U+009B at byte 2"},
        {join(1, "bad\xff"), "the name has invalid UTF-8 at byte 3 (0xff)"},
        {join(1, "m", 0), "incarnation 0 is outside 1..9223372036854775808"},
        {join(1, "m", ~std::uint64_t{0}), "incarnation 18446744073709551615 is outside 1.."},
    };
    cases.push_back({join(1, "m"), "the address has byte 0x0a at 3"});
    cases.back().q.address = "10.\n";
    cases.push_back({join(1, "m"), "the publish endpoint is 256 bytes, at most 255"});
    cases.back().q.publish_endpoint = std::string(256, 'p');
    cases.push_back({join(1, "m"), "33 tags, at most 32"});
    cases.back().q.tags.assign(33, views::tag{"k", "v"});
    cases.push_back({join(1, "m"), "the key of tag 2 is empty"});
    cases.back().q.tags = {{"zone", "a"}, {"", "x"}};
    cases.push_back({join(1, "m"), "the value of tag 1 is 257 bytes, at most 256"});
    cases.back().q.tags = {{"zone", std::string(257, 'v')}};
    cases.push_back({join(1, "m"), "the key of tag 1 has control character U+000A"});
    cases.back().q.tags = {{"zo\nne", "a"}};

    const view_id before = t.node(l).view().id;
    route_id route = 100;
    for (const voter_id v : {f, l}) {
        const auto forwarded = t.node(v).requests_forwarded();
        const auto invalid = t.node(v).counters().requests_invalid;
        for (auto& c : cases) {
            c.q.request_id = ++route;
            t.request(v, route, c.q);
            const auto r = t.replies_to<join_reply>(route);
            ASSERT_EQ(r.size(), 1u) << c.reason << ": answered at once, by the voter that got it";
            EXPECT_EQ(r[0].status, request_status::rejected);
            EXPECT_EQ(r[0].request_id, route);
            EXPECT_NE(r[0].error.find(c.reason), std::string::npos) << r[0].error;
            EXPECT_EQ(r[0].error.find('\x1b'), std::string::npos) << "the reason never quotes the bytes";
        }
        EXPECT_EQ(t.node(v).requests_forwarded(), forwarded)
            << "nothing beyond the bounds reaches the leader";
        EXPECT_EQ(t.node(v).counters().requests_invalid, invalid + cases.size());
    }
    // A forwarded one that got past a voter of another build is checked again at the leader.
    t.from_peer(l, f, join(7, "bad\xff"));
    const auto back = t.sent_to<join_reply>(f, l);
    ASSERT_FALSE(back.empty());
    EXPECT_EQ(back.back().status, request_status::rejected);
    t.run(300);
    EXPECT_EQ(t.node(l).view().id, before) << "no view changed";
    // The largest incarnation and the longest name are fine.
    t.request(f, 500, join(500, std::string(255, 'n'), std::uint64_t{1} << 63));
    t.run(300);
    ASSERT_EQ(t.replies_to<join_reply>(500).size(), 1u);
    EXPECT_EQ(t.replies_to<join_reply>(500)[0].status, request_status::ok);
}

TEST(voter_node_trio, a_leave_with_an_incarnation_out_of_range_is_rejected) {
    trio t;
    t.form();
    const voter_id f = t.a_follower();
    const auto forwarded = t.node(f).requests_forwarded();
    t.request(f, 1, leave_request{4, member_id(1), incarnation_number(0)});
    t.request(f, 2, leave_request{5, member_id(1), incarnation_number((std::uint64_t{1} << 63) + 1)});
    for (route_id r : {1, 2}) {
        const auto replies = t.replies_to<leave_reply>(r);
        ASSERT_EQ(replies.size(), 1u);
        EXPECT_EQ(replies[0].status, request_status::rejected);
        EXPECT_NE(replies[0].error.find("is outside 1..9223372036854775808"), std::string::npos)
            << replies[0].error;
    }
    EXPECT_EQ(t.node(f).requests_forwarded(), forwarded);
}

// An entry that breaks the bounds in the log (forged, or from a build with other rules) is refused
// alike on every voter: not applied, counted, and the views stay the same everywhere.
TEST(voter_node, a_committed_join_beyond_the_bounds_is_refused_alike_on_every_voter) {
    membership::join_op good, bad, zero;
    good.name = "good";
    good.incarnation = incarnation_number(1);
    bad.name = "ev\x1b[2Jil";
    bad.incarnation = incarnation_number(1);
    zero.name = "zero"; // incarnation 0
    consensus::persisted_state log;
    log.entries = {
        {log_index(1), raft_term(1), consensus::entry_kind::normal, wire::encode_command({{good}})},
        {log_index(2), raft_term(1), consensus::entry_kind::normal, wire::encode_command({{good, bad}})},
        {log_index(3), raft_term(1), consensus::entry_kind::normal, wire::encode_command({{zero}})}};
    log.hard = {raft_term(1), voter_id(), log_index(3)};
    std::optional<views::view> first;
    for (const std::uint32_t id : {1u, 2u, 3u}) {
        voter_config c = single(fmt::format("v{}", id));
        c.id = voter_id(id);
        c.voters = {voter_id(1), voter_id(2), voter_id(3)};
        voter_node n(c, prng(id), log, at(0));
        EXPECT_EQ(n.counters().commands_invalid, 2u);
        EXPECT_EQ(n.counters().commands_undecodable, 0u);
        ASSERT_EQ(n.view().members.size(), 1u);
        EXPECT_EQ(n.view().members[0].name, "good");
        if (first) {
            EXPECT_EQ(n.view(), *first);
        }
        first = n.view();
    }
}

// --max-members: the leader takes joins into commands only while the views have room, so joins
// sent at once to every voter cannot overshoot; replacing a member of the same name takes no room.
TEST(voter_node_trio, joins_beyond_max_members_are_rejected_with_the_reason) {
    trio t([](voter_config& c) { c.max_members = 5; });
    t.form(); // the three voters
    route_id route = 0;
    for (int round = 0; round < 2; ++round) {
        for (const voter_id v : {v1, v2, v3}) {
            ++route;
            t.request(v, route, join(route, fmt::format("m{}", route)));
        }
    }
    t.run(300);
    int ok = 0, rejected = 0;
    std::vector<std::string> joined;
    for (route_id r = 1; r <= route; ++r) {
        const auto replies = t.replies_to<join_reply>(r);
        ASSERT_EQ(replies.size(), 1u) << "route " << r;
        if (replies[0].status == request_status::ok) {
            ++ok;
            joined.push_back(fmt::format("m{}", r));
        } else {
            ++rejected;
            EXPECT_EQ(replies[0].status, request_status::rejected);
            EXPECT_EQ(replies[0].error, "the cluster has reached --max-members (5)");
        }
    }
    EXPECT_EQ(ok, 2);
    EXPECT_EQ(rejected, 4);
    for (const voter_id v : {v1, v2, v3}) {
        EXPECT_EQ(t.node(v).view().members.size(), 5u);
    }
    EXPECT_EQ(t.node(t.leader()).counters().joins_over_limit, 4u);

    // A rejoin under a newer incarnation replaces its member: it takes no room.
    t.request(t.a_follower(), 50, join(50, joined[0], 2));
    t.run(300);
    ASSERT_EQ(t.replies_to<join_reply>(50).size(), 1u);
    EXPECT_EQ(t.replies_to<join_reply>(50)[0].status, request_status::ok);
    EXPECT_EQ(t.node(v1).view().members.size(), 5u);
    EXPECT_EQ(t.node(v1).view().removed.at(0).reason, views::removal_reason::replaced);

    // A leave makes room for the next join.
    const member_id gone = t.node(v1).state().find_by_name(joined[1])->id;
    t.request(t.a_follower(), 51, leave_request{51, gone, incarnation_number(1)});
    t.run(300);
    t.request(t.a_follower(), 52, join(52, "newcomer"));
    t.run(300);
    ASSERT_EQ(t.replies_to<join_reply>(52).size(), 1u);
    EXPECT_EQ(t.replies_to<join_reply>(52)[0].status, request_status::ok);
    EXPECT_EQ(t.node(v1).view().members.size(), 5u);
}

TEST(voter_node_trio, a_voter_that_learns_of_its_removal_only_from_a_snapshot_joins_again) {
    trio t([](voter_config& c) { c.compact_every = 5; });
    t.form();
    const voter_id f = t.a_follower();
    const member_id old = t.node(f).self();
    ASSERT_NE(old, member_id());
    const incarnation_number inc = t.node(f).state().find(old)->incarnation;
    const log_index behind = t.node(f).consensus().log().last_index();
    // Cut off, it is suspected by the other two and removed; more views follow (members that join
    // and, never heard from, are removed too), and the leader compacts its log past the removal.
    t.isolate(f);
    const voter_id l = t.leader() == f ? voter_id() : t.leader();
    ASSERT_NE(l, voter_id());
    for (int i = 0; i < 10; ++i) {
        t.request(l, 100 + i, join_request{1, fmt::format("m{}", i), "", "", incarnation_number(1), {}});
        t.run(300);
    }
    ASSERT_EQ(t.node(l).state().find(old), nullptr) << "removed while cut off";
    ASSERT_TRUE(t.voters.at(l).disk.snap());
    ASSERT_GT(t.voters.at(l).disk.snap()->meta.index, behind) << "it can only catch up by a snapshot";
    EXPECT_EQ(t.node(f).self(), old) << "no view change told it";
    t.cut.clear();
    t.run(1000);
    EXPECT_EQ(t.node(f).state().find(old), nullptr) << "the snapshot was installed";
    const views::member* me = t.node(l).state().find_by_name(fmt::format("v{}", f));
    ASSERT_NE(me, nullptr) << "its entry never came back: it asked under its departed incarnation";
    EXPECT_EQ(me->incarnation, inc.next());
    EXPECT_EQ(t.node(f).self(), me->id);
    EXPECT_EQ(t.node(f).self_phase(), self_member::phase::active);
}

TEST(voter_node_trio, the_leader_says_what_each_suspecting_voter_knew_when_it_proposes_a_removal) {
    trio t;
    t.form();
    const voter_id f = t.a_follower();
    const voter_id l = t.leader();
    const member_id gone = t.node(f).self();
    (void)t.node(l).take_events();
    t.isolate(f);
    t.run(1000);
    ASSERT_EQ(t.node(l).state().find(gone), nullptr) << "cut off, its member entry was removed";
    std::vector<voter_event> proposed;
    for (auto& e : t.node(l).take_events()) {
        if (e.what == voter_event::kind::removal_proposed) {
            proposed.push_back(std::move(e));
        }
    }
    ASSERT_EQ(proposed.size(), 1u);
    EXPECT_EQ(proposed[0].member, gone);
    EXPECT_EQ(proposed[0].name, fmt::format("v{}", f));
    // Both voters that can still talk suspect it, each with its own evidence.
    for (voter_id v : {v1, v2, v3}) {
        if (v == f) {
            continue;
        }
        EXPECT_NE(proposed[0].detail.find(fmt::format("voter {}: phi ", v)), std::string::npos) << proposed[0].detail;
    }
    EXPECT_NE(proposed[0].detail.find(" samples, silent "), std::string::npos) << proposed[0].detail;
    EXPECT_EQ(proposed[0].detail.find(fmt::format("voter {}:", f)), std::string::npos) << proposed[0].detail;
}

TEST(voter_node_trio, each_voter_goes_from_joining_to_active_and_on_leave_to_left) {
    trio t;
    EXPECT_EQ(t.node(v2).self_phase(), self_member::phase::joining);
    t.form();
    EXPECT_EQ(t.node(v2).self_phase(), self_member::phase::active);
    t.node(v2).leave(at(t.now_ms));
    EXPECT_EQ(t.node(v2).self_phase(), self_member::phase::leaving);
    t.collect(v2);
    t.run(300);
    EXPECT_EQ(t.node(v2).self_phase(), self_member::phase::left);
    EXPECT_TRUE(t.node(v2).left());
    EXPECT_EQ(t.node(v1).state().find_by_name("v2"), nullptr);
}

} // namespace
} // namespace roster::node

namespace roster::node {
namespace {

// ---- a secured cluster: what each key may do ----------------------------------------------

// 32-byte stand-ins for CURVE public keys (the node compares them, it never uses them).
std::string key_of(char c) { return std::string(32, c); }

void with_keys(voter_config& c) {
    c.key = key_of(static_cast<char>('0' + c.id.value()));
    for (voter_id v : {v1, v2, v3}) {
        c.voter_keys[v] = key_of(static_cast<char>('0' + v.value()));
    }
}

const requester m1_key{key_of('m'), "m1"};

// Joins "m1" through a follower with its key; returns its id.
member_id join_m1(trio& t, incarnation_number inc = incarnation_number(1)) {
    t.request(t.a_follower(), 7, join_request{1, "m1", "10.0.0.9:7400", "", inc, {}}, m1_key);
    t.run(200);
    const auto r = t.replies_to<join_reply>(7);
    EXPECT_FALSE(r.empty());
    EXPECT_EQ(r.empty() ? request_status::unavailable : r.back().status, request_status::ok);
    return r.empty() ? member_id() : r.back().member;
}

TEST(voter_node_secured, each_entry_records_the_key_that_joined_it_on_every_voter) {
    trio t(with_keys);
    t.form();
    for (voter_id v : {v1, v2, v3}) {
        const auto* self = t.node(v).state().find_by_name(fmt::format("v{}", v));
        ASSERT_NE(self, nullptr);
        EXPECT_EQ(self->key, key_of(static_cast<char>('0' + v.value())))
            << "a voter's entry has its voter key";
    }
    // What the requester writes in the key field is overwritten by the key that sent it.
    join_request forged{1, "m1", "", "", incarnation_number(1), {}};
    forged.key = key_of('x');
    t.request(t.a_follower(), 7, forged, m1_key);
    t.run(200);
    ASSERT_EQ(t.replies_to<join_reply>(7).size(), 1u);
    for (voter_id v : {v1, v2, v3}) {
        ASSERT_NE(t.node(v).state().find_by_name("m1"), nullptr);
        EXPECT_EQ(t.node(v).state().find_by_name("m1")->key, key_of('m'));
    }
}

TEST(voter_node_secured, a_member_key_joins_only_under_its_name_and_a_reader_not_at_all) {
    trio t(with_keys);
    t.form();
    const view_id before = t.node(t.leader()).view().id;
    t.request(t.leader(), 1, join_request{1, "someone-else", "", "", incarnation_number(1), {}}, m1_key);
    t.request(t.a_follower(), 2, join_request{2, "r", "", "", incarnation_number(1), {}},
              requester{key_of('r'), ""});
    t.run(200);
    const auto wrong_name = t.replies_to<join_reply>(1);
    ASSERT_EQ(wrong_name.size(), 1u);
    EXPECT_EQ(wrong_name[0].status, request_status::rejected);
    EXPECT_EQ(wrong_name[0].error, "this key may join only as 'm1'");
    const auto reader = t.replies_to<join_reply>(2);
    ASSERT_EQ(reader.size(), 1u);
    EXPECT_EQ(reader[0].status, request_status::rejected);
    EXPECT_NE(reader[0].error.find("may not join"), std::string::npos);
    EXPECT_EQ(t.node(t.leader()).view().id, before) << "nothing was proposed";
    EXPECT_EQ(t.node(t.leader()).counters().requests_refused +
                  t.node(t.a_follower()).counters().requests_refused,
              2u);
}

TEST(voter_node_secured, heartbeats_count_only_from_the_key_that_joined) {
    trio t(with_keys);
    t.form();
    const member_id id = join_m1(t);
    const voter_id v = t.leader();
    const auto accepted = t.node(v).counters().heartbeats;
    const heartbeat hb{id, incarnation_number(1), 1, view_id()};
    t.request(v, 9, hb, requester{key_of('o'), "other"}); // another member's key
    t.request(v, 9, hb, requester{key_of('r'), ""});      // a reader's
    EXPECT_EQ(t.node(v).counters().heartbeats, accepted);
    EXPECT_EQ(t.node(v).counters().requests_refused, 2u);
    EXPECT_TRUE(t.replies_to<heartbeat_reply>(9).empty()) << "refused without an answer";
    t.request(v, 9, hb, m1_key);
    EXPECT_EQ(t.node(v).counters().heartbeats, accepted + 1);
}

TEST(voter_node_secured, a_leave_from_another_key_is_rejected_and_the_member_stays) {
    trio t(with_keys);
    t.form();
    const member_id id = join_m1(t);
    t.request(t.a_follower(), 3, leave_request{3, id, incarnation_number(1)},
              requester{key_of('o'), "other"});
    t.run(200);
    const auto r = t.replies_to<leave_reply>(3);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].status, request_status::rejected);
    EXPECT_EQ(r[0].error, fmt::format("this key may not leave member {}", id));
    for (voter_id v : {v1, v2, v3}) {
        EXPECT_NE(t.node(v).state().find(id), nullptr);
    }
    t.request(t.a_follower(), 4, leave_request{4, id, incarnation_number(1)}, m1_key);
    t.run(200);
    ASSERT_EQ(t.replies_to<leave_reply>(4).size(), 1u);
    EXPECT_EQ(t.replies_to<leave_reply>(4)[0].status, request_status::ok);
}

TEST(voter_node_secured, a_leave_through_a_follower_that_does_not_know_the_member_yet_is_still_checked) {
    trio t(with_keys);
    t.form();
    const voter_id l = t.leader();
    const voter_id f = t.a_follower();
    t.cut.insert({l, f}); // f hears nothing more from the leader, for less than an election timeout
    t.request(l, 7, join_request{1, "m1", "", "", incarnation_number(1), {}}, m1_key);
    // Just until the leader applied the join (with the other follower's vote).
    for (int i = 0; i < 500 && t.replies_to<join_reply>(7).empty(); ++i) {
        t.run(1);
    }
    ASSERT_EQ(t.replies_to<join_reply>(7).size(), 1u);
    const member_id id = t.replies_to<join_reply>(7)[0].member;
    ASSERT_EQ(t.node(f).state().find(id), nullptr) << "the follower lags";
    t.cut.erase({l, f}); // the answer must come back; the leave goes before f hears of m1
    t.request(f, 3, leave_request{3, id, incarnation_number(1)}, requester{key_of('o'), "other"});
    t.run(50);
    const auto r = t.replies_to<leave_reply>(3);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].status, request_status::rejected) << "the leader, which knows the member, decides";
    EXPECT_NE(t.node(l).state().find(id), nullptr);
}

TEST(voter_node_secured, a_name_held_by_one_key_is_not_taken_by_another_whatever_its_incarnation) {
    trio t(with_keys);
    t.form();
    const member_id id = join_m1(t);
    // Another key that (by a mistake in --authorized-keys) may also use the name.
    const requester impostor{key_of('i'), "m1"};
    t.request(t.leader(), 5, join_request{5, "m1", "", "", incarnation_number(2), {}}, impostor);
    t.run(200);
    const auto r = t.replies_to<join_reply>(5);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].status, request_status::rejected);
    EXPECT_NE(r[0].error.find("belongs to member"), std::string::npos) << r[0].error;
    for (voter_id v : {v1, v2, v3}) {
        ASSERT_NE(t.node(v).state().find(id), nullptr) << "not replaced";
        EXPECT_EQ(t.node(v).state().find(id)->key, key_of('m'));
    }
    // Its own key may replace it (a restart with a newer incarnation).
    t.request(t.leader(), 6, join_request{6, "m1", "", "", incarnation_number(2), {}}, m1_key);
    t.run(200);
    ASSERT_EQ(t.replies_to<join_reply>(6).size(), 1u);
    EXPECT_EQ(t.replies_to<join_reply>(6)[0].status, request_status::ok);
    EXPECT_EQ(t.node(t.leader()).state().find(id), nullptr);
}

TEST(voter_node_secured, a_heartbeat_from_a_voter_counts_only_for_that_voters_entry) {
    trio t(with_keys);
    t.form();
    const voter_id v = t.leader();
    const voter_id f = t.a_follower();
    voter_id other = v1;
    for (voter_id x : {v1, v2, v3}) {
        if (x != v && x != f) {
            other = x;
        }
    }
    const auto* entry = t.node(v).state().find_by_name(fmt::format("v{}", other));
    ASSERT_NE(entry, nullptr);
    const auto refused = t.node(v).counters().requests_refused;
    // Voter f claims to heartbeat for the third voter's entry.
    t.from_peer(v, f, heartbeat{entry->id, entry->incarnation, 1, view_id()});
    EXPECT_EQ(t.node(v).counters().requests_refused, refused + 1);
}

} // namespace
} // namespace roster::node

// ---- operator removal and health (issue 15) ------------------------------------------------

namespace roster::node {
namespace {

TEST(voter_node_trio, an_operators_removal_through_a_follower_commits_as_removed_by_operator) {
    trio t;
    t.form();
    const voter_id f = t.a_follower();
    t.request(f, 1, join_request{1, "m1", "", "", incarnation_number(4), {}});
    t.run(200);
    const member_id id = t.replies_to<join_reply>(1).at(0).member;
    const auto forwarded = t.node(f).requests_forwarded();
    t.request(f, 2, remove_request{9, member_id(), "m1"});
    EXPECT_EQ(t.node(f).requests_forwarded(), forwarded + 1) << "forwarded like a join";
    t.run(200);
    const auto r = t.replies_to<remove_reply>(2);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].request_id, 9u);
    EXPECT_EQ(r[0].status, request_status::ok);
    EXPECT_EQ(r[0].member, id);
    EXPECT_EQ(r[0].view, t.node(f).view().id);
    for (voter_id v : {v1, v2, v3}) {
        EXPECT_EQ(t.node(v).state().find(id), nullptr);
        ASSERT_EQ(t.node(v).view().removed.size(), 1u);
        EXPECT_EQ(t.node(v).view().removed[0].reason, views::removal_reason::removed_by_operator);
    }
    EXPECT_EQ(t.node(t.leader()).counters().removals_requested, 1u);

    // Its heartbeat is answered with why: it must not join again.
    t.request(f, 3, heartbeat{id, incarnation_number(4), 1, view_id()});
    const auto hr = t.replies_to<heartbeat_reply>(3);
    ASSERT_EQ(hr.size(), 1u);
    EXPECT_EQ(hr[0].status, member_status::removed);
    EXPECT_EQ(hr[0].reason, views::removal_reason::removed_by_operator);
    EXPECT_EQ(hr[0].current_view, r[0].view) << "the view that removed it";

    // Gone: by name and by id, not found, with the view.
    t.request(t.leader(), 4, remove_request{10, member_id(), "m1"});
    t.request(t.leader(), 5, remove_request{11, id, ""});
    ASSERT_EQ(t.replies_to<remove_reply>(4).size(), 1u);
    EXPECT_EQ(t.replies_to<remove_reply>(4)[0].status, request_status::not_found);
    EXPECT_EQ(t.replies_to<remove_reply>(4)[0].error,
              fmt::format("no member named 'm1' in view {}", t.node(t.leader()).view().id));
    ASSERT_EQ(t.replies_to<remove_reply>(5).size(), 1u);
    EXPECT_EQ(t.replies_to<remove_reply>(5)[0].status, request_status::not_found);
}

TEST(voter_node_trio, a_removal_from_a_key_that_is_not_an_admins_is_refused_with_the_reason_and_counted) {
    trio t;
    t.form();
    const voter_id f = t.a_follower();
    const member_id victim = t.node(f).view().members.front().id;
    t.request(f, 1, remove_request{5, victim, ""}, requester{std::string(32, 'r'), std::string(), false, "reader"});
    const auto r = t.replies_to<remove_reply>(1);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].status, request_status::rejected);
    EXPECT_EQ(r[0].error, "this key may not remove members: it is a reader key, and operator actions need an "
                          "admin key (docs/security.md)");
    EXPECT_EQ(t.node(f).counters().removals_refused, 1u);
    t.run(200);
    EXPECT_NE(t.node(f).state().find(victim), nullptr) << "nothing was proposed";
    // Neither an id nor a name, or both: rejected as invalid.
    t.request(f, 2, remove_request{6, member_id(), ""});
    t.request(f, 3, remove_request{7, victim, "v1"});
    EXPECT_EQ(t.replies_to<remove_reply>(2).at(0).status, request_status::rejected);
    EXPECT_EQ(t.replies_to<remove_reply>(3).at(0).status, request_status::rejected);
}

TEST(voter_node_trio, without_a_leader_a_removal_is_unavailable) {
    trio t;
    const voter_id f = v1;
    t.request(f, 1, remove_request{5, member_id(), "m1"});
    const auto r = t.replies_to<remove_reply>(1);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].status, request_status::unavailable);
}

TEST(voter_node_trio, a_voter_whose_entry_an_operator_removed_stays_out_and_keeps_voting) {
    trio t;
    t.form();
    const voter_id f = t.a_follower();
    t.request(t.leader(), 1, remove_request{1, member_id(), fmt::format("v{}", f)});
    t.run(200);
    ASSERT_EQ(t.replies_to<remove_reply>(1).at(0).status, request_status::ok);
    const view_id removed_in = t.replies_to<remove_reply>(1).at(0).view;
    EXPECT_EQ(t.node(f).self_phase(), self_member::phase::removed_by_operator);
    t.run(1000);
    EXPECT_EQ(t.node(f).self_phase(), self_member::phase::removed_by_operator);
    EXPECT_EQ(t.node(t.leader()).view().members.size(), 2u) << "it did not join again";
    const node::health h = t.node(f).health();
    EXPECT_FALSE(h.ready);
    EXPECT_EQ(h.ready_reason,
              fmt::format("removed by an operator in view {}; not rejoining until restarted", removed_in));
    EXPECT_FALSE(h.healthy);
    EXPECT_EQ(h.reason, "not in the view: " + h.ready_reason);
    // Still a voter: a join through it commits.
    t.request(f, 2, join_request{1, "m9", "", "", incarnation_number(1), {}});
    t.run(200);
    EXPECT_EQ(t.replies_to<join_reply>(2).at(0).status, request_status::ok);
    // A graceful leave has nothing to do.
    t.node(f).leave(at(t.now_ms));
    EXPECT_TRUE(t.node(f).left());
}

TEST(voter_node_trio, health_needs_a_committed_view_and_a_consensus_leader) {
    trio t;
    node::health h = t.node(v1).health();
    EXPECT_EQ(h, (node::health{false, "no committed view yet", false, "not in the view yet: joining"}));
    t.form();
    for (voter_id v : {v1, v2, v3}) {
        EXPECT_EQ(t.node(v).health(), (node::health{true, "", true, ""})) << "voter " << v;
        const wire::status_reply s = t.node(v).status(1);
        EXPECT_TRUE(s.healthy && s.ready);
    }
    // Cut a follower off: after an election timeout it forgets the leader, and says for how long.
    const voter_id f = t.a_follower();
    t.isolate(f);
    t.run(1000);
    h = t.node(f).health();
    EXPECT_FALSE(h.healthy);
    EXPECT_TRUE(h.reason.starts_with("no consensus leader for ")) << h.reason;
    EXPECT_TRUE(h.ready) << "still in its view";
    const wire::status_reply s = t.node(f).status(2);
    EXPECT_FALSE(s.healthy);
    EXPECT_EQ(s.health_reason, h.reason);
}

} // namespace
} // namespace roster::node
