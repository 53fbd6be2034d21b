#pragma once

#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "common/result.hh"
#include "daemon/endpoint.hh"
#include "daemon/http_api.hh"
#include "daemon/http_board.hh"
#include "daemon/options.hh"
#include "node/member_node.hh"
#include "node/voter_node.hh"

namespace roster::daemon {

// Every metric rosterd exports (docs/monitoring.md lists them with their types and labels):
// names start with roster_, carry their unit, and every series has the labels `cluster` and
// `node`. The main loop updates them; prometheus-cpp's metrics are atomics, so the exposer's
// threads only read.
//
// Per-member series (roster_member_up, roster_member_phi) exist only while the view has at most
// `member_limit` members; above it they are dropped and the aggregates (roster_members_*,
// roster_member_phi_max) remain. A removed member's roster_member_up stays at 0 for five minutes,
// so that dashboards show it going down, then the series ends.
class metrics {
public:
    ~metrics();

    // The metrics of one node, not yet served: creating them opens nothing and starts no thread
    // (the daemon blocks its signals before any thread starts, see transport).
    metrics(const std::string& cluster, const std::string& name, bool voter, std::size_t member_limit);

    // Serves /metrics on o.metrics_listen (starts the exposer's threads): CivetWeb with
    // o.metrics_threads workers and o.metrics_request_timeout_ms (serving_options), and, with
    // o.metrics_auth_file, HTTP basic auth (metrics_auth). Also GET /health and GET /ready, always
    // without authentication (for load balancers; they tell only the verdicts of node/health.hh).
    // Empty on success, else a message naming the flag at fault and the reason. Call once.
    //
    // The HTTP API (/v1/..., the page at /; docs/http.md) is served there too, from board(), with the
    // same basic auth; `logger` (may be null) takes its few log lines.
    [[nodiscard]] std::optional<std::string> serve(const options& o,
                                                   std::shared_ptr<spdlog::logger> logger = nullptr);

    // What the HTTP API serves: the loop's drivers publish to it.
    [[nodiscard]] http_board& board() noexcept { return *_board; }
    // The API behind the port (null before serve()); for tests.
    [[nodiscard]] http_api* api() noexcept { return _api.get(); }

    // Where serve() listens (the ports the system chose for port 0); empty before.
    [[nodiscard]] const std::vector<int>& listening_ports() const noexcept { return _health_ports; }

    // The CivetWeb options (name, value, name, value...) rosterd serves /metrics with.
    [[nodiscard]] static std::vector<std::string> serving_options(const options& o);

    // The current value of the counter or gauge `name` whose labels include `labels` (0 when there
    // is no such series); for tests and diagnostics, it collects the whole registry.
    [[nodiscard]] double value(const std::string& name,
                               const std::map<std::string, std::string>& labels) const;

    // Everything as /metrics serves it (the text format); for tests and diagnostics.
    [[nodiscard]] std::string text() const;

    // Once per message read: the counter of each socket is looked up once, not per message (a
    // Family::Add builds a label map and takes the family's lock).
    void received(std::string_view socket);
    void dropped(const std::string& socket, const std::string& reason);
    // A connection whose security handshake failed (socket: listen, publish, peer, voter, sub).
    void handshake_failed(const std::string& socket, const std::string& reason);
    void authorized_keys(std::size_t n);
    void fsync_seconds(double s);
    // How late a turn of the poll loop ran its tick (the process or the machine stalled).
    void loop_lag_seconds(double s);
    void subscribers_changed(int delta);

    // Counts the members of every view by the values of these tag keys (--metrics-tag-keys), in
    // roster_members_tagged{key, value}: at most max_tag_values values per key, each with its own
    // series (the most common ones, ties by value), the others summed as value "other". Call before
    // the first observe().
    void count_tags(std::vector<std::string> keys);
    static constexpr std::size_t max_tag_values = 32;

    // Gauges and counters from the node's state; call every 100 ms or so.
    void observe(const node::voter_node& v, mono_time now);
    void observe(const node::member_node& m);
    void on_event(const node::voter_event& e);

    // What /health and /ready answer from now on (observe() sets it from the node; tests may too).
    void set_health(const node::health& h);
    // The HTTP status and JSON body of GET `path` ("/health" or "/ready") for verdict `h`.
    [[nodiscard]] static std::pair<int, std::string> health_response(const std::string& path, const node::health& h);

    // Shared with the exposer's threads, which read it under its lock.
    struct health_board {
        std::mutex lock;
        node::health verdict{false, "starting", false, "starting"};
    };
    void on_samples(const node::voter_samples& s);

private:
    prometheus::Gauge& gauge(const std::string& name, const std::string& help);
    prometheus::Counter& counter(const std::string& name, const std::string& help);
    // A counter family with one label, each of `values` present (at 0) from the start, so that a
    // dashboard's rate() sees the series before the first increment.
    prometheus::Family<prometheus::Counter>& counters(const std::string& name, const std::string& help,
                                                      const std::string& label,
                                                      std::initializer_list<const char*> values);
    prometheus::Histogram& histogram(const std::string& name, const std::string& help,
                                     prometheus::Histogram::BucketBoundaries buckets);
    void add(prometheus::Counter& c, std::uint64_t now_total, std::uint64_t& last);
    void per_member(const node::voter_node& v, mono_time now);
    void tagged(const views::view& v);

