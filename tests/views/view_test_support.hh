#pragma once

#include "membership/membership_state.hh"
#include "views/view_ops.hh"

namespace roster::views::testing {

// A sequence of views built by the real state machine: view i+1 adds member "n<i>", and every
// third view also removes the oldest member.
inline std::vector<view_change> make_changes(std::size_t n) {
    membership::membership_state s;
    std::vector<view_change> out;
    for (std::size_t i = 0; i < n; ++i) {
        membership::command c;
        c.ops.push_back(membership::join_op{"n" + std::to_string(i), "a", "p", incarnation_number(1), {}});
        if (i % 3 == 2 && !s.current().members.empty()) {
            const auto& m = s.current().members.front();
            c.ops.push_back(membership::remove_op{m.id, m.incarnation, removal_reason::suspected});
        }
        out.push_back(*s.apply(c).change);
    }
    return out;
}

// The full views those changes make, index i = view i+1.
inline std::vector<view> make_views(const std::vector<view_change>& changes) {
    std::vector<view> out;
    view v;
    for (const auto& c : changes) {
        v = apply_change(v, c);
        out.push_back(v);
    }
    return out;
}

} // namespace roster::views::testing
