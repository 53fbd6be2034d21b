#pragma once

#include <cstdint>
#include <string>

#include <fmt/format.h>

#include "common/time.hh"

namespace roster::sim {

// The command that replays one seed of a simulation program (raft_sim, cluster_sim), with its
// fault period when it is not the program's default: a failure message prints it.
inline std::string replay_command(const char* program, std::uint64_t seed, duration chaos, duration default_chaos) {
    if (chaos == default_chaos) {
        return fmt::format("build/bin/{} --seed {} --verbose", program, seed);
    }
    return fmt::format("build/bin/{} --seed {} --chaos-seconds {:g} --verbose", program, seed,
                       to_ms(chaos) / 1000.0);
}

} // namespace roster::sim