    std::shared_ptr<prometheus::Registry> _registry;
    std::shared_ptr<health_board> _health = std::make_shared<health_board>();
    std::shared_ptr<http_board> _board;
    std::shared_ptr<http_api> _api; // set by serve(); the exposer's threads hold it while they answer
    prometheus::Family<prometheus::Counter>* _http_requests = nullptr;
    prometheus::Gauge* _http_streams = nullptr;
    std::vector<int> _health_ports; // where the exposer listens, registered for /health
    std::unique_ptr<prometheus::Exposer> _exposer;
    std::map<std::string, std::string> _labels; // cluster, node
    std::size_t _member_limit;

    prometheus::Family<prometheus::Counter>* _received = nullptr;
    std::vector<std::pair<std::string, prometheus::Counter*>> _received_by_socket; // a few sockets
    prometheus::Family<prometheus::Counter>* _dropped = nullptr;
    prometheus::Family<prometheus::Counter>* _handshakes_failed = nullptr;
    prometheus::Gauge* _authorized_keys = nullptr;
    prometheus::Family<prometheus::Counter>* _view_changes = nullptr;
    prometheus::Family<prometheus::Gauge>* _raft_role = nullptr;
    prometheus::Family<prometheus::Gauge>* _member_state = nullptr;
    prometheus::Family<prometheus::Gauge>* _member_up = nullptr;
    prometheus::Family<prometheus::Gauge>* _member_phi = nullptr;

    prometheus::Gauge* _view_id = nullptr;
    prometheus::Gauge* _view_members = nullptr;
    prometheus::Gauge* _leader_member = nullptr;
    prometheus::Gauge* _fencing_token = nullptr;
    prometheus::Gauge* _subscribers = nullptr;
    prometheus::Counter* _syncs = nullptr;
    prometheus::Counter* _auth_refused = nullptr; // with --metrics-auth-file; incremented by exposer threads
    prometheus::Histogram* _fsync = nullptr;
    prometheus::Histogram* _loop_lag = nullptr;

    // Voters.
    prometheus::Gauge* _monitored = nullptr;
    prometheus::Gauge* _suspected = nullptr;
    prometheus::Gauge* _phi_max = nullptr;
    prometheus::Gauge* _local_health = nullptr;
    prometheus::Histogram* _interarrival = nullptr;
    prometheus::Histogram* _detection = nullptr;
    prometheus::Histogram* _commit_latency = nullptr;
    prometheus::Counter* _heartbeats = nullptr;
    prometheus::Family<prometheus::Counter>* _raised = nullptr; // by cause
    prometheus::Counter* _cleared = nullptr;
    prometheus::Gauge* _term = nullptr;
    prometheus::Gauge* _election_timeout = nullptr;
    prometheus::Gauge* _commit_index = nullptr;
    prometheus::Gauge* _leader_voter = nullptr;
    prometheus::Counter* _leader_changes = nullptr;
    prometheus::Counter* _elections = nullptr;
    prometheus::Counter* _pre_elections = nullptr;
    prometheus::Counter* _proposals = nullptr;
    prometheus::Family<prometheus::Counter>* _step_downs = nullptr; // by reason
    prometheus::Counter* _snapshots_sent = nullptr;
    prometheus::Counter* _snapshots_installed = nullptr;
    prometheus::Counter* _campaigns_at_max_term = nullptr;
    prometheus::Family<prometheus::Counter>* _rejected = nullptr; // requests, by reason
    prometheus::Counter* _removals_requested = nullptr;
    prometheus::Counter* _removals_held = nullptr;
    prometheus::Family<prometheus::Counter>* _skipped = nullptr;  // committed entries, by reason

    // Tags (--metrics-tag-keys).
    std::vector<std::string> _tag_keys;
    prometheus::Family<prometheus::Gauge>* _tagged = nullptr;
    std::map<std::pair<std::string, std::string>, prometheus::Gauge*> _tagged_series; // by key, value
    std::optional<view_id> _tagged_view; // the view last counted

    // Members.
    prometheus::Gauge* _member_id = nullptr;
    prometheus::Counter* _rejoins = nullptr;

    struct last_totals {
        std::uint64_t syncs = 0, heartbeats = 0, cleared = 0, leader_changes = 0, elections = 0,
                      pre_elections = 0, proposals = 0, step_downs = 0, higher_term_step_downs = 0, snapshots_sent = 0,
                      snapshots_installed = 0, unknown_voter = 0, stale_term = 0, invalid = 0,
                      snapshot_refused = 0, rejoins = 0, requests_refused = 0, campaigns_at_max_term = 0,
                      requests_invalid = 0, joins_over_limit = 0, commands_undecodable = 0,
                      commands_invalid = 0, removals_refused = 0, removals_requested = 0,
                      removals_held = 0;
    } _last;

    struct member_series {
        prometheus::Gauge* up;
        prometheus::Gauge* phi;
        std::optional<mono_time> removed_at;
    };
    std::map<member_id, member_series> _members;
};

} // namespace roster::daemon
