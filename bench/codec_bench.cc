// Encode and decode cost of typical messages (heartbeat, append entries, a 1,000-member view).
//
//   build/bin/codec_bench --benchmark_min_time=0.5
#include <benchmark/benchmark.h>

#include "tests/wire/samples.hh"
#include "wire/codec.hh"

using namespace roster;

namespace {

wire::envelope heartbeat() {
    return {wire::protocol_version,
            "roster",
            {voter_id(0), member_id(7), "m7"},
            membership::heartbeat{member_id(7), incarnation_number(1), 1234, view_id(55)}};
}

wire::envelope big_view(std::size_t n) {
    views::full_view v;
    v.view.id = view_id(1000);
    for (std::size_t i = 1; i <= n; ++i) {
        v.view.members.push_back({member_id(i),
                                  "member-" + std::to_string(i),
                                  "10.1.2.3:7400",
                                  "10.1.2.3:7402",
                                  incarnation_number(1),
                                  {}});
    }
    v.view.leader = member_id(1);
    v.view.fencing_token = view_id(1);
    return {wire::protocol_version, "roster", {voter_id(1), member_id(1), "v1"}, std::move(v)};
}

void bm_encode_heartbeat(benchmark::State& state) {
    const auto m = heartbeat();
    for (auto _ : state) {
        benchmark::DoNotOptimize(wire::encode(m));
    }
}
BENCHMARK(bm_encode_heartbeat);

void bm_decode_heartbeat(benchmark::State& state) {
    const bytes b = wire::encode(heartbeat());
    for (auto _ : state) {
        benchmark::DoNotOptimize(wire::decode(b));
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * b.size()));
}
BENCHMARK(bm_decode_heartbeat);

void bm_decode_full_view_1000(benchmark::State& state) {
    const bytes b = wire::encode(big_view(1000));
    for (auto _ : state) {
        benchmark::DoNotOptimize(wire::decode(b));
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * b.size()));
}
BENCHMARK(bm_decode_full_view_1000);

} // namespace

BENCHMARK_MAIN();
