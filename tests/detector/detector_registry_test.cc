#include <algorithm>
#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "detector/detector_registry.hh"
#include "tests/clock.hh"

namespace roster::detector {
namespace {

using roster::testing::at_ms;

registry_config lan_100ms() {
    registry_config c;
    c.detector = phi_accrual_config::for_heartbeat_interval(100ms);
    c.silent_grace = 1s;
    return c;
}

// Heartbeats every 100 ms from `from` to `to` (exclusive) for the given members.
void beat(detector_registry& r, std::initializer_list<std::uint64_t> members, std::int64_t from_ms,
          std::int64_t to_ms) {
    for (std::int64_t t = from_ms; t < to_ms; t += 100) {
        for (auto m : members) {
            ASSERT_TRUE(r.heartbeat(member_id(m), at_ms(t)));
        }
    }
}

TEST(detector_registry, adds_forgets_and_lists_members_in_id_order) {
    detector_registry r(lan_100ms());
    EXPECT_TRUE(r.add(member_id(5), at_ms(0)));
    EXPECT_TRUE(r.add(member_id(2), at_ms(0)));
    EXPECT_TRUE(r.add(member_id(9), at_ms(0)));
    EXPECT_FALSE(r.add(member_id(2), at_ms(0)));
    EXPECT_EQ(r.size(), 3u);
    EXPECT_TRUE(r.contains(member_id(9)));
    EXPECT_TRUE(r.forget(member_id(9)));
    EXPECT_FALSE(r.forget(member_id(9)));
    EXPECT_FALSE(r.contains(member_id(9)));
    EXPECT_FALSE(r.heartbeat(member_id(9), at_ms(10)));
    EXPECT_FALSE(r.phi(member_id(9), at_ms(10)));
    std::vector<member_id> seen;
    r.for_each([&](member_id m, const phi_accrual_detector&, bool) { seen.push_back(m); });
    EXPECT_EQ(seen, (std::vector<member_id>{member_id(2), member_id(5)}));
}

TEST(detector_registry, lists_who_is_above_the_threshold) {
    detector_registry r(lan_100ms());
    for (std::uint64_t m = 1; m <= 4; ++m) {
        r.add(member_id(m), at_ms(0));
    }
    beat(r, {1, 2, 3, 4}, 0, 3000);
    beat(r, {1, 3}, 3000, 4000); // 2 and 4 stop at 2900
    EXPECT_EQ(r.above_threshold(at_ms(3950)), (std::vector<member_id>{member_id(2), member_id(4)}));
    EXPECT_GE(*r.phi(member_id(2), at_ms(3950)), 8.0);
    EXPECT_LT(*r.phi(member_id(1), at_ms(3950)), 1.0);
}

TEST(detector_registry, suspects_and_clears_with_hysteresis) {
    registry_config cfg = lan_100ms();
    cfg.clear_threshold = 3.0;
    // Two registries see the very same heartbeats; only `watched` is evaluated during the gap.
    detector_registry watched(cfg);
    detector_registry unwatched(cfg);
    for (auto* r : {&watched, &unwatched}) {
        r->add(member_id(1), at_ms(0));
        r->add(member_id(2), at_ms(0));
        beat(*r, {1, 2}, 0, 2000); // last heartbeat of both at 1900
    }
    EXPECT_TRUE(watched.evaluate(at_ms(1900)).empty());

    // Member 1 stops; just past its threshold delay it is suspected, once.
    const mono_time crossing = at_ms(1900) + watched.find(member_id(1))->threshold_delay() + 1ms;
    for (auto* r : {&watched, &unwatched}) {
        r->heartbeat(member_id(2), at_ms(2000));
        r->heartbeat(member_id(2), at_ms(2100));
    }
    auto changes = watched.evaluate(crossing);
    ASSERT_EQ(changes.size(), 1u);
    EXPECT_EQ(changes[0].member, member_id(1));
    EXPECT_TRUE(changes[0].suspected);
    EXPECT_GE(changes[0].phi, 8.0);
    EXPECT_TRUE(watched.evaluate(crossing + 1ms).empty()) << "a transition is reported once";
    EXPECT_TRUE(watched.is_suspected(member_id(1)));
    EXPECT_EQ(watched.suspected(), std::vector<member_id>{member_id(1)});

    // A late heartbeat; by the next evaluation phi has climbed back into the band between the
    // clear threshold (3) and the suspect threshold (8).
    const mono_time back = crossing + 50ms;
    mono_time between = back;
    for (auto* r : {&watched, &unwatched}) {
        r->heartbeat(member_id(1), back);
        r->heartbeat(member_id(2), back);
    }
    while (*watched.phi(member_id(1), between) <= 3.5) {
        between += 1ms;
    }
    ASSERT_LT(*watched.phi(member_id(1), between), 8.0);
    ASSERT_EQ(*watched.phi(member_id(1), between), *unwatched.phi(member_id(1), between));
    // Same phi, different history: the suspected member stays suspected, the other stays alive.
    EXPECT_TRUE(watched.evaluate(between).empty());
    EXPECT_TRUE(watched.is_suspected(member_id(1)));
    for (const auto& t : unwatched.evaluate(between)) {
        EXPECT_NE(t.member, member_id(1)) << "an unsuspected member in the band must not change state";
    }
    EXPECT_FALSE(unwatched.is_suspected(member_id(1)));

    // A fresh heartbeat takes phi below the clear threshold: alive again, once.
    watched.heartbeat(member_id(1), between + 1ms);
    watched.heartbeat(member_id(2), between + 1ms);
    changes = watched.evaluate(between + 2ms);
    ASSERT_EQ(changes.size(), 1u);
    EXPECT_EQ(changes[0].member, member_id(1));
    EXPECT_FALSE(changes[0].suspected);
    EXPECT_LE(changes[0].phi, 3.0);
    EXPECT_FALSE(watched.is_suspected(member_id(1)));
}

TEST(detector_registry, a_member_never_heard_from_is_suspected_after_the_grace_period) {
    detector_registry r(lan_100ms()); // grace 1 s
    r.add(member_id(7), at_ms(1000));
    EXPECT_TRUE(r.evaluate(at_ms(1999)).empty());
    EXPECT_EQ(*r.phi(member_id(7), at_ms(1999)), 0.0);
    auto changes = r.evaluate(at_ms(2000));
    ASSERT_EQ(changes.size(), 1u);
    EXPECT_TRUE(changes[0].suspected);
    EXPECT_TRUE(std::isinf(changes[0].phi));
    // Its first heartbeat clears it.
    r.heartbeat(member_id(7), at_ms(2050));
    changes = r.evaluate(at_ms(2051));
    ASSERT_EQ(changes.size(), 1u);
    EXPECT_FALSE(changes[0].suspected);
}

TEST(detector_registry, transitions_come_in_id_order) {
    detector_registry r(lan_100ms());
    for (std::uint64_t m : {30u, 10u, 20u}) {
        r.add(member_id(m), at_ms(0));
    }
    auto changes = r.evaluate(at_ms(5000)); // none ever heard from
    ASSERT_EQ(changes.size(), 3u);
    EXPECT_EQ(changes[0].member, member_id(10));
    EXPECT_EQ(changes[1].member, member_id(20));
    EXPECT_EQ(changes[2].member, member_id(30));
}

TEST(registry_config, validation) {
    registry_config c = lan_100ms();
    EXPECT_FALSE(c.validate());
    c.clear_threshold = 9.0; // above the threshold of 8
    EXPECT_TRUE(c.validate());
    c = lan_100ms();
    c.detector.window_size = 0;
    EXPECT_TRUE(c.validate());
}

TEST(detector_registry, forgets_many_at_once) {
    registry_config c;
    detector_registry r(c);
    for (std::uint64_t m = 1; m <= 100; ++m) {
        r.add(member_id(m), mono_time{});
    }
    std::vector<member_id> gone;
    for (std::uint64_t m = 1; m <= 100; m += 3) {
        gone.push_back(member_id(m));
    }
    gone.push_back(member_id(500)); // never monitored: ignored
    r.forget(gone);
    EXPECT_EQ(r.size(), 100u - (gone.size() - 1));
    for (std::uint64_t m = 1; m <= 100; ++m) {
        const bool removed = std::find(gone.begin(), gone.end(), member_id(m)) != gone.end();
        EXPECT_EQ(r.contains(member_id(m)), !removed) << m;
    }
    EXPECT_TRUE(r.heartbeat(member_id(2), mono_time{})) << "the rest still works";
}

TEST(detector_registry, lateness_changes_come_once_and_never_for_a_suspected_member) {
    detector_registry r(lan_100ms());
    r.add(member_id(1), at_ms(0));
    r.add(member_id(2), at_ms(0));
    beat(r, {1, 2}, 0, 2000); // last heartbeat of both at 1900
    std::vector<lateness> late;
    EXPECT_TRUE(r.evaluate(at_ms(1900), &late).empty());
    EXPECT_TRUE(late.empty());
    const phi_accrual_detector* d = r.find(member_id(1));
    mono_time t = at_ms(1900);
    while (!d->late(t)) {
        t += 1ms;
    }
    ASSERT_LT(t, at_ms(1900) + d->threshold_delay()) << "late comes before suspected";
    r.heartbeat(member_id(2), t - 1ms);
    EXPECT_TRUE(r.evaluate(t, &late).empty());
    ASSERT_EQ(late.size(), 1u);
    EXPECT_EQ(late[0].member, member_id(1));
    EXPECT_TRUE(late[0].late);
    EXPECT_EQ(r.late(), std::vector<member_id>{member_id(1)});
    late.clear();
    (void)r.evaluate(t + 1ms, &late);
    EXPECT_TRUE(late.empty()) << "once";

    // Suspected: no longer late, without a lateness entry.
    const mono_time crossing = at_ms(1900) + d->threshold_delay() + 1ms;
    r.heartbeat(member_id(2), crossing - 1ms);
    const auto changes = r.evaluate(crossing, &late);
    ASSERT_EQ(changes.size(), 1u);
    EXPECT_TRUE(changes[0].suspected);
    EXPECT_TRUE(late.empty());
    EXPECT_TRUE(r.late().empty());

    // Member 2 late, then heard again: on time.
    const phi_accrual_detector* d2 = r.find(member_id(2));
    mono_time t2 = crossing;
    while (!d2->late(t2)) {
        t2 += 1ms;
    }
    (void)r.evaluate(t2, &late);
    ASSERT_EQ(late.size(), 1u);
    late.clear();
    r.heartbeat(member_id(2), t2 + 1ms);
    (void)r.evaluate(t2 + 2ms, &late);
    ASSERT_EQ(late.size(), 1u);
    EXPECT_EQ(late[0].member, member_id(2));
    EXPECT_FALSE(late[0].late);
}


TEST(detector_registry, a_member_that_announces_a_longer_interval_is_judged_by_it) {
    detector_registry r(lan_100ms());
    r.add(member_id(1), at_ms(0));
    r.add(member_id(2), at_ms(0));
    for (std::int64_t t = 0; t <= 3000; t += 100) {
        r.heartbeat(member_id(1), at_ms(t), 100ms); // the base interval: nothing changes
        r.heartbeat(member_id(2), at_ms(t));
    }
    EXPECT_EQ(r.find(member_id(1))->sample_count(), 32u)
        << "announcing the interval it has keeps the window (30 intervals and the 2 the first estimate seeds)";
    // Member 1 says it heartbeats every second from now on (the cluster grew); member 2 says
    // nothing. Both are silent for 900 ms.
    r.heartbeat(member_id(1), at_ms(3100), 1s);
    r.heartbeat(member_id(2), at_ms(3100));
    EXPECT_EQ(r.interval_of(member_id(1)), 1s);
    EXPECT_EQ(r.interval_of(member_id(2)), 100ms);
    EXPECT_EQ(r.find(member_id(1))->sample_count(), 2u)
        << "a new interval starts the window over: only the 2 intervals the new estimate seeds";
    EXPECT_EQ(r.models(), 2u);
    r.evaluate(at_ms(4000));
    EXPECT_FALSE(r.is_suspected(member_id(1))) << "900 ms of silence is on time at 1 s";
    EXPECT_TRUE(r.is_suspected(member_id(2))) << "and nine heartbeats missed at 100 ms";
    // At its new rhythm it stays alive, through the warm-up and after it.
    for (std::int64_t t = 4100; t <= 70'100; t += 1000) {
        r.heartbeat(member_id(1), at_ms(t), 1s);
        r.evaluate(at_ms(t + 990));
        ASSERT_FALSE(r.is_suspected(member_id(1))) << "at " << t + 990 << " ms";
    }
    // And when it stops, it is suspected within a few of its intervals.
    r.evaluate(at_ms(70'100 + 4000));
    EXPECT_TRUE(r.is_suspected(member_id(1)));
    EXPECT_LT(r.find(member_id(1))->threshold_delay(), 4s);
    EXPECT_GT(r.find(member_id(1))->threshold_delay(), 2s) << "scaled: a pause of one interval and more";
}

TEST(detector_registry, a_shorter_interval_detects_faster_after_the_switch) {
    detector_registry r(lan_100ms());
    r.add(member_id(1), at_ms(0));
    for (std::int64_t t = 0; t <= 1000; t += 100) {
        r.heartbeat(member_id(1), at_ms(t));
    }
    std::int64_t t = 1050;
    for (; t <= 10'000; t += 50) {
        r.heartbeat(member_id(1), at_ms(t), 50ms);
    }
    EXPECT_EQ(r.interval_of(member_id(1)), 50ms);
    EXPECT_LT(r.find(member_id(1))->threshold_delay(), 150ms);
}

TEST(detector_registry, intervals_out_of_bounds_or_beyond_the_cap_keep_the_detector) {
    detector_registry r(lan_100ms());
    for (std::uint64_t m = 1; m <= 40; ++m) {
        r.add(member_id(m), at_ms(0));
    }
    r.heartbeat(member_id(1), at_ms(10), 0ms);
    r.heartbeat(member_id(1), at_ms(20), 61s);
    r.heartbeat(member_id(1), at_ms(30), 500us);
    EXPECT_EQ(r.interval_of(member_id(1)), 100ms) << "not said, or out of [1 ms, 60 s]";
    EXPECT_EQ(r.find(member_id(1))->sample_count(), 4u) << "the window kept: 2 seeded, 2 heard";
    // Each member announces another interval: 15 besides the base are kept, the rest refused.
    for (std::uint64_t m = 1; m <= 40; ++m) {
        r.heartbeat(member_id(m), at_ms(100), std::chrono::milliseconds(200 + m));
    }
    EXPECT_EQ(r.models(), detector_registry::max_models);
    for (std::uint64_t m = 1; m <= 40; ++m) {
        const auto expected = m < detector_registry::max_models ? std::chrono::milliseconds(200 + m) : 100ms;
        EXPECT_EQ(r.interval_of(member_id(m)), expected) << "member " << m;
    }
    // A kept interval is shared by whoever announces it next.
    r.heartbeat(member_id(40), at_ms(200), 201ms);
    EXPECT_EQ(r.interval_of(member_id(40)), 201ms);
    EXPECT_EQ(r.models(), detector_registry::max_models);
    // The adaptive levels are taken even now: odd intervals of a few members cannot keep the
    // others' detectors at their old rhythm when the cluster grows.
    r.heartbeat(member_id(39), at_ms(300), 500ms);
    EXPECT_EQ(r.interval_of(member_id(39)), 500ms);
    r.heartbeat(member_id(38), at_ms(300), 1s);
    EXPECT_EQ(r.interval_of(member_id(38)), 1s);
    EXPECT_EQ(r.models(), detector_registry::max_models + 2);
    r.heartbeat(member_id(37), at_ms(300), 777ms);
    EXPECT_EQ(r.interval_of(member_id(37)), 100ms) << "still no room for another odd one";
    EXPECT_FALSE(r.interval_of(member_id(99)));
}

} // namespace
} // namespace roster::detector
