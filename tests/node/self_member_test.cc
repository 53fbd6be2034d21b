#include <gtest/gtest.h>

#include "node/self_member.hh"
#include "tests/clock.hh"

namespace roster::node {
namespace {

using membership::join_reply;
using membership::join_request;
using membership::leave_request;
using membership::request_status;

using roster::testing::at;

join_request me(std::uint64_t inc = 5) { return {0, "v1", "h:1", "h:2", incarnation_number(inc), {}}; }

// A state holding `name` at `inc` (and nobody else), made by committing its join.
membership::membership_state holding(const std::string& name, std::uint64_t inc) {
    membership::membership_state s;
    s.apply({{membership::join_op{name, "", "", incarnation_number(inc), {}}}});
    return s;
}

TEST(self_member, joins_every_retry_interval_until_the_view_holds_it) {
    self_member s(me());
    const membership::membership_state empty;
    auto r = s.next_request(empty, at(0));
    ASSERT_TRUE(r);
    EXPECT_EQ(std::get<join_request>(*r), me());
    EXPECT_FALSE(s.next_request(empty, at(249)));
    EXPECT_TRUE(s.next_request(empty, at(250)));
    EXPECT_FALSE(s.heartbeat(view_id(1))) << "no heartbeats before it is a member";
    const auto state = holding("v1", 5);
    EXPECT_FALSE(s.next_request(state, at(300)));
    EXPECT_EQ(s.current_phase(), self_member::phase::active);
    EXPECT_EQ(s.id(), state.find_by_name("v1")->id);
}

TEST(self_member, a_join_reply_makes_it_active_and_heartbeat_with_growing_sequence) {
    self_member s(me());
    ASSERT_TRUE(s.next_request({}, at(0)));
    s.join_answered(
        join_reply{0, request_status::ok, member_id(4), incarnation_number(5), view_id(2), "", ""});
    EXPECT_EQ(s.current_phase(), self_member::phase::active);
    const auto a = s.heartbeat(view_id(2));
    const auto b = s.heartbeat(view_id(3));
    ASSERT_TRUE(a && b);
    EXPECT_EQ(a->member, member_id(4));
    EXPECT_EQ(a->incarnation, incarnation_number(5));
    EXPECT_EQ(b->sequence, a->sequence + 1);
    EXPECT_EQ(b->known_view, view_id(3));
}

TEST(self_member, a_refused_join_is_asked_again_at_once) {
    self_member s(me());
    ASSERT_TRUE(s.next_request({}, at(0)));
    s.join_answered(
        join_reply{0, request_status::unavailable, member_id(), incarnation_number(5), view_id(), "", ""});
    EXPECT_EQ(s.current_phase(), self_member::phase::joining);
    EXPECT_TRUE(s.next_request({}, at(10))) << "no waiting out the retry interval after an answer";
}

TEST(self_member, removed_while_active_it_joins_again_under_the_next_incarnation) {
    self_member s(me());
    s.joined(member_id(4));
    EXPECT_FALSE(s.removed(member_id(9))) << "someone else";
    EXPECT_TRUE(s.removed(member_id(4)));
    EXPECT_EQ(s.current_phase(), self_member::phase::joining);
    EXPECT_EQ(s.id(), member_id());
    auto r = s.next_request({}, at(0));
    ASSERT_TRUE(r);
    EXPECT_EQ(std::get<join_request>(*r).incarnation, incarnation_number(6));
}

TEST(self_member, an_active_entry_the_view_does_not_hold_yet_keeps_heartbeating_and_asks_again) {
    self_member s(me());
    s.join_answered(
        join_reply{0, request_status::ok, member_id(4), incarnation_number(5), view_id(2), "", ""});
    const membership::membership_state behind; // the view with it is not applied here yet
    EXPECT_TRUE(s.next_request(behind, at(0)));
    EXPECT_EQ(s.current_phase(), self_member::phase::active);
    EXPECT_TRUE(s.heartbeat(view_id(1)));
}

TEST(self_member, a_join_rejected_as_stale_is_asked_again_at_once_under_the_next_incarnation) {
    // An earlier process of this voter rejoined up to incarnation 7 before it crashed; this one
    // starts at 5 (an incarnation kept from before those rejoins, or a clock that went back).
    self_member s(me(5));
    auto r = s.next_request({}, at(0));
    ASSERT_TRUE(r);
    EXPECT_EQ(std::get<join_request>(*r).incarnation, incarnation_number(5));
    s.join_answered(join_reply{0, request_status::rejected, member_id(), incarnation_number(5), view_id(9),
                               "", "incarnation 5 of 'v1' is not newer than one already seen"});
    EXPECT_EQ(s.current_phase(), self_member::phase::joining);
    EXPECT_EQ(s.incarnation(), incarnation_number(6));
    r = s.next_request({}, at(10));
    ASSERT_TRUE(r) << "no waiting out the retry interval after an answer";
    EXPECT_EQ(std::get<join_request>(*r).incarnation, incarnation_number(6));
    // A late copy of the first rejection does not move it again.
    s.join_answered(join_reply{0, request_status::rejected, member_id(), incarnation_number(5), view_id(9),
                               "", "incarnation 5 of 'v1' is not newer than one already seen"});
    EXPECT_EQ(s.incarnation(), incarnation_number(6));
    s.join_answered(join_reply{0, request_status::rejected, member_id(), incarnation_number(6), view_id(9),
                               "", "incarnation 6 of 'v1' is not newer than one already seen"});
    s.join_answered(
        join_reply{0, request_status::ok, member_id(12), incarnation_number(7), view_id(10), "", ""});
    EXPECT_EQ(s.current_phase(), self_member::phase::active);
    EXPECT_EQ(s.id(), member_id(12));
    const auto hb = s.heartbeat(view_id(10));
    ASSERT_TRUE(hb);
    EXPECT_EQ(hb->incarnation, incarnation_number(7));
}

TEST(self_member, an_active_entry_is_not_moved_to_another_incarnation_by_a_rejection) {
    self_member s(me());
    s.join_answered(
        join_reply{0, request_status::ok, member_id(4), incarnation_number(5), view_id(2), "", ""});
    ASSERT_TRUE(s.next_request({}, at(0))); // the view with it is not applied here yet: asks again
    s.join_answered(join_reply{0, request_status::rejected, member_id(), incarnation_number(5), view_id(2),
                               "", "the cluster has reached --max-members (1)"});
    EXPECT_EQ(s.current_phase(), self_member::phase::active);
    EXPECT_EQ(s.incarnation(), incarnation_number(5)) << "its heartbeats go on under the entry it has";
}

TEST(self_member, an_entry_that_left_the_view_with_a_snapshot_counts_as_removed) {
    self_member s(me());
    auto state = holding("v1", 5);
    ASSERT_FALSE(s.next_request(state, at(0)));
    const member_id id = s.id();
    ASSERT_NE(id, member_id());
    // Removed in a view that this voter never applied as a change: it installed a snapshot taken
    // after it, which simply lacks the entry.
    state.apply({{membership::remove_op{id, incarnation_number(5), views::removal_reason::suspected}}});
    ASSERT_TRUE(state.departed(id));
    const auto r = s.next_request(state, at(10));
    EXPECT_EQ(s.current_phase(), self_member::phase::joining);
    EXPECT_EQ(s.id(), member_id());
    EXPECT_FALSE(s.heartbeat(view_id(3))) << "no heartbeats for the departed entry";
    ASSERT_TRUE(r);
    EXPECT_EQ(std::get<join_request>(*r).incarnation, incarnation_number(6))
        << "incarnation 5 of its name is departed: asking under it again would be refused forever";
}

TEST(self_member, a_leaving_entry_that_left_the_view_with_a_snapshot_is_left) {
    self_member s(me());
    auto state = holding("v1", 5);
    ASSERT_FALSE(s.next_request(state, at(0)));
    const member_id id = s.id();
    s.leave(state);
    ASSERT_TRUE(s.next_request(state, at(10)));
    state.apply({{membership::leave_op{id, incarnation_number(5)}}});
    EXPECT_FALSE(s.next_request(state, at(2000)));
    EXPECT_EQ(s.current_phase(), self_member::phase::left);
}

TEST(self_member, leaving_sends_a_leave_every_retry_interval_until_the_view_removes_it) {
    self_member s(me());
    const auto state = holding("v1", 5);
    ASSERT_FALSE(s.next_request(state, at(0)));
    const member_id id = s.id();
    s.leave(state);
    EXPECT_EQ(s.current_phase(), self_member::phase::leaving);
    auto r = s.next_request(state, at(10));
    ASSERT_TRUE(r);
    EXPECT_EQ(std::get<leave_request>(*r).member, id);
    EXPECT_FALSE(s.next_request(state, at(1009)));
    EXPECT_TRUE(s.next_request(state, at(1010)));
    EXPECT_TRUE(s.heartbeat(view_id(1))) << "still a member until the view says otherwise";
    EXPECT_TRUE(s.removed(id));
    EXPECT_EQ(s.current_phase(), self_member::phase::left);
    EXPECT_FALSE(s.next_request({}, at(5000))) << "a voter that left does not join again";
    EXPECT_FALSE(s.heartbeat(view_id(2)));
}

TEST(self_member, leaving_before_it_joined_is_done_at_once) {
    self_member s(me());
    s.leave({});
    EXPECT_EQ(s.current_phase(), self_member::phase::left);
    EXPECT_FALSE(s.next_request({}, at(0)));
}

} // namespace
} // namespace roster::node
