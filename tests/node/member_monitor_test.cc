#include <cmath>

#include <gtest/gtest.h>

#include "node/member_monitor.hh"
#include "tests/clock.hh"

namespace roster::node {
namespace {

using roster::testing::at;

detector::registry_config for_100ms() {
    detector::registry_config c;
    c.detector = detector::phi_accrual_config::for_heartbeat_interval(100ms);
    return c;
}

// A state with members m1..mn (ids 1..n, incarnation 1).
membership::membership_state members(int n) {
    membership::membership_state s;
    membership::command c;
    for (int i = 1; i <= n; ++i) {
        c.ops.push_back(membership::join_op{"m" + std::to_string(i), "", "", incarnation_number(1), {}});
    }
    s.apply(c);
    return s;
}

// These tests evaluate at sparse instants, which local health reads as stalls of the voter (it
// evaluates every 10 ms); it is off here and has its own tests (local_health_monitor_test).
detector::local_health_config no_local_health() {
    detector::local_health_config c;
    c.enabled = false;
    return c;
}

struct monitor_test : ::testing::Test {
    membership::membership_state state = members(3);
    member_monitor mon{for_100ms(), 500ms, at(0), no_local_health()};

    void SetUp() override {
        for (int i = 1; i <= 3; ++i) {
            mon.watch(member_id(i), at(0));
        }
    }
    // Heartbeats of the given members every 100 ms from `from` to `to`.
    void beat(std::vector<int> who, int from, int to) {
        for (int t = from; t <= to; t += 100) {
            for (int i : who) {
                std::optional<duration> interval;
                mon.heartbeat(member_id(i), at(t), interval);
            }
        }
    }
};

TEST_F(monitor_test, a_member_that_stops_is_suspected_once_and_reported_with_its_incarnation) {
    beat({1, 2, 3}, 0, 2000);
    membership::suspicion_report report;
    EXPECT_TRUE(mon.evaluate(at(2050), state, report).empty());
    EXPECT_TRUE(report.suspicions.empty());
    beat({1, 3}, 2100, 3000);
    const auto verdicts = mon.evaluate(at(3000), state, report);
    ASSERT_EQ(verdicts.size(), 1u);
    EXPECT_EQ(verdicts[0].member, member_id(2));
    EXPECT_EQ(verdicts[0].name, "m2");
    EXPECT_TRUE(verdicts[0].suspected);
    ASSERT_EQ(report.suspicions.size(), 1u);
    EXPECT_FALSE(report.full);
    EXPECT_EQ(report.suspicions[0].incarnation, incarnation_number(1));
    EXPECT_TRUE(mon.evaluate(at(3010), state, report).empty()) << "a change is reported once";
    EXPECT_TRUE(report.suspicions.empty());
}

TEST_F(monitor_test, a_suspicion_carries_what_the_detector_knew_to_the_log_and_the_leader) {
    beat({1, 2, 3}, 0, 2000);      // 21 heartbeats of m2: 20 intervals and the two seeded ones
    membership::suspicion_report report;
    (void)mon.evaluate(at(2050), state, report);
    beat({1, 3}, 2100, 3000);
    const auto verdicts = mon.evaluate(at(3000), state, report);
    ASSERT_EQ(verdicts.size(), 1u);
    EXPECT_EQ(verdicts[0].samples, 22u);
    ASSERT_TRUE(verdicts[0].silence);
    EXPECT_EQ(*verdicts[0].silence, 1000ms) << "from its last heartbeat at 2000 ms";
    ASSERT_EQ(report.suspicions.size(), 1u);
    EXPECT_EQ(report.suspicions[0].samples, 22u);
    EXPECT_EQ(report.suspicions[0].silence_ms, 1000u);
    const auto full = mon.full_report(at(3500), voter_id(1), state);
    ASSERT_TRUE(full);
    ASSERT_EQ(full->suspicions.size(), 1u);
    EXPECT_EQ(full->suspicions[0].silence_ms, 1500u) << "the full report says how long by now";
}

TEST_F(monitor_test, a_member_never_heard_from_is_reported_so) {
    membership::suspicion_report report;
    const auto verdicts = mon.evaluate(at(5000), state, report); // past the silent grace, no heartbeat
    ASSERT_EQ(verdicts.size(), 3u);
    EXPECT_FALSE(verdicts[0].silence);
    EXPECT_EQ(verdicts[0].samples, 0u);
    ASSERT_EQ(report.suspicions.size(), 3u);
    EXPECT_EQ(report.suspicions[0].silence_ms, membership::suspicion::never_heard);
    EXPECT_TRUE(std::isfinite(report.suspicions[0].phi)) << "the wire carries a finite phi";
}

TEST_F(monitor_test, a_heartbeat_reports_the_interval_since_the_previous_one) {
    std::optional<duration> interval;
    EXPECT_TRUE(mon.heartbeat(member_id(1), at(100), interval));
    EXPECT_FALSE(interval) << "the first heartbeat has no predecessor";
    EXPECT_TRUE(mon.heartbeat(member_id(1), at(230), interval));
    EXPECT_EQ(interval, std::optional<duration>(130ms));
    EXPECT_FALSE(mon.heartbeat(member_id(9), at(230), interval)) << "not watched";
    EXPECT_EQ(mon.silence(member_id(1), at(300)), std::optional<duration>(70ms));
    EXPECT_FALSE(mon.silence(member_id(2), at(300))) << "never heard from";
}

TEST_F(monitor_test, the_full_report_comes_every_interval_and_at_once_for_a_new_leader) {
    beat({1, 2, 3}, 0, 1000);
    beat({1, 3}, 1100, 2000);
    membership::suspicion_report changes;
    mon.evaluate(at(2000), state, changes);
    auto full = mon.full_report(at(2000), voter_id(1), state);
    ASSERT_TRUE(full) << "the first leader seen gets it at once";
    EXPECT_TRUE(full->full);
    ASSERT_EQ(full->suspicions.size(), 1u);
    EXPECT_EQ(full->suspicions[0].member, member_id(2));
    EXPECT_FALSE(mon.full_report(at(2499), voter_id(1), state));
    EXPECT_TRUE(mon.full_report(at(2500), voter_id(1), state));
    EXPECT_TRUE(mon.full_report(at(2600), voter_id(3), state)) << "a new leader starts from nothing";
    EXPECT_FALSE(mon.full_report(at(2700), voter_id(), state)) << "no leader: nothing to send";
}

TEST_F(monitor_test, others_look_late_when_suspected_or_clearly_past_their_interval) {
    beat({1, 2, 3}, 0, 2000);
    const std::vector<membership::remove_op> due{{member_id(2), incarnation_number(1), {}}};
    EXPECT_FALSE(mon.others_late(due, at(2050)));
    // Member 3 is 250 ms late: clearly past its 100 ms interval, though not yet suspected.
    beat({1}, 2100, 2200);
    EXPECT_TRUE(mon.others_late(due, at(2250)));
    const std::vector<membership::remove_op> both{{member_id(2), incarnation_number(1), {}},
                                                  {member_id(3), incarnation_number(1), {}}};
    EXPECT_FALSE(mon.others_late(both, at(2250))) << "late members that are due themselves do not count";
}

TEST_F(monitor_test, after_a_snapshot_it_watches_exactly_the_view_but_itself) {
    membership::membership_state s = members(2); // m1, m2
    views::view v = s.current();
    v.members.push_back({member_id(7), "self", "", "", incarnation_number(1), {}});
    mon.watch_exactly(v, "self", at(100));
    EXPECT_TRUE(mon.detectors().contains(member_id(1)));
    EXPECT_TRUE(mon.detectors().contains(member_id(2)));
    EXPECT_FALSE(mon.detectors().contains(member_id(3))) << "not in the view";
    EXPECT_FALSE(mon.detectors().contains(member_id(7))) << "itself";
}

TEST_F(monitor_test, a_member_heard_late_is_reported_to_the_leader_only_and_until_it_is_heard_again) {
    beat({1, 2, 3}, 0, 2000);
    membership::suspicion_report report;
    (void)mon.evaluate(at(2000), state, report);
    const auto* d = mon.detectors().find(member_id(2));
    ASSERT_NE(d, nullptr);
    // Half way to the threshold: late, not suspected.
    mono_time t = at(2000);
    while (!d->late(t)) {
        t += 1ms;
    }
    ASSERT_FALSE(d->above_threshold(t));
    beat({1, 3}, 2100, static_cast<int>(to_ms(t.time_since_epoch())));
    auto verdicts = mon.evaluate(t, state, report);
    EXPECT_TRUE(verdicts.empty()) << "lateness is no verdict: nothing to log";
    EXPECT_TRUE(report.suspicions.empty());
    ASSERT_EQ(report.late.size(), 1u);
    EXPECT_EQ(report.late[0].member, member_id(2));
    EXPECT_EQ(report.late[0].incarnation, incarnation_number(1));
    EXPECT_FALSE(report.late[0].suspected);
    (void)mon.evaluate(t + 1ms, state, report);
    EXPECT_TRUE(report.late.empty()) << "reported once";

    const auto full = mon.full_report(t + 1s, voter_id(1), state);
    ASSERT_TRUE(full);
    ASSERT_EQ(full->late.size(), 1u) << "and repeated in every full report";
    EXPECT_EQ(full->late[0].member, member_id(2));

    // A heartbeat: on time again, which the leader learns as "heard from again".
    std::optional<duration> interval;
    mon.heartbeat(member_id(2), t + 2ms, interval);
    verdicts = mon.evaluate(t + 3ms, state, report);
    EXPECT_TRUE(verdicts.empty());
    EXPECT_TRUE(report.late.empty());
    ASSERT_EQ(report.suspicions.size(), 1u);
    EXPECT_EQ(report.suspicions[0].member, member_id(2));
    EXPECT_FALSE(report.suspicions[0].suspected);
}

TEST_F(monitor_test, a_member_that_stops_is_late_before_it_is_suspected_and_then_only_suspected) {
    beat({1, 2, 3}, 0, 2000);
    membership::suspicion_report report;
    (void)mon.evaluate(at(2000), state, report);
    bool was_late = false;
    for (int t = 2001; t < 4000; ++t) {
        if (t % 100 == 0) {
            beat({1, 3}, t, t);
        }
        const auto verdicts = mon.evaluate(at(t), state, report);
        was_late = was_late || !report.late.empty();
        if (!verdicts.empty()) {
            EXPECT_TRUE(verdicts[0].suspected);
            EXPECT_TRUE(was_late) << "late came first, so the other voters' evidence is there in time";
            EXPECT_TRUE(report.late.empty());
            const auto full = mon.full_report(at(t + 1000), voter_id(1), state);
            ASSERT_TRUE(full);
            EXPECT_TRUE(full->late.empty()) << "suspected, no longer late";
            EXPECT_EQ(full->suspicions.size(), 1u);
            return;
        }
    }
    FAIL() << "never suspected";
}

// The monitor with local health on, evaluated every 10 ms as a voter does.
struct local_health_monitor_test : ::testing::Test {
    static constexpr int n = 12;
    membership::membership_state state = members(n);
    member_monitor mon{for_100ms(), 500ms, at(0)};
    std::vector<bool> beating = std::vector<bool>(n + 1, true);
    std::vector<int> next_beat = std::vector<int>(n + 1, 0);
    std::vector<int> last_beat = std::vector<int>(n + 1, -1);
    std::vector<int> suspected_at = std::vector<int>(n + 1, -1);
    int now = 0;

