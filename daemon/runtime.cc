#include "daemon/runtime.hh"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <signal.h>
#include <sys/signalfd.h>
#include <thread>
#include <unistd.h>

#include <fmt/format.h>
#include <zmq_addon.hpp>

#include "common/prng.hh"
#include "views/view_ops.hh"
#include "wire/codec.hh"

namespace roster::daemon {

namespace {

constexpr auto tick_interval = 10ms;
constexpr auto leave_deadline = 5s;

void common_options(zmq::socket_t& s) {
    s.set(zmq::sockopt::linger, 0);
    s.set(zmq::sockopt::maxmsgsize, static_cast<std::int64_t>(wire::max_message_size));
}

std::string zmq_message_of(const zmq::error_t& e) { return e.what(); }

} // namespace

result<incarnation_number, std::string> next_incarnation(const std::string& data_dir) {
    const auto wall = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                                     std::chrono::system_clock::now().time_since_epoch())
                                                     .count());
    if (data_dir.empty()) {
        return incarnation_number(wall);
    }
    const std::filesystem::path file = std::filesystem::path(data_dir) / "incarnation";
    std::uint64_t last = 0;
    if (std::ifstream in(file); in) {
        in >> last;
    }
    const std::uint64_t next = std::max(wall, last + 1);
    const std::filesystem::path tmp = file.string() + ".new";
    {
        std::ofstream out(tmp, std::ios::trunc);
        out << next << "\n";
        if (!out) {
            return fmt::format("cannot write {}: {}", tmp.string(), std::strerror(errno));
        }
    }
    const int fd = ::open(tmp.c_str(), O_RDONLY);
    if (fd < 0 || ::fsync(fd) != 0) {
        if (fd >= 0) {
            ::close(fd);
        }
        return fmt::format("cannot sync {}: {}", tmp.string(), std::strerror(errno));
    }
    ::close(fd);
    std::error_code ec;
    std::filesystem::rename(tmp, file, ec);
    if (ec) {
        return fmt::format("cannot write {}: {}", file.string(), ec.message());
    }
    return incarnation_number(next);
}

runtime::runtime(const options& o, std::shared_ptr<spdlog::logger> logger)
    : _o(o)
    , _log(std::move(logger))
    , _sink(_log)
    , _ctx(1)
    , _epoch(std::chrono::steady_clock::now()) {}

runtime::~runtime() {
    if (_signal_fd >= 0) {
        ::close(_signal_fd);
    }
}

mono_time runtime::now() const { return mono_time(std::chrono::steady_clock::now() - _epoch); }

result<std::unique_ptr<runtime>, std::string> runtime::create(const options& o,
                                                              std::shared_ptr<spdlog::logger> logger) {
    std::unique_ptr<runtime> r(new runtime(o, std::move(logger)));
    auto opened = r->open();
    if (!opened) {
        return opened.error();
    }
    return r;
}

