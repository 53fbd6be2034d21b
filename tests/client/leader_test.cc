#include <gtest/gtest.h>

#include "client/leader.hh"

namespace roster::client {
namespace {

views::member member(std::uint64_t id, std::vector<views::tag> tags = {}) {
    return {member_id(id), "m" + std::to_string(id), "", "", incarnation_number(1), std::move(tags)};
}

const views::tag scheduler{"role", "scheduler"};

views::view view(std::uint64_t id, std::vector<views::member> members, std::uint64_t token = 1) {
    views::view v;
    v.id = view_id(id);
    v.members = std::move(members);
    v.leader = v.members.empty() ? member_id() : v.members.front().id;
    v.fencing_token = view_id(token);
    return v;
}

TEST(group, parses_key_value_and_refuses_what_is_not) {
    EXPECT_EQ(group::parse("role=scheduler"), (group{"role", "scheduler"}));
    EXPECT_EQ(group::parse("k=a=b"), (group{"k", "a=b"}));
    EXPECT_EQ(group::parse("k="), (group{"k", ""}));
    EXPECT_FALSE(group::parse("role"));
    EXPECT_FALSE(group::parse("=x"));
}

TEST(group_leader, is_the_lowest_id_with_the_tag_and_none_without_one) {
    const auto v = view(5, {member(1), member(3, {scheduler}), member(4, {{"role", "other"}}), member(7, {scheduler})});
    ASSERT_NE(group_leader(v, {"role", "scheduler"}), nullptr);
    EXPECT_EQ(group_leader(v, {"role", "scheduler"})->id, member_id(3));
    EXPECT_EQ(group_leader(v, {"role", "other"})->id, member_id(4));
    EXPECT_EQ(group_leader(v, {"role", "nobody"}), nullptr);
    EXPECT_EQ(group_leader(v, {})->id, member_id(1)) << "an empty key: the whole view";
}

TEST(group_leader_tracker, the_token_is_the_first_view_this_observer_saw_the_leader_lead_in) {
    group_leader_tracker t({"role", "scheduler"});
    auto l = t.observe(view(10, {member(1), member(3, {scheduler}), member(7, {scheduler})}));
    EXPECT_EQ(l, (group_leader_tracker::leadership{member_id(3), view_id(10), true}));
    l = t.observe(view(11, {member(1), member(3, {scheduler}), member(7, {scheduler}), member(9)}));
    EXPECT_EQ(l, (group_leader_tracker::leadership{member_id(3), view_id(10), false})) << "same epoch";
    l = t.observe(view(12, {member(3, {scheduler}), member(7, {scheduler})}));
    EXPECT_EQ(l.token, view_id(10)) << "the view's leader changed, the group's did not";
    l = t.observe(view(13, {member(7, {scheduler})}));
    EXPECT_EQ(l, (group_leader_tracker::leadership{member_id(7), view_id(13), true}));
    l = t.observe(view(14, {}));
    EXPECT_EQ(l, (group_leader_tracker::leadership{member_id(), view_id(), true}));
    l = t.observe(view(15, {member(20, {scheduler})}));
    EXPECT_EQ(l, (group_leader_tracker::leadership{member_id(20), view_id(15), true}));
}

// The property fencing needs: whatever view of an epoch each observer saw first, a later leader's
// token is larger than an earlier leader's, from any observer. Observers that start late, or skip
// views (a resync), are compared against one that saw every view.
TEST(group_leader_tracker, tokens_of_later_leaders_are_larger_from_any_observer) {
    std::vector<views::view> history;
    std::vector<views::member> members{member(1, {scheduler}), member(2), member(3, {scheduler})};
    std::uint64_t next_id = 4;
    for (std::uint64_t v = 1; v <= 60; ++v) {
        if (v % 7 == 0 && !members.empty()) {
            members.erase(members.begin()); // the lowest goes: the group's leader often
        } else if (v % 3 == 0) {
            members.push_back(member(next_id++, v % 2 ? std::vector<views::tag>{scheduler} : std::vector<views::tag>{}));
        }
        history.push_back(view(v, members));
    }
    // Observer 0 sees everything; observer k starts at view k and, when k is odd, skips every third view.
    std::map<member_id, view_id> lowest, highest; // per leader, over every observer
    for (std::size_t start = 0; start < 10; ++start) {
        group_leader_tracker t({"role", "scheduler"});
        for (std::size_t i = start; i < history.size(); ++i) {
            const bool skip = start % 2 == 1 && i % 3 == 0 && i > start;
            if (skip) {
                continue;
            }
            const bool resync = start % 2 == 1 && i % 3 == 1 && i > start + 1;
            const auto l = t.observe(history[i], resync);
            if (l.leader == member_id()) {
                continue;
            }
            auto [lo, new_lo] = lowest.emplace(l.leader, l.token);
            if (!new_lo) {
                lo->second = std::min(lo->second, l.token);
            }
            auto [hi, new_hi] = highest.emplace(l.leader, l.token);
            if (!new_hi) {
                hi->second = std::max(hi->second, l.token);
            }
        }
    }
    // Leaders in the order they led (ids grow with joins, and each led one epoch here).
    std::vector<member_id> order;
    group_leader_tracker full({"role", "scheduler"});
    for (const auto& v : history) {
        const auto l = full.observe(v);
        if (l.changed && l.leader != member_id()) {
            order.push_back(l.leader);
        }
    }
    ASSERT_GE(order.size(), 3u);
    for (std::size_t i = 1; i < order.size(); ++i) {
        EXPECT_GT(lowest.at(order[i]), highest.at(order[i - 1]))
            << "leader " << order[i] << " after " << order[i - 1];
    }
}

TEST(group_leader_tracker, for_the_whole_view_the_token_is_the_views_own) {
    group_leader_tracker t({});
    const auto l = t.observe(view(30, {member(4), member(5)}, 17));
    EXPECT_EQ(l, (group_leader_tracker::leadership{member_id(4), view_id(17), true}));
}

} // namespace
} // namespace roster::client
