#include <gtest/gtest.h>

#include "node/replicated_membership.hh"
#include "wire/codec.hh"

namespace roster::node {
namespace {

consensus::entry entry(std::uint64_t index, bytes data,
                       consensus::entry_kind kind = consensus::entry_kind::normal) {
    return {log_index(index), raft_term(1), kind, std::move(data)};
}

bytes join(const std::string& name) {
    return wire::encode_command({{membership::join_op{name, "", "", incarnation_number(1), {}}}});
}

TEST(replicated_membership, applies_commands_and_skips_noops) {
    replicated_membership m(100, log_index());
    auto a = m.apply(entry(1, {}, consensus::entry_kind::noop));
    ASSERT_TRUE(a);
    EXPECT_FALSE(a.value());
    auto b = m.apply(entry(2, join("x")));
    ASSERT_TRUE(b);
    ASSERT_TRUE(b.value());
    ASSERT_TRUE(b.value()->result.change);
    EXPECT_EQ(b.value()->result.change->id, view_id(1));
    EXPECT_EQ(m.state().current().members.at(0).name, "x");
}

TEST(replicated_membership, an_entry_that_is_not_a_command_is_skipped_with_the_reason) {
    replicated_membership m(100, log_index());
    auto r = m.apply(entry(1, bytes{1, 2, 3}));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().what, replicated_membership::refusal::kind::undecodable);
    EXPECT_FALSE(r.error().why.empty());
    EXPECT_EQ(m.state().id(), view_id());
}

// A committed join no voter would have accepted (forged into the log, or from a build with other
// rules) is refused whole, with the reason, and changes nothing: every voter decides alike.
TEST(replicated_membership, an_entry_with_a_join_beyond_the_bounds_is_refused_whole) {
    replicated_membership m(100, log_index());
    ASSERT_TRUE(m.apply(entry(1, join("a"))));
    const auto bad_join = [](std::string name, std::uint64_t incarnation) {
        membership::join_op op;
        op.name = std::move(name);
        op.incarnation = incarnation_number(incarnation);
        return op;
    };
    const std::vector<membership::join_op> refused = {
        bad_join("\x1b[2Jowned", 1),
        bad_join("c1\xc2\x9b"
                 "31m",
                 1),
        bad_join("bad\xff", 1),
        bad_join(std::string(256, 'n'), 1),
        bad_join("fine", 0),
        bad_join("fine", (std::uint64_t{1} << 63) + 1),
    };
    std::uint64_t index = 2;
    for (const auto& op : refused) {
        // A good join first: the whole entry goes, not only the bad op.
        membership::command cmd{{bad_join("good", 1), op}};
        auto r = m.apply(entry(index++, wire::encode_command(cmd)));
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error().what, replicated_membership::refusal::kind::invalid);
        EXPECT_NE(r.error().why.find("op 2 (a join)"), std::string::npos) << r.error().why;
        EXPECT_EQ(m.state().id(), view_id(1));
        EXPECT_EQ(m.state().find_by_name("good"), nullptr);
    }
    ASSERT_TRUE(m.apply(entry(index, join("b"))));
    EXPECT_EQ(m.state().id(), view_id(2));
}

TEST(replicated_membership, compaction_is_due_every_so_many_entries_and_restores_the_same_state) {
    replicated_membership m(3, log_index());
    ASSERT_TRUE(m.apply(entry(1, join("a"))));
    ASSERT_TRUE(m.apply(entry(2, join("b"))));
    EXPECT_FALSE(m.compaction_due(log_index(2)));
    ASSERT_TRUE(m.apply(entry(3, join("c"))));
    const auto snap = m.compaction_due(log_index(3));
    ASSERT_TRUE(snap);
    EXPECT_FALSE(m.compaction_due(log_index(5))) << "counted from the last snapshot";
    EXPECT_FALSE(replicated_membership::check(*snap)) << "its own snapshots pass the check";
    replicated_membership other(3, log_index());
    other.restore({{log_index(3), raft_term(1)}, snap});
    EXPECT_EQ(other.state().current(), m.state().current());
    EXPECT_FALSE(other.compaction_due(log_index(5)));
    EXPECT_TRUE(other.compaction_due(log_index(6)));
}

TEST(replicated_membership, the_check_refuses_garbage_and_impossible_snapshots) {
    EXPECT_TRUE(replicated_membership::check(bytes{0, 1, 2, 3, 4, 5, 6, 7, 8}));
    membership::membership_snapshot s;
    s.view.id = view_id(2);
    s.view.members = {{member_id(3), "a", "", "", incarnation_number(1), {}},
                      {member_id(2), "b", "", "", incarnation_number(1), {}}};
    s.view.leader = member_id(3);
    s.next_member = member_id(4);
    const auto why = replicated_membership::check(wire::encode_snapshot(s));
    ASSERT_TRUE(why);
    EXPECT_NE(why->find("out of order"), std::string::npos) << *why;
}

} // namespace
} // namespace roster::node
