#include "consensus/silence_window.hh"

#include <gtest/gtest.h>

namespace roster::consensus {
namespace {

void pass(silence_window& w, int ticks) {
    for (int i = 0; i < ticks; ++i) {
        w.tick();
    }
}

TEST(silence_window, one_outlier_does_not_count_and_two_do) {
    silence_window w(10, 5);
    EXPECT_EQ(w.typical_longest(), 0) << "nothing heard yet";
    w.add(3);
    EXPECT_EQ(w.typical_longest(), 0) << "one period with a silence: no second one yet";
    pass(w, 10);
    w.add(4);
    EXPECT_EQ(w.typical_longest(), 3);
    pass(w, 10);
    w.add(90);
    EXPECT_EQ(w.typical_longest(), 4) << "a single long silence is an outlier";
    pass(w, 10);
    w.add(70);
    EXPECT_EQ(w.typical_longest(), 70) << "two long ones are the network's usual";
}

TEST(silence_window, only_the_longest_of_a_period_counts) {
    silence_window w(10, 5);
    w.add(50);
    w.add(60);
    w.add(5);
    EXPECT_EQ(w.typical_longest(), 0) << "three silences in one period are one period's longest";
    pass(w, 10);
    w.add(8);
    EXPECT_EQ(w.typical_longest(), 8);
}

TEST(silence_window, periods_age_out_after_the_window) {
    silence_window w(10, 5);
    w.add(40);
    pass(w, 10);
    w.add(40);
    EXPECT_EQ(w.typical_longest(), 40);
    int ended = 0;
    for (int i = 0; i < 30; ++i) {
        ended += w.tick() ? 1 : 0;
        w.add(2);
    }
    EXPECT_EQ(ended, 3) << "tick() says when a period ends";
    EXPECT_EQ(w.typical_longest(), 40) << "both long silences are within the last 5 periods";
    pass(w, 10);
    w.add(2);
    EXPECT_EQ(w.typical_longest(), 2) << "the first has left the window: one outlier remains";
    pass(w, 10);
    w.add(2);
    EXPECT_EQ(w.typical_longest(), 2);
}

} // namespace
} // namespace roster::consensus
