#pragma once

#include <cstddef>
#include <string_view>

namespace roster {

// The Levenshtein distance between `a` and `b` (insertions, deletions, substitutions): how far a
// mistyped word is from a known one, for "did you mean" hints (rosterctl's commands, rosterd's
// config keys). Quadratic in the lengths; callers pass words typed by people.
[[nodiscard]] std::size_t edit_distance(std::string_view a, std::string_view b);

} // namespace roster
