#include "detector/heartbeat_interval.hh"

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

} // namespace roster::detector
