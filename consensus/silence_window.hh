#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace roster::consensus {

// The longest silences between voters lately, in ticks: the basis of raft's adaptive election
// timeout (raft_config::max_election_ticks). Time is split into periods of `period_ticks`; the
// window keeps the longest silence of each of the last `periods` periods (the current one
// included). typical_longest() is the second longest of those, so that one outlier (a pause of a
// process, one burst of loss) does not move it; with 30 periods of 1 s, it is a silence that
// happened at least twice in the last 30 seconds.
//
// Pure: no clock (tick() is the clock), no allocation after construction. One thread.
class silence_window {
public:
    // Pre-condition: period_ticks >= 1 and periods >= 2 (raft_config::validate checks both).
    silence_window(int period_ticks, std::size_t periods)
        : _period_ticks(period_ticks)
        , _longest(periods, 0) {}

    // One tick passes. Returns true when a period ended (typical_longest() may have changed).
    bool tick() {
        if (++_elapsed < _period_ticks) {
            return false;
        }
        _elapsed = 0;
        _current = (_current + 1) % _longest.size();
        _longest[_current] = 0;
        return true;
    }

    // A silence of `ticks` ended now (a message arrived `ticks` after the previous one).
    void add(std::int64_t ticks) {
        if (ticks > _longest[_current]) {
            _longest[_current] = ticks;
        }
    }

    // The second longest of the periods' longest silences (0 until two periods have one).
    [[nodiscard]] std::int64_t typical_longest() const {
        std::int64_t first = 0;
        std::int64_t second = 0;
        for (std::int64_t l : _longest) {
            if (l > first) {
                second = first;
                first = l;
            } else if (l > second) {
                second = l;
            }
        }
        return second;
    }

private:
    int _period_ticks;
    int _elapsed = 0;
    std::size_t _current = 0;
    std::vector<std::int64_t> _longest; // per period, a ring; _current is the period under way
};

} // namespace roster::consensus
