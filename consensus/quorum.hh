#pragma once

#include <algorithm>
#include <cstddef>
#include <functional>
#include <vector>

#include "common/strong_value.hh"

namespace roster::consensus {

// The highest index that at least `quorum` of the voters have, given each voter's match index:
// the quorum-th largest. Pre-condition: 1 <= quorum <= matches.size().
inline log_index quorum_index(std::vector<log_index> matches, std::size_t quorum) {
    std::nth_element(matches.begin(), matches.begin() + static_cast<std::ptrdiff_t>(quorum - 1),
                     matches.end(), std::greater<>());
    return matches[quorum - 1];
}

} // namespace roster::consensus
