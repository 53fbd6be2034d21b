#include <gtest/gtest.h>

#include "tests/views/view_test_support.hh"
#include "views/view_ops.hh"

namespace roster::views {
namespace {

TEST(view_ops, applying_changes_reproduces_the_state_machine_views) {
    membership::membership_state s;
    view v;
    for (const auto& c : testing::make_changes(30)) {
        v = apply_change(v, c);
    }
    // Rebuild with the state machine directly and compare.
    for (std::size_t i = 0; i < 30; ++i) {
        membership::command c;
        c.ops.push_back(membership::join_op{"n" + std::to_string(i), "a", "p", incarnation_number(1), {}});
        if (i % 3 == 2 && !s.current().members.empty()) {
            const auto& m = s.current().members.front();
            c.ops.push_back(membership::remove_op{m.id, m.incarnation, removal_reason::suspected});
        }
        s.apply(c);
    }
    EXPECT_EQ(v, s.current());
}

TEST(view_ops, change_of_inverts_apply_change) {
    const auto changes = testing::make_changes(10);
    const auto views = testing::make_views(changes);
    for (std::size_t i = 0; i < views.size(); ++i) {
        EXPECT_EQ(change_of(views[i]), changes[i]) << "view " << i + 1;
    }
}

TEST(view_ops, the_leader_is_the_lowest_id) {
    view v;
    EXPECT_EQ(leader_of(v), member_id());
    v.members = {{member_id(4), "x", "", "", incarnation_number(1), {}},
                 {member_id(9), "y", "", "", incarnation_number(1), {}}};
    EXPECT_EQ(leader_of(v), member_id(4));
}

TEST(view_ops_death, a_change_that_does_not_follow_aborts) {
    const auto changes = testing::make_changes(3);
    EXPECT_DEATH((void)apply_change(view{}, changes[2]), "does not follow");
}

} // namespace
} // namespace roster::views
