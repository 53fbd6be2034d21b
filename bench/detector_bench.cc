// Cost of the failure detector's two hot operations: recording a heartbeat and evaluating phi,
// alone and across 10,000 monitored members.
//
//   build/bin/detector_bench --benchmark_min_time=0.5
#include <random>

#include <benchmark/benchmark.h>

#include "detector/detector_registry.hh"

using namespace roster;
using namespace roster::detector;

namespace {

constexpr std::size_t members = 10'000;

mono_time at_us(std::int64_t us) { return mono_time(std::chrono::microseconds(us)); }

// One detector, one heartbeat per iteration (ring full, so every call also evicts a sample).
void bm_detector_heartbeat(benchmark::State& state) {
    const phi_model model(phi_accrual_config::for_heartbeat_interval(100ms));
    phi_accrual_detector d(model);
    std::int64_t now = 0;
    for (int i = 0; i < 200; ++i) {
        d.heartbeat(at_us(now += 100'000));
    }
    for (auto _ : state) {
        now += 100'000 + (now & 0x3ff);
        d.heartbeat(at_us(now));
        benchmark::DoNotOptimize(d);
    }
}
BENCHMARK(bm_detector_heartbeat);

// One detector, phi at a moving time (the logarithm path).
void bm_detector_phi(benchmark::State& state) {
    const phi_model model(phi_accrual_config::for_heartbeat_interval(100ms));
    phi_accrual_detector d(model);
    std::int64_t now = 0;
    for (int i = 0; i < 200; ++i) {
        d.heartbeat(at_us(now += 100'000));
    }
    std::int64_t t = now;
    for (auto _ : state) {
        t = now + ((t + 7919) % 300'000);
        benchmark::DoNotOptimize(d.phi(at_us(t)));
    }
}
BENCHMARK(bm_detector_phi);

detector_registry filled_registry(std::int64_t& now) {
    registry_config cfg;
    cfg.detector = phi_accrual_config::for_heartbeat_interval(100ms);
    detector_registry r(cfg);
    for (std::size_t m = 1; m <= members; ++m) {
        r.add(member_id(m), at_us(0));
    }
    std::mt19937_64 rng(1);
    for (int round = 0; round < 120; ++round) {
        now += 100'000;
        for (std::size_t m = 1; m <= members; ++m) {
            r.heartbeat(member_id(m), at_us(now + static_cast<std::int64_t>(rng() % 5'000)));
        }
    }
    return r;
}

// A heartbeat of a random member among 10,000: lookup by id plus the update.
void bm_registry_heartbeat_10k(benchmark::State& state) {
    std::int64_t now = 0;
    auto r = filled_registry(now);
    std::mt19937_64 rng(2);
    std::vector<member_id> order(1 << 16);
    for (auto& m : order) {
        m = member_id(1 + rng() % members);
    }
    std::size_t i = 0;
    for (auto _ : state) {
        now += 10;
        benchmark::DoNotOptimize(r.heartbeat(order[i++ & 0xffff], at_us(now)));
    }
}
BENCHMARK(bm_registry_heartbeat_10k);

// phi of every one of 10,000 members; reported per member (items).
void bm_registry_phi_all_10k(benchmark::State& state) {
    std::int64_t now = 0;
    auto r = filled_registry(now);
    std::int64_t t = now + 50'000;
    for (auto _ : state) {
        double sum = 0;
        r.for_each([&](member_id, const phi_accrual_detector& d, bool) { sum += d.phi(at_us(t)); });
        benchmark::DoNotOptimize(sum);
        t += 1;
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * members));
}
BENCHMARK(bm_registry_phi_all_10k);

// The periodic suspicion check over 10,000 members (threshold comparison, no logarithm unless
// a member crosses); reported per member.
void bm_registry_evaluate_10k(benchmark::State& state) {
    std::int64_t now = 0;
    auto r = filled_registry(now);
    std::int64_t t = now + 50'000;
    for (auto _ : state) {
        benchmark::DoNotOptimize(r.evaluate(at_us(t)));
        t += 1;
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * members));
}
BENCHMARK(bm_registry_evaluate_10k);

} // namespace

BENCHMARK_MAIN();
