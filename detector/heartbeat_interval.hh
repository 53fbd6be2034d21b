#pragma once

#include <cstddef>
#include <optional>
#include <span>

#include "common/time.hh"

namespace roster::detector {

// The heartbeat interval that adapts to the cluster's size (rosterd's default; a fixed
// --heartbeat-interval-ms turns it off), as Consul scales its probe intervals: every member
// heartbeats to every voter, so a voter receives members / interval heartbeats a second, and the
// interval grows with the cluster to keep that near 20,000 (a fifth of a core on the machine of
// bench/RESULTS.md) while small clusters detect a failure within about two intervals:
//
//   members in the view   up to 1,000   2,000    4,000    10,000   more
//   interval              50 ms         100 ms   200 ms   500 ms   1 s
//
// A cluster that shrinks moves back to a shorter interval only once it is a tenth below the
// shorter level's bound, so that a size hovering at a bound does not flip the interval (each flip
// restarts the voters' estimates of that member's rhythm). Pure; every node that holds the same
// view and the same current interval computes the same result.
struct adaptive_level {
    std::size_t up_to; // members
    duration interval;
};
inline constexpr adaptive_level adaptive_levels[] = {
    {1'000, std::chrono::milliseconds(50)},   {2'000, std::chrono::milliseconds(100)},
    {4'000, std::chrono::milliseconds(200)},  {10'000, std::chrono::milliseconds(500)},
    {static_cast<std::size_t>(-1), std::chrono::seconds(1)},
};

// The interval for a view of `members`, moving from `current` (any duration: a node that has not
// chosen yet passes zero and gets the level of `members`). `levels` (the simulation's smaller
// ones) must grow in both fields and end with an unbounded level.
[[nodiscard]] duration adaptive_heartbeat_interval(std::size_t members, duration current,
                                                   std::span<const adaptive_level> levels = adaptive_levels);

// Empty when `levels` may be given to adaptive_heartbeat_interval (not empty, growing in both
// fields, the last one unbounded), else what is wrong.
[[nodiscard]] std::optional<const char*> check_levels(std::span<const adaptive_level> levels);

// Whether `interval` is one of rosterd's adaptive levels.
[[nodiscard]] bool is_adaptive_level(duration interval);

} // namespace roster::detector
