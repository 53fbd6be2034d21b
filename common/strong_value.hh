#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <ostream>
#include <type_traits>

#include <fmt/format.h>

namespace roster {

// A number with a meaning. Two strong values with different tags do not mix: passing a term
// where a log index belongs does not compile. Arithmetic is limited to what counters need
// (step forward or back, add or subtract a plain count, distance between two values).
template <typename Tag, typename Rep>
class strong_value {
    static_assert(std::is_integral_v<Rep>);

public:
    using rep_type = Rep;

    constexpr strong_value() noexcept = default;
    constexpr explicit strong_value(Rep v) noexcept
        : _v(v) {}

    [[nodiscard]] constexpr Rep value() const noexcept { return _v; }

    // The value that follows this one; counters such as terms and view ids only move this way.
    [[nodiscard]] constexpr strong_value next() const noexcept { return strong_value(_v + 1); }
    [[nodiscard]] constexpr strong_value prev() const noexcept { return strong_value(_v - 1); }

    constexpr strong_value operator+(Rep n) const noexcept { return strong_value(_v + n); }
    constexpr strong_value operator-(Rep n) const noexcept { return strong_value(_v - n); }
    // Distance between two values of the same kind, as a plain count.
    constexpr Rep operator-(strong_value o) const noexcept { return _v - o._v; }
    constexpr strong_value& operator++() noexcept {
        ++_v;
        return *this;
    }
    constexpr strong_value& operator+=(Rep n) noexcept {
        _v += n;
        return *this;
    }

    constexpr auto operator<=>(const strong_value&) const noexcept = default;

    friend std::ostream& operator<<(std::ostream& os, strong_value v) { return os << v._v; }

private:
    Rep _v{};
};

// Member ids are assigned by the membership state machine, start at 1 and are never reused;
// 0 means "none" (no member, no leader).
using member_id = strong_value<struct member_id_tag, std::uint64_t>;
// Voter ids come from configuration (`--voter-id`, `--voters`); 0 means "none".
using voter_id = strong_value<struct voter_id_tag, std::uint32_t>;
// Raft term (Raft §5.1). Only grows on every voter.
using raft_term = strong_value<struct raft_term_tag, std::uint64_t>;
// Position in the Raft log; the first entry has index 1, 0 means "before the log".
using log_index = strong_value<struct log_index_tag, std::uint64_t>;
// Number of a membership view; every committed change makes view_id + 1. 0 means "no view yet".
using view_id = strong_value<struct view_id_tag, std::uint64_t>;
// Chosen by a member process each time it (re)joins; a larger one replaces a smaller one.
using incarnation_number = strong_value<struct incarnation_tag, std::uint64_t>;

} // namespace roster

template <typename Tag, typename Rep>
struct std::hash<roster::strong_value<Tag, Rep>> {
    std::size_t operator()(roster::strong_value<Tag, Rep> v) const noexcept {
        return std::hash<Rep>{}(v.value());
    }
};

template <typename Tag, typename Rep>
struct fmt::formatter<roster::strong_value<Tag, Rep>> : fmt::formatter<Rep> {
    template <typename Context>
    auto format(roster::strong_value<Tag, Rep> v, Context& ctx) const {
        return fmt::formatter<Rep>::format(v.value(), ctx);
    }
};
