#include "client/client.hh"

#include <atomic>
#include <cstring>
#include <deque>
#include <thread>

#include <fmt/format.h>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "auth/handshake.hh"
#include "client/links.hh"
#include "wire/codec.hh"

namespace roster::client {

namespace {

using clock_type = std::chrono::steady_clock;

std::string zmq_endpoint(const std::string& host_port) { return "tcp://" + host_port; }

// An endpoint of the options: where it is, and the key it must prove it holds (when secured).
struct target {
    std::string host_port;
    std::optional<auth::curve_key> server_key;
};

result<target, std::string> target_of(const options& o, const std::string& e) {
    target t{e, o.server_key};
    if (const auto at = e.find('@'); at != std::string::npos) {
        t.host_port = e.substr(at + 1);
        std::uint64_t id = 0;
        for (char c : e.substr(0, at)) {
            if (c < '0' || c > '9' || id > 1000) {
                return fmt::format("endpoint '{}': expected HOST:PORT or ID@HOST:PORT", e);
            }
            id = id * 10 + static_cast<std::uint64_t>(c - '0');
        }
        if (auto k = o.voter_keys.find(voter_id(id)); k != o.voter_keys.end()) {
            t.server_key = k->second;
        }
    }
    if (t.host_port.find(':') == std::string::npos) {
        return fmt::format("endpoint '{}': expected HOST:PORT or ID@HOST:PORT", e);
    }
    if (o.key && !t.server_key) {
        return fmt::format("endpoint '{}': no key for it; give voter endpoints as ID@HOST:PORT with "
                           "--voter-keys, or a member's key with --server-key",
                           e);
    }
    return t;
}

// Makes `s` a CURVE client of `t` when the options hold a key.
void secure(zmq::socket_t& s, const options& o, const target& t) {
    if (!o.key) {
        return;
    }
    s.set(zmq::sockopt::curve_serverkey, zmq::buffer(t.server_key->bytes()));
    s.set(zmq::sockopt::curve_publickey, zmq::buffer(o.key->public_key.bytes()));
    s.set(zmq::sockopt::curve_secretkey, zmq::buffer(o.key->secret_key.bytes()));
}

// The handshake failures of one socket, to explain a silence: "no answer" is a poor message when
// the server refused this client's key or speaks CURVE to a plaintext client.
class handshake_watch {
public:
    handshake_watch(zmq::context_t& ctx, zmq::socket_t& s) {
        static std::atomic<std::uint64_t> next{0};
        const std::string where = fmt::format("inproc://roster-client-monitor-{}", next++);
        if (zmq_socket_monitor(s.handle(), where.c_str(), auth::handshake_failure_events) == 0) {
            _events = zmq::socket_t(ctx, zmq::socket_type::pair);
            _events.set(zmq::sockopt::linger, 0);
            _events.connect(where);
        }
    }

