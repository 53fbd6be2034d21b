#include <algorithm>
#include <iterator>

#include <gtest/gtest.h>
#include <fmt/format.h>

#include "node/member_node.hh"
#include "tests/clock.hh"

namespace roster::node {

using namespace roster::membership;
using namespace roster::views;
using namespace roster::wire;
namespace {

using roster::testing::at;

member_config three_voters() {
    member_config c;
    c.name = "m1";
    c.address = "10.0.0.5:7400";
    c.publish_endpoint = "10.0.0.5:7402";
    c.voters = 3;
    c.incarnation = incarnation_number(100);
    return c;
}

template <typename T>
std::vector<std::pair<std::size_t, T>> sent(const output& out) {
    std::vector<std::pair<std::size_t, T>> r;
    for (const auto& [e, b] : out.to_endpoints) {
        if (const auto* x = std::get_if<T>(&b)) {
            r.emplace_back(e, *x);
        }
    }
    return r;
}

// Takes `m` through its first join: answered by voter 0 at 1 ms, as member 9 (incarnation 100) in
// view 1. Returns the join request it sent.
join_request join(member_node& m) {
    m.tick(at(0));
    const auto q = sent<join_request>(m.take_output()).at(0).second;
    m.on_reply(0,
               join_reply{q.request_id, request_status::ok, member_id(9), incarnation_number(100), view_id(1),
                          "", ""},
               at(1));
    return q;
}

TEST(member_node, joins_through_a_voter_and_moves_on_when_it_does_not_answer) {
    member_node m(three_voters(), at(0));
    m.tick(at(0));
    auto out = m.take_output();
    auto joins = sent<join_request>(out);
    ASSERT_EQ(joins.size(), 1u);
    EXPECT_EQ(joins[0].first, 0u);
    EXPECT_EQ(joins[0].second.name, "m1");
    EXPECT_EQ(joins[0].second.incarnation, incarnation_number(100));
    m.tick(at(1001)); // unanswered: the next voter
    joins = sent<join_request>(m.take_output());
    ASSERT_EQ(joins.size(), 1u);
    EXPECT_EQ(joins[0].first, 1u);
    m.on_reply(1,
               join_reply{joins[0].second.request_id, request_status::ok, member_id(9),
                          incarnation_number(100), view_id(4), "", ""},
               at(1002));
    EXPECT_EQ(m.current_phase(), member_node::phase::active);
    EXPECT_EQ(m.id(), member_id(9));
}

TEST(member_node, heartbeats_every_voter_at_the_interval) {
    member_node m(three_voters(), at(0));
    join(m);
    int heartbeats = 0;
    for (int t = 1; t <= 1000; t += 5) {
        m.tick(at(t));
        const auto hb = sent<heartbeat>(m.take_output());
        for (const auto& [e, h] : hb) {
            EXPECT_EQ(h.member, member_id(9));
            EXPECT_EQ(h.incarnation, incarnation_number(100));
        }
        heartbeats += static_cast<int>(hb.size());
    }
    EXPECT_EQ(heartbeats, 3 * 10) << "ten rounds of three in a second at 100 ms";
}

views::view view_of(view_id id, std::vector<member_id> ids) {
    views::view v;
    v.id = id;
    for (member_id m : ids) {
        v.members.push_back({m, fmt::format("n{}", m.value()), "", "", incarnation_number(1), {}});
    }
    v.leader = ids.empty() ? member_id() : ids.front();
    v.fencing_token = view_id(1);
    return v;
}

// Answers the member's first sync request with `v`: it follows the stream from there.
void follow_from(member_node& m, const views::view& v) {
    const auto syncs = sent<sync_request>(m.take_output());
    ASSERT_EQ(syncs.size(), 1u);
    m.on_reply(syncs[0].first, sync_reply{syncs[0].second.request_id, v.id, {}, v}, at(0));
    (void)m.take_output();
}

// The times, from `from_ms` to `to_ms`, at which `m` heartbeated voter 0, with the intervals it
// announced.
std::vector<std::pair<int, std::uint32_t>> beats(member_node& m, int from_ms, int to_ms) {
    std::vector<std::pair<int, std::uint32_t>> out;
    for (int t = from_ms; t < to_ms; ++t) {
        m.tick(at(t));
        for (const auto& [e, h] : sent<heartbeat>(m.take_output())) {
            if (e == 0) {
                out.emplace_back(t, h.interval_ms);
            }
        }
    }
    return out;
}

TEST(member_node, an_adaptive_member_heartbeats_at_its_views_level_and_announces_a_change_before_the_gap) {
    auto c = three_voters();
    c.heartbeat_interval = 300ms; // not used when adaptive
    c.heartbeat_levels.assign(std::begin(detector::adaptive_levels), std::end(detector::adaptive_levels));
    member_node m(c, at(0));
    follow_from(m, view_of(view_id(1), {member_id(9)}));
    join(m);
    auto b = beats(m, 1, 500);
    ASSERT_GE(b.size(), 9u);
    EXPECT_EQ(b[1].first - b[0].first, 50) << "a small cluster: 50 ms";
    EXPECT_EQ(b[0].second, 50u);
    EXPECT_EQ(m.heartbeat_interval(), 50ms);
    // The cluster grows to 1,500 members: the next heartbeat, still at the 50 ms rhythm, says
    // 100 ms, and the one after comes 100 ms later.
    std::vector<member_id> ids;
    for (std::uint64_t i = 1; i <= 1500; ++i) {
        ids.push_back(member_id(i));
    }
    auto grown = view_of(view_id(2), ids);
    std::copy_if(ids.begin(), ids.end(), std::back_inserter(grown.joined), [](member_id i) { return i != member_id(9); });
    m.on_published(full_view{grown}, at(500));
    (void)m.take_output();
    ASSERT_GT(m.view().members.size(), 1000u);
    const int last_small = b.back().first;
    b = beats(m, 500, 1000);
    ASSERT_GE(b.size(), 4u);
    EXPECT_EQ(b[0].first, last_small + 50) << "announced at the old rhythm";
    EXPECT_EQ(b[0].second, 100u);
    EXPECT_EQ(b[1].first - b[0].first, 100);
    EXPECT_EQ(b[1].second, 100u);
    EXPECT_EQ(m.heartbeat_interval(), 100ms);
}

TEST(member_node, a_fixed_interval_is_announced_too) {
    auto c = three_voters();
    c.heartbeat_interval = 70ms;
    member_node m(c, at(0));
    join(m);
    const auto b = beats(m, 1, 300);
    ASSERT_GE(b.size(), 3u);
    EXPECT_EQ(b[1].first - b[0].first, 70);
    EXPECT_EQ(b[0].second, 70u);
}

TEST(member_node, learns_of_its_removal_and_rejoins_with_a_new_incarnation) {
    member_node m(three_voters(), at(0));
    follow_from(m, view_of(view_id(6), {member_id(1), member_id(9)}));
    join(m);
    (void)m.take_output();
    m.on_reply(2, heartbeat_reply{member_id(9), incarnation_number(100), member_status::removed, view_id(7)},
               at(50));
    EXPECT_EQ(m.current_phase(), member_node::phase::joining);
    auto out = m.take_output();
    EXPECT_TRUE(out.published.empty()) << "the event waits for view 7 on the stream";
    m.on_published(full_view{view_of(view_id(7), {member_id(1)})}, at(50));
    out = m.take_output();
    ASSERT_EQ(out.published.size(), 2u);
    EXPECT_EQ(std::get<views::view_change>(out.published[0]).id, view_id(7));
    const auto& removed = std::get<node_event>(out.published[1]);
    EXPECT_EQ(removed.what, node_event::kind::removed);
    EXPECT_EQ(removed.member, member_id(9));
    m.tick(at(51));
    auto q = sent<join_request>(m.take_output()).at(0).second;
    EXPECT_EQ(q.incarnation, incarnation_number(101));
    m.on_reply(0,
               join_reply{q.request_id, request_status::ok, member_id(12), incarnation_number(101),
                          view_id(8), "", ""},
               at(52));
    out = m.take_output();
    EXPECT_TRUE(out.published.empty()) << "a rejoin is told after the view that re-added it (issue 14)";
    EXPECT_EQ(m.rejoins(), 1u);
    m.on_published(full_view{view_of(view_id(8), {member_id(1), member_id(12)})}, at(60));
    out = m.take_output();
    ASSERT_EQ(out.published.size(), 2u);
    EXPECT_EQ(std::get<views::view_change>(out.published[0]).id, view_id(8));
    const auto& rejoined = std::get<node_event>(out.published[1]);
    EXPECT_EQ(rejoined.what, node_event::kind::rejoined);
    EXPECT_EQ(rejoined.member, member_id(9));
    EXPECT_EQ(rejoined.new_member, member_id(12));
    EXPECT_EQ(rejoined.view, view_id(8));
}

TEST(member_node, an_event_for_a_view_already_delivered_is_told_at_once) {
    member_node m(three_voters(), at(0));
    follow_from(m, view_of(view_id(6), {member_id(1), member_id(9)}));
    join(m);
    (void)m.take_output();
    m.on_reply(2, heartbeat_reply{member_id(9), incarnation_number(100), member_status::removed, view_id(6)},
               at(50));
    const auto out = m.take_output();
    ASSERT_EQ(out.published.size(), 1u);
    EXPECT_EQ(std::get<node_event>(out.published[0]).what, node_event::kind::removed);
}

TEST(member_node, a_removal_reply_for_an_old_incarnation_is_ignored) {
    member_node m(three_voters(), at(0));
    join(m);
    m.on_reply(1, heartbeat_reply{member_id(9), incarnation_number(99), member_status::removed, view_id(2)},
               at(2));
    EXPECT_EQ(m.current_phase(), member_node::phase::active);
}

TEST(member_node, leaves_gracefully) {
    member_node m(three_voters(), at(0));
    join(m);
    (void)m.take_output();
    m.leave(at(10));
    auto leaves = sent<leave_request>(m.take_output());
    ASSERT_EQ(leaves.size(), 1u);
    EXPECT_EQ(leaves[0].second.member, member_id(9));
    m.on_reply(leaves[0].first, leave_reply{leaves[0].second.request_id, request_status::ok, view_id(2), ""},
               at(12));
    EXPECT_EQ(m.current_phase(), member_node::phase::left);
}

TEST(member_node, a_leaving_member_heartbeats_until_its_leave_commits) {
    member_node m(three_voters(), at(0));
    join(m);
    m.tick(at(1));
    (void)m.take_output();
    m.leave(at(10));
    const auto leave = sent<leave_request>(m.take_output()).at(0);
    // A slow commit (a loaded leader): without heartbeats it would be removed as suspected first.
    std::size_t heartbeats = 0;
    for (int t = 20; t <= 600; t += 10) {
        m.tick(at(t));
        heartbeats += sent<heartbeat>(m.take_output()).size();
    }
    EXPECT_GE(heartbeats, 3u * 5) << "every voter, every 100 ms";
    m.on_reply(leave.first, leave_reply{leave.second.request_id, request_status::ok, view_id(2), ""},
               at(601));
    ASSERT_EQ(m.current_phase(), member_node::phase::left);
    m.tick(at(800));
    EXPECT_TRUE(sent<heartbeat>(m.take_output()).empty()) << "gone once the leave committed";
}

TEST(member_node, a_leave_during_a_join_waits_for_the_join_and_then_leaves) {
    member_node m(three_voters(), at(0));
    m.tick(at(0));
    auto q = sent<join_request>(m.take_output()).at(0).second;
    m.leave(at(5)); // SIGTERM right after start: the join may already be committing
    EXPECT_EQ(m.current_phase(), member_node::phase::joining);
    m.on_reply(0,
               join_reply{q.request_id, request_status::ok, member_id(9), incarnation_number(100), view_id(1),
                          "", ""},
               at(6));
    EXPECT_EQ(m.current_phase(), member_node::phase::leaving);
    const auto leaves = sent<leave_request>(m.take_output());
    ASSERT_EQ(leaves.size(), 1u);
    EXPECT_EQ(leaves[0].second.member, member_id(9));
}

TEST(member_node, republishes_the_views_it_follows_and_answers_local_syncs) {
    member_node m(three_voters(), at(0));
    auto out = m.take_output();
    const auto syncs = sent<sync_request>(out);
    ASSERT_EQ(syncs.size(), 1u);
    views::view v;
    v.id = view_id(3);
    v.members = {{member_id(1), "v1", "", "", incarnation_number(1), {}}};
    v.leader = member_id(1);
    v.fencing_token = view_id(1);
    m.on_reply(syncs[0].first, sync_reply{syncs[0].second.request_id, view_id(3), {}, v}, at(1));
    out = m.take_output();
    ASSERT_EQ(out.published.size(), 1u);
    EXPECT_EQ(std::get<full_view>(out.published[0]).view, v);
    m.on_request(77, sync_request{5, view_id(), true}, at(2));
    out = m.take_output();
    ASSERT_EQ(out.replies.size(), 1u);
    EXPECT_EQ(out.replies[0].first, 77u);
    EXPECT_EQ(*std::get<sync_reply>(out.replies[0].second).full, v);
}

} // namespace
} // namespace roster::node

