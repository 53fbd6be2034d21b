#pragma once

#include <cstddef>
#include <deque>

#include "views/messages.hh"
#include "views/view.hh"

namespace roster::views {

// The publishing side of views: the current view and a ring of the most recent changes, from
// which it answers sync requests. Voters feed it every committed change; members feed it the
// views they receive, to serve their local subscribers.
class view_publisher {
public:
    // `capacity`: how many recent changes are kept for catch-up (at least 1).
    explicit view_publisher(std::size_t capacity = 1024);

    // Starts over from a full view (at startup, after a snapshot, after a subscriber resync):
    // the ring is emptied.
    void reset(view current);
    // Pre-condition: c.id == current().id + 1.
    void publish(const view_change& c);

    [[nodiscard]] const view& current() const noexcept { return _current; }
    // The oldest view id the ring can bring a subscriber to from its predecessor (0: none).
    [[nodiscard]] view_id oldest_change() const noexcept {
        return _ring.empty() ? view_id() : _ring.front().id;
    }

    // Answers a sync request: every change after `after` when the ring reaches back that far;
    // otherwise (or when asked for it) the full current view. A subscriber that is up to date gets
    // neither, only the current view id.
    [[nodiscard]] sync_reply answer(const sync_request& q) const;

private:
    std::size_t _capacity;
    view _current;
    std::deque<view_change> _ring; // consecutive ids, ending at _current.id
};

} // namespace roster::views