    // Why the handshake failed, if it did since the last call.
    std::optional<std::string> failure(bool secured) {
        std::optional<std::string> why;
        if (!_events) {
            return why;
        }
        while (const auto e = auth::next_monitor_event(_events)) {
            const auto f = auth::handshake_failure_of(*e);
            if (!f) {
                continue;
            }
            if (*f == auth::handshake_failure::unauthorized_key) {
                why = "it refused this client's key (not in its --authorized-keys)";
            } else if (!secured) {
                why = "it requires CURVE: give --key-file, and --voter-keys (voters as ID@HOST:PORT) or "
                      "--server-key";
            } else if (*f == auth::handshake_failure::mechanism_mismatch) {
                why = "it runs without CURVE and this client has a key (leave out --key-file)";
            } else {
                why = "the CURVE handshake failed (is the server key right?)";
            }
        }
        return why;
    }

private:
    zmq::socket_t _events;
};

zmq::socket_t dealer(zmq::context_t& ctx, const options& o, const target& t) {
    zmq::socket_t s(ctx, zmq::socket_type::dealer);
    s.set(zmq::sockopt::linger, 0);
    apply_link_timing(s);
    secure(s, o, t);
    return s;
}

bytes encode(const options& o, wire::body b) {
    wire::envelope e;
    e.cluster = o.cluster;
    e.from.name = o.name;
    e.msg = std::move(b);
    return wire::encode(e);
}

std::optional<wire::envelope> decode(const zmq::message_t& m, const options& o) {
    auto d = wire::decode(bytes_view(static_cast<const std::uint8_t*>(m.data()), m.size()));
    if (!d || d->cluster != o.cluster) {
        return std::nullopt;
    }
    return std::move(d).value();
}

// One request, one reply (matched by type and request id), with a deadline.
template <typename Reply>
result<Reply, std::string> ask(zmq::context_t& ctx, const options& o, const std::string& endpoint,
                               wire::body request, std::uint64_t request_id) {
    auto t = target_of(o, endpoint);
    if (!t) {
        return t.error();
    }
    auto s = dealer(ctx, o, t.value());
    handshake_watch handshakes(ctx, s);
    s.connect(zmq_endpoint(t->host_port));
    const bytes out = encode(o, std::move(request));
    if (!s.send(zmq::buffer(out), zmq::send_flags::dontwait)) {
        // Not connected yet: ZeroMQ queues, so this only fails on a full queue.
    }
    const auto deadline = clock_type::now() + o.timeout;
    while (true) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
        if (auto why = handshakes.failure(o.key.has_value())) {
            return fmt::format("cannot talk to {}: {}", endpoint, *why);
        }
        if (left.count() <= 0) {
            return fmt::format("no answer from {} within {} ms (is rosterd running there, in cluster '{}'?)",
                               endpoint, o.timeout.count(), o.cluster);
        }
        zmq::pollitem_t item{s.handle(), 0, ZMQ_POLLIN, 0};
        zmq::poll(&item, 1, std::min<std::chrono::milliseconds>(left, 50ms));
        zmq::message_t m;
        while (s.recv(m, zmq::recv_flags::dontwait)) {
            auto env = decode(m, o);
            if (!env) {
                continue;
            }
            if (const auto* r = std::get_if<Reply>(&env->msg); r && r->request_id == request_id) {
                return *r;
            }
        }
    }
}

template <typename Reply>
result<Reply, std::string> ask_any(const options& o, wire::body request, std::uint64_t request_id) {
    if (o.endpoints.empty()) {
        return std::string("no endpoint given");
    }
    zmq::context_t ctx(1);
    std::string errors;
    for (const auto& e : o.endpoints) {
        auto r = ask<Reply>(ctx, o, e, request, request_id);
        if (r) {
            return r;
        }
        errors += (errors.empty() ? "" : "; ") + r.error();
    }
    return errors;
}

} // namespace

std::optional<std::string> check(const options& o) {
    for (const auto& e : o.endpoints) {
        if (auto t = target_of(o, e); !t) {
            return t.error();
        }
    }
    return std::nullopt;
}

result<wire::status_reply, std::string> status(const options& o) {
    return ask_any<wire::status_reply>(o, wire::status_request{1}, 1);
}

result<views::view, std::string> current_view(const options& o) {
    auto r = ask_any<views::sync_reply>(o, views::sync_request{1, view_id(), true}, 1);
    if (!r) {
        return r.error();
    }
    if (!r->full) {
        return std::string("the node answered without a view");
    }
    return *r->full;
}

// ---- watcher -----------------------------------------------------------------------------

struct watcher::impl {
    options o;
    zmq::context_t ctx{1};
    std::vector<target> targets; // by endpoint (those that do not parse are left out: check())
    std::vector<zmq::socket_t> dealers;
    std::vector<handshake_watch> handshakes;
    std::string handshake_error; // the latest failure, to explain a silence
    zmq::socket_t sub;
    std::vector<bool> subscribed;
    views::view_subscriber core;
    clock_type::time_point epoch = clock_type::now();
    clock_type::time_point last_answer = clock_type::now();
    clock_type::time_point next_status{};
    std::deque<item> ready;

    explicit impl(const options& opts)
        : o(opts)
        , sub(ctx, zmq::socket_type::sub)
        , core(views::subscriber_config{std::max<std::size_t>(1, opts.endpoints.size()), 1s, 1s}) {
        if (o.key) {
            sub.set(zmq::sockopt::curve_publickey, zmq::buffer(o.key->public_key.bytes()));
            sub.set(zmq::sockopt::curve_secretkey, zmq::buffer(o.key->secret_key.bytes()));
        }
        sub.set(zmq::sockopt::linger, 0);
        apply_link_timing(sub);
        sub.set(zmq::sockopt::subscribe, "");
        for (const auto& e : o.endpoints) {
            if (auto t = target_of(o, e)) {
                targets.push_back(t.value());
            }
        }
        for (const auto& t : targets) {
            dealers.push_back(dealer(ctx, o, t));
            handshakes.emplace_back(ctx, dealers.back());
            dealers.back().connect(zmq_endpoint(t.host_port));
        }
        subscribed.assign(targets.size(), false);
        core.start(now());
    }

    mono_time now() const { return mono_time(clock_type::now() - epoch); }

