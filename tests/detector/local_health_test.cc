#include <gtest/gtest.h>

#include "detector/detector_registry.hh"
#include "detector/local_health.hh"
#include "tests/clock.hh"

namespace roster::detector {
namespace {

using roster::testing::at_ms;

// Evaluations every 10 ms (the daemon's tick) from `from` to `to` (exclusive); at each step due,
// `late` of `watched` members are late.
void run(local_health& h, std::int64_t from, std::int64_t to, std::size_t late, std::size_t watched) {
    for (std::int64_t t = from; t < to; t += 10) {
        h.evaluation(at_ms(t));
        if (h.step_due(at_ms(t))) {
            h.step(at_ms(t), late, watched);
        }
    }
}

TEST(local_health, rises_one_step_per_period_while_half_the_members_are_late_and_twice_the_usual) {
    local_health h({});
    EXPECT_EQ(h.score(), 0u);
    EXPECT_EQ(h.delay_scale(), 1.0);
    // Every member late in every period: the score rises one step per period (at 0, 500, 1000, ...
    // ms) up to the maximum (8) while that is at least twice the usual share, which climbs 1/16 of
    // the way each step: for 11 steps.
    for (int i = 0; i < 11; ++i) {
        run(h, i * 500, (i + 1) * 500, 20, 20);
        EXPECT_EQ(h.score(), static_cast<std::uint32_t>(std::min(i + 1, 8))) << "step " << i;
    }
    EXPECT_EQ(h.delay_scale(), 9.0);
    EXPECT_GT(h.usual_share(), 0.45);
    // Trouble that lasts becomes the usual: the score falls one step per period, to 0.
    for (int i = 0; i < 9; ++i) {
        run(h, 5500 + i * 500, 6000 + i * 500, 20, 20);
        EXPECT_EQ(h.score(), static_cast<std::uint32_t>(std::max(7 - i, 0))) << "step " << i;
    }
    EXPECT_EQ(h.delay_scale(), 1.0);
}

TEST(local_health, holds_between_calm_and_many_and_falls_when_calm) {
    local_health h({});
    run(h, 0, 500, 10, 20); // half: rises
    EXPECT_EQ(h.score(), 1u);
    run(h, 500, 1500, 6, 20); // 30 %: not many, not calm, and above twice the usual share
    EXPECT_EQ(h.score(), 1u);
    run(h, 1500, 2000, 4, 20); // 20 %: calm
    EXPECT_EQ(h.score(), 0u);
}

TEST(local_health, a_few_late_members_in_a_small_cluster_are_not_the_watchers_fault) {
    local_health h({});
    run(h, 0, 500, 2, 3); // two of three late: under min_late (3)
    EXPECT_EQ(h.score(), 0u);
    run(h, 500, 1000, 3, 7); // three of seven: under half
    EXPECT_EQ(h.score(), 0u);
    run(h, 1000, 1500, 3, 6); // three of six: every condition holds
    EXPECT_EQ(h.score(), 1u);
    run(h, 1500, 2000, 0, 0); // nobody watched: calm
    EXPECT_EQ(h.score(), 0u);
}

TEST(local_health, a_stall_of_the_watcher_holds_new_suspicions_for_as_long_at_most_max_hold) {
    local_health h({});
    for (std::int64_t t = 0; t <= 100; t += 10) {
        h.evaluation(at_ms(t));
    }
    EXPECT_EQ(h.score(), 0u);
    EXPECT_LE(h.hold_until(), at_ms(100));
    h.evaluation(at_ms(300)); // a 200 ms gap: stalled
    EXPECT_EQ(h.score(), 1u);
    EXPECT_EQ(h.hold_until(), at_ms(500));
    const auto c = h.take_change();
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->from, 0u);
    EXPECT_EQ(c->to, 1u);
    EXPECT_EQ(c->why, "this voter stalled for 200 ms");
    EXPECT_FALSE(h.take_change().has_value());
    h.evaluation(at_ms(5300)); // a 5 s stall: held for max_hold (1 s) only
    EXPECT_EQ(h.hold_until(), at_ms(6300));
    EXPECT_EQ(h.score(), 2u);
    h.evaluation(at_ms(5310)); // back to its pace: no more
    EXPECT_EQ(h.score(), 2u);
}

TEST(local_health, the_step_after_a_stall_counts_from_the_wake_not_the_period_slept_through) {
    local_health h({});
    run(h, 0, 1000, 0, 10);
    h.evaluation(at_ms(2500)); // stalled 1.5 s
    EXPECT_EQ(h.score(), 1u);
    EXPECT_FALSE(h.step_due(at_ms(2500))) << "a step now would count the calm of the period slept through";
    EXPECT_TRUE(h.step_due(at_ms(3000)));
    const auto c = h.take_change();
    ASSERT_TRUE(c.has_value()) << "the stall is logged, not undone in the same evaluation";
    EXPECT_EQ(c->to, 1u);
    run(h, 2510, 3010, 0, 10);
    EXPECT_EQ(h.score(), 0u) << "then calm brings it down";
}

TEST(local_health, changes_fold_into_one_and_a_round_trip_is_no_change) {
    local_health h({});
    run(h, 0, 1000, 10, 10);
    auto c = h.take_change();
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->from, 0u);
    EXPECT_EQ(c->to, 2u);
    EXPECT_EQ(c->why, "10 of 10 members late within 500 ms; 10 of 10 members late within 500 ms");
    run(h, 1000, 1500, 10, 10);
    run(h, 1500, 2000, 0, 10);
    EXPECT_FALSE(h.take_change().has_value()); // 2 -> 3 -> 2
}

