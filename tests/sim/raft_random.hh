#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/time.hh"

namespace roster::sim {

// One randomized run of the consensus simulation: a seed picks the cluster (3 or 5 voters),
// the links, the clock speeds and a schedule of faults; after the faults heal, the run checks
// that a leader is elected and a proposal commits everywhere within the stated bound.
struct raft_random_options {
    std::uint64_t seed = 1;
    duration chaos = 20s; // faults are injected during this time
    bool verbose = false; // print every event
};

struct raft_random_result {
    std::optional<std::string> failure; // an invariant violation or a missed liveness bound
    std::uint64_t trace_hash = 0;
    std::uint64_t events = 0;
    std::size_t voters = 0;
    std::uint64_t committed = 0; // entries committed over the run
    std::uint64_t faults = 0;    // fault actions taken
    std::uint64_t forged = 0;    // messages with a term above max_term handed to voters (all refused)
    duration recovery{};         // from the heal until a new proposal was applied everywhere
};

// Liveness bound after the faults heal: a leader is elected and a new proposal is applied by
// every voter within this time. With a 10 ms tick, election timeouts of 10..20 ticks and
// clocks running at 0.7..1.4x, the longest election timeout is 286 ms; the bound allows a few
// rounds of split or pre-empted elections plus the delivery of held-back messages. Seeds whose
// election timeout adapts (odd ones) get twice its ceiling more: the faults may have raised it.
inline constexpr duration liveness_bound = 3s;

raft_random_result run_raft_random(const raft_random_options& options);

// The command that replays a seed, for failure messages.
std::string raft_replay_command(std::uint64_t seed, duration chaos = raft_random_options{}.chaos);

} // namespace roster::sim
