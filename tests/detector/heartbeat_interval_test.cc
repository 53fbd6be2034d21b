#include <vector>

#include <gtest/gtest.h>

#include "detector/heartbeat_interval.hh"

namespace roster::detector {
namespace {

duration from_scratch(std::size_t members) { return adaptive_heartbeat_interval(members, {}); }

TEST(adaptive_heartbeat_interval, grows_with_the_cluster_in_five_levels) {
    EXPECT_EQ(from_scratch(0), 50ms);
    EXPECT_EQ(from_scratch(3), 50ms);
    EXPECT_EQ(from_scratch(1'000), 50ms);
    EXPECT_EQ(from_scratch(1'001), 100ms);
    EXPECT_EQ(from_scratch(2'000), 100ms);
    EXPECT_EQ(from_scratch(2'001), 200ms);
    EXPECT_EQ(from_scratch(4'001), 500ms);
    EXPECT_EQ(from_scratch(10'000), 500ms);
    EXPECT_EQ(from_scratch(10'001), 1s);
    EXPECT_EQ(from_scratch(100'000), 1s);
}

TEST(adaptive_heartbeat_interval, keeps_each_voter_near_20000_heartbeats_a_second_or_fewer_up_to_20000_members) {
    for (std::size_t n = 1; n <= 20'000; n += 37) {
        const double per_second = static_cast<double>(n) / std::chrono::duration<double>(from_scratch(n)).count();
        EXPECT_LE(per_second, 20'020.0) << n << " members";
    }
}

TEST(adaptive_heartbeat_interval, grows_at_once_and_shrinks_only_a_tenth_below_a_bound) {
    // Growing past a bound: the longer interval at once.
    EXPECT_EQ(adaptive_heartbeat_interval(1'001, 50ms), 100ms);
    EXPECT_EQ(adaptive_heartbeat_interval(12'000, 50ms), 1s);
    // Shrinking back to the bound: not yet, nor a little below it.
    EXPECT_EQ(adaptive_heartbeat_interval(1'000, 100ms), 100ms);
    EXPECT_EQ(adaptive_heartbeat_interval(901, 100ms), 100ms);
    EXPECT_EQ(adaptive_heartbeat_interval(900, 100ms), 50ms);
    // From far above: the shortest level the cluster is a tenth below (1,800 is 9/10 of 2,000).
    EXPECT_EQ(adaptive_heartbeat_interval(950, 1s), 100ms);
    EXPECT_EQ(adaptive_heartbeat_interval(1'900, 1s), 200ms);
    EXPECT_EQ(adaptive_heartbeat_interval(9'500, 1s), 1s);
    EXPECT_EQ(adaptive_heartbeat_interval(9'000, 1s), 500ms);
}

TEST(adaptive_heartbeat_interval, a_size_that_hovers_at_a_bound_does_not_flip_the_interval) {
    duration current{};
    int changes = 0;
    for (int round = 0; round < 100; ++round) {
        const std::size_t members = round % 2 == 0 ? 1'001 : 980;
        const duration next = adaptive_heartbeat_interval(members, current);
        changes += next != current ? 1 : 0;
        current = next;
    }
    EXPECT_EQ(changes, 1) << "once to 100 ms, then it stays";
    EXPECT_EQ(current, 100ms);
}


TEST(adaptive_heartbeat_interval, only_growing_levels_that_end_unbounded_are_accepted) {
    EXPECT_FALSE(check_levels(adaptive_levels));
    const adaptive_level unbounded{static_cast<std::size_t>(-1), 1s};
    EXPECT_FALSE(check_levels(std::vector<adaptive_level>{{20, 50ms}, unbounded}));
    EXPECT_TRUE(check_levels(std::vector<adaptive_level>{}));
    EXPECT_TRUE(check_levels(std::vector<adaptive_level>{{20, 50ms}, {40, 200ms}})) << "bounded at the end";
    EXPECT_TRUE(check_levels(std::vector<adaptive_level>{{40, 50ms}, {20, 200ms}, unbounded})) << "members shrink";
    EXPECT_TRUE(check_levels(std::vector<adaptive_level>{{20, 500ms}, {40, 200ms}, unbounded})) << "interval shrinks";
    EXPECT_TRUE(check_levels(std::vector<adaptive_level>{{20, 0ms}, unbounded})) << "a zero interval";
    EXPECT_TRUE(is_adaptive_level(500ms));
    EXPECT_FALSE(is_adaptive_level(501ms));
}

} // namespace
} // namespace roster::detector
