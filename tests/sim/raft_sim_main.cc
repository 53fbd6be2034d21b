// raft_sim: runs the randomized consensus simulation for one seed or a range of seeds.
//
//   build/bin/raft_sim --seed 1234 --verbose        replay one seed, printing every event
//   build/bin/raft_sim --from 1 --count 100000      many seeds; prints failures and a summary
#include <chrono>
#include <cstdio>

#include <CLI/CLI.hpp>

#include "tests/sim/raft_random.hh"

using namespace roster;

int main(int argc, char** argv) {
    CLI::App app{"raft_sim: deterministic simulation of roster's consensus layer"};
    std::uint64_t seed = 0, from = 1, count = 0;
    bool verbose = false;
    double chaos_s = 20;
    app.add_option("--seed", seed, "run this one seed");
    app.add_option("--from", from, "first seed of a range");
    app.add_option("--count", count, "number of seeds in the range");
    app.add_option("--chaos-seconds", chaos_s, "virtual seconds of faults per run")
        ->check(CLI::Range(0.1, 3600.0));
    app.add_flag("--verbose", verbose, "print every event");
    CLI11_PARSE(app, argc, argv);
    if (seed == 0 && count == 0) {
        std::fprintf(stderr, "raft_sim: give --seed N, or --from N --count M\n");
        return 2;
    }
    const auto chaos = duration(static_cast<duration::rep>(chaos_s * 1e9));
    auto run = [&](std::uint64_t s) {
        sim::raft_random_options o;
        o.seed = s;
        o.chaos = chaos;
        o.verbose = verbose;
        return sim::run_raft_random(o);
    };
    if (seed != 0) {
        const auto r = run(seed);
        std::printf(
            "seed %llu: %zu voters, %llu events, %llu faults, %llu entries committed, recovered in %.0f ms, "
            "trace %016llx: %s\n",
            static_cast<unsigned long long>(seed), r.voters, static_cast<unsigned long long>(r.events),
            static_cast<unsigned long long>(r.faults), static_cast<unsigned long long>(r.committed),
            to_ms(r.recovery), static_cast<unsigned long long>(r.trace_hash),
            r.failure ? r.failure->c_str() : "ok");
        return r.failure ? 1 : 0;
    }
    const auto start = std::chrono::steady_clock::now();
    std::uint64_t failed = 0, events = 0;
    double worst_recovery = 0;
    for (std::uint64_t s = from; s < from + count; ++s) {
        const auto r = run(s);
        events += r.events;
        worst_recovery = std::max(worst_recovery, to_ms(r.recovery));
        if (r.failure) {
            ++failed;
            std::printf("seed %llu FAILED: %s\n  replay: %s\n", static_cast<unsigned long long>(s),
                        r.failure->c_str(), sim::raft_replay_command(s, chaos).c_str());
            std::fflush(stdout);
        }
        if ((s - from + 1) % 1000 == 0) {
            std::printf("%llu seeds, %llu failed\n", static_cast<unsigned long long>(s - from + 1),
                        static_cast<unsigned long long>(failed));
            std::fflush(stdout);
        }
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf(
        "seeds %llu..%llu: %llu run, %llu failed, %llu events, worst recovery after heal %.0f ms, %.1f s\n",
        static_cast<unsigned long long>(from), static_cast<unsigned long long>(from + count - 1),
        static_cast<unsigned long long>(count), static_cast<unsigned long long>(failed),
        static_cast<unsigned long long>(events), worst_recovery, secs);
    return failed ? 1 : 0;
}
