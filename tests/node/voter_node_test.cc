#include <gtest/gtest.h>

#include "consensus/memory_storage.hh"
#include "node/voter_node.hh"

namespace roster::node {

using namespace roster::membership;
using namespace roster::views;
using namespace roster::wire;
namespace {

mono_time at(int ms) { return mono_time(std::chrono::milliseconds(ms)); }

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
