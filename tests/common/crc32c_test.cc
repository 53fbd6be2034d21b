#include <array>
#include <cstdint>
#include <string_view>

#include <gtest/gtest.h>

#include "common/crc32c.hh"

namespace roster {
namespace {

// The check value of the Castagnoli polynomial and the test vectors of RFC 3720, appendix B.4.
TEST(crc32c, matches_the_published_check_values) {
    constexpr std::string_view check = "123456789";
    EXPECT_EQ(crc32c(check.data(), check.size()), 0xe3069283u);
    std::array<std::uint8_t, 32> zeros{}, ones{}, up{};
    ones.fill(0xff);
    for (std::size_t i = 0; i < up.size(); ++i) {
        up[i] = static_cast<std::uint8_t>(i);
    }
    EXPECT_EQ(crc32c(zeros.data(), zeros.size()), 0x8a9136aau);
    EXPECT_EQ(crc32c(ones.data(), ones.size()), 0x62a8ab43u);
    EXPECT_EQ(crc32c(up.data(), up.size()), 0x46dd794eu);
    EXPECT_EQ(crc32c(nullptr, 0), 0u);
}

TEST(crc32c, extends_in_pieces_as_in_one_go) {
    constexpr std::string_view text = "roster keeps its log entries honest";
    const auto whole = crc32c(text.data(), text.size());
    for (std::size_t cut = 0; cut <= text.size(); ++cut) {
        ASSERT_EQ(crc32c(text.data() + cut, text.size() - cut, crc32c(text.data(), cut)), whole) << cut;
    }
}

} // namespace
} // namespace roster