    void ask_status() {
        if (clock_type::now() < next_status) {
            return;
        }
        next_status = clock_type::now() + 1s;
        for (std::size_t i = 0; i < dealers.size(); ++i) {
            if (!subscribed[i]) {
                const bytes b = encode(o, wire::status_request{0});
                (void)dealers[i].send(zmq::buffer(b), zmq::send_flags::dontwait);
            }
        }
    }

    void pump() {
        for (auto& d : core.take_deliveries()) {
            ready.emplace_back(std::move(d));
        }
        if (auto q = core.take_request()) {
            const bytes b = encode(o, q->msg);
            (void)dealers[q->endpoint].send(zmq::buffer(b), zmq::send_flags::dontwait);
        }
    }

    void receive() {
        const mono_time t = now();
        for (std::size_t i = 0; i < dealers.size(); ++i) {
            zmq::message_t m;
            while (dealers[i].recv(m, zmq::recv_flags::dontwait)) {
                auto env = decode(m, o);
                if (!env) {
                    continue;
                }
                last_answer = clock_type::now();
                if (const auto* s = std::get_if<wire::status_reply>(&env->msg)) {
                    if (!subscribed[i] && !s->publish_endpoint.empty()) {
                        std::string where = s->publish_endpoint;
                        // A wildcard bind is reached at the host we asked.
                        for (const char* any : {"0.0.0.0:", "*:"}) {
                            if (where.rfind(any, 0) == 0) {
                                where = targets[i].host_port.substr(0, targets[i].host_port.rfind(':')) +
                                        where.substr(std::string(any).size() - 1);
                            }
                        }
                        // A node publishes with the key it answers with.
                        if (targets[i].server_key) {
                            sub.set(zmq::sockopt::curve_serverkey,
                                    zmq::buffer(targets[i].server_key->bytes()));
                        }
                        sub.connect(zmq_endpoint(where));
                        subscribed[i] = true;
                    }
                } else if (const auto* r = std::get_if<views::sync_reply>(&env->msg)) {
                    core.on_sync_reply(i, *r, t);
                }
                pump();
            }
        }
        zmq::message_t m;
        while (sub.recv(m, zmq::recv_flags::dontwait)) {
            auto env = decode(m, o);
            if (!env) {
                continue;
            }
            if (const auto* c = std::get_if<views::view_change>(&env->msg)) {
                core.on_change(*c, t);
            } else if (const auto* f = std::get_if<views::full_view>(&env->msg)) {
                core.on_full(f->view, t);
            } else if (const auto* e = std::get_if<views::node_event>(&env->msg)) {
                ready.emplace_back(*e);
            }
            pump();
        }
    }
};

watcher::watcher(const options& o)
    : _impl(std::make_unique<impl>(o)) {
    _impl->pump();
}

watcher::~watcher() = default;

const views::view* watcher::current() const { return _impl->core.current(); }

result<std::optional<watcher::item>, std::string> watcher::next(std::chrono::milliseconds timeout) {
    auto& s = *_impl;
    if (s.o.endpoints.empty()) {
        return std::string("no endpoint given");
    }
    if (auto bad = check(s.o)) {
        return *bad;
    }
    const auto deadline = clock_type::now() + timeout;
    while (s.ready.empty()) {
        for (std::size_t i = 0; i < s.handshakes.size(); ++i) {
            if (auto why = s.handshakes[i].failure(s.o.key.has_value())) {
                s.handshake_error = fmt::format("cannot talk to {}: {}", s.o.endpoints[i], *why);
            }
        }
        if (clock_type::now() - s.last_answer > std::max<std::chrono::milliseconds>(s.o.timeout, 1500ms) &&
            !s.core.current()) {
            std::string list;
            for (const auto& e : s.o.endpoints) {
                list += (list.empty() ? "" : ", ") + e;
            }
            if (!s.handshake_error.empty()) {
                return s.handshake_error;
            }
            return fmt::format("no answer from {} within {} ms (is rosterd running there, in cluster '{}'?)",
                               list, s.o.timeout.count(), s.o.cluster);
        }
        const auto now = clock_type::now();
        if (now >= deadline) {
            return std::optional<item>();
        }
        s.ask_status();
        std::vector<zmq::pollitem_t> items;
        items.push_back({s.sub.handle(), 0, ZMQ_POLLIN, 0});
        for (auto& d : s.dealers) {
            items.push_back({d.handle(), 0, ZMQ_POLLIN, 0});
        }
        const auto wait = std::min<std::chrono::milliseconds>(
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now), 50ms);
        zmq::poll(items.data(), items.size(), std::max<std::chrono::milliseconds>(wait, 1ms));
        s.receive();
        s.core.tick(s.now());
        s.pump();
    }
    item out = std::move(s.ready.front());
    s.ready.pop_front();
    return std::optional<item>(std::move(out));
}

} // namespace roster::client