result<bool, std::string> runtime::open() {
    // Signals arrive as readable bytes on a descriptor the poll loop watches.
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    if (::sigprocmask(SIG_BLOCK, &mask, nullptr) != 0 ||
        (_signal_fd = ::signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
        return fmt::format("cannot set up signal handling: {}", std::strerror(errno));
    }

    auto bind = [&](zmq::socket_t& s, const endpoint& e, const char* flag) -> std::optional<std::string> {
        try {
            s.bind(e.zmq());
        } catch (const zmq::error_t& err) {
            return fmt::format("cannot listen on {} ({}): {}", e.text(), flag, zmq_message_of(err));
        }
        return std::nullopt;
    };

    _listen = zmq::socket_t(_ctx, zmq::socket_type::router);
    common_options(_listen);
    if (auto err = bind(_listen, _o.listen, "--listen")) {
        return *err;
    }
    _pub = zmq::socket_t(_ctx, zmq::socket_type::pub);
    common_options(_pub);
    _pub.set(zmq::sockopt::sndhwm, 10000);
    if (auto err = bind(_pub, _o.publish, "--publish")) {
        return *err;
    }
    // Connections to the publish socket come and go as subscribers do: count them.
    if (zmq_socket_monitor(_pub.handle(), "inproc://pub-monitor",
                           ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED) != 0) {
        return fmt::format("cannot monitor the publish socket: {}", zmq_strerror(zmq_errno()));
    }
    _pub_monitor = zmq::socket_t(_ctx, zmq::socket_type::pair);
    _pub_monitor.connect("inproc://pub-monitor");

    auto started =
        metrics::start(_o.metrics_listen, _o.cluster, _o.name, _o.is_voter(), _o.metrics_member_limit);
    if (!started) {
        return started.error();
    }
    _metrics = std::move(started).value();

    if (_o.is_voter()) {
        std::error_code ec;
        std::filesystem::create_directories(_o.data_dir, ec);
        if (ec) {
            return fmt::format("cannot create --data-dir {}: {}", _o.data_dir, ec.message());
        }
    }
    auto incarnation = next_incarnation(_o.is_voter() ? _o.data_dir : std::string());
    if (!incarnation) {
        return incarnation.error();
    }
    const duration heartbeat = std::chrono::milliseconds(_o.heartbeat_interval_ms);

    if (_o.is_voter()) {
        auto storage = consensus::sqlite_storage::open(std::filesystem::path(_o.data_dir) / "raft.db",
                                                       {_o.cluster, *_o.voter});
        if (!storage) {
            return storage.error().message;
        }
        _storage = std::move(storage).value();

        _peer_router = zmq::socket_t(_ctx, zmq::socket_type::router);
        common_options(_peer_router);
        if (auto err = bind(_peer_router, _o.peer_listen, "--peer-listen")) {
            return *err;
        }
        node::voter_config c;
        c.cluster = _o.cluster;
        c.name = _o.name;
        c.id = *_o.voter;
        for (const auto& [id, e] : _o.voters) {
            c.voters.push_back(id);
            if (id != *_o.voter) {
                zmq::socket_t d(_ctx, zmq::socket_type::dealer);
                common_options(d);
                d.set(zmq::sockopt::immediate, 1); // no queueing for a voter that is down
                d.set(zmq::sockopt::sndhwm, 10000);
                d.connect(e.zmq());
                _peer_dealers.emplace(id, std::move(d));
            }
        }
        c.listen_of[*_o.voter] = _o.listen.text();
        c.address = _o.listen.text();
        c.publish_endpoint = _o.publish.text();
        c.incarnation = incarnation.value();
        c.heartbeat_interval = heartbeat;
        c.detector.detector = detector::phi_accrual_config::for_heartbeat_interval(heartbeat);
        c.detector.detector.threshold = _o.phi_threshold;
        c.batching.removal_settle_max = heartbeat + heartbeat / 2;
        c.batching.join_settle = std::chrono::milliseconds(_o.join_settle_ms);
        c.batching.removal_settle = std::chrono::milliseconds(_o.removal_settle_ms);
        if (auto bad = c.validate()) {
            return "invalid configuration: " + *bad;
        }
        const auto seed =
            static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) ^
            (static_cast<std::uint64_t>(::getpid()) << 32);
        _voter = std::make_unique<node::voter_node>(c, prng(seed), _storage->recovered(), now(), &_sink);
        _log->info(
            "voter {} of cluster '{}' ({}): listening on {}, peers on {}, publishing on {}, metrics on {}, "
            "data in {}, recovered up to view {}",
            *_o.voter, _o.cluster, _o.name, _o.listen.text(), _o.peer_listen.text(), _o.publish.text(),
            _o.metrics_listen.text(), _o.data_dir, _voter->view().id);
    } else {
        node::member_config c;
        c.cluster = _o.cluster;
        c.name = _o.name;
        c.address = _o.listen.text();
        c.publish_endpoint = _o.publish.text();
        c.voters = _o.join.size();
        c.incarnation = incarnation.value();
        c.heartbeat_interval = heartbeat;
        if (auto bad = c.validate()) {
            return "invalid configuration: " + *bad;
        }
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
        _member = std::make_unique<node::member_node>(c, now(), &_sink);
        std::string voters;
        for (const auto& e : _o.join) {
            voters += (voters.empty() ? "" : ",") + e.text();
        }
        _log->info("member '{}' of cluster '{}': joining through {}; listening on {}, publishing on {}, "
                   "metrics on {}",
                   _o.name, _o.cluster, voters, _o.listen.text(), _o.publish.text(),
                   _o.metrics_listen.text());
    }
    return true;
}

