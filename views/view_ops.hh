#pragma once

#include "views/view.hh"

namespace roster::views {

// The leader of a view: the member with the lowest id (0 when the view is empty). Members are
// kept sorted by id, so it is the first.
[[nodiscard]] inline member_id leader_of(const view& v) noexcept {
    return v.members.empty() ? member_id() : v.members.front().id;
}

// The view that `change` makes out of `previous`. Pre-condition: change.id == previous.id + 1.
// Joined members are appended (their ids are larger than every present one), removed ones
// dropped; leader and fencing token come from the change.
[[nodiscard]] view apply_change(const view& previous, const view_change& change);

// The change that turns `v`'s predecessor into `v`, given `v` itself (its joined ids and removals).
[[nodiscard]] view_change change_of(const view& v);

[[nodiscard]] const char* to_string(removal_reason r) noexcept;

} // namespace roster::views
