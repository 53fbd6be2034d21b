#include <fmt/format.h>
#include <gtest/gtest.h>

#include "consensus/memory_storage.hh"
#include "daemon/node_configs.hh"
#include "daemon/voter_driver.hh"
#include "log_capture.hh"

namespace roster::daemon {
namespace {

mono_time at(int ms) { return mono_time(std::chrono::milliseconds(ms)); }

options single_voter() {
    return {.name = "v1", .voter = voter_id(1), .voters = {{voter_id(1), {"127.0.0.1", 7401}}}};
}

// One voter alone, driven as the poll loop drives it, its output persisted in memory.
struct harness {
    log_capture log;
    metrics m{"roster", "v1", true, 1000};
    consensus::memory_storage disk;
    voter_driver d;
    int now_ms = 0;

    harness()
        : d(make_voter_config(single_voter(), incarnation_number(1)).value(), prng(1), {}, at(0), log.logger,
            m) {}

    void run_until(int ms) {
        while (now_ms < ms) {
            d.tick(at(++now_ms));
            for (const auto& rd : d.take_output().persist) {
                EXPECT_FALSE(disk.save(rd));
            }
            d.after_step(at(now_ms));
        }
    }
};

TEST(voter_driver, logs_its_leadership_once_and_the_view_that_adds_it) {
    harness h;
    h.run_until(500);
    ASSERT_EQ(h.d.node().consensus().role(), consensus::role::leader);
    EXPECT_EQ(h.log.count("this voter is now the consensus leader (term "), 1) << h.log.text();
    const auto& v = h.d.node().view();
    EXPECT_EQ(h.log.count(fmt::format("member {} 'v1' joined in view {}", h.d.node().self(), v.id)), 1)
        << h.log.text();
    EXPECT_EQ(h.log.count(fmt::format("view {} committed: 1 members, leader {} (token {})", v.id, v.leader,
                                      v.fencing_token)),
              1)
        << h.log.text();
}

TEST(voter_driver, says_who_it_is_in_its_envelopes) {
    harness h;
    EXPECT_EQ(h.d.self(), (wire::sender{voter_id(1), member_id(), "v1"}));
    h.run_until(500);
    ASSERT_NE(h.d.node().self(), member_id());
    EXPECT_EQ(h.d.self(), (wire::sender{voter_id(1), h.d.node().self(), "v1"}));
}

TEST(voter_driver, feeds_the_metrics_its_state) {
    harness h;
    h.run_until(500);
    EXPECT_EQ(h.m.value("roster_view_members", {}), 1);
    EXPECT_EQ(h.m.value("roster_view_id", {}), static_cast<double>(h.d.node().view().id.value()));
    EXPECT_EQ(h.m.value("roster_view_changes_total", {{"reason", "joined"}}), 1);
}

TEST(voter_driver, leaves_as_left_when_asked) {
    harness h;
    h.run_until(500);
    const member_id self = h.d.node().self();
    EXPECT_FALSE(h.d.done_leaving());
    h.d.leave(at(h.now_ms));
    for (int end = h.now_ms + 2000; !h.d.done_leaving() && h.now_ms < end;) {
        h.run_until(h.now_ms + 1);
    }
    EXPECT_TRUE(h.d.done_leaving());
    EXPECT_EQ(h.log.count(fmt::format("member {} removed in view {}: left", self, h.d.node().view().id)), 1)
        << h.log.text();
}

} // namespace
} // namespace roster::daemon
