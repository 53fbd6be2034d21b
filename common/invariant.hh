#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>

#include <fmt/format.h>

namespace roster {

// Stops the process over a broken invariant: a pre-condition a caller did not keep, a state the
// code's own logic cannot reach. It is a bug here, there is no sensible way on, and the core dump
// keeps the state for the post-mortem. One line on stderr says who (`where`) and what.
//
// Never for what the network can cause: bytes from a socket are refused, counted and logged where
// they arrive, so that no message, from anyone, can reach this.
[[noreturn]] inline void invariant_broken(std::string_view where, std::string_view what) noexcept {
    std::fprintf(stderr, "%.*s: invariant broken: %.*s\n", static_cast<int>(where.size()), where.data(),
                 static_cast<int>(what.size()), what.data());
    std::fflush(stderr);
    std::abort();
}

// The same, with the message formatted (fmt syntax).
template <typename... Args>
[[noreturn]] void invariant_broken(std::string_view where, fmt::format_string<Args...> format,
                                   Args&&... args) {
    const std::string what = fmt::format(format, std::forward<Args>(args)...);
    invariant_broken(where, std::string_view(what));
}

} // namespace roster
