#include "daemon/transport.hh"

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstring>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <fmt/format.h>
#include <zmq_addon.hpp>

#include "auth/handshake.hh"
#include "client/links.hh"
#include "wire/codec.hh"

namespace roster::daemon {

namespace {

constexpr auto discovery_interval = 1s;
constexpr std::uint64_t decode_log_lines = 10; // per decode_log_window
constexpr auto decode_log_window = 60s;
constexpr auto handshake_warning_interval = 60s;               // per connection this node makes
constexpr std::size_t max_reads = 256; // messages read from one socket per turn of the poll loop
constexpr const char* zap_endpoint = "inproc://zeromq.zap.01"; // fixed by ZeroMQ RFC 27

// The largest message each socket takes: what its traffic needs, so that nobody can make a node
// read a 50 MB frame where a 200-byte heartbeat belongs. A larger frame closes the connection
// before it is read (libzmq checks the length first).
constexpr std::int64_t listen_max_message = 64 << 10; // requests: joins (with tags), heartbeats, sync
constexpr std::int64_t large_max_message =
    static_cast<std::int64_t>(wire::max_message_size); // views, snapshots

void common_options(zmq::socket_t& s, std::int64_t max_message = large_max_message) {
    s.set(zmq::sockopt::linger, 0);
    s.set(zmq::sockopt::maxmsgsize, max_message);
    client::apply_link_timing(s);
}

// Which messages a key that may only read (a reader, an admin, a voter on the listen socket) may
// send on --listen.
bool read_only(const wire::body& b) {
    return std::holds_alternative<wire::status_request>(b) || std::holds_alternative<views::sync_request>(b);
}

// An operator's request: any key may send it, and the node answers it, refused unless the key is an
// admin's (node::requester::operator_actions), so that a refusal is an answer with a reason, not a
// silence.
bool operator_request(const wire::body& b) { return std::holds_alternative<membership::remove_request>(b); }

// For the log: what went wrong with a handshake, and what to do.
std::string describe(auth::handshake_failure f, const auth::monitor_event& e) {
    switch (f) {
    case auth::handshake_failure::unauthorized_key:
        return fmt::format(
            "the other side refused this key (ZAP status {}): it is not in its --authorized-keys or "
            "--voter-keys",
            e.value);
    case auth::handshake_failure::mechanism_mismatch:
        return "one side runs CURVE (--key-file) and the other plaintext: give both the keys "
               "(docs/security.md)";
    case auth::handshake_failure::cryptographic:
        return "the CURVE handshake failed: the server key this side expects is not the other side's key";
    case auth::handshake_failure::protocol:
        break;
    }
    if (e.event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) {
        return fmt::format("the handshake failed ({}): the other side speaks without CURVE, or not ZeroMQ",
                           std::strerror(static_cast<int>(e.value)));
    }
    return fmt::format("the handshake failed (protocol error {:#x})", e.value);
}

} // namespace

transport::transport(const options& o, std::shared_ptr<spdlog::logger> log, metrics& m)
    : _o(o)
    , _logger(std::move(log))
    , _metrics(m)
    , _ctx(1)
    , _epoch(std::chrono::steady_clock::now())
    , _trace(commit_trace::from_environment(o.name, *_logger)) {}

transport::~transport() {
    if (_signal_fd >= 0) {
        ::close(_signal_fd);
    }
}

result<std::unique_ptr<transport>, std::string>
transport::open(const options& o, std::shared_ptr<spdlog::logger> log, metrics& m) {
    std::unique_ptr<transport> t(new transport(o, std::move(log), m));
    if (auto err = t->open_common()) {
        return *err;
    }
    return t;
}

mono_time transport::now() const { return mono_time(std::chrono::steady_clock::now() - _epoch); }

std::optional<std::string> transport::bind(zmq::socket_t& s, const endpoint& e, const char* flag) {
    try {
        s.bind(e.zmq());
    } catch (const zmq::error_t& err) {
        return bind_error(flag, e, err.num());
    }
    return std::nullopt;
}

std::size_t transport::poll_on(zmq::socket_t& s) {
    _poll_items.push_back({s.handle(), 0, ZMQ_POLLIN, 0});
    return _poll_items.size() - 1;
}

std::optional<std::string> transport::open_common() {
    // Signals arrive as readable bytes on a descriptor the poll loop watches.
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    if (::sigprocmask(SIG_BLOCK, &mask, nullptr) != 0 ||
        (_signal_fd = ::signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
        return fmt::format("cannot set up signal handling: {}", std::strerror(errno));
    }
    _signal_place = _poll_items.size();
    _poll_items.push_back({nullptr, _signal_fd, ZMQ_POLLIN, 0});

    if (_o.secured()) {
        auto keys = load_keys();
        if (!keys) {
            return "--authorized-keys " + keys.error();
        }
        _keys = std::move(keys).value();
        _metrics.authorized_keys(_keys.size());
        // The ZAP handler must be bound before any CURVE server socket, or libzmq admits every key.
        _zap = zmq::socket_t(_ctx, zmq::socket_type::rep);
        _zap.set(zmq::sockopt::linger, 0);
        _zap.bind(zap_endpoint);
        _zap_place = poll_on(_zap);
    }

    _listen = zmq::socket_t(_ctx, zmq::socket_type::router);
    common_options(_listen, listen_max_message);
    secure_server(_listen, "listen");
    if (auto err = bind(_listen, _o.listen, "--listen")) {
        return err;
    }
    _bound.listen = _listen.get(zmq::sockopt::last_endpoint);
    if (auto err = watch(_listen, "listen", "", auth::handshake_failure_events)) {
        return err;
    }
    _pub = zmq::socket_t(_ctx, zmq::socket_type::pub);
    common_options(_pub, listen_max_message); // subscribers send subscriptions only
    _pub.set(zmq::sockopt::sndhwm, 10000);
    secure_server(_pub, "publish");
    if (auto err = bind(_pub, _o.publish, "--publish")) {
        return err;
    }
    _bound.publish = _pub.get(zmq::sockopt::last_endpoint);
    // Connections to the publish socket come and go as subscribers do: count them.
    if (auto err = watch(_pub, "publish", "",
                         ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED | auth::handshake_failure_events)) {
        return err;
    }
    _listen_place = poll_on(_listen);
    return std::nullopt;
}

result<auth::key_table, std::string> transport::load_keys() const {
    auth::key_table t;
    if (!_o.authorized_keys.empty()) {
        auto loaded = auth::key_table::load_authorized(_o.authorized_keys);
        if (!loaded) {
            return loaded.error();
        }
        t = std::move(loaded).value();
    }
    // The voters' keys are what the flags say, whatever the file says of them.
    for (const auto& [id, k] : _o.voter_keys) {
        t.set(k, {auth::permission::voter, {}, id});
    }
    // A member's own key may ask its node (rosterctl with the member's key file).
    if (!_o.is_voter() && t.find(_o.key->public_key) == nullptr) {
        t.set(_o.key->public_key, {auth::permission::admin, {}, voter_id()});
    }
    return t;
}

std::optional<std::string> transport::reload_keys() {
    if (!_o.secured()) {
        return std::nullopt;
    }
    auto keys = load_keys();
    if (!keys) {
        return keys.error();
    }
    _keys = std::move(keys).value();
    _metrics.authorized_keys(_keys.size());
    return std::nullopt;
}

void transport::secure_server(zmq::socket_t& s, const char* domain) {
    if (!_o.secured()) {
        return;
    }
    s.set(zmq::sockopt::curve_server, 1);
    s.set(zmq::sockopt::curve_secretkey, zmq::buffer(_o.key->secret_key.bytes()));
    s.set(zmq::sockopt::zap_domain, domain);
}

void transport::secure_client(zmq::socket_t& s, voter_id server) {
    if (!_o.secured()) {
        return;
    }
    s.set(zmq::sockopt::curve_serverkey, zmq::buffer(_o.voter_keys.at(server).bytes()));
    s.set(zmq::sockopt::curve_publickey, zmq::buffer(_o.key->public_key.bytes()));
    s.set(zmq::sockopt::curve_secretkey, zmq::buffer(_o.key->secret_key.bytes()));
}

std::optional<std::string> transport::watch(zmq::socket_t& s, const std::string& socket,
                                            const std::string& peer, int events) {
    // inproc names are per context, and every transport has its own.
    const std::string where = fmt::format("inproc://monitor-{}", _monitors.size());
    if (zmq_socket_monitor(s.handle(), where.c_str(), events) != 0) {
        return fmt::format("cannot monitor the {} socket: {}", socket, zmq_strerror(zmq_errno()));
    }
    monitor m{zmq::socket_t(_ctx, zmq::socket_type::pair), socket, peer, {}};
    m.events.connect(where);
    _monitors.push_back(std::move(m));
    _monitors.back().place = poll_on(_monitors.back().events);
    return std::nullopt;
}

std::optional<std::string> transport::open_voter_links() {
    assert(_o.is_voter());
    _peer_router = zmq::socket_t(_ctx, zmq::socket_type::router);
    common_options(_peer_router);
    secure_server(_peer_router, "peer");
    if (auto err = bind(_peer_router, _o.peer_listen, "--peer-listen")) {
        return err;
    }
    _bound.peer_listen = _peer_router.get(zmq::sockopt::last_endpoint);
    if (auto err = watch(_peer_router, "peer", "", auth::handshake_failure_events)) {
        return err;
    }
    for (const auto& [id, e] : _o.voters) {
        if (id != *_o.voter) {
            zmq::socket_t d(_ctx, zmq::socket_type::dealer);
            common_options(d);
            d.set(zmq::sockopt::immediate, 1); // no queueing for a voter that is down
            d.set(zmq::sockopt::sndhwm, 10000);
            secure_client(d, id);
            if (auto err = watch(d, "peer", fmt::format("voter {} at {}", id, e.text()),
                                 auth::handshake_failure_events)) {
                return err;
            }
            d.connect(e.zmq());
            _peer_dealers.emplace(id, std::move(d));
        }
    }
    _peer_place = poll_on(_peer_router);
    return std::nullopt;
}

void transport::open_member_links() {
    assert(!_o.is_voter());
    for (std::size_t i = 0; i < _o.join.size(); ++i) {
        zmq::socket_t d(_ctx, zmq::socket_type::dealer);
        common_options(d);
        d.set(zmq::sockopt::immediate, 1);
        secure_client(d, i < _o.join_voters.size() ? _o.join_voters[i] : voter_id());
        // Monitoring cannot fail for a socket just made; a failure would only lose the warnings.
        (void)watch(d, "voter", fmt::format("the voter at {}", _o.join[i].text()),
                    auth::handshake_failure_events);
        d.connect(_o.join[i].zmq());
        _voter_dealers.push_back(std::move(d));
    }
    _voter_publish.assign(_o.join.size(), std::string());
    _sub = zmq::socket_t(_ctx, zmq::socket_type::sub);
    common_options(_sub);
    _sub.set(zmq::sockopt::subscribe, "");
    (void)watch(_sub, "sub", "a voter's publish socket", auth::handshake_failure_events);
    _sub_place = poll_on(_sub);
    for (auto& d : _voter_dealers) {
        _voter_dealer_places.push_back(poll_on(d));
    }
}

// ---- the codec at the edge ---------------------------------------------------------------

bytes transport::encode(wire::body b, const wire::sender& from) const {
    wire::envelope e;
    e.cluster = _o.cluster;
    e.from = from;
    e.msg = std::move(b);
    return wire::encode(e);
}

std::optional<wire::envelope> transport::decode(const zmq::message_t& m, const char* socket) {
    _metrics.received(socket);
    auto decoded = wire::decode(bytes_view(static_cast<const std::uint8_t*>(m.data()), m.size()));
    auto rate_limited = [&](const std::string& what) {
        rate_limited_warn(fmt::format("dropped a message on the {} socket: {}", socket, what));
    };
    if (!decoded) {
        _metrics.dropped(socket, "decode_error");
        rate_limited(decoded.error().describe());
        return std::nullopt;
    }
    if (decoded->cluster != _o.cluster) {
        _metrics.dropped(socket, "wrong_cluster");
        rate_limited(fmt::format("it is for cluster '{}', this is '{}'", decoded->cluster, _o.cluster));
        return std::nullopt;
    }
    return std::move(decoded).value();
}

void transport::rate_limited_warn(const std::string& what) {
    // A few lines about bad messages, whoever sends them: a flood must not flood the log.
    const mono_time t = now();
    if (t - _decode_log_window > decode_log_window) {
        _decode_log_window = t;
        _decode_errors_logged = 0;
    }
    if (++_decode_errors_logged <= decode_log_lines) {
        _logger->warn("{}", what);
    }
}

void transport::sweep_routes(mono_time t) {
    _routes.sweep(t);
    // A budget that has refilled is the same as none: forget those, once a minute like the routes.
    if (t < _next_budget_sweep) {
        return;
    }
    _next_budget_sweep = t + 60s;
    for (auto it = _join_budgets.begin(); it != _join_budgets.end();) {
        if (it->second.tokens + _o.joins_per_second * to_ms(t - it->second.updated) / 1000 >= _o.join_burst) {
            it = _join_budgets.erase(it);
        } else {
            ++it;
        }
    }
}

const auth::grant* transport::grant_of(const zmq::message_t& m, auth::curve_key* key) const {
    // The key the CURVE handshake authenticated, as the ZAP handler named it (its Z85).
    const char* user = zmq_msg_gets(m.handle(), "User-Id");
    if (user == nullptr) {
        return nullptr;
    }
    auto k = auth::curve_key::from_z85(user);
    if (!k) {
        return nullptr;
    }
    if (key != nullptr) {
        *key = k.value();
    }
    return _keys.find(k.value());
}

std::optional<node::requester> transport::requester_of(const zmq::message_t& m, const wire::envelope& env,
                                                       const std::string& identity, mono_time t) {
    node::requester who;
    std::string budget_key = identity;
    if (_o.secured()) {
        auth::curve_key key;
        const auth::grant* g = grant_of(m, &key);
        if (g == nullptr) {
            _metrics.dropped("listen", "unauthorized");
            rate_limited_warn("dropped a message on the listen socket: its key is no longer authorized");
            return std::nullopt;
        }
        if (g->what != auth::permission::member && g->what != auth::permission::voter &&
            !read_only(env.msg) && !operator_request(env.msg)) {
            _metrics.dropped("listen", "not_permitted");
            rate_limited_warn(fmt::format("dropped a message on the listen socket: a {} key may only ask",
                                          auth::to_string(g->what)));
            return std::nullopt;
        }
        who.key = key.raw();
        // A member joins under its name; a voter's entry joins on its own voter, never here.
        who.join_as = g->what == auth::permission::member ? g->name : std::string();
        who.operator_actions = g->what == auth::permission::admin;
        who.kind = auth::to_string(g->what);
        budget_key = who.key;
    }
    // Removals make entries in the log like joins: they share the budget.
    if (std::holds_alternative<membership::join_request>(env.msg) || operator_request(env.msg)) {
        auto& b = _join_budgets.try_emplace(budget_key, join_budget{_o.join_burst, t}).first->second;
        b.tokens = std::min(_o.join_burst, b.tokens + _o.joins_per_second * to_ms(t - b.updated) / 1000);
        b.updated = t;
        if (b.tokens < 1) {
            _metrics.dropped("listen", "rate_limited");
            return std::nullopt;
        }
        b.tokens -= 1;
    }
    return who;
}

// ---- inputs ------------------------------------------------------------------------------

bool transport::wait(mono_time until) {
    const auto wait = std::max<duration>(0ns, until - now());
    try {
        zmq::poll(_poll_items.data(), _poll_items.size(),
                  std::chrono::milliseconds(
                      std::chrono::duration_cast<std::chrono::milliseconds>(wait).count() + 1));
    } catch (const zmq::error_t& e) {
        if (e.num() != EINTR) {
            _logger->critical("poll failed: {}", e.what());
            return false;
        }
    }
    return true;
}

std::vector<int> transport::take_signals() {
    std::vector<int> signals;
    if (!readable(_signal_place)) {
        return signals;
    }
    signalfd_siginfo info;
    while (::read(_signal_fd, &info, sizeof info) == sizeof info) {
        signals.push_back(static_cast<int>(info.ssi_signo));
    }
    return signals;
}

void transport::receive(driver& d, mono_time t) {
    drain_zap();
    drain_monitors();
    // Each socket gives at most max_reads messages per turn of the poll loop, the voters' first:
    // a flood on the listen socket (which arrives faster than it can be refused) must not keep
    // the loop from its ticks, its writes and Raft, or the voter would stop heartbeating and
    // lose its leadership while it reads. What is left is read on the next turn (zmq_poll
    // returns at once while messages wait).
    if (_o.is_voter()) {
        drain_peers(d, t);
        drain_listen(d, t);
    } else {
        drain_listen(d, t);
        drain_voter_links(d, t);
        drain_sub(d, t);
        discover_publishers(d.self(), t);
    }
}

bool transport::read_routed(zmq::socket_t& s, const char* socket, std::optional<routed>& out) {
    out.reset();
    std::vector<zmq::message_t> parts;
    if (!zmq::recv_multipart(s, std::back_inserter(parts), zmq::recv_flags::dontwait)) {
        return false;
    }
    if (parts.size() != 2) {
        _metrics.dropped(socket, "bad_framing");
        return true;
    }
    if (auto env = decode(parts[1], socket)) {
        out = routed{parts[0].to_string(), std::move(parts[1]), std::move(*env)};
    }
    return true;
}

bool transport::read_frame(zmq::socket_t& s, const char* socket, std::optional<wire::envelope>& out) {
    out.reset();
    zmq::message_t m;
    if (!s.recv(m, zmq::recv_flags::dontwait)) {
        return false;
    }
    out = decode(m, socket);
    return true;
}

void transport::drain_listen(driver& d, mono_time t) {
    if (!readable(_listen_place)) {
        return;
    }
    std::size_t n = 0;
    for (std::optional<routed> m; n++ < max_reads && read_routed(_listen, "listen", m);) {
        if (!m) {
            continue;
        }
        if (auto who = requester_of(m->frame, m->env, m->identity, t)) {
            if (_trace && (std::holds_alternative<membership::join_request>(m->env.msg) ||
                           std::holds_alternative<membership::leave_request>(m->env.msg) ||
                           std::holds_alternative<membership::remove_request>(m->env.msg))) {
                _trace->record("request_in"); // admitted (not dropped by the join budget)
            }
            d.on_request(_routes.route_of(m->identity, t), *who, m->env.msg, t);
        }
    }
}

void transport::drain_monitors() {
    for (auto& mon : _monitors) {
        if (!readable(mon.place)) {
            continue;
        }
        while (const auto e = auth::next_monitor_event(mon.events)) {
            if (e->event == ZMQ_EVENT_ACCEPTED) {
                _metrics.subscribers_changed(+1);
                continue;
            }
            if (e->event == ZMQ_EVENT_DISCONNECTED) {
                _metrics.subscribers_changed(-1);
                continue;
            }
            const auto failure = auth::handshake_failure_of(*e);
            if (!failure || (*failure == auth::handshake_failure::unauthorized_key && mon.peer.empty())) {
                continue; // this node's ZAP handler refused the key: counted and logged there
            }
            _metrics.handshake_failed(mon.socket, auth::to_string(*failure));
            const mono_time t = now();
            if (mon.peer.empty()) {
                rate_limited_warn(fmt::format("refused a connection on the {} socket: {}", mon.socket,
                                              describe(*failure, *e)));
            } else if (t >= mon.next_warning) {
                // This node's own connection: the operator must hear of it, but not every 100 ms.
                mon.next_warning = t + handshake_warning_interval;
                _logger->error("cannot connect to {}: {}", mon.peer, describe(*failure, *e));
            }
        }
    }
}

void transport::drain_zap() {
    if (!_o.secured() || !readable(_zap_place)) {
        return;
    }
    // ZeroMQ RFC 27: version, request id, domain, address, identity, mechanism, credentials.
    for (std::size_t n = 0; n < max_reads; ++n) {
        std::vector<zmq::message_t> q;
        if (!zmq::recv_multipart(_zap, std::back_inserter(q), zmq::recv_flags::dontwait)) {
            return;
        }
        // libzmq always sends every frame; were one missing, the request is refused, and still
        // answered: a REP socket that does not answer takes no further request.
        q.resize(std::max<std::size_t>(q.size(), 6));
        const std::string domain = q[2].to_string();
        const std::string address = q[3].to_string();
        const auth::grant* g = nullptr;
        std::string user;
        if (q[5].to_string() == "CURVE" && q.size() >= 7) {
            if (auto k = auth::curve_key::from_raw(q[6].to_string_view())) {
                g = _keys.find(k.value());
                user = k->z85();
            }
        }
        // Only voters on the peer socket; any key of the table elsewhere.
        const bool ok = g != nullptr && (domain != "peer" || g->what == auth::permission::voter);
        if (!ok) {
            _metrics.handshake_failed(domain, "unauthorized_key");
            rate_limited_warn(fmt::format("refused a connection on the {} socket from {}: key {} is not {}",
                                          domain, address, user.empty() ? "(none)" : user,
                                          domain == "peer" ? "a voter's" : "authorized"));
        }
        std::array<zmq::const_buffer, 6> reply{zmq::str_buffer("1.0"),
                                               zmq::buffer(q[1].data(), q[1].size()),
                                               ok ? zmq::str_buffer("200") : zmq::str_buffer("400"),
                                               ok ? zmq::str_buffer("OK")
                                                  : zmq::str_buffer("key not authorized"),
                                               zmq::buffer(user),
                                               zmq::const_buffer()};
        (void)zmq::send_multipart(_zap, reply);
    }
}

void transport::drain_peers(driver& d, mono_time t) {
    if (!readable(_peer_place)) {
        return;
    }
    std::size_t n = 0;
    for (std::optional<routed> m; n++ < max_reads && read_routed(_peer_router, "peer", m);) {
        if (!m) {
            continue;
        }
        if (_peer_dealers.count(m->env.from.voter) == 0) {
            _metrics.dropped("peer", "unknown_sender");
            continue;
        }
        if (_o.secured()) {
            // The envelope says which voter sent it; only that voter's key may say so.
            const auth::grant* g = grant_of(m->frame);
            if (g == nullptr || g->what != auth::permission::voter || g->voter != m->env.from.voter) {
                _metrics.dropped("peer", "sender_mismatch");
                rate_limited_warn(
                    fmt::format("dropped a message on the peer socket: it says it is from voter {} "
                                "and its key is not that voter's",
                                m->env.from.voter));
                continue;
            }
        }
        if (_trace) {
            if (const auto* a = std::get_if<consensus::append_request>(&m->env.msg); a && !a->entries.empty()) {
                _trace->record("append_in", m->env.from.voter.value(), a->entries.back().index.value());
            } else if (const auto* r = std::get_if<consensus::append_reply>(&m->env.msg); r && r->success) {
                _trace->record("ack_in", m->env.from.voter.value(), r->index.value());
            }
        }
        d.on_peer(m->env.from.voter, m->env.msg, t);
    }
}

void transport::drain_voter_links(driver& d, mono_time t) {
    for (std::size_t i = 0; i < _voter_dealers.size(); ++i) {
        if (!readable(_voter_dealer_places[i])) {
            continue;
        }
        std::size_t n = 0;
        for (std::optional<wire::envelope> env; n++ < max_reads && read_frame(_voter_dealers[i], "voter", env);) {
            if (!env) {
                continue;
            }
            if (const auto* s = std::get_if<wire::status_reply>(&env->msg)) {
                follow_publisher(i, *s);
                continue;
            }
            d.on_endpoint_reply(i, env->msg, t);
        }
    }
}

void transport::follow_publisher(std::size_t i, const wire::status_reply& s) {
    // Where this voter publishes; a wildcard host means "the host you reached me at".
    if (!_voter_publish[i].empty() || s.publish_endpoint.empty()) {
        return;
    }
    auto e = parse_endpoint(s.publish_endpoint);
    if (!e) {
        return;
    }
    if (e->host == "0.0.0.0" || e->host == "*") {
        e->host = _o.join[i].host;
    }
    _voter_publish[i] = e->zmq();
    secure_client(_sub, i < _o.join_voters.size()
                            ? _o.join_voters[i]
                            : voter_id()); // a node's publish socket has its listen socket's key
    _sub.connect(_voter_publish[i]);
    _logger->info("following views published by {} at {}", _o.join[i].text(), e->text());
}

void transport::drain_sub(driver& d, mono_time t) {
    if (!readable(_sub_place)) {
        return;
    }
    std::size_t n = 0;
    for (std::optional<wire::envelope> env; n++ < max_reads && read_frame(_sub, "sub", env);) {
        if (env) {
            d.on_published(env->msg, t);
        }
    }
}

void transport::discover_publishers(const wire::sender& from, mono_time t) {
    if (t < _next_discovery) {
        return;
    }
    _next_discovery = t + discovery_interval;
    for (std::size_t i = 0; i < _voter_dealers.size(); ++i) {
        if (_voter_publish[i].empty()) {
            const bytes b = encode(wire::status_request{0}, from);
            (void)_voter_dealers[i].send(zmq::buffer(b), zmq::send_flags::dontwait);
        }
    }
}

// ---- output ------------------------------------------------------------------------------

void transport::send_to_voters(std::vector<std::pair<voter_id, wire::body>>& messages, const wire::sender& from,
                               const char* append_event) {
    for (auto& [to, b] : messages) {
        auto it = _peer_dealers.find(to);
        if (it == _peer_dealers.end()) {
            continue;
        }
        std::uint64_t traced_append = 0;
        std::uint64_t traced_ack = 0;
        if (_trace) {
            if (const auto* a = std::get_if<consensus::append_request>(&b); a && !a->entries.empty()) {
                traced_append = a->entries.back().index.value();
            } else if (const auto* r = std::get_if<consensus::append_reply>(&b); r && r->success) {
                traced_ack = r->index.value();
            }
        }
        const bytes m = encode(std::move(b), from);
        if (!it->second.send(zmq::buffer(m), zmq::send_flags::dontwait)) {
            _metrics.dropped("peer", "send_queue_full");
        }
        if (traced_append != 0) {
            _trace->record(append_event, to.value(), traced_append);
        } else if (traced_ack != 0) {
            _trace->record("ack_out", to.value(), traced_ack);
        }
    }
}

bool transport::carry_out(node::output out, const wire::sender& from, consensus::storage* durable) {
    assert(out.persist.empty() || durable != nullptr);
    // A leader's appends first: the followers write them while this voter does (Raft thesis
    // §10.2.1; consensus::ready says why that is safe).
    send_to_voters(out.early_to_voters, from, "append_out_early");
    // A batch that only moves the commit index is written after the sends (consensus::ready).
    const bool write_last = out.persist_last();
    if (!write_last && !save(out.persist, durable)) {
        return false;
    }
    send_to_voters(out.to_voters, from, "append_out");
    for (auto& [route, b] : out.replies) {
        const std::string* id = _routes.identity_of(route);
        if (id == nullptr) {
            continue;
        }
        const bool traced = _trace && (std::holds_alternative<membership::join_reply>(b) ||
                                       std::holds_alternative<membership::leave_reply>(b) ||
                                       std::holds_alternative<membership::remove_reply>(b));
        const bytes m = encode(std::move(b), from);
        if (_listen.send(zmq::buffer(*id), zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
            (void)_listen.send(zmq::buffer(m), zmq::send_flags::dontwait);
        }
        if (traced) {
            _trace->record("reply_out");
        }
    }
    for (auto& [i, b] : out.to_endpoints) {
        if (i < _voter_dealers.size()) {
            const bytes m = encode(std::move(b), from);
            if (!_voter_dealers[i].send(zmq::buffer(m), zmq::send_flags::dontwait)) {
                _metrics.dropped("voter", "send_queue_full");
            }
        }
    }
    for (auto& b : out.published) {
        const bytes m = encode(std::move(b), from);
        (void)_pub.send(zmq::buffer(m), zmq::send_flags::dontwait);
        if (_trace) {
            _trace->record("publish_out");
        }
    }
    if (write_last && !save(out.persist, durable)) {
        return false;
    }
    if (_trace) {
        _trace->maybe_flush();
    }
    return true;
}

bool transport::save(const std::vector<consensus::ready>& readies, consensus::storage* durable) {
    for (const auto& rd : readies) {
        if (_trace && !rd.entries.empty()) {
            _trace->record("save_begin", 0, rd.entries.back().index.value());
        }
        const auto start = std::chrono::steady_clock::now();
        if (auto err = durable->save(rd)) {
            _logger->critical("storage failure, stopping: {}", err->message);
            return false;
        }
        if (!rd.only_commit_to_persist()) {
            _metrics.fsync_seconds(
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
        }
        if (_trace && !rd.entries.empty()) {
            _trace->record("save_end", 0, rd.entries.back().index.value());
        }
    }
    return true;
}

} // namespace roster::daemon
