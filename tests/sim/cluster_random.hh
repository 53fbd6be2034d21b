#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/time.hh"

namespace roster::sim {

// One randomized run of the whole-cluster simulation: 3 or 5 voters, 50 members, subscribers;
// faults of the consensus simulation on the voters' links plus member crashes and restarts,
// member pauses, flaky member-voter links, subscribers that miss publications, graceful leaves.
// The view guarantees are checked after every event; after the heal, every member must be in
// the view exactly once and every subscriber must hold that view within the bound.
struct cluster_random_options {
    std::uint64_t seed = 1;
    duration chaos = 20s;
    bool verbose = false;
};

struct cluster_random_result {
    std::optional<std::string> failure;
    std::uint64_t trace_hash = 0;
    std::uint64_t events = 0;
    std::uint64_t views = 0;
    std::uint64_t faults = 0;
    std::uint64_t forged = 0; // consensus messages with a term above max_term handed to voters (all refused)
    duration recovery{};
};

// After the heal: crashed members restart and rejoin (detection of their ghosts, join settle,
// commit) and subscribers catch up; a few election timeouts plus a few detection delays.
inline constexpr duration cluster_liveness_bound = 10s;

cluster_random_result run_cluster_random(const cluster_random_options& options);
// The command that replays one seed with every view printed (with its fault period, when not the
// default).
std::string cluster_replay_command(std::uint64_t seed, duration chaos = cluster_random_options{}.chaos);

} // namespace roster::sim
