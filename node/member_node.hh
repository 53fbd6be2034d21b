#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/log_sink.hh"
#include "detector/heartbeat_interval.hh"
#include "node/health.hh"
#include "node/output.hh"
#include "views/view_publisher.hh"
#include "views/view_subscriber.hh"

namespace roster::node {

struct member_config {
    std::string cluster = "roster";
    std::string name;
    std::string address;          // own --listen endpoint
    std::string publish_endpoint; // own --publish endpoint
    std::vector<views::tag> tags;
    std::size_t voters = 1;            // voter --listen endpoints, by index (the driver knows them)
    incarnation_number incarnation{1}; // of this process; each rejoin uses the next one
    duration heartbeat_interval = 100ms;
    // Not empty: the heartbeat interval adapts to the size of the view this node holds
    // (detector::adaptive_heartbeat_interval over these levels; rosterd passes
    // detector::adaptive_levels), and heartbeat_interval is not used. Empty: heartbeat_interval.
    std::vector<detector::adaptive_level> heartbeat_levels{};
    duration request_timeout = 1s;  // a join or leave unanswered this long goes to the next voter
    duration retry_backoff = 100ms; // after a refusal (no leader yet), wait this long
    duration sync_timeout = 1s;
    duration poll_interval = 1s;
    std::size_t publisher_ring = 1024;

    [[nodiscard]] std::optional<std::string> validate() const;
};

// A member: joins through any voter, heartbeats to every voter, follows the views (the
// subscriber core over the voters' PUB streams and sync endpoints) and re-publishes them to its
// local subscribers, learns when it was removed and joins again under a new incarnation (except
// after an operator removed it: then it stays out, still following the views, until the process
// restarts), and leaves gracefully when asked. Deterministic and I/O-free like the voter.
//
// Inputs: tick(now); on_reply (a reply from voter endpoint i); on_published (from a voter's PUB
// stream); on_request (from its own local clients). Output: take_output() (to_endpoints,
// replies, published).
class member_node {
public:
    // removed_by_operator: out of the views until the process restarts (docs/membership.md).
    enum class phase : std::uint8_t { joining, active, leaving, left, removed_by_operator };

    member_node(const member_config& config, mono_time now, log_sink* logger = nullptr);

    void tick(mono_time now);
    void on_reply(std::size_t endpoint, const wire::body& msg, mono_time now);
    void on_published(const wire::body& msg, mono_time now);
    void on_request(route_id from, const wire::body& msg, mono_time now);
    // Starts a graceful leave; phase() becomes `left` once it committed (or after a few tries).
    void leave(mono_time now);
    output take_output();

    [[nodiscard]] phase current_phase() const noexcept { return _phase; }
    // The interval this member heartbeats at now (and says so in each heartbeat).
    [[nodiscard]] duration heartbeat_interval() const noexcept { return _interval; }
    [[nodiscard]] member_id id() const noexcept { return _id; }
    [[nodiscard]] incarnation_number incarnation() const noexcept { return _incarnation; }
    [[nodiscard]] const views::view& view() const noexcept { return _publisher.current(); }
    // The views this node re-publishes, with the ring of recent changes (a resync resets it): what
    // the daemon's HTTP API serves (/v1/views, /v1/watch).
    [[nodiscard]] const views::view_publisher& publisher() const noexcept { return _publisher; }
    [[nodiscard]] std::uint64_t rejoins() const noexcept { return _rejoins; }
    [[nodiscard]] std::uint64_t syncs_served() const noexcept { return _syncs_served; }
    [[nodiscard]] wire::status_reply status(std::uint64_t request_id) const;
    // GET /health and GET /ready (node/health.hh), as of the last input.
    [[nodiscard]] node::health health() const;

private:
    void send_heartbeat(); // every heartbeat_interval, to every voter
    void send_join();
    void send_leave();
    void removed(view_id in_view, views::removal_reason why);
    void take_subscriber_work();
    void deliver(const views::delivery& d);

    member_config _config;
    log_sink* _logger;
    mono_time _now;
    phase _phase = phase::joining;
    incarnation_number _incarnation;
    member_id _id;
    member_id _previous_id; // before a removal, for the "rejoined" event
    view_id _joined_in;     // the view that added this instance
    view_id _removed_in;    // removed_by_operator: the view that removed it
    std::optional<mono_time> _last_heard; // the last reply or publication from any voter
    std::uint64_t _rejoins = 0;
    // This node's own events ("removed", "rejoined") wait until the stream has delivered the view
    // they happened in: a join reply or a heartbeat reply can arrive before the view itself, and
    // a subscriber must not read of a view it has not seen. A few at most (one removal and one
    // rejoin per view); the oldest goes if more pile up.
    std::vector<views::node_event> _held_events;
    void emit(views::node_event e);
    void release_events();
    std::uint64_t _syncs_served = 0;

    std::size_t _endpoint = 0; // where joins and leaves go (rotates on timeout)
    std::uint64_t _next_request = 1;
    std::optional<std::uint64_t> _request; // join or leave in flight
    mono_time _request_deadline{};
    mono_time _next_attempt{};
    int _leave_attempts = 0;
    bool _leave_after_join = false; // leave() came while a join was on its way
    std::string _last_rejection;    // the error of the last join rejected (logged once while it lasts)

    mono_time _next_heartbeat{};
    std::uint64_t _sequence = 0;

    views::view_subscriber _subscriber;
    views::view_publisher _publisher;
    duration _interval; // the heartbeat interval now
    output _out;
};

} // namespace roster::node
