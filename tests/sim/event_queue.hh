#pragma once

#include <cstdint>
#include <functional>
#include <queue>
#include <vector>

#include "common/time.hh"

namespace roster::sim {

// Virtual time and the events scheduled in it. Events at the same time run in the order they
// were scheduled, so a run depends on nothing but its seed.
class event_queue {
public:
    using action = std::function<void()>;

    [[nodiscard]] mono_time now() const noexcept { return _now; }
    [[nodiscard]] bool empty() const noexcept { return _events.empty(); }
    [[nodiscard]] std::size_t size() const noexcept { return _events.size(); }
    [[nodiscard]] mono_time next_time() const { return _events.top().at; }

    // Pre-condition: at >= now().
    void at(mono_time at, action a) { _events.push({at, _seq++, std::move(a)}); }
    void after(duration d, action a) { at(_now + d, std::move(a)); }

    // Moves the clock forward to `t` (when no event is due before it); time passes even when
    // nothing happens, e.g. while every node is down.
    void advance_to(mono_time t) {
        if (t > _now) {
            _now = t;
        }
    }

    // Runs the earliest event. Returns false when there is none.
    bool run_next() {
        if (_events.empty()) {
            return false;
        }
        event e = std::move(const_cast<event&>(_events.top()));
        _events.pop();
        _now = e.at;
        e.run();
        return true;
    }

private:
    struct event {
        mono_time at;
        std::uint64_t seq;
        action run;
        bool operator>(const event& o) const { return at != o.at ? at > o.at : seq > o.seq; }
    };

    mono_time _now{};
    std::uint64_t _seq = 0;
    std::priority_queue<event, std::vector<event>, std::greater<>> _events;
};

} // namespace roster::sim