TEST(local_health, disabled_never_moves) {
    local_health_config cfg;
    cfg.enabled = false;
    local_health h(cfg);
    h.evaluation(at_ms(0));
    h.evaluation(at_ms(5000));
    EXPECT_FALSE(h.step_due(at_ms(5000)));
    EXPECT_EQ(h.score(), 0u);
    EXPECT_LE(h.hold_until(), at_ms(0));
}

TEST(local_health, invalid_configurations_are_named) {
    EXPECT_FALSE(local_health_config{}.validate().has_value());
    const std::pair<void (*)(local_health_config&), const char*> bad[] = {
        {[](local_health_config& c) { c.calm_share = 0.6; }, "local health: need 0 <= calm share < rise share <= 1"},
        {[](local_health_config& c) { c.rise_over_usual = 0.5; },
         "local health: need rise over usual >= 1 and 0 < usual weight <= 1"},
        {[](local_health_config& c) { c.usual_weight = 0; },
         "local health: need rise over usual >= 1 and 0 < usual weight <= 1"},
        {[](local_health_config& c) { c.period = duration::zero(); }, "local health: the period must be positive"},
        {[](local_health_config& c) { c.max_score = 65; }, "local health: the maximum score must be at most 64"},
        {[](local_health_config& c) { c.stall = duration::zero(); },
         "local health: the stall bound must be positive and the hold not negative"},
    };
    for (const auto& [spoil, message] : bad) {
        local_health_config c;
        spoil(c);
        EXPECT_STREQ(c.validate().value_or(""), message);
    }
}

registry_config lan_100ms() {
    registry_config c;
    c.detector = phi_accrual_config::for_heartbeat_interval(100ms);
    c.detector.warmup_samples = 0;
    c.silent_grace = 1s;
    return c;
}

// The first time (ms, in steps of 5 ms after `from`) at which `m` turns suspected through `gate`.
std::int64_t suspected_at(detector_registry& r, member_id m, std::int64_t from, const suspicion_gate* gate) {
    std::vector<lateness> late;
    for (std::int64_t t = from; t < from + 60'000; t += 5) {
        for (const auto& tr : r.evaluate(at_ms(t), &late, gate)) {
            if (tr.member == m && tr.suspected) {
                return t;
            }
        }
    }
    return -1;
}

