#include <gtest/gtest.h>

#include "tests/views/view_test_support.hh"
#include "views/view_publisher.hh"

namespace roster::views {
namespace {

TEST(view_publisher, answers_with_the_changes_after_what_the_subscriber_holds) {
    const auto changes = testing::make_changes(10);
    view_publisher p(100);
    for (const auto& c : changes) {
        p.publish(c);
    }
    EXPECT_EQ(p.current(), testing::make_views(changes).back());
    const auto r = p.answer({7, view_id(6), false});
    EXPECT_EQ(r.request_id, 7u);
    EXPECT_EQ(r.current, view_id(10));
    EXPECT_FALSE(r.full);
    ASSERT_EQ(r.changes.size(), 4u);
    EXPECT_EQ(r.changes.front().id, view_id(7));
    EXPECT_EQ(r.changes.back().id, view_id(10));
}

TEST(view_publisher, answers_with_the_full_view_when_the_ring_does_not_reach_back) {
    const auto changes = testing::make_changes(20);
    view_publisher p(5);
    for (const auto& c : changes) {
        p.publish(c);
    }
    EXPECT_EQ(p.oldest_change(), view_id(16));
    auto r = p.answer({1, view_id(15), false}); // 16.. are held: changes
    EXPECT_FALSE(r.full);
    EXPECT_EQ(r.changes.size(), 5u);
    r = p.answer({1, view_id(14), false}); // 15 is gone: the full view
    ASSERT_TRUE(r.full);
    EXPECT_EQ(*r.full, p.current());
    EXPECT_TRUE(r.changes.empty());
}

TEST(view_publisher, answers_with_the_full_view_when_asked_and_nothing_when_up_to_date) {
    const auto changes = testing::make_changes(4);
    view_publisher p;
    for (const auto& c : changes) {
        p.publish(c);
    }
    auto r = p.answer({1, view_id(4), true});
    ASSERT_TRUE(r.full);
    r = p.answer({1, view_id(4), false});
    EXPECT_FALSE(r.full);
    EXPECT_TRUE(r.changes.empty());
    EXPECT_EQ(r.current, view_id(4));
}

TEST(view_publisher, reset_starts_over_from_a_full_view) {
    const auto changes = testing::make_changes(8);
    const auto views = testing::make_views(changes);
    view_publisher p;
    p.reset(views[5]);
    EXPECT_EQ(p.oldest_change(), view_id());
    EXPECT_TRUE(p.answer({1, view_id(3), false}).full);
    p.publish(changes[6]);
    EXPECT_EQ(p.current(), views[6]);
}

} // namespace
} // namespace roster::views
