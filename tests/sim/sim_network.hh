#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <vector>

#include "common/prng.hh"
#include "common/time.hh"
#include "tests/sim/event_queue.hh"

namespace roster::sim {

// How one directed link behaves.
struct link_profile {
    duration min_delay = 1ms; // delay drawn uniformly in [min_delay, max_delay]
    duration max_delay = 5ms;
    double loss = 0;      // chance a message is lost
    double duplicate = 0; // chance it is delivered twice (the copy with its own delay)
    double slow = 0;      // chance of an extra delay up to slow_max (reorders messages)
    duration slow_max = 0ms;
    // As one TCP connection (rosterd's links are): messages arrive in order, and a lost message is
    // sent again after `retransmit` (doubled each time it is lost again, as TCP backs off), holding
    // back every later message of the link. Loss becomes a silence of a retransmission timeout
    // (Linux's is at least 200 ms), not a missing message; `duplicate` and `slow` do not apply.
    bool stream = false;
    duration retransmit = 200ms;
};

// A simulated network of n endpoints (0 .. n-1) over directed links, for messages of type M.
// Per link: a delay distribution, loss, duplication, slow outliers (so messages reorder),
// a one-way cut (messages dropped) and a one-way clog (messages held until the link unclogs,
// then released with fresh delays, in the FoundationDB manner). All randomness comes from the
// generator given at construction.
template <typename M>
class sim_network {
public:
    using deliver_fn = std::function<void(std::size_t from, std::size_t to, M message)>;

    sim_network(std::size_t n, event_queue& events, prng random, deliver_fn deliver)
        : _n(n)
        , _events(events)
        , _random(random)
        , _deliver(std::move(deliver))
        , _links(n * n) {}

    [[nodiscard]] std::size_t size() const noexcept { return _n; }
    link_profile& profile(std::size_t from, std::size_t to) { return link(from, to).profile; }
    void set_all_profiles(const link_profile& p) {
        for (auto& l : _links) {
            l.profile = p;
        }
    }

    void cut(std::size_t from, std::size_t to, bool on = true) { link(from, to).cut = on; }
    [[nodiscard]] bool is_cut(std::size_t from, std::size_t to) const { return _links[from * _n + to].cut; }
    void clog(std::size_t from, std::size_t to) { link(from, to).clogged = true; }
    void unclog(std::size_t from, std::size_t to) {
        auto& l = link(from, to);
        l.clogged = false;
        while (!l.held.empty()) {
            M m = std::move(l.held.front());
            l.held.pop_front();
            if (l.profile.stream) {
                send_in_stream(l, from, to, std::move(m));
            } else {
                schedule(from, to, std::move(m), delay(l.profile));
            }
        }
    }
    [[nodiscard]] bool is_clogged(std::size_t from, std::size_t to) const {
        return _links[from * _n + to].clogged;
    }
    // Cuts (or restores) both directions between `node` and everyone else.
    void isolate(std::size_t node, bool on = true) {
        for (std::size_t other = 0; other < _n; ++other) {
            if (other != node) {
                cut(node, other, on);
                cut(other, node, on);
            }
        }
    }
    // Removes every cut and clog (held messages are released).
    void heal() {
        for (std::size_t from = 0; from < _n; ++from) {
            for (std::size_t to = 0; to < _n; ++to) {
                cut(from, to, false);
                unclog(from, to);
            }
        }
    }

    // Sends a message; it arrives 0, 1 or 2 times, according to the link.
    void send(std::size_t from, std::size_t to, M message) {
        auto& l = link(from, to);
        ++_sent;
        if (l.cut || (!l.profile.stream && _random.chance(l.profile.loss))) {
            ++_dropped;
            return;
        }
        if (l.clogged) {
            l.held.push_back(std::move(message));
            return;
        }
        if (l.profile.stream) {
            send_in_stream(l, from, to, std::move(message));
            return;
        }
        if (_random.chance(l.profile.duplicate)) {
            schedule(from, to, message, delay(l.profile));
        }
        schedule(from, to, std::move(message), delay(l.profile));
    }

    [[nodiscard]] std::uint64_t sent() const noexcept { return _sent; }
    [[nodiscard]] std::uint64_t dropped() const noexcept { return _dropped; }

private:
    struct link_state {
        link_profile profile;
        bool cut = false;
        bool clogged = false;
        std::deque<M> held;
        mono_time stream_free; // stream: no message arrives before the previous one
    };

    void send_in_stream(link_state& l, std::size_t from, std::size_t to, M message) {
        duration d = base_delay(l.profile);
        duration rto = l.profile.retransmit;
        for (int lost = 0; lost < 8 && _random.chance(l.profile.loss); ++lost, rto *= 2) {
            ++_dropped; // a copy lost; the message comes later
            d += rto;
        }
        const mono_time at = std::max(_events.now() + d, l.stream_free);
        l.stream_free = at;
        schedule(from, to, std::move(message), at - _events.now());
    }

    link_state& link(std::size_t from, std::size_t to) { return _links[from * _n + to]; }

    // Uniform in [min_delay, max_delay].
    duration base_delay(const link_profile& p) {
        return duration(_random.between(p.min_delay.count(), std::max(p.min_delay, p.max_delay).count()));
    }

    duration delay(const link_profile& p) {
        duration d = base_delay(p);
        if (p.slow > 0 && _random.chance(p.slow)) {
            d += duration(_random.between(0, p.slow_max.count()));
        }
        return d;
    }

    void schedule(std::size_t from, std::size_t to, M message, duration d) {
        _events.after(
            d, [this, from, to, m = std::move(message)]() mutable { _deliver(from, to, std::move(m)); });
    }

    std::size_t _n;
    event_queue& _events;
    prng _random;
    deliver_fn _deliver;
    std::vector<link_state> _links;
    std::uint64_t _sent = 0;
    std::uint64_t _dropped = 0;
};

} // namespace roster::sim