    void SetUp() override {
        for (int i = 1; i <= n; ++i) {
            mon.watch(member_id(i), at(0));
            next_beat[i] = i;
        }
        run_to(5000);
    }
    // Every 10 ms to `to`: the heartbeats due of the beating members (every 100 ms), then an
    // evaluation.
    void run_to(int to) {
        for (; now < to; now += 10) {
            for (int i = 1; i <= n; ++i) {
                while (next_beat[i] <= now) {
                    if (beating[i]) {
                        std::optional<duration> interval;
                        mon.heartbeat(member_id(i), at(now), interval);
                        last_beat[i] = now;
                    }
                    next_beat[i] += 100;
                }
            }
            evaluate(now);
        }
    }
    void evaluate(int t) {
        membership::suspicion_report report;
        for (const auto& v : mon.evaluate(at(t), state, report)) {
            if (v.suspected && suspected_at[v.member.value()] < 0) {
                suspected_at[v.member.value()] = t;
            }
        }
    }
};

TEST_F(local_health_monitor_test, after_a_stall_of_the_voter_nobody_is_suspected_until_it_has_read_what_waited) {
    EXPECT_EQ(mon.health().score(), 0u);
    // The voter stalls 1,500 ms: its first evaluation after the stall sees every member silent.
    now += 1500;
    evaluate(now);
    EXPECT_GE(mon.health().score(), 1u) << "for the stall, and for the members that look late at once";
    EXPECT_EQ(mon.detectors().suspected().size(), 0u) << "no member suspected for the voter's own stall";
    // Then it reads the heartbeats (one turn later) and carries on: nobody suspected.
    run_to(now + 2000);
    for (int i = 1; i <= n; ++i) {
        EXPECT_EQ(suspected_at[i], -1) << "member " << i;
    }
}

TEST_F(local_health_monitor_test, a_member_silent_through_and_after_the_stall_is_suspected_once_the_hold_ends) {
    beating[4] = false;
    now += 400; // stalled 400 ms: hold until 400 ms after it woke
    const int woke = now;
    evaluate(now);
    run_to(now + 2000);
    EXPECT_GE(suspected_at[4], woke + 400);
    EXPECT_LE(suspected_at[4], woke + 400 + 20) << "suspected once the hold ends, as its silence is long past";
}

TEST_F(local_health_monitor_test, many_members_late_within_a_period_make_suspicion_need_a_longer_silence) {
    // Members 5..12 (two thirds) each send one heartbeat 130 ms late every 500 ms: 230 ms after the
    // previous one, evaluated late at 220 ms (late from 214 ms, suspected from 228 ms), read at 230.
    for (int round = 0; round < 8; ++round) {
        for (int i = 5; i <= n; ++i) {
            next_beat[i] += 130;
        }
        run_to(now + 500);
    }
    for (int i = 1; i <= n; ++i) {
        EXPECT_EQ(suspected_at[i], -1) << "member " << i;
    }
    const std::uint32_t score = mon.health().score();
    EXPECT_GE(score, 4u);
    // Member 1 crashes: suspected only after several threshold delays (the score falls meanwhile,
    // one step per 500 ms), not one.
    beating[1] = false;
    run_to(now + 10);
    const int last = last_beat[1];
    const double delay = to_ms(mon.detectors().find(member_id(1))->threshold_delay());
    run_to(now + 8000);
    ASSERT_GE(suspected_at[1], 0);
    EXPECT_GE(suspected_at[1] - last, delay * 2) << "score " << score;
    std::printf("score %u: a crash suspected %d ms after the last heartbeat (threshold delay %.0f ms)\n", score,
                suspected_at[1] - last, delay);
}

} // namespace
} // namespace roster::node
