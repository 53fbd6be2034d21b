#include "detector/heartbeat_interval.hh"

#include <algorithm>

namespace roster::detector {

duration adaptive_heartbeat_interval(std::size_t members, duration current, std::span<const adaptive_level> levels) {
    std::size_t level = 0;
    while (level + 1 < levels.size() && members > levels[level].up_to) {
        ++level;
    }
    const duration target = levels[level].interval;
    if (target >= current) {
        return target;
    }
    // Shorter: the shortest level from the target's up whose bound the cluster is a tenth below,
    // if that is shorter than the current interval.
    for (std::size_t l = level; l < levels.size(); ++l) {
        const auto& at = levels[l];
        if (at.interval >= current) {
            break;
        }
        if (members <= at.up_to - at.up_to / 10) {
            return at.interval;
        }
    }
    return current;
}

std::optional<const char*> check_levels(std::span<const adaptive_level> levels) {
    if (levels.empty() || levels.back().up_to != static_cast<std::size_t>(-1)) {
        return "adaptive heartbeat levels must end with an unbounded one";
    }
    for (std::size_t l = 1; l < levels.size(); ++l) {
        if (levels[l].up_to <= levels[l - 1].up_to || levels[l].interval <= levels[l - 1].interval) {
            return "adaptive heartbeat levels must grow in members and in interval";
        }
    }
    if (levels.front().interval <= duration::zero()) {
        return "adaptive heartbeat intervals must be positive";
    }
    return std::nullopt;
}

bool is_adaptive_level(duration interval) {
    return std::any_of(std::begin(adaptive_levels), std::end(adaptive_levels),
                       [&](const adaptive_level& l) { return l.interval == interval; });
}

} // namespace roster::detector