// ---- codec at the edge -------------------------------------------------------------------

bytes runtime::encode(wire::body b) const {
    wire::envelope e;
    e.cluster = _o.cluster;
    e.from.name = _o.name;
    if (_voter) {
        e.from.voter = *_o.voter;
        e.from.member = _voter->self();
    } else if (_member) {
        e.from.member = _member->id();
    }
    e.msg = std::move(b);
    return wire::encode(e);
}

std::optional<wire::envelope> runtime::decode(const zmq::message_t& m, const char* socket) {
    _metrics->received(socket);
    auto decoded = wire::decode(bytes_view(static_cast<const std::uint8_t*>(m.data()), m.size()));
    const mono_time t = now();
    auto rate_limited = [&](const std::string& what) {
        // At most 10 lines per minute about bad messages, whoever sends them.
        if (t - _decode_log_window > 60s) {
            _decode_log_window = t;
            _decode_errors_logged = 0;
        }
        if (++_decode_errors_logged <= 10) {
            _log->warn("dropped a message on the {} socket: {}", socket, what);
        }
    };
    if (!decoded) {
        _metrics->dropped(socket, "decode_error");
        rate_limited(decoded.error().describe());
        return std::nullopt;
    }
    if (decoded->cluster != _o.cluster) {
        _metrics->dropped(socket, "wrong_cluster");
        rate_limited(fmt::format("it is for cluster '{}', this is '{}'", decoded->cluster, _o.cluster));
        return std::nullopt;
    }
    return std::move(decoded).value();
}

std::uint64_t runtime::route_of(const std::string& identity, mono_time t) {
    auto it = _route_of_identity.find(identity);
    if (it != _route_of_identity.end()) {
        _identity_of_route[it->second].second = t;
        return it->second;
    }
    const std::uint64_t r = _next_route++;
    _route_of_identity.emplace(identity, r);
    _identity_of_route.emplace(r, std::make_pair(identity, t));
    return r;
}

// ---- inputs ------------------------------------------------------------------------------

void runtime::drain_listen(mono_time t) {
    while (true) {
        std::vector<zmq::message_t> parts;
        if (!zmq::recv_multipart(_listen, std::back_inserter(parts), zmq::recv_flags::dontwait)) {
            return;
        }
        if (parts.size() != 2) {
            _metrics->dropped("listen", "bad_framing");
            continue;
        }
        auto env = decode(parts[1], "listen");
        if (!env) {
            continue;
        }
        const std::uint64_t route = route_of(parts[0].to_string(), t);
        if (_voter) {
            _voter->on_request(route, env->msg, t);
        } else {
            _member->on_request(route, env->msg, t);
        }
    }
}

void runtime::drain_peers(mono_time t) {
    while (true) {
        std::vector<zmq::message_t> parts;
        if (!zmq::recv_multipart(_peer_router, std::back_inserter(parts), zmq::recv_flags::dontwait)) {
            return;
        }
        if (parts.size() != 2) {
            _metrics->dropped("peer", "bad_framing");
            continue;
        }
        auto env = decode(parts[1], "peer");
        if (!env) {
            continue;
        }
        if (_peer_dealers.count(env->from.voter) == 0) {
            _metrics->dropped("peer", "unknown_sender");
            continue;
        }
        _voter->on_peer(env->from.voter, env->msg, t);
    }
}

void runtime::drain_dealers(mono_time t) {
    for (std::size_t i = 0; i < _voter_dealers.size(); ++i) {
        while (true) {
            zmq::message_t m;
            if (!_voter_dealers[i].recv(m, zmq::recv_flags::dontwait)) {
                break;
            }
            auto env = decode(m, "voter");
            if (!env) {
                continue;
            }
            if (const auto* s = std::get_if<wire::status_reply>(&env->msg)) {
                // Where this voter publishes; a wildcard host means "the host you reached me at".
                if (_voter_publish[i].empty() && !s->publish_endpoint.empty()) {
                    auto e = parse_endpoint(s->publish_endpoint);
                    if (e) {
                        if (e->host == "0.0.0.0" || e->host == "*") {
                            e->host = _o.join[i].host;
                        }
                        _voter_publish[i] = e->zmq();
                        _sub.connect(_voter_publish[i]);
                        _log->info("following views published by {} at {}", _o.join[i].text(), e->text());
                    }
                }
                continue;
            }
            _member->on_reply(i, env->msg, t);
        }
    }
}

