// cluster_sim: runs the randomized whole-cluster simulation for one seed or a range.
//
//   build/bin/cluster_sim --seed 1234 --verbose     replay one seed (prints every view)
//   build/bin/cluster_sim --from 1 --count 10000    many seeds; prints failures and a summary
//   build/bin/cluster_sim --from 200000 --count 200 --chaos-seconds 300
//                                                   long fault periods (about 0.4 s a seed)
#include <chrono>
#include <cstdio>

#include <CLI/CLI.hpp>

#include "tests/sim/cluster_random.hh"

using namespace roster;

int main(int argc, char** argv) {
    CLI::App app{"cluster_sim: deterministic simulation of a whole roster cluster"};
    std::uint64_t seed = 0, from = 1, count = 0;
    bool verbose = false;
    double chaos_s = 20;
    app.add_option("--seed", seed, "run this one seed");
    app.add_option("--from", from, "first seed of a range");
    app.add_option("--count", count, "number of seeds in the range");
    app.footer("Long fault periods (voters removed, rejoining and restarting many times, catching up by "
               "snapshot): cluster_sim --from N --count M --chaos-seconds 300. A failing seed prints the "
               "command that replays it, --chaos-seconds included.");
    app.add_option(
           "--chaos-seconds", chaos_s,
           "virtual seconds of faults per run, before the heal (default 20; 300 for long fault periods)")
        ->check(CLI::Range(0.1, 3600.0));
    app.add_flag("--verbose", verbose, "print every view as it is first seen");
    CLI11_PARSE(app, argc, argv);
    if (seed == 0 && count == 0) {
        std::fprintf(stderr, "cluster_sim: give --seed N, or --from N --count M\n");
        return 2;
    }
    const auto chaos = duration(static_cast<duration::rep>(chaos_s * 1e9));
    auto run = [&](std::uint64_t s) {
        sim::cluster_random_options o;
        o.seed = s;
        o.chaos = chaos;
        o.verbose = verbose;
        return sim::run_cluster_random(o);
    };
    if (seed != 0) {
        const auto r = run(seed);
        std::printf(
            "seed %llu: %llu events, %llu faults, %llu views, converged %.0f ms after the heal, trace "
            "%016llx: %s\n",
            static_cast<unsigned long long>(seed), static_cast<unsigned long long>(r.events),
            static_cast<unsigned long long>(r.faults), static_cast<unsigned long long>(r.views),
            to_ms(r.recovery), static_cast<unsigned long long>(r.trace_hash),
            r.failure ? r.failure->c_str() : "ok");
        return r.failure ? 1 : 0;
    }
    const auto start = std::chrono::steady_clock::now();
    std::uint64_t failed = 0, events = 0, views = 0;
    double worst = 0;
    for (std::uint64_t s = from; s < from + count; ++s) {
        const auto r = run(s);
        events += r.events;
        views += r.views;
        worst = std::max(worst, to_ms(r.recovery));
        if (r.failure) {
            ++failed;
            std::printf("seed %llu FAILED: %s\n  replay: %s\n", static_cast<unsigned long long>(s),
                        r.failure->c_str(), sim::cluster_replay_command(s, chaos).c_str());
            std::fflush(stdout);
        }
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf(
        "seeds %llu..%llu: %llu run, %llu failed, %llu events, %llu views, worst convergence after heal "
        "%.0f ms, %.1f s\n",
        static_cast<unsigned long long>(from), static_cast<unsigned long long>(from + count - 1),
        static_cast<unsigned long long>(count), static_cast<unsigned long long>(failed),
        static_cast<unsigned long long>(events), static_cast<unsigned long long>(views), worst, secs);
    return failed ? 1 : 0;
}
