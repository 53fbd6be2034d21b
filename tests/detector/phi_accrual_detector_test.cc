#include <cmath>
#include <deque>
#include <random>

#include <gtest/gtest.h>

#include "detector/normal_tail.hh"
#include "detector/phi_accrual_detector.hh"
#include "tests/clock.hh"
#include "tests/detector/reference_normal.hh"

namespace roster::detector {
namespace {

using roster::testing::at_ms;

// A config that never skips an interval and has no floor or pause to speak of, so that phi is
// the bare formula of the paper.
phi_accrual_config bare(std::size_t window) {
    phi_accrual_config c;
    c.window_size = window;
    c.min_std_deviation = 1us;
    c.acceptable_pause = 0ns;
    c.first_heartbeat_estimate = 100ms;
    c.threshold = 250;
    c.warmup_samples = 0; // the plain estimate, without the conservative start
    return c;
}

struct direct_stats {
    double mean = 0;
    double sd = 0;
};

direct_stats direct(const std::deque<double>& xs) {
    direct_stats s;
    for (double x : xs) {
        s.mean += x;
    }
    s.mean /= static_cast<double>(xs.size());
    double sq = 0;
    for (double x : xs) {
        sq += (x - s.mean) * (x - s.mean);
    }
    s.sd = std::sqrt(sq / static_cast<double>(xs.size()));
    return s;
}

TEST(phi_accrual_detector, running_sums_match_a_direct_computation) {
    // Seeded property test: random interval sequences, several window sizes, compared after
    // every heartbeat with the mean and deviation computed from scratch over the window.
    for (std::uint64_t seed = 1; seed <= 40; ++seed) {
        std::mt19937_64 rng(seed);
        const std::size_t window = std::uniform_int_distribution<std::size_t>(1, 300)(rng);
        auto cfg = bare(window);
        cfg.acceptable_pause = 24h; // nothing is ever late enough to be skipped
        const phi_model model(cfg);
        phi_accrual_detector d(model);
        // The first heartbeat seeds the window with estimate * 0.75 and * 1.25 (microseconds).
        std::deque<double> oracle{75'000, 125'000};
        while (oracle.size() > window) {
            oracle.pop_front();
        }
        std::lognormal_distribution<double> interval_ms(std::log(50.0), 1.0);
        std::int64_t now_us = 1'000'000;
        d.heartbeat(mono_time(std::chrono::microseconds(now_us)));
        for (int i = 0; i < 2'000; ++i) {
            const auto step = static_cast<std::int64_t>(std::llround(interval_ms(rng) * 1000.0));
            now_us += step;
            d.heartbeat(mono_time(std::chrono::microseconds(now_us)));
            oracle.push_back(static_cast<double>(step));
            if (oracle.size() > window) {
                oracle.pop_front();
            }
            const auto expected = direct(oracle);
            ASSERT_EQ(d.sample_count(), oracle.size());
            ASSERT_NEAR(d.mean_us(), expected.mean, 1e-9 * expected.mean) << "seed " << seed << " step " << i;
            ASSERT_NEAR(d.std_deviation_us(), expected.sd, 1e-6 * std::max(1.0, expected.sd))
                << "seed " << seed << " step " << i;
        }
        EXPECT_EQ(d.skipped_intervals(), 0u);
    }
}

// Drives a window-2 detector so that its window is exactly {m - s, m + s}: mean m, deviation s.
void shape(phi_accrual_detector& d, double m_ms, double s_ms, double& last_ms) {
    last_ms = 10'000;
    d.heartbeat(at_ms(last_ms));
    last_ms += m_ms - s_ms;
    d.heartbeat(at_ms(last_ms));
    last_ms += m_ms + s_ms;
    d.heartbeat(at_ms(last_ms));
}

TEST(phi_accrual_detector, phi_matches_the_direct_formula) {
    struct point {
        double mean_ms, sd_ms, elapsed_ms;
    };
    const point points[] = {{100, 10, 50}, {100, 10, 100}, {100, 10, 120},    {100, 10, 150},
                            {100, 5, 128}, {50, 2, 60},    {1000, 100, 1500}, {1000, 250, 900},
                            {20, 1, 35},   {200, 40, 400}};
    for (const point& p : points) {
        const phi_model model(bare(2));
        phi_accrual_detector d(model);
        double last = 0;
        shape(d, p.mean_ms, p.sd_ms, last);
        ASSERT_NEAR(d.mean_us(), p.mean_ms * 1000, 1e-6);
        ASSERT_NEAR(d.std_deviation_us(), p.sd_ms * 1000, 1e-6);
        const double z = (p.elapsed_ms - p.mean_ms) / p.sd_ms;
        const double expected = testing::reference_phi(z);
        EXPECT_NEAR(d.phi(at_ms(last + p.elapsed_ms)), expected, 1e-9 * std::max(1.0, expected))
            << "mean " << p.mean_ms << " sd " << p.sd_ms << " elapsed " << p.elapsed_ms;
    }
}

TEST(phi_accrual_detector, floor_and_pause_enter_the_formula) {
    auto cfg = bare(2);
    cfg.min_std_deviation = 20ms; // above the observed deviation of 5 ms
    cfg.acceptable_pause = 30ms;
    const phi_model model(cfg);
    phi_accrual_detector d(model);
    double last = 0;
    shape(d, 100, 5, last);
    const double z = (170.0 - (100.0 + 30.0)) / 20.0;
    EXPECT_NEAR(d.phi(at_ms(last + 170)), testing::reference_phi(z), 1e-9);
}

TEST(phi_accrual_detector, phi_is_zero_before_the_first_heartbeat) {
    const phi_model model(bare(10));
    phi_accrual_detector d(model);
    EXPECT_EQ(d.phi(at_ms(1e6)), 0.0);
    EXPECT_FALSE(d.above_threshold(at_ms(1e6)));
}

TEST(phi_accrual_detector, first_heartbeat_starts_from_the_estimate) {
    auto cfg = bare(100);
    cfg.first_heartbeat_estimate = 200ms;
    const phi_model model(cfg);
    phi_accrual_detector d(model);
    d.heartbeat(at_ms(0));
    EXPECT_NEAR(d.mean_us(), 200'000, 1e-6);
    EXPECT_NEAR(d.std_deviation_us(), 50'000, 1e-6);
    // 300 ms after the only heartbeat: z = (300 - 200) / 50 = 2.
    EXPECT_NEAR(d.phi(at_ms(300)), testing::reference_phi(2.0), 1e-9);
}

TEST(phi_accrual_detector, a_young_detector_is_conservative_until_its_warmup_fills) {
    // Heartbeats every 100 ms exactly, as on loopback: with the normal floor (5 ms) a detector
    // that has seen a few of them would suspect at ~228 ms; one late heartbeat of a process that
    // just started (or of a loaded machine) must not be enough while it knows so little.
    const phi_model model(phi_accrual_config::for_heartbeat_interval(100ms));
    ASSERT_EQ(model.config().warmup_samples, 50u);
    phi_accrual_detector d(model);
    const duration before_any = d.threshold_delay();
    double t = 0;
    d.heartbeat(at_ms(t));
    EXPECT_GE(before_any, d.threshold_delay()) << "the prediction before a heartbeat is the warm-up's too";
    EXPECT_GT(to_ms(before_any), 400);
    for (int i = 0; i < 5; ++i) {
        d.heartbeat(at_ms(t += 100));
    }
    const double young = std::chrono::duration<double, std::milli>(d.threshold_delay()).count();
    EXPECT_FALSE(d.above_threshold(at_ms(t + 350))) << "350 ms of silence after 7 intervals";
    EXPECT_GT(young, 400);
    while (d.sample_count() < 50) {
        d.heartbeat(at_ms(t += 100));
    }
    const double warm = std::chrono::duration<double, std::milli>(d.threshold_delay()).count();
    EXPECT_LT(warm, 240) << "a full warm-up: the normal floor";
    EXPECT_TRUE(d.above_threshold(at_ms(t + 250)));
    // In between, the floor shrinks step by step: never a jump that a heartbeat could cause.
    phi_accrual_detector e(model);
    double u = 0;
    e.heartbeat(at_ms(u));
    double previous = std::chrono::duration<double, std::milli>(e.threshold_delay()).count();
    for (int i = 0; i < 60; ++i) {
        e.heartbeat(at_ms(u += 100));
        const double now = std::chrono::duration<double, std::milli>(e.threshold_delay()).count();
        EXPECT_LE(now, previous + 1e-6) << "after " << e.sample_count() << " intervals";
        previous = now;
    }
}

TEST(phi_accrual_detector, a_warmup_longer_than_the_window_ends_when_the_window_is_full) {
    auto cfg = phi_accrual_config::for_heartbeat_interval(100ms);
    cfg.window_size = 10;
    const phi_model model(cfg);
    phi_accrual_detector d(model);
    double t = 0;
    for (int i = 0; i < 30; ++i) {
        d.heartbeat(at_ms(t += 100));
    }
    const double delay = std::chrono::duration<double, std::milli>(d.threshold_delay()).count();
    EXPECT_LT(delay, 240);
}

TEST(phi_accrual_detector, phi_grows_monotonically_with_elapsed_time) {
    std::mt19937_64 rng(7);
    for (int trial = 0; trial < 20; ++trial) {
        const phi_model model(phi_accrual_config::for_heartbeat_interval(
            std::chrono::milliseconds(std::uniform_int_distribution<int>(20, 1000)(rng))));
        phi_accrual_detector d(model);
        double now = 0;
        std::normal_distribution<double> interval(model.config().first_heartbeat_estimate.count() / 1e6, 5.0);
        for (int i = 0; i < 50; ++i) {
            now += std::max(1.0, interval(rng));
            d.heartbeat(at_ms(now));
        }
        double previous = d.phi(at_ms(now));
        for (double t = now; t < now + 10'000; t += 0.25) {
            const double p = d.phi(at_ms(t));
            ASSERT_GE(p, previous) << "trial " << trial << " t " << t;
            previous = p;
        }
        EXPECT_GT(previous, model.config().threshold);
    }
}

TEST(phi_accrual_detector, steady_heartbeats_with_bounded_jitter_never_cross_threshold_8) {
    // 100 ms +- 10 ms, uniform; no acceptable pause, so phi really moves (up to ~1.4).
    auto cfg = phi_accrual_config::for_heartbeat_interval(100ms);
    cfg.acceptable_pause = 0ns;
    const phi_model model(cfg);
    ASSERT_EQ(cfg.threshold, 8.0);
    std::mt19937_64 rng(2024);
    std::uniform_real_distribution<double> jitter(-10.0, 10.0);
    phi_accrual_detector d(model);
    double last = 0;
    d.heartbeat(at_ms(last));
    double max_phi = 0;
    for (int i = 0; i < 20'000; ++i) {
        const double next = last + 100.0 + jitter(rng);
        for (double t = last + 1; t < next; t += 1) { // every millisecond in between
            const double p = d.phi(at_ms(t));
            max_phi = std::max(max_phi, p);
            ASSERT_LT(p, 8.0) << "heartbeat " << i << " t " << t;
            ASSERT_FALSE(d.above_threshold(at_ms(t)));
        }
        d.heartbeat(at_ms(next));
        last = next;
    }
    EXPECT_GT(max_phi, 0.5) << "the stream should have exercised phi";
    EXPECT_EQ(d.skipped_intervals(), 0u);
}

TEST(phi_accrual_detector, stopped_stream_crosses_threshold_when_predicted) {
    for (int interval_ms : {50, 100, 1000}) {
        const auto cfg = phi_accrual_config::for_heartbeat_interval(std::chrono::milliseconds(interval_ms));
        const phi_model model(cfg);
        phi_accrual_detector d(model);
        std::mt19937_64 rng(static_cast<std::uint64_t>(interval_ms));
        std::normal_distribution<double> jitter(0.0, interval_ms / 25.0);
        std::deque<double> oracle{0.75 * interval_ms, 1.25 * interval_ms};
        double last = 0;
        d.heartbeat(at_ms(last));
        for (int i = 0; i < 500; ++i) {
            const double step = std::round((interval_ms + jitter(rng)) * 1000.0) / 1000.0;
            last += step;
            d.heartbeat(at_ms(last));
            oracle.push_back(step);
            if (oracle.size() > cfg.window_size) {
                oracle.pop_front();
            }
        }
        const auto stats = direct(oracle);
        const duration predicted =
            model.threshold_delay(duration(static_cast<std::int64_t>(stats.mean * 1e6)),
                                  duration(static_cast<std::int64_t>(stats.sd * 1e6)));
        EXPECT_NEAR(to_ms(d.threshold_delay()), to_ms(predicted), 0.01);
        // The stream stops: find the first 10-microsecond step at which phi reaches the threshold.
        double crossed = -1;
        for (double t = 0; t < 100.0 * interval_ms; t += 0.01) {
            if (d.phi(at_ms(last + t)) >= cfg.threshold) {
                crossed = t;
                break;
            }
        }
        ASSERT_GE(crossed, 0) << "never crossed at interval " << interval_ms;
        EXPECT_NEAR(crossed, to_ms(predicted), 0.02) << "interval " << interval_ms;
        // above_threshold agrees with phi on either side of the crossing.
        EXPECT_FALSE(d.above_threshold(at_ms(last + crossed - 0.05)));
        EXPECT_TRUE(d.above_threshold(at_ms(last + crossed + 0.05)));
    }
}

TEST(phi_accrual_detector, an_interval_past_the_threshold_is_not_learned) {
    const auto cfg = phi_accrual_config::for_heartbeat_interval(100ms);
    const phi_model model(cfg);
    phi_accrual_detector d(model);
    double now = 0;
    for (int i = 0; i < 200; ++i) {
        d.heartbeat(at_ms(now));
        now += 100;
    }
    const double mean_before = d.mean_us();
    const duration delay_before = d.threshold_delay();
    // A 5-second pause (a stalled process that came back): left out of the window.
    now += 5'000;
    d.heartbeat(at_ms(now));
    EXPECT_EQ(d.skipped_intervals(), 1u);
    EXPECT_EQ(d.mean_us(), mean_before);
    EXPECT_EQ(d.threshold_delay(), delay_before);
    // A second long interval in a row is learned: the rhythm itself changed.
    now += 5'000;
    d.heartbeat(at_ms(now));
    EXPECT_EQ(d.skipped_intervals(), 1u);
    EXPECT_GT(d.mean_us(), mean_before);
}

TEST(phi_accrual_detector, time_going_backwards_counts_as_simultaneous) {
    const phi_model model(bare(10));
    phi_accrual_detector d(model);
    d.heartbeat(at_ms(1000));
    d.heartbeat(at_ms(900));
    EXPECT_EQ(*d.last_heartbeat(), at_ms(1000));
    EXPECT_EQ(d.sample_count(), 3u); // two seeds and one interval of 0
}

TEST(phi_accrual_config, validation_names_the_bad_field) {
    phi_accrual_config c;
    EXPECT_FALSE(c.validate());
    c.window_size = 0;
    ASSERT_TRUE(c.validate());
    EXPECT_NE(std::string(*c.validate()).find("window size"), std::string::npos);
    c = {};
    c.threshold = -1;
    ASSERT_TRUE(c.validate());
    EXPECT_NE(std::string(*c.validate()).find("threshold"), std::string::npos);
    c = {};
    c.acceptable_pause = -1ms;
    EXPECT_TRUE(c.validate());
}

TEST(phi_accrual_config, lan_defaults_scale_with_the_interval) {
    const auto c = phi_accrual_config::for_heartbeat_interval(100ms);
    EXPECT_EQ(c.min_std_deviation, 5ms);
    EXPECT_EQ(c.acceptable_pause, 100ms);
    EXPECT_EQ(c.first_heartbeat_estimate, 100ms);
    EXPECT_EQ(c.threshold, 8.0);
    // Steady 100 ms heartbeats: detection 100 + 100 + 5 * 5.612 ms after the last one.
    const phi_model model(c);
    EXPECT_NEAR(to_ms(model.threshold_delay(100ms, 0ms)), 228.06, 0.01);
}

} // namespace
} // namespace roster::detector