namespace roster::node {
namespace {

struct recording_sink final : log_sink {
    std::vector<std::string> lines;
    [[nodiscard]] bool enabled(log_level) const override { return true; }
    void write(log_level, std::string_view line) override { lines.emplace_back(line); }
};

// A rejected join (the views full, a bound) is tried again under the next incarnation, but only
// after retry_backoff, and the member says why once while the reason lasts.
TEST(member_node, a_rejected_join_is_logged_once_and_tried_again_after_the_backoff) {
    recording_sink log;
    member_node m(three_voters(), at(0), &log);
    const std::string full = "the cluster has reached --max-members (3)";
    for (int attempt = 0; attempt < 3; ++attempt) {
        const int t = attempt * 200;
        m.tick(at(t));
        const auto joins = sent<join_request>(m.take_output());
        ASSERT_EQ(joins.size(), 1u) << "attempt " << attempt;
        EXPECT_EQ(joins[0].second.incarnation, incarnation_number(100 + attempt));
        m.on_reply(joins[0].first,
                   join_reply{joins[0].second.request_id, request_status::rejected, member_id(),
                              joins[0].second.incarnation, view_id(1), "", full},
                   at(t + 1));
        m.tick(at(t + 100));
        EXPECT_TRUE(sent<join_request>(m.take_output()).empty()) << "waits retry_backoff (100 ms)";
    }
    int said = 0;
    for (const auto& line : log.lines) {
        said += line == "member m1: join rejected: " + full + "; trying again" ? 1 : 0;
    }
    EXPECT_EQ(said, 1) << "once while the reason lasts";
    EXPECT_EQ(m.current_phase(), member_node::phase::joining);
}

} // namespace
} // namespace roster::node

