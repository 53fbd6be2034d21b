#include <string>

#include <gtest/gtest.h>

#include "common/result.hh"

namespace roster {
namespace {

result<int, std::string> parse_positive(int v) {
    if (v <= 0) {
        return std::string("not positive");
    }
    return v;
}

TEST(result, holds_a_value_or_an_error) {
    auto good = parse_positive(3);
    ASSERT_TRUE(good.ok());
    EXPECT_EQ(*good, 3);
    auto bad = parse_positive(-1);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error(), "not positive");
}

} // namespace
} // namespace roster
