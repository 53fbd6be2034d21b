// The randomized consensus simulation over many seeds. Each seed: 3 or 5 voters, random link
// delays, loss, duplication and slow outliers, one-way cuts, isolation, swizzle-clogging,
// crashes (also between persisting and sending, and of a leader right after it commits) and
// restarts from persisted storage, clocks at 0.7..1.4x speed, random proposals; invariants
// checked after every event; then a heal and the liveness bound.
//
// Seeds per run: ROSTER_SIM_SEEDS (default ROSTER_SIM_DEFAULT_SEEDS, set by CMake), split in
// shards that ctest runs in parallel. A failure prints the seed and the command that replays it.
#include <cstdlib>

#include <gtest/gtest.h>

#include "tests/sim/raft_random.hh"

namespace roster::sim {
namespace {

constexpr std::uint64_t shards = 8;

std::uint64_t total_seeds() {
    const char* v = std::getenv("ROSTER_SIM_SEEDS");
    return v != nullptr ? std::strtoull(v, nullptr, 10) : ROSTER_SIM_DEFAULT_SEEDS;
}

TEST(raft_random, the_replay_command_carries_a_fault_period_other_than_the_default) {
    EXPECT_EQ(raft_replay_command(7), "build/bin/raft_sim --seed 7 --verbose");
    EXPECT_EQ(raft_replay_command(7, std::chrono::seconds(300)),
              "build/bin/raft_sim --seed 7 --chaos-seconds 300 --verbose");
    EXPECT_EQ(raft_replay_command(7, std::chrono::milliseconds(2500)),
              "build/bin/raft_sim --seed 7 --chaos-seconds 2.5 --verbose");
}

class raft_random_shard : public ::testing::TestWithParam<std::uint64_t> {};

TEST_P(raft_random_shard, every_invariant_holds_and_the_cluster_recovers) {
    const std::uint64_t per_shard = (total_seeds() + shards - 1) / shards;
    const std::uint64_t first = GetParam() * per_shard + 1;
    std::uint64_t events = 0, committed = 0, faults = 0, forged = 0, failures = 0;
    duration worst{};
    for (std::uint64_t seed = first; seed < first + per_shard; ++seed) {
        raft_random_options o;
        o.seed = seed;
        const auto r = run_raft_random(o);
        events += r.events;
        committed += r.committed;
        faults += r.faults;
        forged += r.forged;
        worst = std::max(worst, r.recovery);
        if (r.failure) {
            ++failures;
            ADD_FAILURE() << "seed " << seed << " failed: " << *r.failure
                          << "\n  replay: " << raft_replay_command(seed);
            if (failures >= 5) {
                break;
            }
        }
    }
    std::printf(
        "seeds %llu..%llu: %llu events, %llu faults, %llu forged terms refused, %llu entries committed, "
        "worst recovery %.0f ms\n",
        static_cast<unsigned long long>(first), static_cast<unsigned long long>(first + per_shard - 1),
        static_cast<unsigned long long>(events), static_cast<unsigned long long>(faults),
        static_cast<unsigned long long>(forged), static_cast<unsigned long long>(committed), to_ms(worst));
    EXPECT_GT(committed, per_shard * 20) << "the runs should commit plenty (a stuck cluster proves nothing)";
    EXPECT_GT(faults, per_shard * 10) << "the runs should inject plenty of faults";
    EXPECT_GT(forged, per_shard) << "about half the seeds forge messages with terms past the largest";
}

INSTANTIATE_TEST_SUITE_P(seeds, raft_random_shard, ::testing::Range<std::uint64_t>(0, shards));

TEST(raft_random, the_same_seed_gives_the_same_trace) {
    for (std::uint64_t seed : {1u, 17u, 4242u}) {
        raft_random_options o;
        o.seed = seed;
        const auto a = run_raft_random(o);
        const auto b = run_raft_random(o);
        EXPECT_EQ(a.trace_hash, b.trace_hash) << "seed " << seed;
        EXPECT_EQ(a.events, b.events) << "seed " << seed;
        EXPECT_EQ(a.committed, b.committed) << "seed " << seed;
    }
}

TEST(raft_random, different_seeds_give_different_runs) {
    raft_random_options a, b;
    a.seed = 5;
    b.seed = 6;
    EXPECT_NE(run_raft_random(a).trace_hash, run_raft_random(b).trace_hash);
}

} // namespace
} // namespace roster::sim