void runtime::drain_sub(mono_time t) {
    while (true) {
        zmq::message_t m;
        if (!_sub.recv(m, zmq::recv_flags::dontwait)) {
            return;
        }
        auto env = decode(m, "sub");
        if (env) {
            _member->on_published(env->msg, t);
        }
    }
}

void runtime::drain_pub_monitor() {
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
            _metrics->subscribers_changed(+1);
        } else if (event == ZMQ_EVENT_DISCONNECTED) {
            _metrics->subscribers_changed(-1);
        }
    }
}

void runtime::discover_publishers(mono_time t) {
    if (t < _next_discovery) {
        return;
    }
    _next_discovery = t + 1s;
    for (std::size_t i = 0; i < _voter_dealers.size(); ++i) {
        if (_voter_publish[i].empty()) {
            const bytes b = encode(wire::status_request{0});
            (void)_voter_dealers[i].send(zmq::buffer(b), zmq::send_flags::dontwait);
        }
    }
}

// ---- output ------------------------------------------------------------------------------

bool runtime::carry_out(node::output out) {
    for (const auto& rd : out.persist) {
        const auto start = std::chrono::steady_clock::now();
        if (auto err = _storage->save(rd)) {
            _log->critical("storage failure, stopping: {}", err->message);
            return false;
        }
        _metrics->fsync_seconds(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    for (auto& [to, b] : out.to_voters) {
        auto it = _peer_dealers.find(to);
        if (it == _peer_dealers.end()) {
            continue;
        }
        const bytes m = encode(std::move(b));
        if (!it->second.send(zmq::buffer(m), zmq::send_flags::dontwait)) {
            _metrics->dropped("peer", "send_queue_full");
        }
    }
    for (auto& [route, b] : out.replies) {
        auto it = _identity_of_route.find(route);
        if (it == _identity_of_route.end()) {
            continue;
        }
        const bytes m = encode(std::move(b));
        const std::string& id = it->second.first;
        if (_listen.send(zmq::buffer(id), zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
            (void)_listen.send(zmq::buffer(m), zmq::send_flags::dontwait);
        }
    }
    for (auto& [i, b] : out.to_endpoints) {
        if (i < _voter_dealers.size()) {
            const bytes m = encode(std::move(b));
            if (!_voter_dealers[i].send(zmq::buffer(m), zmq::send_flags::dontwait)) {
                _metrics->dropped("voter", "send_queue_full");
            }
        }
    }
    for (auto& b : out.published) {
        if (const auto* e = std::get_if<views::node_event>(&b)) {
            if (e->what == views::node_event::kind::removed) {
                _log->warn("this node (member {}) was removed from the view in view {} ({}); joining again",
                           e->member, e->view, views::to_string(e->reason));
            } else {
                _log->info("this node rejoined as member {} (was {}) in view {}", e->new_member, e->member,
                           e->view);
            }
        }
        const bytes m = encode(std::move(b));
        (void)_pub.send(zmq::buffer(m), zmq::send_flags::dontwait);
    }
    return true;
}

void runtime::log_events() {
    if (!_voter) {
        if (_member->id() != _logged_member && _member->id() != member_id()) {
            _logged_member = _member->id();
        }
        return;
    }
    for (const auto& e : _voter->take_events()) {
        _metrics->on_event(e);
        switch (e.what) {
        case node::voter_event::kind::view_committed:
            _log->info("view {} committed: {} members, leader {} (token {})", e.view,
                       _voter->view().members.size(), _voter->view().leader, _voter->view().fencing_token);
            break;
        case node::voter_event::kind::member_joined:
            _log->info("member {} '{}' joined in view {}", e.member, e.name, e.view);
            break;
        case node::voter_event::kind::member_removed:
            if (e.reason == views::removal_reason::suspected) {
                _log->info("member {} removed in view {}: suspected, last heartbeat {:.0f} ms before",
                           e.member, e.view, to_ms(e.since_heartbeat));
            } else {
                _log->info("member {} removed in view {}: {}", e.member, e.view, views::to_string(e.reason));
            }
            break;
        case node::voter_event::kind::suspected:
            _log->debug("suspecting member {} '{}' (phi {:.1f})", e.member, e.name, e.phi);
            break;
        case node::voter_event::kind::cleared:
            _log->debug("member {} '{}' is heard from again (phi {:.1f})", e.member, e.name, e.phi);
            break;
        }
    }
}

void runtime::log_leadership() {
    if (!_voter) {
        return;
    }
    const voter_id leader = _voter->consensus().leader();
    if (leader != _known_leader && leader != voter_id()) {
        if (leader == *_o.voter) {
            _log->info("this voter is now the consensus leader (term {})", _voter->consensus().term());
        } else {
            _log->info("consensus leader is voter {} (term {})", leader, _voter->consensus().term());
        }
    }
    _known_leader = leader;
}

// ---- the loop ----------------------------------------------------------------------------

int runtime::run() {
    std::vector<zmq_pollitem_t> items;
    items.push_back({nullptr, _signal_fd, ZMQ_POLLIN, 0});
    items.push_back({_listen.handle(), 0, ZMQ_POLLIN, 0});
    items.push_back({_pub_monitor.handle(), 0, ZMQ_POLLIN, 0});
    if (_voter) {
        items.push_back({_peer_router.handle(), 0, ZMQ_POLLIN, 0});
    } else {
        items.push_back({_sub.handle(), 0, ZMQ_POLLIN, 0});
        for (auto& d : _voter_dealers) {
            items.push_back({d.handle(), 0, ZMQ_POLLIN, 0});
        }
    }

    mono_time next_tick = now();
    mono_time next_metrics = now();
    std::optional<mono_time> leaving_since;
    int code = 0;
    while (true) {
        const mono_time before = now();
        const auto wait = std::max<duration>(0ns, next_tick - before);
        try {
            zmq::poll(items.data(), items.size(),
                      std::chrono::milliseconds(
                          std::chrono::duration_cast<std::chrono::milliseconds>(wait).count() + 1));
        } catch (const zmq::error_t& e) {
            if (e.num() != EINTR) {
                _log->critical("poll failed: {}", e.what());
                return 1;
            }
        }
        const mono_time t = now();

        signalfd_siginfo info;
        while (::read(_signal_fd, &info, sizeof info) == sizeof info) {
            if (leaving_since) {
                _log->warn("second signal: stopping now");
                return 0;
            }
            leaving_since = t;
            _log->info("signal {}: leaving the views, then stopping", info.ssi_signo);
            if (_voter) {
                _voter->leave(t);
            } else {
                _member->leave(t);
            }
        }

        drain_listen(t);
        drain_pub_monitor();
        if (_voter) {
            drain_peers(t);
        } else {
            drain_dealers(t);
            drain_sub(t);
            discover_publishers(t);
        }
        if (t >= next_tick) {
            if (_voter) {
                _voter->tick(t);
            } else {
                _member->tick(t);
            }
            next_tick = t + tick_interval;
            if (t >= _next_route_sweep) { // forget routes idle for 10 minutes
                _next_route_sweep = t + 60s;
                for (auto it = _identity_of_route.begin(); it != _identity_of_route.end();) {
                    if (t - it->second.second > 600s) {
                        _route_of_identity.erase(it->second.first);
                        it = _identity_of_route.erase(it);
                    } else {
                        ++it;
                    }
                }
            }
        }
        if (!carry_out(_voter ? _voter->take_output() : _member->take_output())) {
            code = 1;
            break;
        }
        log_events();
        log_leadership();
        if (_voter) {
            _metrics->on_samples(_voter->take_samples());
        }
        if (t >= next_metrics) {
            next_metrics = t + 100ms;
            if (_voter) {
                _metrics->observe(*_voter, t);
            } else {
                _metrics->observe(*_member);
            }
        }

        if (leaving_since) {
            const bool done =
                _voter ? _voter->left() : _member->current_phase() == node::member_node::phase::left;
            if (done) {
                _log->info("left the views; stopping");
                break;
            }
            if (t - *leaving_since > leave_deadline) {
                _log->warn("could not confirm the leave within {} s; stopping anyway",
                           leave_deadline.count() / 1'000'000'000);
                break;
            }
        }
    }
    // Let the last replies and publications go out before the sockets close.
    std::this_thread::sleep_for(50ms);
    return code;
}

} // namespace roster::daemon
