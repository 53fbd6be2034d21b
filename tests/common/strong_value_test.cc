#include <type_traits>
#include <unordered_set>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "common/strong_value.hh"

namespace roster {
namespace {

TEST(strong_value, different_tags_do_not_convert) {
    static_assert(!std::is_convertible_v<raft_term, log_index>);
    static_assert(!std::is_convertible_v<log_index, raft_term>);
    static_assert(!std::is_convertible_v<std::uint64_t, member_id>);
    static_assert(!std::is_constructible_v<view_id, member_id>);
    SUCCEED();
}

TEST(strong_value, counts_and_compares) {
    log_index i(5);
    EXPECT_EQ(i.next(), log_index(6));
    EXPECT_EQ(i.prev(), log_index(4));
    EXPECT_EQ(i + 3, log_index(8));
    EXPECT_EQ(log_index(9) - log_index(4), 5u);
    ++i;
    EXPECT_EQ(i.value(), 6u);
    EXPECT_LT(log_index(1), log_index(2));
    EXPECT_EQ(member_id(), member_id(0));
}

TEST(strong_value, hashes_and_formats) {
    std::unordered_set<member_id> s{member_id(1), member_id(2), member_id(1)};
    EXPECT_EQ(s.size(), 2u);
    EXPECT_EQ(fmt::format("{}/{:>3}", voter_id(3), raft_term(7)), "3/  7");
}

} // namespace
} // namespace roster
