#include <gtest/gtest.h>

#include "daemon/route_table.hh"

namespace roster::daemon {
namespace {

mono_time at(std::chrono::seconds s) { return mono_time(s); }

TEST(route_table, gives_each_identity_one_route_and_never_reuses_one) {
    route_table t;
    const node::route_id a = t.route_of("a", at(0s));
    const node::route_id b = t.route_of("b", at(0s));
    EXPECT_NE(a, b);
    EXPECT_EQ(t.route_of("a", at(1s)), a);
    ASSERT_NE(t.identity_of(b), nullptr);
    EXPECT_EQ(*t.identity_of(b), "b");
    EXPECT_EQ(t.identity_of(b + a + 100), nullptr);
}

TEST(route_table, forgets_routes_idle_for_ten_minutes_looking_once_a_minute) {
    route_table t;
    const node::route_id a = t.route_of("a", at(0s));
    const node::route_id b = t.route_of("b", at(0s));
    t.route_of("b", at(300s)); // b is used again
    t.sweep(at(590s));         // looks: nothing idle long enough
    t.sweep(at(610s));         // within a minute of the last look: does nothing
    EXPECT_EQ(t.size(), 2u);
    t.sweep(at(650s));
    EXPECT_EQ(t.identity_of(a), nullptr);
    ASSERT_NE(t.identity_of(b), nullptr);
    const node::route_id again = t.route_of("a", at(651s));
    EXPECT_NE(again, a) << "a forgotten client comes back under a new route";
    EXPECT_EQ(t.size(), 2u);
}

} // namespace
} // namespace roster::daemon
