#include "daemon/transport.hh"

#include <cassert>
#include <cerrno>
#include <cstring>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <fmt/format.h>
#include <zmq_addon.hpp>

#include "wire/codec.hh"

namespace roster::daemon {

namespace {

constexpr auto discovery_interval = 1s;
constexpr std::uint64_t decode_log_lines = 10; // per decode_log_window
constexpr auto decode_log_window = 60s;

void common_options(zmq::socket_t& s) {
    s.set(zmq::sockopt::linger, 0);
    s.set(zmq::sockopt::maxmsgsize, static_cast<std::int64_t>(wire::max_message_size));
}

} // namespace

transport::transport(const options& o, std::shared_ptr<spdlog::logger> log, metrics& m)
    : _o(o)
    , _logger(std::move(log))
    , _metrics(m)
    , _ctx(1)
    , _epoch(std::chrono::steady_clock::now()) {}

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
        return fmt::format("cannot listen on {} ({}): {}", e.text(), flag, err.what());
    }
    return std::nullopt;
}

void transport::poll_on(zmq::socket_t& s) { _poll_items.push_back({s.handle(), 0, ZMQ_POLLIN, 0}); }

std::optional<std::string> transport::open_common() {
    // Signals arrive as readable bytes on a descriptor the poll loop watches.
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    if (::sigprocmask(SIG_BLOCK, &mask, nullptr) != 0 ||
        (_signal_fd = ::signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
        return fmt::format("cannot set up signal handling: {}", std::strerror(errno));
    }
    _poll_items.push_back({nullptr, _signal_fd, ZMQ_POLLIN, 0});

    _listen = zmq::socket_t(_ctx, zmq::socket_type::router);
    common_options(_listen);
    if (auto err = bind(_listen, _o.listen, "--listen")) {
        return err;
    }
    _bound.listen = _listen.get(zmq::sockopt::last_endpoint);
    _pub = zmq::socket_t(_ctx, zmq::socket_type::pub);
    common_options(_pub);
    _pub.set(zmq::sockopt::sndhwm, 10000);
    if (auto err = bind(_pub, _o.publish, "--publish")) {
        return err;
    }
    _bound.publish = _pub.get(zmq::sockopt::last_endpoint);
    // Connections to the publish socket come and go as subscribers do: count them. (inproc names
    // are per context, and every transport has its own.)
    if (zmq_socket_monitor(_pub.handle(), "inproc://pub-monitor",
                           ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED) != 0) {
        return fmt::format("cannot monitor the publish socket: {}", zmq_strerror(zmq_errno()));
    }
    _pub_monitor = zmq::socket_t(_ctx, zmq::socket_type::pair);
    _pub_monitor.connect("inproc://pub-monitor");
    poll_on(_listen);
    poll_on(_pub_monitor);
    return std::nullopt;
}

std::optional<std::string> transport::open_voter_links() {
    assert(_o.is_voter());
    _peer_router = zmq::socket_t(_ctx, zmq::socket_type::router);
    common_options(_peer_router);
    if (auto err = bind(_peer_router, _o.peer_listen, "--peer-listen")) {
        return err;
    }
    _bound.peer_listen = _peer_router.get(zmq::sockopt::last_endpoint);
    for (const auto& [id, e] : _o.voters) {
        if (id != *_o.voter) {
            zmq::socket_t d(_ctx, zmq::socket_type::dealer);
            common_options(d);
            d.set(zmq::sockopt::immediate, 1); // no queueing for a voter that is down
            d.set(zmq::sockopt::sndhwm, 10000);
            d.connect(e.zmq());
            _peer_dealers.emplace(id, std::move(d));
        }
    }
    poll_on(_peer_router);
    return std::nullopt;
}

void transport::open_member_links() {
    assert(!_o.is_voter());
    for (const auto& e : _o.join) {
        zmq::socket_t d(_ctx, zmq::socket_type::dealer);
        common_options(d);
        d.set(zmq::sockopt::immediate, 1);
        d.connect(e.zmq());
        _voter_dealers.push_back(std::move(d));
    }
    _voter_publish.assign(_o.join.size(), std::string());
    _sub = zmq::socket_t(_ctx, zmq::socket_type::sub);
    common_options(_sub);
    _sub.set(zmq::sockopt::subscribe, "");
    poll_on(_sub);
    for (auto& d : _voter_dealers) {
        poll_on(d);
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
    const mono_time t = now();
    auto rate_limited = [&](const std::string& what) {
        // A few lines about bad messages, whoever sends them: a flood must not flood the log.
        if (t - _decode_log_window > decode_log_window) {
            _decode_log_window = t;
            _decode_errors_logged = 0;
        }
        if (++_decode_errors_logged <= decode_log_lines) {
            _logger->warn("dropped a message on the {} socket: {}", socket, what);
        }
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

void transport::sweep_routes(mono_time t) { _routes.sweep(t); }

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
    signalfd_siginfo info;
    while (::read(_signal_fd, &info, sizeof info) == sizeof info) {
        signals.push_back(static_cast<int>(info.ssi_signo));
    }
    return signals;
}

void transport::receive(driver& d, mono_time t) {
    drain_listen(d, t);
    drain_pub_monitor();
    if (_o.is_voter()) {
        drain_peers(d, t);
    } else {
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
        out = routed{parts[0].to_string(), std::move(*env)};
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
    for (std::optional<routed> m; read_routed(_listen, "listen", m);) {
        if (m) {
            d.on_request(_routes.route_of(m->identity, t), m->env.msg, t);
        }
    }
}

void transport::drain_pub_monitor() {
    while (true) {
        std::vector<zmq::message_t> parts;
        if (!zmq::recv_multipart(_pub_monitor, std::back_inserter(parts), zmq::recv_flags::dontwait)) {
            return;
        }
        if (parts.empty() || parts[0].size() < 2) {
            continue;
        }
        std::uint16_t event = 0;
        std::memcpy(&event, parts[0].data(), sizeof event);
        if (event == ZMQ_EVENT_ACCEPTED) {
            _metrics.subscribers_changed(+1);
        } else if (event == ZMQ_EVENT_DISCONNECTED) {
            _metrics.subscribers_changed(-1);
        }
    }
}

void transport::drain_peers(driver& d, mono_time t) {
    for (std::optional<routed> m; read_routed(_peer_router, "peer", m);) {
        if (!m) {
            continue;
        }
        if (_peer_dealers.count(m->env.from.voter) == 0) {
            _metrics.dropped("peer", "unknown_sender");
            continue;
        }
        d.on_peer(m->env.from.voter, m->env.msg, t);
    }
}

void transport::drain_voter_links(driver& d, mono_time t) {
    for (std::size_t i = 0; i < _voter_dealers.size(); ++i) {
        for (std::optional<wire::envelope> env; read_frame(_voter_dealers[i], "voter", env);) {
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
    _sub.connect(_voter_publish[i]);
    _logger->info("following views published by {} at {}", _o.join[i].text(), e->text());
}

void transport::drain_sub(driver& d, mono_time t) {
    for (std::optional<wire::envelope> env; read_frame(_sub, "sub", env);) {
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

bool transport::carry_out(node::output out, const wire::sender& from, consensus::storage* durable) {
    assert(out.persist.empty() || durable != nullptr);
    for (const auto& rd : out.persist) {
        const auto start = std::chrono::steady_clock::now();
        if (auto err = durable->save(rd)) {
            _logger->critical("storage failure, stopping: {}", err->message);
            return false;
        }
        _metrics.fsync_seconds(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    for (auto& [to, b] : out.to_voters) {
        auto it = _peer_dealers.find(to);
        if (it == _peer_dealers.end()) {
            continue;
        }
        const bytes m = encode(std::move(b), from);
        if (!it->second.send(zmq::buffer(m), zmq::send_flags::dontwait)) {
            _metrics.dropped("peer", "send_queue_full");
        }
    }
    for (auto& [route, b] : out.replies) {
        const std::string* id = _routes.identity_of(route);
        if (id == nullptr) {
            continue;
        }
        const bytes m = encode(std::move(b), from);
        if (_listen.send(zmq::buffer(*id), zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
            (void)_listen.send(zmq::buffer(m), zmq::send_flags::dontwait);
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
    }
    return true;
}

} // namespace roster::daemon
