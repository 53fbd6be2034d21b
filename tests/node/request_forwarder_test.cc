#include <gtest/gtest.h>

#include "node/request_forwarder.hh"
#include "tests/clock.hh"

namespace roster::node {
namespace {

using membership::join_reply;
using membership::join_request;
using membership::leave_reply;
using membership::leave_request;
using membership::request_status;
using answer = request_forwarder::answer;

using roster::testing::at;
const voter_id leader(2);
const view_id view(12);

join_request join(std::uint64_t id) { return {id, "m1", "h:1", "h:2", incarnation_number(3), {}}; }
leave_request leave_of(std::uint64_t id) { return {id, member_id(9), incarnation_number(3)}; }

TEST(request_forwarder, forwards_under_its_own_id_and_routes_the_answer_back_with_the_original_one) {
    request_forwarder f(5s);
    auto sent = f.forward(join(77), from_route{11, 77}, leader, view, at(0));
    ASSERT_TRUE(std::holds_alternative<join_request>(sent));
    const auto fwd = std::get<join_request>(sent);
    EXPECT_EQ(fwd.name, "m1");
    EXPECT_EQ(f.pending(), 1u);
    join_reply from_leader{
        fwd.request_id, request_status::ok, member_id(5), incarnation_number(3), view_id(13), "h:7400", ""};
    auto back = f.route_back(from_leader);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->first, origin(from_route{11, 77}));
    const auto& r = std::get<join_reply>(back->second);
    EXPECT_EQ(r.request_id, 77u);
    EXPECT_EQ(r.member, member_id(5));
    EXPECT_EQ(f.pending(), 0u);
    EXPECT_FALSE(f.route_back(from_leader)) << "answered once";
}

TEST(request_forwarder, joins_and_leaves_get_distinct_ids_and_are_both_counted) {
    request_forwarder f(5s);
    const auto j = std::get<join_request>(f.forward(join(1), from_route{1, 1}, leader, view, at(0)));
    const auto l = std::get<leave_request>(f.forward(leave_of(1), from_route{2, 1}, leader, view, at(0)));
    EXPECT_NE(j.request_id, l.request_id);
    EXPECT_EQ(f.forwarded(), 2u);
    EXPECT_EQ(f.route_back(leave_reply{l.request_id, request_status::ok, view, ""})->first,
              origin(from_route{2, 1}));
    EXPECT_EQ(f.route_back(join_reply{j.request_id, request_status::ok, member_id(1), incarnation_number(3),
                                      view, "", ""})
                  ->first,
              origin(from_route{1, 1}));
}

TEST(request_forwarder, without_a_leader_joins_and_leaves_alike_are_unavailable) {
    request_forwarder f(5s);
    auto j = f.forward(join(4), from_route{1, 4}, voter_id(), view, at(0));
    auto l = f.forward(leave_of(5), from_route{1, 5}, voter_id(), view, at(0));
    ASSERT_TRUE(std::holds_alternative<answer>(j));
    ASSERT_TRUE(std::holds_alternative<answer>(l));
    const auto& jr = std::get<join_reply>(std::get<answer>(j).second);
    const auto& lr = std::get<leave_reply>(std::get<answer>(l).second);
    EXPECT_EQ(jr.status, request_status::unavailable);
    EXPECT_EQ(jr.request_id, 4u);
    EXPECT_EQ(jr.incarnation, incarnation_number(3));
    EXPECT_EQ(jr.view, view);
    EXPECT_EQ(lr.status, request_status::unavailable);
    EXPECT_EQ(lr.request_id, 5u);
    EXPECT_EQ(f.forwarded(), 0u);
}

TEST(request_forwarder, a_request_forwarded_here_by_another_voter_is_not_forwarded_again) {
    request_forwarder f(5s);
    auto j = f.forward(join(5), from_voter{voter_id(3), 5}, leader, view, at(0));
    auto l = f.forward(leave_of(6), from_voter{voter_id(3), 6}, leader, view, at(0));
    ASSERT_TRUE(std::holds_alternative<answer>(j));
    ASSERT_TRUE(std::holds_alternative<answer>(l));
    EXPECT_EQ(std::get<answer>(j).first, origin(from_voter{voter_id(3), 5}));
    EXPECT_EQ(std::get<join_reply>(std::get<answer>(j).second).status, request_status::not_leader);
    EXPECT_EQ(std::get<leave_reply>(std::get<answer>(l).second).status, request_status::not_leader);
    EXPECT_EQ(f.pending(), 0u);
}

TEST(request_forwarder, this_voters_own_request_comes_back_to_itself) {
    request_forwarder f(5s);
    const auto j = std::get<join_request>(f.forward(join(0), from_self{}, leader, view, at(0)));
    auto back = f.route_back(
        join_reply{j.request_id, request_status::ok, member_id(1), incarnation_number(3), view, "", ""});
    ASSERT_TRUE(back);
    EXPECT_EQ(back->first, origin(from_self{}));
}

TEST(request_forwarder, an_unanswered_forward_is_forgotten_after_the_timeout) {
    request_forwarder f(5s);
    const auto a = std::get<join_request>(f.forward(join(1), from_route{1, 1}, leader, view, at(0)));
    const auto b = std::get<join_request>(f.forward(join(2), from_route{1, 2}, leader, view, at(3000)));
    f.expire(at(4999));
    EXPECT_EQ(f.pending(), 2u);
    f.expire(at(5000));
    EXPECT_EQ(f.pending(), 1u);
    EXPECT_FALSE(f.route_back(leave_reply{a.request_id, request_status::ok, view, ""}))
        << "a late answer finds nobody";
    EXPECT_TRUE(f.route_back(leave_reply{b.request_id, request_status::ok, view, ""}));
}

} // namespace
} // namespace roster::node
