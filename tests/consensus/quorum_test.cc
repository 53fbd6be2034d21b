#include <array>

#include <gtest/gtest.h>

#include "common/prng.hh"
#include "consensus/quorum.hh"

namespace roster::consensus {
namespace {

// Property test against a naive oracle: the largest index that at least `quorum` voters have.
TEST(quorum_index, matches_brute_force) {
    prng rng(11);
    for (int trial = 0; trial < 20'000; ++trial) {
        const std::size_t n = std::array<std::size_t, 3>{1, 3, 5}[rng.below(3)];
        const std::size_t quorum = n / 2 + 1;
        std::vector<log_index> matches;
        for (std::size_t i = 0; i < n; ++i) {
            matches.emplace_back(rng.below(20));
        }
        log_index oracle;
        for (std::uint64_t candidate = 0; candidate < 20; ++candidate) {
            std::size_t have = 0;
            for (auto m : matches) {
                have += m >= log_index(candidate) ? 1 : 0;
            }
            if (have >= quorum) {
                oracle = log_index(candidate);
            }
        }
        ASSERT_EQ(quorum_index(matches, quorum), oracle) << "trial " << trial;
    }
}

} // namespace
} // namespace roster::consensus