// ---- operator removal and health (issue 15) ------------------------------------------------

namespace roster::node {
namespace {

TEST(member_node, removed_by_an_operator_it_stays_out_and_keeps_following_the_views) {
    member_node m(three_voters(), at(0));
    follow_from(m, view_of(view_id(6), {member_id(1), member_id(9)}));
    join(m);
    (void)m.take_output();
    m.on_published(full_view{view_of(view_id(7), {member_id(1), member_id(9)})}, at(10));
    (void)m.take_output();
    EXPECT_EQ(m.health(), (node::health{true, "", true, ""}));
    views::view removed = view_of(view_id(8), {member_id(1)});
    removed.removed = {{member_id(9), views::removal_reason::removed_by_operator}};
    m.on_published(full_view{removed}, at(20));
    EXPECT_EQ(m.current_phase(), member_node::phase::removed_by_operator);
    auto out = m.take_output();
    ASSERT_EQ(out.published.size(), 2u);
    EXPECT_EQ(std::get<node_event>(out.published[1]).reason, views::removal_reason::removed_by_operator);
    const node::health h = m.health();
    EXPECT_FALSE(h.ready);
    EXPECT_EQ(h.ready_reason, "removed by an operator in view 8; not rejoining until restarted");
    EXPECT_EQ(h.reason, "not in the view: " + h.ready_reason);
    // No join and no heartbeat for a long while; the views are still followed and re-published.
    for (int t = 30; t < 5000; t += 10) {
        m.tick(at(t));
        out = m.take_output();
        EXPECT_TRUE(sent<join_request>(out).empty()) << "at " << t << " ms";
        EXPECT_TRUE(sent<heartbeat>(out).empty()) << "at " << t << " ms";
    }
    m.on_published(full_view{view_of(view_id(9), {member_id(1), member_id(20)})}, at(5000));
    EXPECT_EQ(m.view().id, view_id(9));
    // SIGTERM: nothing to leave.
    m.leave(at(5001));
    EXPECT_EQ(m.current_phase(), member_node::phase::left);
}

TEST(member_node, a_heartbeat_reply_that_says_an_operator_removed_it_keeps_it_out) {
    member_node m(three_voters(), at(0));
    follow_from(m, view_of(view_id(6), {member_id(1), member_id(9)}));
    join(m);
    m.on_reply(2, heartbeat_reply{member_id(9), incarnation_number(100), member_status::removed, view_id(7),
                                  views::removal_reason::removed_by_operator},
               at(50));
    EXPECT_EQ(m.current_phase(), member_node::phase::removed_by_operator);
    m.tick(at(60));
    EXPECT_TRUE(sent<join_request>(m.take_output()).empty());
}

TEST(member_node, a_member_refers_a_removal_to_a_voter_and_is_unhealthy_when_no_voter_answers) {
    member_node asked(three_voters(), at(0));
    asked.on_request(5, remove_request{3, member_id(), "m2"}, at(0));
    const auto out = asked.take_output();
    ASSERT_EQ(out.replies.size(), 1u);
    const auto& r = std::get<remove_reply>(out.replies[0].second);
    EXPECT_EQ(r.status, request_status::not_leader);
    EXPECT_EQ(r.error, "a member does not take removals: ask a voter");
    EXPECT_EQ(asked.health().reason, "no committed view yet");

    member_node m(three_voters(), at(0));

    follow_from(m, view_of(view_id(6), {member_id(1), member_id(9)}));
    join(m);
    EXPECT_TRUE(m.health().healthy);
    m.tick(at(3500)); // 3.5 s without a word from any voter
    EXPECT_EQ(m.health().reason, "no word from any voter for 3.5 s");
}

} // namespace
} // namespace roster::node
