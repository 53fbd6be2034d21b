// roster-detector-demo: what the phi-accrual detector does, in virtual time.
//
// Three peers heartbeat at a fixed interval with jitter; one stops. The demo prints phi of
// every peer as time passes, when the stopped one crossed the threshold, and what the
// detector predicted. It also sends one heartbeat through the wire codec to show the bytes
// that travel. Everything is deterministic for a given --seed.
#include <cstdio>
#include <random>

#include <CLI/CLI.hpp>

#include "detector/detector_registry.hh"
#include "wire/codec.hh"

using namespace roster;

int main(int argc, char** argv) {
    CLI::App app{"roster-detector-demo: the phi-accrual detector in virtual time"};
    int interval_ms = 100;
    int jitter_ms = 10;
    double threshold = 8.0;
    unsigned seed = 1;
    app.add_option("--interval-ms", interval_ms, "heartbeat interval")->check(CLI::Range(10, 10'000));
    app.add_option("--jitter-ms", jitter_ms, "uniform jitter on each interval (+-)")
        ->check(CLI::Range(0, 1'000));
    app.add_option("--threshold", threshold, "phi threshold")->check(CLI::Range(0.5, 100.0));
    app.add_option("--seed", seed, "random seed");
    CLI11_PARSE(app, argc, argv);
    if (jitter_ms >= interval_ms) {
        std::fprintf(stderr, "roster-detector-demo: --jitter-ms must be below --interval-ms\n");
        return 2;
    }

    const duration interval = std::chrono::milliseconds(interval_ms);
    detector::registry_config config;
    config.detector = detector::phi_accrual_config::for_heartbeat_interval(interval);
    config.detector.threshold = threshold;
    detector::detector_registry registry(config);

    std::mt19937_64 rng(seed);
    std::uniform_int_distribution<int> jitter(-jitter_ms * 1000, jitter_ms * 1000);
    const mono_time start{};
    const mono_time stop_at = start + 3s; // peer 2 sends nothing after this
    const mono_time end = stop_at + 2 * config.detector.acceptable_pause + 40 * interval;
    mono_time next[3];
    for (int i = 0; i < 3; ++i) {
        registry.add(member_id(i + 1), start);
        next[i] = start + std::chrono::microseconds(jitter(rng) + jitter_ms * 1000);
    }

    std::printf("phi-accrual detector: heartbeat every %d ms +- %d ms, threshold %.1f, seed %u\n",
                interval_ms, jitter_ms, threshold, seed);
    std::printf("settings for this interval: deviation floor %.1f ms, acceptable pause %.1f ms\n",
                to_ms(config.detector.min_std_deviation), to_ms(config.detector.acceptable_pause));
    std::printf("peer 2 stops heartbeating at t = %.0f ms\n\n", to_ms(stop_at - start));
    std::printf("%9s  %8s  %8s  %8s\n", "t (ms)", "peer 1", "peer 2", "peer 3");

    mono_time last_of_2{};
    std::optional<mono_time> crossed;
    duration predicted{};
    const duration step = 1ms;
    const duration print_every = std::max<duration>(interval / 2, 10ms);
    for (mono_time t = start; t <= end && !(crossed && t > *crossed + 3 * interval); t += step) {
        for (int i = 0; i < 3; ++i) {
            if (t >= next[i] && !(i == 1 && t >= stop_at)) {
                registry.heartbeat(member_id(i + 1), t);
                if (i == 1) {
                    last_of_2 = t;
                    predicted = registry.find(member_id(2))->threshold_delay();
                }
                next[i] = t + interval + std::chrono::microseconds(jitter(rng));
            }
        }
        for (const auto& change : registry.evaluate(t)) {
            std::printf("%9.0f  peer %llu %s (phi %.2f)\n", to_ms(t - start),
                        static_cast<unsigned long long>(change.member.value()),
                        change.suspected ? "SUSPECTED" : "alive again", change.phi);
            if (change.suspected && change.member == member_id(2) && !crossed) {
                crossed = t;
            }
        }
        const bool near_stop = t >= stop_at - 4 * interval;
        if (near_stop && (t - start) % print_every == 0ns) {
            std::printf("%9.0f  %8.2f  %8.2f  %8.2f\n", to_ms(t - start), *registry.phi(member_id(1), t),
                        *registry.phi(member_id(2), t), *registry.phi(member_id(3), t));
        }
    }

    std::printf("\npeer 2: last heartbeat at %.0f ms; predicted crossing %.1f ms after it; ",
                to_ms(last_of_2 - start), to_ms(predicted));
    if (crossed) {
        std::printf("crossed at %.0f ms (%.1f ms after it)\n", to_ms(*crossed - start),
                    to_ms(*crossed - last_of_2));
    } else {
        std::printf("never crossed\n");
    }
    std::printf("peers 1 and 3 suspected: %s\n",
                registry.is_suspected(member_id(1)) || registry.is_suspected(member_id(3)) ? "yes" : "no");

    wire::envelope hb{wire::protocol_version,
                      "roster",
                      {voter_id(0), member_id(1), "peer-1"},
                      membership::heartbeat{member_id(1), incarnation_number(1), 42, view_id(7)}};
    const bytes encoded = wire::encode(hb);
    const auto decoded = wire::decode(encoded);
    std::printf("\na heartbeat on the wire: %zu bytes, decodes %s\n", encoded.size(),
                decoded && *decoded == hb ? "back to the same message" : "WRONG");
    bytes truncated(encoded.begin(), encoded.begin() + static_cast<std::ptrdiff_t>(encoded.size() / 2));
    const auto refused = wire::decode(truncated);
    std::printf("the same bytes cut in half are refused: %s\n",
                refused ? "NO (bug)" : refused.error().describe().c_str());
    return crossed && decoded ? 0 : 1;
}
