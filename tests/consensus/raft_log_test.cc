#include <gtest/gtest.h>

#include "consensus/raft_log.hh"
#include "tests/consensus/entries.hh"

namespace roster::consensus {
namespace {

using testing::e;

raft_log log_with_terms(std::initializer_list<std::uint64_t> terms) {
    raft_log l;
    std::uint64_t i = 1;
    for (auto t : terms) {
        l.append(e(i++, t));
    }
    return l;
}

TEST(raft_log, starts_empty_before_index_1) {
    raft_log l;
    EXPECT_EQ(l.first_index(), log_index(1));
    EXPECT_EQ(l.last_index(), log_index(0));
    EXPECT_EQ(l.last_term(), raft_term(0));
    EXPECT_EQ(l.term(log_index(0)), raft_term(0));
    EXPECT_FALSE(l.term(log_index(1)));
}

TEST(raft_log, appends_truncates_and_slices) {
    auto l = log_with_terms({1, 1, 2, 3, 3});
    EXPECT_EQ(l.last_index(), log_index(5));
    EXPECT_EQ(l.last_term(), raft_term(3));
    EXPECT_EQ(l.term(log_index(3)), raft_term(2));
    l.truncate_after(log_index(3));
    EXPECT_EQ(l.last_index(), log_index(3));
    const auto s = l.slice(log_index(2), log_index(10));
    ASSERT_EQ(s.size(), 2u);
    EXPECT_EQ(s[0].index, log_index(2));
    EXPECT_EQ(l.slice(log_index(1), log_index(3), 2).size(), 2u);
}

TEST(raft_log, slice_respects_the_byte_limit_but_returns_at_least_one_entry) {
    raft_log l;
    for (std::uint64_t i = 1; i <= 4; ++i) {
        l.append({log_index(i), raft_term(1), entry_kind::normal, bytes(100, 1)});
    }
    EXPECT_EQ(l.slice(log_index(1), log_index(4), 10, 250).size(), 2u);
    EXPECT_EQ(l.slice(log_index(1), log_index(4), 10, 10).size(), 1u);
}

TEST(raft_log, compaction_moves_the_snapshot_point) {
    auto l = log_with_terms({1, 1, 2, 3, 3});
    l.compact(log_index(3));
    EXPECT_EQ(l.snapshot_point(), (snapshot_meta{log_index(3), raft_term(2)}));
    EXPECT_EQ(l.first_index(), log_index(4));
    EXPECT_EQ(l.term(log_index(3)), raft_term(2));
    EXPECT_FALSE(l.term(log_index(2))) << "compacted terms are unknown";
    EXPECT_EQ(l.last_index(), log_index(5));
    l.reset({log_index(10), raft_term(4)});
    EXPECT_EQ(l.last_index(), log_index(10));
    EXPECT_EQ(l.last_term(), raft_term(4));
}

TEST(raft_log, up_to_date_compares_last_term_then_length) { // Raft §5.4.1
    const auto l = log_with_terms({1, 2, 2});
    EXPECT_TRUE(l.is_up_to_date(log_index(1), raft_term(3)));  // later term wins, however short
    EXPECT_FALSE(l.is_up_to_date(log_index(9), raft_term(1))); // earlier term loses, however long
    EXPECT_TRUE(l.is_up_to_date(log_index(3), raft_term(2)));  // same term: as long is enough
    EXPECT_FALSE(l.is_up_to_date(log_index(2), raft_term(2)));
}

TEST(raft_log, find_conflict_by_term_skips_whole_terms) {
    const auto l = log_with_terms({1, 1, 1, 4, 4, 5, 5, 6, 6, 6});
    EXPECT_EQ(l.find_conflict_by_term(log_index(10), raft_term(6)), log_index(10));
    EXPECT_EQ(l.find_conflict_by_term(log_index(10), raft_term(5)), log_index(7));
    EXPECT_EQ(l.find_conflict_by_term(log_index(10), raft_term(3)), log_index(3));
    EXPECT_EQ(l.find_conflict_by_term(log_index(10), raft_term(0)), log_index(0));
    EXPECT_EQ(l.find_conflict_by_term(log_index(20), raft_term(4)), log_index(5))
        << "capped at the last index";
}

TEST(raft_log, recovered_log_starts_after_the_snapshot) {
    raft_log l({log_index(5), raft_term(2)}, {e(6, 2), e(7, 3)});
    EXPECT_EQ(l.first_index(), log_index(6));
    EXPECT_EQ(l.last_index(), log_index(7));
    EXPECT_EQ(l.term(log_index(5)), raft_term(2));
}

TEST(raft_log_death, appending_out_of_order_aborts) {
    auto l = log_with_terms({1, 2});
    EXPECT_DEATH(l.append(e(5, 2)), "invariant broken");
    EXPECT_DEATH(l.append(e(3, 1)), "invariant broken");
}

} // namespace
} // namespace roster::consensus
