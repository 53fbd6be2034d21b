#include "daemon/metrics.hh"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <limits>
#include <set>

#include <CivetServer.h>
#include <civetweb.h>
#include <fmt/format.h>
#include <prometheus/text_serializer.h>

#include "common/escape.hh"
#include "daemon/http_connection.hh"
#include "daemon/metrics_auth.hh"
#include "views/view_ops.hh"

namespace roster::daemon {

namespace {

constexpr auto removed_series_kept = std::chrono::minutes(5);

double seconds(duration d) { return std::chrono::duration<double>(d).count(); }

// GET /health and GET /ready are answered in CivetWeb's begin_request callback, which runs on the
// exposer's worker threads before any handler and before the basic-auth check of /metrics. The
// callback gets only the connection: prometheus-cpp's server carries no pointer of ours, so the
// board of each metrics object is found by the port the request arrived on. A process-wide table,
// kept small (one entry per serving metrics object) and under its own lock.
//
// The HTTP API (daemon/http_api.hh) answers everything but /metrics there too, after /health and
// /ready.
struct port_board {
    std::weak_ptr<metrics::health_board> health;
    std::weak_ptr<http_api> api;
};
std::mutex boards_lock;
std::map<int, port_board> boards; // by listening port

int answer_health(mg_connection* conn) {
    const mg_request_info* info = mg_get_request_info(conn);
    if (info == nullptr || info->local_uri == nullptr) {
        return 0;
    }
    const std::string path = info->local_uri;
    if (path == "/metrics" || path.rfind("/metrics/", 0) == 0) {
        return 0; // prometheus-cpp's handler, behind its own basic-auth check
    }
    std::shared_ptr<metrics::health_board> board;
    std::shared_ptr<http_api> api;
    {
        std::lock_guard<std::mutex> hold(boards_lock);
        if (auto it = boards.find(info->server_port); it != boards.end()) {
            board = it->second.health.lock();
            api = it->second.api.lock();
        }
    }
    if (path != "/health" && path != "/ready") {
        return api ? answer_http(conn, *api) : 0;
    }
    if (!board) {
        return 0;
    }
    const std::string method = info->request_method != nullptr ? info->request_method : "";
    if (method != "GET" && method != "HEAD") {
        mg_printf(conn, "HTTP/1.1 405 Method Not Allowed\r\nAllow: GET, HEAD\r\nContent-Length: 0\r\n"
                        "Connection: close\r\n\r\n");
        return 405;
    }
    node::health verdict;
    {
        std::lock_guard<std::mutex> hold(board->lock);
        verdict = board->verdict;
    }
    const auto [status, body] = metrics::health_response(path, verdict);
    mg_printf(conn,
              "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nCache-Control: no-store\r\n"
              "Content-Length: %zu\r\nConnection: close\r\n\r\n",
              status, status == 200 ? "OK" : "Service Unavailable", body.size());
    if (method == "GET") {
        mg_write(conn, body.data(), body.size());
    }
    return status;
}

const char* role_label(consensus::role r) {
    switch (r) {
    case consensus::role::leader:
        return "leader";
    case consensus::role::follower:
        return "follower";
    case consensus::role::candidate:
        return "candidate";
    case consensus::role::pre_candidate:
        return "pre_candidate";
    }
    return "follower";
}

} // namespace

prometheus::Gauge& metrics::gauge(const std::string& name, const std::string& help) {
    return prometheus::BuildGauge().Name(name).Help(help).Labels(_labels).Register(*_registry).Add({});
}

prometheus::Counter& metrics::counter(const std::string& name, const std::string& help) {
    return prometheus::BuildCounter().Name(name).Help(help).Labels(_labels).Register(*_registry).Add({});
}

prometheus::Family<prometheus::Counter>& metrics::counters(const std::string& name, const std::string& help,
                                                           const std::string& label,
                                                           std::initializer_list<const char*> values) {
    auto& family = prometheus::BuildCounter().Name(name).Help(help).Labels(_labels).Register(*_registry);
    for (const char* v : values) {
        family.Add({{label, v}});
    }
    return family;
}

prometheus::Histogram& metrics::histogram(const std::string& name, const std::string& help,
                                          prometheus::Histogram::BucketBoundaries buckets) {
    return prometheus::BuildHistogram()
        .Name(name)
        .Help(help)
        .Labels(_labels)
        .Register(*_registry)
        .Add({}, buckets);
}

metrics::metrics(const std::string& cluster, const std::string& name, bool voter, std::size_t member_limit)
    : _registry(std::make_shared<prometheus::Registry>())
    // Label values must be valid UTF-8, or Prometheus drops the whole scrape; prometheus-cpp escapes
    // backslash, quote and newline itself.
    , _labels{{"cluster", to_valid_utf8(cluster)}, {"node", to_valid_utf8(name)}}
    , _member_limit(member_limit) {
    prometheus::BuildGauge()
        .Name("roster_build_info")
        .Help("Build and role of this rosterd (always 1)")
        .Labels(_labels)
        .Register(*_registry)
        .Add({{"version", ROSTER_VERSION}, {"role", voter ? "voter" : "member"}})
        .Set(1);
    _received = &prometheus::BuildCounter()
                     .Name("roster_messages_received_total")
                     .Help("Messages received, by socket (listen, peer, voter, sub)")
                     .Labels(_labels)
                     .Register(*_registry);
    _dropped =
        &prometheus::BuildCounter()
             .Name("roster_messages_dropped_total")
             .Help("Messages dropped, by socket and reason (decode_error, wrong_cluster, unknown_sender, "
                   "bad_framing, stale_term, send_queue_full)")
             .Labels(_labels)
             .Register(*_registry);
    // Present from the start, so that rate() has a zero to start from.
    _dropped->Add({{"socket", "listen"}, {"reason", "decode_error"}});
    _dropped->Add({{"socket", "listen"}, {"reason", "wrong_cluster"}});
    _dropped->Add({{"socket", "listen"}, {"reason", "unauthorized"}});
    _dropped->Add({{"socket", "listen"}, {"reason", "not_permitted"}});
    _dropped->Add({{"socket", "listen"}, {"reason", "not_owner"}});
    _dropped->Add({{"socket", "listen"}, {"reason", "rate_limited"}});
    _handshakes_failed = &prometheus::BuildCounter()
                              .Name("roster_handshakes_failed_total")
                              .Help("Connections whose CURVE handshake failed, by socket and reason "
                                    "(unauthorized_key, mechanism_mismatch, cryptographic, protocol)")
                              .Labels(_labels)
                              .Register(*_registry);
    _handshakes_failed->Add({{"socket", "listen"}, {"reason", "unauthorized_key"}});
    _handshakes_failed->Add({{"socket", "listen"}, {"reason", "mechanism_mismatch"}});
    _authorized_keys = &gauge("roster_authorized_keys", "Keys this node accepts (0: an insecure node)");
    _view_id = &gauge("roster_view_id", "Number of the current view");
    _view_members = &gauge("roster_view_members", "Members in the current view");
    _leader_member =
        &gauge("roster_view_leader_member_id", "Member id of the view's leader (lowest id; 0: none)");
    _fencing_token =
        &gauge("roster_view_fencing_token", "The leader's fencing token: the view at which it took over");
    _subscribers = &gauge("roster_subscribers_connected", "Connections to this node's publish socket");
    _board = std::make_shared<http_board>(voter);
    _http_requests = &prometheus::BuildCounter()
                          .Name("roster_http_requests_total")
                          .Help("Requests on the metrics port answered by rosterd (not /metrics), by path "
                                "(/v1/members, /v1/status, /v1/views, /v1/watch, /v1/detector, "
                                "page: / and its files, other) and status code")
                          .Labels(_labels)
                          .Register(*_registry);
    _http_streams = &gauge("roster_http_watch_streams", "Open /v1/watch streams (Server-Sent Events)");
    _syncs = &counter("roster_sync_requests_total", "Sync requests served (catch-up of subscribers)");
    _loop_lag = &histogram("roster_loop_lag_seconds",
                           "How late the poll loop ran its 10 ms tick: the process or the machine stalled "
                           "(a voter's leader stalled past --election-timeout-ms loses its leadership)",
                           {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5});

    if (voter) {
        _fsync = &histogram("roster_storage_fsync_seconds", "Time to make one batch durable",
                            {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1});
        _view_changes = &counters("roster_view_changes_total",
                                  "Members joined or removed by committed views, by reason (joined, left, "
                                  "suspected, replaced, removed_by_operator)",
                                  "reason", {"joined", "left", "suspected", "replaced", "removed_by_operator"});
        _member_up = &prometheus::BuildGauge()
                          .Name("roster_member_up")
                          .Help("1 while this voter's detector trusts the member, 0 while it suspects it or "
                                "after its removal (per member, up to --metrics-member-limit members)")
                          .Labels(_labels)
                          .Register(*_registry);
        _member_phi = &prometheus::BuildGauge()
                           .Name("roster_member_phi")
                           .Help("Phi of the member at this voter (+Inf: never heard from)")
                           .Labels(_labels)
                           .Register(*_registry);
        _monitored = &gauge("roster_members_monitored", "Members this voter's detectors watch");
        _suspected = &gauge("roster_members_suspected", "Members this voter's detectors suspect now");
        _phi_max = &gauge("roster_member_phi_max", "Highest phi among the members this voter watches");
        _local_health = &gauge("roster_local_health_score",
                               "This voter's local health score (0: healthy; n: it suspects a member only after "
                               "n+1 times the usual silence: many members looked late here, more than usually, or it stalled)");
        _interarrival =
            &histogram("roster_heartbeat_interarrival_seconds", "Time between two heartbeats of a member",
                       {0.01, 0.025, 0.05, 0.075, 0.1, 0.125, 0.15, 0.2, 0.3, 0.5, 1, 2, 5});
        _detection =
            &histogram("roster_detection_seconds",
                       "From a member's last heartbeat here to the commit of its removal as suspected",
                       {0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1, 2, 5, 10});
        _commit_latency = &histogram("roster_raft_commit_latency_seconds",
                                     "From proposing a membership command to applying it (leader)",
                                     {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1});
        _heartbeats = &counter("roster_heartbeats_received_total", "Heartbeats accepted from members");
        _raised = &counters("roster_suspicions_raised_total",
                            "Times this voter began to suspect a member, by cause (phi: phi reached the "
                            "threshold; never_heard: no heartbeat within the grace period after it joined)",
                            "cause", {"phi", "never_heard"});
        _cleared =
            &counter("roster_suspicions_cleared_total", "Times a suspected member was heard from again");
        _raft_role = &prometheus::BuildGauge()
                          .Name("roster_raft_role")
                          .Help("1 for the consensus role this voter has now (leader, follower, candidate, "
                                "pre_candidate), 0 for the others")
                          .Labels(_labels)
                          .Register(*_registry);
        for (const char* r : {"leader", "follower", "candidate", "pre_candidate"}) {
            _raft_role->Add({{"role", r}});
        }
        _term = &gauge("roster_raft_term", "Current Raft term");
        _election_timeout = &gauge("roster_raft_election_timeout_seconds",
                                   "The election timeout in force (it adapts to the silences between voters, "
                                   "between --election-timeout-ms and --election-timeout-max-ms)");
        _commit_index = &gauge("roster_raft_commit_index", "Raft commit index");
        _leader_voter =
            &gauge("roster_raft_leader_voter_id", "The consensus leader as this voter knows it (0: none)");
        _leader_changes =
            &counter("roster_raft_leader_changes_total", "Times the known consensus leader changed");
        _elections = &counter("roster_raft_elections_total", "Elections started by this voter (term raised)");
        _pre_elections = &counter("roster_raft_pre_elections_total", "Pre-vote rounds started by this voter");
        _proposals = &counter("roster_raft_proposals_total", "Commands proposed by this voter as leader");
        _step_downs = &counters("roster_raft_step_downs_total",
                                "Times this leader stepped down, by reason (lost_quorum: heard from no majority "
                                "in an election timeout; higher_term: another voter had a higher term)",
                                "reason", {"lost_quorum", "higher_term"});
        _snapshots_sent = &counter("roster_raft_snapshots_sent_total", "Snapshots sent to lagging followers");
        _snapshots_installed =
            &counter("roster_raft_snapshots_installed_total", "Snapshots installed from a leader");
        _campaigns_at_max_term =
            &counter("roster_raft_campaigns_at_max_term_total",
                     "Elections not started: the term is at the largest a voter takes (2^62)");
        _rejected = &counters("roster_requests_rejected_total",
                              "Joins, leaves and removals answered rejected by this voter, by reason (invalid: "
                              "beyond the bounds on names, tags, incarnations, endpoints; max_members; "
                              "not_permitted: an operator's removal from a key that is not an admin's)",
                              "reason", {"invalid", "max_members", "not_permitted"});
        _removals_requested = &counter("roster_operator_removals_total",
                                       "Operators' removals this voter queued as the consensus leader");
        _removals_held = &counter("roster_removals_held_total",
                                  "Removals a majority of voters asked for that this voter, as the consensus "
                                  "leader, held because a voter it can talk to still heard the member (counted "
                                  "when a hold starts)");
        _skipped = &counters("roster_commands_skipped_total",
                             "Committed entries not applied, alike on every voter, by reason (undecodable, "
                             "invalid: a join beyond the bounds)",
                             "reason", {"undecodable", "invalid"});
    } else {
        _member_state = &prometheus::BuildGauge()
                             .Name("roster_member_state")
                             .Help("1 for this member's state now (joining, active, leaving, left, "
                                   "removed_by_operator)")
                             .Labels(_labels)
                             .Register(*_registry);
        for (const char* s : {"joining", "active", "leaving", "left", "removed_by_operator"}) {
            _member_state->Add({{"state", s}});
        }
        _member_id = &gauge("roster_member_id", "This member's id in the view (0 while joining)");
        _rejoins = &counter("roster_member_rejoins_total",
                            "Times this member was removed while alive and joined again");
    }
}

namespace {

// Where keep_civetweb_start_error puts CivetWeb's first message while metrics::serve starts the
// exposer on this thread (nullptr otherwise: CivetWeb then logs as it would without a callback).
thread_local std::string* civetweb_start_error = nullptr;

int keep_civetweb_start_error(const mg_connection*, const char* message) {
    if (civetweb_start_error == nullptr || message == nullptr) {
        return 0;
    }
    if (civetweb_start_error->empty()) {
        *civetweb_start_error = message;
    }
    return 1;
}

} // namespace

std::vector<std::string> metrics::serving_options(const options& o) {
    // CivetWeb gives each connection a worker thread from accept to close, and queues the others
    // in accept order. A client that sends part of a request and stalls holds its worker until
    // request_timeout_ms, which bounds the whole header (also one trickled in a byte at a time); a
    // scrape queued behind stalled connections waits for them. So /metrics answers at once while
    // fewer than num_threads connections are open, and the timeout bounds how long each stalled
    // one costs (docs/monitoring.md, "Serving /metrics", has the measurements). Keep-alive stays
    // off (so no keep-alive timeout applies): an idle scrape connection would hold a worker too.
    return {"listening_ports",    o.metrics_listen.text(),
            "num_threads",        std::to_string(o.metrics_threads),
            "request_timeout_ms", std::to_string(o.metrics_request_timeout_ms),
            "enable_keep_alive",  "no"};
}

metrics::~metrics() {
    // Open watch streams end now, so that the exposer's workers (whose end the exposer waits for)
    // are free promptly.
    _board->stop();
    {
        std::lock_guard<std::mutex> hold(boards_lock);
        for (int port : _health_ports) {
            boards.erase(port);
        }
    }
    _exposer.reset();
}

std::pair<int, std::string> metrics::health_response(const std::string& path, const node::health& h) {
    const bool ok = path == "/ready" ? h.ready : h.healthy;
    const std::string& reason = path == "/ready" ? h.ready_reason : h.reason;
    const char* field = path == "/ready" ? "ready" : "health";
    if (ok) {
        return {200, fmt::format("{{\"{}\":\"true\"}}\n", field)};
    }
    return {503, fmt::format("{{\"{}\":\"false\",\"reason\":{}}}\n", field, json_quote(reason))};
}

void metrics::set_health(const node::health& h) {
    std::lock_guard<std::mutex> hold(_health->lock);
    _health->verdict = h;
}

std::optional<std::string> metrics::serve(const options& o, std::shared_ptr<spdlog::logger> logger) {
    std::shared_ptr<const metrics_auth> auth;
    if (!o.metrics_auth_file.empty()) {
        auto loaded = metrics_auth::load(o.metrics_auth_file);
        if (!loaded) {
            return loaded.error();
        }
        auth = std::make_shared<const metrics_auth>(std::move(loaded).value());
        _auth_refused = &counter("roster_metrics_auth_refused_total",
                                 "Requests to /metrics, the HTTP API or the page refused for a wrong user or password "
                                 "(basic auth)");
    }
    http_api::settings api_settings;
    api_settings.auth = auth;
    api_settings.threads = o.metrics_threads;
    api_settings.loopback_hosts_only = !auth && is_loopback(o.metrics_listen);
    http_api::hooks hooks;
    hooks.answered = [family = _http_requests](std::string_view path, int status) {
        family->Add({{"path", std::string(path)}, {"code", std::to_string(status)}}).Increment();
    };
    hooks.auth_refused = [refused = _auth_refused] {
        if (refused != nullptr) {
            refused->Increment();
        }
    };
    hooks.streams = [gauge = _http_streams](int open) { gauge->Set(open); };
    _api = std::make_shared<http_api>(_board, std::move(api_settings), std::move(hooks), std::move(logger));
    // CivetWeb says why it could not start (the bind's error) only to its log callback, on this
    // thread; prometheus-cpp's exception then says "null context when constructing CivetServer".
    std::string start_error;
    civetweb_start_error = &start_error;
    CivetCallbacks callbacks;
    callbacks.log_message = keep_civetweb_start_error;
    callbacks.begin_request = answer_health;
    // Known before the server listens (unless the port is 0), so that /health never meets a port
    // without its board.
    auto register_port = [&](int port) {
        std::lock_guard<std::mutex> hold(boards_lock);
        boards[port] = {_health, _api};
        _health_ports.push_back(port);
    };
    if (o.metrics_listen.port != 0) {
        register_port(o.metrics_listen.port);
    }
    try {
        _exposer = std::make_unique<prometheus::Exposer>(serving_options(o), &callbacks);
    } catch (const std::exception& e) {
        civetweb_start_error = nullptr;
        if (start_error.find(std::strerror(EADDRINUSE)) != std::string::npos) {
            return bind_error("--metrics-listen", o.metrics_listen, EADDRINUSE);
        }
        return fmt::format("--metrics-listen {}: cannot serve metrics: {}", o.metrics_listen.text(),
                           start_error.empty() ? e.what() : start_error);
    }
    civetweb_start_error = nullptr;
    if (auth) {
        // Registered before the registry is attached, so that no metric is ever served without the
        // check. The callback runs on the exposer's threads: it reads the immutable user list and
        // increments an atomic counter. (prometheus-cpp answers 401 to a request without a Basic
        // Authorization header, or with one that does not decode, before calling it.)
        _exposer->RegisterAuth(
            [auth, refused = _auth_refused](const std::string& user, const std::string& password) {
                const bool ok = auth->allows(user, password);
                if (!ok) {
                    refused->Increment();
                }
                return ok;
            },
            "roster");
    }
    _exposer->RegisterCollectable(_registry);
    for (int port : _exposer->GetListeningPorts()) {
        if (port != o.metrics_listen.port) {
            register_port(port);
        }
    }
    return std::nullopt;
}

double metrics::value(const std::string& name, const std::map<std::string, std::string>& labels) const {
    for (const auto& family : _registry->Collect()) {
        if (family.name != name) {
            continue;
        }
        for (const auto& m : family.metric) {
            const bool matches = std::all_of(labels.begin(), labels.end(), [&](const auto& want) {
                return std::any_of(m.label.begin(), m.label.end(),
                                   [&](const prometheus::ClientMetric::Label& l) {
                                       return l.name == want.first && l.value == want.second;
                                   });
            });
            if (matches) {
                return family.type == prometheus::MetricType::Gauge ? m.gauge.value : m.counter.value;
            }
        }
    }
    return 0;
}

std::string metrics::text() const { return prometheus::TextSerializer().Serialize(_registry->Collect()); }

void metrics::received(std::string_view socket) {
    for (auto& [name, counter] : _received_by_socket) {
        if (name == socket) {
            counter->Increment();
            return;
        }
    }
    auto& c = _received->Add({{"socket", std::string(socket)}});
    _received_by_socket.emplace_back(std::string(socket), &c);
    c.Increment();
}

void metrics::handshake_failed(const std::string& socket, const std::string& reason) {
    _handshakes_failed->Add({{"socket", socket}, {"reason", reason}}).Increment();
}

void metrics::authorized_keys(std::size_t n) { _authorized_keys->Set(static_cast<double>(n)); }

void metrics::dropped(const std::string& socket, const std::string& reason) {
    _dropped->Add({{"socket", socket}, {"reason", reason}}).Increment();
}

void metrics::loop_lag_seconds(double s) { _loop_lag->Observe(s); }

void metrics::fsync_seconds(double s) {
    if (_fsync != nullptr) {
        _fsync->Observe(s);
    }
}

void metrics::subscribers_changed(int delta) { _subscribers->Increment(delta); }

void metrics::add(prometheus::Counter& c, std::uint64_t now_total, std::uint64_t& last) {
    if (now_total > last) {
        c.Increment(static_cast<double>(now_total - last));
    }
    last = now_total;
}

void metrics::observe(const node::voter_node& v, mono_time now) {
    const auto& view = v.view();
    _view_id->Set(static_cast<double>(view.id.value()));
    _view_members->Set(static_cast<double>(view.members.size()));
    _leader_member->Set(static_cast<double>(view.leader.value()));
    _fencing_token->Set(static_cast<double>(view.fencing_token.value()));
    tagged(view);
    set_health(v.health());

    const auto& raft = v.consensus();
    for (const auto r : {consensus::role::leader, consensus::role::follower, consensus::role::candidate,
                         consensus::role::pre_candidate}) {
        _raft_role->Add({{"role", role_label(r)}}).Set(raft.role() == r ? 1 : 0);
    }
    _term->Set(static_cast<double>(raft.term().value()));
    _election_timeout->Set(raft.election_ticks() * std::chrono::duration<double>(v.config().raft_tick).count());
    _commit_index->Set(static_cast<double>(raft.commit_index().value()));
    _leader_voter->Set(static_cast<double>(raft.leader().value()));
    const auto& rc = raft.counters();
    add(*_leader_changes, rc.leader_changes, _last.leader_changes);
    add(*_elections, rc.elections, _last.elections);
    add(*_pre_elections, rc.pre_elections, _last.pre_elections);
    add(*_proposals, rc.proposals, _last.proposals);
    add(_step_downs->Add({{"reason", "lost_quorum"}}), rc.check_quorum_step_downs, _last.step_downs);
    add(_step_downs->Add({{"reason", "higher_term"}}), rc.higher_term_step_downs, _last.higher_term_step_downs);
    add(*_snapshots_sent, rc.snapshots_sent, _last.snapshots_sent);
    add(*_snapshots_installed, rc.snapshots_installed, _last.snapshots_installed);
    add(_dropped->Add({{"socket", "peer"}, {"reason", "unknown_sender"}}), rc.dropped_unknown_voter,
        _last.unknown_voter);
    add(_dropped->Add({{"socket", "peer"}, {"reason", "stale_term"}}), rc.dropped_stale_term,
        _last.stale_term);
    add(_dropped->Add({{"socket", "peer"}, {"reason", "invalid"}}), rc.dropped_invalid, _last.invalid);
    add(_dropped->Add({{"socket", "peer"}, {"reason", "snapshot_refused"}}), v.counters().snapshots_refused,
        _last.snapshot_refused);
    add(_dropped->Add({{"socket", "listen"}, {"reason", "not_owner"}}), v.counters().requests_refused,
        _last.requests_refused);

    const auto& vc = v.counters();
    add(*_syncs, vc.sync_requests, _last.syncs);
    add(*_heartbeats, vc.heartbeats, _last.heartbeats);
    add(*_cleared, vc.suspicions_cleared, _last.cleared);
    add(*_campaigns_at_max_term, rc.campaigns_at_max_term, _last.campaigns_at_max_term);
    add(_rejected->Add({{"reason", "invalid"}}), vc.requests_invalid, _last.requests_invalid);
    add(_rejected->Add({{"reason", "max_members"}}), vc.joins_over_limit, _last.joins_over_limit);
    add(_rejected->Add({{"reason", "not_permitted"}}), vc.removals_refused, _last.removals_refused);
    add(*_removals_requested, vc.removals_requested, _last.removals_requested);
    add(*_removals_held, vc.removals_held, _last.removals_held);
    add(_skipped->Add({{"reason", "undecodable"}}), vc.commands_undecodable, _last.commands_undecodable);
    add(_skipped->Add({{"reason", "invalid"}}), vc.commands_invalid, _last.commands_invalid);

    per_member(v, now);
}

void metrics::count_tags(std::vector<std::string> keys) {
    _tag_keys = std::move(keys);
    if (_tag_keys.empty() || _tagged != nullptr) {
        return;
    }
    _tagged = &prometheus::BuildGauge()
                   .Name("roster_members_tagged")
                   .Help("Members of the current view with tag KEY=VALUE, for the keys of --metrics-tag-keys "
                         "(at most 32 values a key; the rest summed as value \"other\")")
                   .Labels(_labels)
                   .Register(*_registry);
}

void metrics::tagged(const views::view& v) {
    if (_tagged == nullptr || _tagged_view == v.id) {
        return;
    }
    _tagged_view = v.id;
    std::map<std::pair<std::string, std::string>, double> now; // the series of this view
    for (const auto& key : _tag_keys) {
        std::map<std::string, std::size_t> values;
        for (const auto& m : v.members) {
            // A member counts once per value, even with the tag twice.
            std::set<std::string> seen;
            for (const auto& t : m.tags) {
                if (t.key == key && seen.insert(t.value).second) {
                    ++values[t.value];
                }
            }
        }
        std::vector<std::pair<std::string, std::size_t>> ranked(values.begin(), values.end());
        std::stable_sort(ranked.begin(), ranked.end(),
                         [](const auto& a, const auto& b) { return a.second > b.second; });
        for (std::size_t i = 0; i < ranked.size(); ++i) {
            // Label values must be valid UTF-8 (prometheus-cpp escapes \, " and newlines itself).
            const std::string value = i < max_tag_values ? to_valid_utf8(ranked[i].first) : std::string("other");
            now[{key, value}] += static_cast<double>(ranked[i].second);
        }
    }
    for (auto it = _tagged_series.begin(); it != _tagged_series.end();) {
        if (now.count(it->first) == 0) {
            _tagged->Remove(it->second);
            it = _tagged_series.erase(it);
        } else {
            ++it;
        }
    }
    for (const auto& [kv, n] : now) {
        auto& g = _tagged_series[kv];
        if (g == nullptr) {
            g = &_tagged->Add({{"key", to_valid_utf8(kv.first)}, {"value", kv.second}});
        }
        g->Set(n);
    }
}

void metrics::per_member(const node::voter_node& v, mono_time now) {
    const auto& registry = v.detectors();
    double phi_max = 0;
    std::size_t suspected = 0;
    const bool detailed = v.view().members.size() <= _member_limit;
    std::map<member_id, std::pair<bool, double>> current;
    registry.for_each([&](member_id m, const detector::phi_accrual_detector&, bool s) {
        const double phi = registry.phi(m, now).value_or(0);
        phi_max = std::max(phi_max, phi);
        suspected += s ? 1 : 0;
        if (detailed) {
            current.emplace(m, std::make_pair(s, phi));
        }
    });
    _monitored->Set(static_cast<double>(registry.size()));
    _suspected->Set(static_cast<double>(suspected));
    _phi_max->Set(phi_max);
    _local_health->Set(static_cast<double>(v.local_health_score()));

    if (!detailed) {
        for (auto& [m, series] : _members) {
            _member_up->Remove(series.up);
            _member_phi->Remove(series.phi);
        }
        _members.clear();
        return;
    }
    for (const auto& [m, state] : current) {
        auto it = _members.find(m);
        if (it == _members.end() || it->second.removed_at) {
            if (it != _members.end()) { // a member id never comes back, but be safe
                _member_up->Remove(it->second.up);
                _member_phi->Remove(it->second.phi);
                _members.erase(it);
            }
            const auto* member = v.state().find(m);
            const std::map<std::string, std::string> labels{
                {"member", member ? to_valid_utf8(member->name) : std::string("?")},
                {"member_id", std::to_string(m.value())}};
            it = _members
                     .emplace(
                         m, member_series{&_member_up->Add(labels), &_member_phi->Add(labels), std::nullopt})
                     .first;
        }
        it->second.up->Set(state.first ? 0 : 1);
        it->second.phi->Set(std::isinf(state.second) ? std::numeric_limits<double>::infinity()
                                                     : state.second);
    }
    for (auto it = _members.begin(); it != _members.end();) {
        if (current.count(it->first)) {
            ++it;
            continue;
        }
        if (!it->second.removed_at) {
            it->second.removed_at = now; // removed from the view: show it down for a while
            it->second.up->Set(0);
        }
        if (now - *it->second.removed_at > removed_series_kept) {
            _member_up->Remove(it->second.up);
            _member_phi->Remove(it->second.phi);
            it = _members.erase(it);
        } else {
            ++it;
        }
    }
}

void metrics::observe(const node::member_node& m) {
    _view_id->Set(static_cast<double>(m.view().id.value()));
    _view_members->Set(static_cast<double>(m.view().members.size()));
    _leader_member->Set(static_cast<double>(m.view().leader.value()));
    _fencing_token->Set(static_cast<double>(m.view().fencing_token.value()));
    tagged(m.view());
    set_health(m.health());
    _member_id->Set(static_cast<double>(m.id().value()));
    const char* states[] = {"joining", "active", "leaving", "left", "removed_by_operator"};
    for (int i = 0; i < 5; ++i) {
        _member_state->Add({{"state", states[i]}}).Set(static_cast<int>(m.current_phase()) == i ? 1 : 0);
    }
    add(*_rejoins, m.rejoins(), _last.rejoins);
    add(*_syncs, m.syncs_served(), _last.syncs);
}

void metrics::on_event(const node::voter_event& e) {
    if (_view_changes == nullptr) {
        return;
    }
    if (e.what == node::voter_event::kind::member_joined) {
        _view_changes->Add({{"reason", "joined"}}).Increment();
    } else if (e.what == node::voter_event::kind::member_removed) {
        _view_changes->Add({{"reason", views::to_string(e.reason)}}).Increment();
        if (e.reason == views::removal_reason::suspected && e.since_heartbeat) {
            _detection->Observe(seconds(*e.since_heartbeat));
        }
    } else if (e.what == node::voter_event::kind::suspected) {
        _raised->Add({{"cause", e.since_heartbeat ? "phi" : "never_heard"}}).Increment();
    }
}

void metrics::on_samples(const node::voter_samples& s) {
    if (_interarrival == nullptr) {
        return;
    }
    for (const auto d : s.intervals) {
        _interarrival->Observe(seconds(d));
    }
    for (const auto d : s.commit_latencies) {
        _commit_latency->Observe(seconds(d));
    }
}

} // namespace roster::daemon