TEST(detector_registry_gate, a_scaled_delay_suspects_after_that_many_threshold_delays_and_counts_late_meanwhile) {
    for (const double scale : {1.0, 3.0, 9.0}) {
        detector_registry r(lan_100ms());
        r.add(member_id(1), at_ms(0));
        r.add(member_id(2), at_ms(0));
        for (std::int64_t t = 0; t <= 10'000; t += 100) {
            r.heartbeat(member_id(1), at_ms(t));
            r.heartbeat(member_id(2), at_ms(t + 5));
        }
        const auto delay = to_ms(r.find(member_id(1))->threshold_delay());
        // member 2 keeps beating; member 1 stopped at 10,000.
        const suspicion_gate gate{scale, {}};
        std::vector<lateness> late;
        std::int64_t at = -1;
        for (std::int64_t t = 10'005; t < 20'000 && at < 0; t += 5) {
            if (t % 100 == 5) {
                r.heartbeat(member_id(2), at_ms(t));
            }
            for (const auto& tr : r.evaluate(at_ms(t), &late, &gate)) {
                ASSERT_EQ(tr.member, member_id(1));
                at = t;
            }
            if (at < 0 && t - 10'000 > delay + 5) {
                EXPECT_TRUE(r.late() == std::vector<member_id>{member_id(1)}) << "past the threshold, not yet suspected";
            }
        }
        EXPECT_NEAR(static_cast<double>(at - 10'000), delay * scale, 5.0) << "scale " << scale;
        EXPECT_EQ(r.take_troubled(), 1u);
        EXPECT_TRUE(r.is_suspected(member_id(1)));
    }
}

TEST(detector_registry_gate, nothing_is_suspected_before_hold_until_and_never_heard_members_wait_a_scaled_grace) {
    detector_registry r(lan_100ms());
    r.add(member_id(7), at_ms(0)); // never heard from: grace 1 s
    const suspicion_gate hold{1.0, at_ms(1500)};
    EXPECT_EQ(suspected_at(r, member_id(7), 0, &hold), 1500);
    detector_registry r2(lan_100ms());
    r2.add(member_id(7), at_ms(0));
    const suspicion_gate scaled{2.0, {}};
    EXPECT_EQ(suspected_at(r2, member_id(7), 0, &scaled), 2000);
    detector_registry r3(lan_100ms());
    r3.add(member_id(7), at_ms(0));
    EXPECT_EQ(suspected_at(r3, member_id(7), 0, nullptr), 1000);
}

TEST(detector_registry_gate, troubled_counts_the_members_late_at_some_moment_of_the_period) {
    detector_registry r(lan_100ms());
    for (std::uint64_t m = 1; m <= 3; ++m) {
        r.add(member_id(m), at_ms(0));
    }
    std::vector<lateness> late;
    for (std::int64_t t = 0; t <= 10'000; t += 100) {
        for (std::uint64_t m = 1; m <= 3; ++m) {
            r.heartbeat(member_id(m), at_ms(t));
        }
        r.evaluate(at_ms(t), &late);
    }
    EXPECT_EQ(r.take_troubled(), 0u);
    // Member 2 is 150 ms late once (late, not suspected), then on time again.
    for (std::int64_t t = 10'005; t < 10'500; t += 5) {
        if (t % 100 == 0) {
            r.heartbeat(member_id(1), at_ms(t));
            r.heartbeat(member_id(3), at_ms(t));
        }
        if (t == 10'250 || t == 10'300 || t == 10'400) {
            r.heartbeat(member_id(2), at_ms(t));
        }
        r.evaluate(at_ms(t), &late);
    }
    EXPECT_TRUE(r.late().empty() && r.suspected().empty()) << "on time again";
    EXPECT_EQ(r.take_troubled(), 1u) << "late at some moment of the period";
    EXPECT_EQ(r.take_troubled(), 0u) << "a new period starts from those late now";
}

} // namespace
} // namespace roster::detector
