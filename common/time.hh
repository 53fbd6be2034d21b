#pragma once

#include <chrono>
#include <cstdint>

namespace roster {

// The clock of the deterministic core. It has no now(): the cores never read a clock; the
// daemon converts std::chrono::steady_clock readings into this type and the simulation
// advances it by hand. The epoch is arbitrary (the daemon uses its start).
struct mono_clock {
    using rep = std::int64_t;
    using period = std::nano;
    using duration = std::chrono::duration<rep, period>;
    using time_point = std::chrono::time_point<mono_clock>;
    static constexpr bool is_steady = true;
};

using mono_time = mono_clock::time_point;
using duration = mono_clock::duration;

using namespace std::chrono_literals;

// Milliseconds as a double, for logs and metrics.
constexpr double to_ms(duration d) noexcept { return std::chrono::duration<double, std::milli>(d).count(); }

} // namespace roster
