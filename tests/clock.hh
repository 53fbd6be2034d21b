#pragma once

// Points on the core's clock for tests: at(ms) and at_ms(ms), milliseconds after its epoch.

#include <chrono>
#include <cmath>
#include <cstdint>

#include "common/time.hh"

namespace roster::testing {

[[nodiscard]] inline mono_time at(std::int64_t ms) { return mono_time(std::chrono::milliseconds(ms)); }

// Fractions of a millisecond too (rounded to the nanosecond).
[[nodiscard]] inline mono_time at_ms(double ms) {
    return mono_time(duration(static_cast<std::int64_t>(std::llround(ms * 1e6))));
}

} // namespace roster::testing
