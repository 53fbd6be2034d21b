#include <gtest/gtest.h>

#include "common/spelling.hh"

namespace roster {
namespace {

TEST(edit_distance, counts_insertions_deletions_and_substitutions) {
    EXPECT_EQ(edit_distance("members", "members"), 0u);
    EXPECT_EQ(edit_distance("memberz", "members"), 1u);  // a substitution
    EXPECT_EQ(edit_distance("membrs", "members"), 1u);   // an insertion
    EXPECT_EQ(edit_distance("memberss", "members"), 1u); // a deletion
    EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
    EXPECT_EQ(edit_distance("", "watch"), 5u);
    EXPECT_EQ(edit_distance("watch", ""), 5u);
    EXPECT_EQ(edit_distance("status", "leader"), edit_distance("leader", "status")) << "symmetric";
}

} // namespace
} // namespace roster
