#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "common/time.hh"
#include "views/messages.hh"
#include "views/view.hh"

namespace roster::views {

struct subscriber_config {
    std::size_t endpoints = 1;   // sync endpoints, tried in order 0, 1, ... (failover)
    duration sync_timeout = 1s;  // a sync request unanswered this long goes to the next endpoint
    duration poll_interval = 1s; // ask for news this often even when the stream is quiet: a lost
                                 // last message would otherwise go unnoticed until the next view
};

// One view handed to the application.
struct delivery {
    view current;        // the whole view; joined/removed say what changed from the previous one
    bool resync = false; // views between the previous delivery and this one are no longer held by
                         // any publisher; this is the full current view and joined/removed are
                         // relative to its own predecessor, not to the previous delivery
};

// The subscriber client library's core, without sockets or clocks (the shell that owns the
// ZeroMQ sockets feeds it; so does the simulation).
//
// Guarantees: deliveries have strictly increasing view ids; the first is the current view at
// the time of the first sync; every later one is the next view (id + 1) unless `resync` says
// the history in between is gone. Gaps in the published stream (ZeroMQ PUB drops messages on
// connect and under load) are detected by id and filled with sync requests; a publisher that
// does not answer within sync_timeout is replaced by the next endpoint.
//
// Inputs: on_change / on_full (the PUB stream, from any endpoint), on_sync_reply, tick.
// Outputs: take_deliveries, take_request (a sync request to send, and to which endpoint).
class view_subscriber {
public:
    explicit view_subscriber(const subscriber_config& config);

    void start(mono_time now);
    void on_change(const view_change& c, mono_time now);
    void on_full(const view& v, mono_time now);
    void on_sync_reply(std::size_t endpoint, const sync_reply& r, mono_time now);
    void tick(mono_time now);

    std::vector<delivery> take_deliveries();
    struct request {
        std::size_t endpoint;
        sync_request msg;
    };
    std::optional<request> take_request();

    [[nodiscard]] const view* current() const noexcept { return _current ? &*_current : nullptr; }
    [[nodiscard]] std::size_t endpoint() const noexcept { return _endpoint; }

    struct stats {
        std::uint64_t gaps = 0;      // times the stream skipped ahead
        std::uint64_t syncs = 0;     // sync requests sent
        std::uint64_t failovers = 0; // endpoint switches after a timeout
        std::uint64_t resyncs = 0;   // full views delivered over a gap
    };
    [[nodiscard]] const stats& counters() const noexcept { return _stats; }

private:
    void deliver(view v, bool resync);
    void drain_buffer();
    void request_sync(mono_time now, bool full);

    subscriber_config _config;
    std::optional<view> _current;
    std::map<view_id, view_change> _buffer; // changes ahead of the current view
    bool _buffered_full_gap = false;        // a full view ahead of us was seen
    std::size_t _endpoint = 0;
    std::uint64_t _next_request = 1;
    std::optional<std::uint64_t> _pending; // request id in flight
    mono_time _pending_deadline{};
    mono_time _last_sync{};
    std::optional<request> _outgoing;
    std::vector<delivery> _deliveries;
    stats _stats;
};

} // namespace roster::views
