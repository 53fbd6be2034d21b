#include <gtest/gtest.h>
#include <fmt/format.h>

#include "daemon/member_driver.hh"
#include "daemon/node_configs.hh"
#include "log_capture.hh"

namespace roster::daemon {
namespace {

using membership::request_status;

mono_time at(int ms) { return mono_time(std::chrono::milliseconds(ms)); }

options member_of_three() {
    return {.name = "m1", .join = {{"10.0.0.1", 7400}, {"10.0.0.2", 7400}, {"10.0.0.3", 7400}}};
}

template <typename T>
std::vector<std::pair<std::size_t, T>> sent(const node::output& out) {
    std::vector<std::pair<std::size_t, T>> r;
    for (const auto& [e, b] : out.to_endpoints) {
        if (const auto* x = std::get_if<T>(&b)) {
            r.emplace_back(e, *x);
        }
    }
    return r;
}

struct harness {
    log_capture log;
    metrics m{"roster", "m1", false, 1000};
    member_driver d{make_member_config(member_of_three(), incarnation_number(100)).value(), at(0), log.logger,
                    m};

    // Joins through voter 0 as `id` (incarnation `inc`), answering the join request the tick sends.
    void join(int ms, member_id id, incarnation_number inc, view_id in_view) {
        d.tick(at(ms));
        const auto q = sent<membership::join_request>(d.take_output()).at(0);
        d.on_endpoint_reply(
            q.first,
            membership::join_reply{q.second.request_id, request_status::ok, id, inc, in_view, "", ""},
            at(ms + 1));
    }
};

TEST(member_driver, says_who_it_is_in_its_envelopes) {
    harness h;
    EXPECT_EQ(h.d.self(), (wire::sender{voter_id(), member_id(), "m1"}));
    h.join(0, member_id(9), incarnation_number(100), view_id(1));
    EXPECT_EQ(h.d.self(), (wire::sender{voter_id(), member_id(9), "m1"}));
}

views::view view_of(view_id id, std::vector<member_id> ids) {
    views::view v;
    v.id = id;
    for (member_id m : ids) {
        v.members.push_back({m, fmt::format("n{}", m.value()), "", "", incarnation_number(1), {}});
    }
    v.leader = ids.front();
    v.fencing_token = view_id(1);
    return v;
}

TEST(member_driver, logs_its_removal_and_its_rejoin_and_still_publishes_them) {
    harness h;
    // It follows the stream from view 6.
    const auto syncs = sent<views::sync_request>(h.d.take_output());
    ASSERT_EQ(syncs.size(), 1u);
    const auto six = view_of(view_id(6), {member_id(1), member_id(9)});
    h.d.on_endpoint_reply(syncs[0].first, views::sync_reply{syncs[0].second.request_id, view_id(6), {}, six},
                          at(0));
    h.join(0, member_id(9), incarnation_number(100), view_id(1));
    (void)h.d.take_output();
    h.d.on_endpoint_reply(2,
                          membership::heartbeat_reply{member_id(9), incarnation_number(100),
                                                      membership::member_status::removed, view_id(7)},
                          at(50));
    auto out = h.d.take_output();
    EXPECT_TRUE(out.published.empty()) << "the event waits for view 7";
    h.d.on_published(views::full_view{view_of(view_id(7), {member_id(1)})}, at(55));
    out = h.d.take_output();
    ASSERT_EQ(out.published.size(), 2u) << "the local subscribers learn it too, after the view";
    EXPECT_TRUE(std::holds_alternative<views::node_event>(out.published[1]));
    EXPECT_EQ(h.log.count("this node (member 9) was removed from the view in view 7 ("), 1) << h.log.text();

    h.join(56, member_id(12), incarnation_number(101), view_id(8));
    h.d.on_published(views::full_view{view_of(view_id(8), {member_id(1), member_id(12)})}, at(60));
    out = h.d.take_output();
    ASSERT_EQ(out.published.size(), 2u);
    EXPECT_TRUE(std::holds_alternative<views::node_event>(out.published[1]));
    EXPECT_EQ(h.log.count("this node rejoined as member 12 (was 9) in view 8"), 1) << h.log.text();
}

TEST(member_driver, feeds_the_metrics_its_state) {
    harness h;
    h.d.after_step(at(0));
    EXPECT_EQ(h.m.value("roster_member_id", {}), 0);
    EXPECT_EQ(h.m.value("roster_member_state", {{"state", "joining"}}), 1);
    h.join(10, member_id(9), incarnation_number(100), view_id(1));
    h.d.after_step(at(50)); // within 100 ms of the last: not yet
    EXPECT_EQ(h.m.value("roster_member_id", {}), 0);
    h.d.after_step(at(100));
    EXPECT_EQ(h.m.value("roster_member_id", {}), 9);
    EXPECT_EQ(h.m.value("roster_member_state", {{"state", "active"}}), 1);
}

TEST(member_driver, is_done_leaving_once_the_leave_committed) {
    harness h;
    h.join(0, member_id(9), incarnation_number(100), view_id(1));
    (void)h.d.take_output();
    h.d.leave(at(10));
    EXPECT_FALSE(h.d.done_leaving());
    const auto leaves = sent<membership::leave_request>(h.d.take_output());
    ASSERT_EQ(leaves.size(), 1u);
    h.d.on_endpoint_reply(
        leaves[0].first,
        membership::leave_reply{leaves[0].second.request_id, request_status::ok, view_id(2), ""}, at(12));
    EXPECT_TRUE(h.d.done_leaving());
}

} // namespace
} // namespace roster::daemon
