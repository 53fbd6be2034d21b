#include "client/client.hh"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <deque>

#include <fmt/format.h>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "auth/handshake.hh"
#include "client/detail.hh"
#include "client/links.hh"
#include "common/endpoint.hh"
#include "wire/codec.hh"

namespace roster::client {

namespace {

using clock_type = std::chrono::steady_clock;
using std::chrono::milliseconds;

milliseconds ms_between(clock_type::time_point from, clock_type::time_point to) {
    return std::chrono::duration_cast<milliseconds>(to - from);
}

// An endpoint of the options: what was given, where it is, and the key it must prove it holds
// (when secured).
struct target {
    std::string given;
    host_port where;
    std::optional<auth::curve_key> server_key;
};

result<target, std::string> target_of(const options& o, const std::string& e) {
    auto parsed = parse_voter_endpoint(e);
    if (!parsed) {
        return "endpoint " + parsed.error();
    }
    target t{e, parsed->where, o.server_key};
    if (parsed->voter != voter_id()) {
        if (auto k = o.voter_keys.find(parsed->voter); k != o.voter_keys.end()) {
            t.server_key = k->second;
        }
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

// What happened to the connection of one socket, from its monitor: whether TCP connected, whether a
// connection attempt failed before any did (refused), and why a handshake failed. "No answer" is a
// poor message when the port is closed, the server refused this client's key, or it speaks CURVE
// to a plaintext client.
class link_watch {
public:
    link_watch(zmq::context_t& ctx, zmq::socket_t& s) {
        static std::atomic<std::uint64_t> next{0};
        const std::string where = fmt::format("inproc://roster-client-monitor-{}", next++);
        const int events = auth::handshake_failure_events | ZMQ_EVENT_CONNECTED | ZMQ_EVENT_CONNECT_RETRIED;
        if (zmq_socket_monitor(s.handle(), where.c_str(), events) == 0) {
            _events = zmq::socket_t(ctx, zmq::socket_type::pair);
            _events.set(zmq::sockopt::linger, 0);
            _events.connect(where);
        }
        _started = clock_type::now();
    }

    // Reads the events that came since the last call.
    void update(bool secured) {
        if (!_events) {
            return;
        }
        while (const auto e = auth::next_monitor_event(_events)) {
            if (e->event == ZMQ_EVENT_CONNECTED) {
                _connected = true;
                continue;
            }
            if (e->event == ZMQ_EVENT_CONNECT_RETRIED) {
                // A first attempt that ends before the connect timeout could was turned away: the
                // port is closed (or a firewall rejects). One that timed out is not a refusal.
                if (!_connected && clock_type::now() - _started < link_connect_timeout) {
                    _refused = true;
                }
                continue;
            }
            const auto f = auth::handshake_failure_of(*e);
            if (!f) {
                continue;
            }
            if (*f == auth::handshake_failure::unauthorized_key) {
                _handshake = "it refused this client's key (not in its --authorized-keys)";
            } else if (!secured) {
                _handshake = "it requires CURVE: give --key-file, and --voter-keys (voters as ID@HOST:PORT) or "
                             "--server-key";
            } else if (*f == auth::handshake_failure::mechanism_mismatch) {
                _handshake = "it runs without CURVE and this client has a key (leave out --key-file)";
            } else {
                _handshake = "the CURVE handshake failed (is the server key right?)";
            }
        }
    }

    [[nodiscard]] bool refused() const { return _refused && !_connected; }
    [[nodiscard]] const std::optional<std::string>& handshake_failure() const { return _handshake; }

private:
    zmq::socket_t _events;
    clock_type::time_point _started;
    bool _connected = false;
    bool _refused = false;
    std::optional<std::string> _handshake;
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

// zmq_poll, where an interrupted wait (EINTR: a signal, a stop and continue) is a wait that ended
// early, not an error to throw.
int poll_for(zmq::pollitem_t* items, std::size_t n, milliseconds wait) {
    return std::max(zmq_poll(items, static_cast<int>(n), static_cast<long>(wait.count())), 0);
}

void tell(const options& o, const std::string& line) {
    if (o.notice) {
        o.notice(line);
    }
}

// Why one endpoint gave no reply: the sentence of the error, and the shorter one of a notice.
struct no_reply {
    std::string error;  // "no answer from X within N ms (is rosterd running there, ...?)"
    std::string notice; // "X did not answer in N ms"
};

// One request, one reply (matched by type and request id), within `bound`.
template <typename Reply>
result<Reply, no_reply> ask(zmq::context_t& ctx, const options& o, const target& t, const wire::body& request,
                            std::uint64_t request_id, milliseconds bound) {
    auto s = dealer(ctx, o, t);
    link_watch link(ctx, s);
    s.connect(t.where.zmq());
    const bytes out = encode(o, request);
    // Not connected yet: ZeroMQ queues, so this only fails on a full queue, which a new socket has not.
    (void)s.send(zmq::buffer(out), zmq::send_flags::dontwait);
    const auto deadline = clock_type::now() + bound;
    while (true) {
        link.update(o.key.has_value());
        if (const auto& why = link.handshake_failure()) {
            return no_reply{fmt::format("cannot talk to {}: {}", t.given, *why),
                            fmt::format("cannot talk to {}: {}", t.given, *why)};
        }
        if (link.refused()) {
            return no_reply{fmt::format("{}: connection refused (is rosterd running there?)", t.given),
                            fmt::format("{} refused the connection", t.given)};
        }
        const auto left = ms_between(clock_type::now(), deadline);
        if (left.count() <= 0) {
            return no_reply{fmt::format("no answer from {} within {} ms (is rosterd running there, in cluster "
                                        "'{}'?)",
                                        t.given, bound.count(), o.cluster),
                            fmt::format("{} did not answer in {} ms", t.given, bound.count())};
        }
        zmq::pollitem_t item{s.handle(), 0, ZMQ_POLLIN, 0};
        poll_for(&item, 1, std::min<milliseconds>(left, 20ms));
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

// Asks the endpoints in turn; each gets an equal share of the time left (options::timeout).
template <typename Reply>
result<Reply, std::string> ask_any(const options& o, const wire::body& request, std::uint64_t request_id) {
    if (o.endpoints.empty()) {
        return std::string("no endpoint given");
    }
    std::vector<target> targets;
    for (const auto& e : o.endpoints) {
        auto t = target_of(o, e);
        if (!t) {
            return t.error();
        }
        targets.push_back(t.value());
    }
    zmq::context_t ctx(1);
    const auto deadline = clock_type::now() + o.timeout;
    std::string errors;
    for (std::size_t i = 0; i < targets.size(); ++i) {
        const auto share = std::max<milliseconds>(std::chrono::ceil<milliseconds>(deadline - clock_type::now()) /
                                                      static_cast<long>(targets.size() - i),
                                                  1ms);
        auto r = ask<Reply>(ctx, o, targets[i], request, request_id, share);
        if (r) {
            return r.value();
        }
        errors += (errors.empty() ? "" : "; ") + r.error().error;
        if (i + 1 < targets.size()) {
            tell(o, fmt::format("{}; trying {}", r.error().notice, targets[i + 1].given));
        }
    }
    return errors;
}

} // namespace

namespace detail {

result<membership::remove_reply, std::string> ask_remove(const options& o, const std::string& endpoint,
                                                        const membership::remove_request& q, milliseconds bound) {
    auto t = target_of(o, endpoint);
    if (!t) {
        return t.error();
    }
    zmq::context_t ctx(1);
    auto r = ask<membership::remove_reply>(ctx, o, t.value(), q, q.request_id, bound);
    if (!r) {
        return r.error().error;
    }
    return r.value();
}

} // namespace detail

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

namespace {

// A gap this long between two turns of the watcher's loop means it was not running (next() not
// called, the process stopped): what arrived meanwhile is read before anything is asked.
constexpr milliseconds stall_threshold{500};
// After a stall: how long the subscription must stay quiet before the watcher asks anything, and
// the most it waits for that.
constexpr milliseconds settle_quiet{20};
constexpr milliseconds settle_limit{200};
// The most messages one read of the subscription takes (ZeroMQ's receive queue holds 1,000 by
// default; a view change is one message).
constexpr std::size_t max_drain = 4096;

} // namespace

struct watcher::impl {
    options o;
    zmq::context_t ctx{1};
    std::vector<target> targets; // by endpoint (those that do not parse are left out: check())
    std::vector<zmq::socket_t> dealers;
    std::vector<link_watch> links;
    std::vector<view_id> newest_reported; // by endpoint: the newest view it said it holds
    zmq::socket_t sub;
    std::string sub_endpoint; // the publish endpoint `sub` is connected to ("": none)
    views::view_subscriber core;
    clock_type::time_point epoch = clock_type::now();

    std::size_t followed = 0;
    clock_type::time_point followed_since = clock_type::now();
    clock_type::time_point last_answer{}; // from the followed endpoint, since it is followed
    bool ever_answered = false;           // any endpoint, ever: past the start
    std::size_t lost_in_a_row = 0;        // endpoints lost one after another, none answering between
    std::vector<std::string> lost_why;    // their stories, for the final error
    clock_type::time_point next_status{};
    clock_type::time_point last_turn{};
    std::optional<views::sync_request> last_request; // the core's, resent on failover
    std::optional<std::string> fatal;
    std::deque<item> ready;

    explicit impl(const options& opts)
        : o(opts)
        , sub(ctx, zmq::socket_type::sub)
        // One endpoint for the core: every request goes to the followed node, which this shell picks.
        , core(views::subscriber_config{1, watch_poll_interval, watch_poll_interval}) {
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
        dealers.reserve(targets.size());
        links.reserve(targets.size());
        for (const auto& t : targets) {
            dealers.push_back(dealer(ctx, o, t));
            links.emplace_back(ctx, dealers.back());
            dealers.back().connect(t.where.zmq());
        }
        newest_reported.assign(targets.size(), view_id());
        core.start(now());
    }

    mono_time now() const { return mono_time(clock_type::now() - epoch); }

    void send_to_followed(const wire::body& b) {
        const bytes out = encode(o, b);
        (void)dealers[followed].send(zmq::buffer(out), zmq::send_flags::dontwait);
    }

    void ask_status() {
        if (!sub_endpoint.empty() || clock_type::now() < next_status) {
            return;
        }
        next_status = clock_type::now() + watch_poll_interval / 4;
        send_to_followed(wire::status_request{0});
    }

    void take_deliveries() {
        for (auto& d : core.take_deliveries()) {
            ready.emplace_back(std::move(d));
        }
    }

    // Reads what the subscription holds now, without waiting; at most max_drain messages, so that a
    // node publishing faster than this loop reads cannot keep it here (what is left is read on the
    // next turn, and a sync asks only for what follows the newest view held).
    void drain_sub() {
        zmq::message_t m;
        for (std::size_t n = 0; n < max_drain && sub.recv(m, zmq::recv_flags::dontwait); ++n) {
            auto env = decode(m, o);
            if (!env) {
                continue;
            }
            const mono_time t = now();
            if (const auto* c = std::get_if<views::view_change>(&env->msg)) {
                core.on_change(*c, t);
            } else if (const auto* f = std::get_if<views::full_view>(&env->msg)) {
                core.on_full(f->view, t);
            } else if (const auto* e = std::get_if<views::node_event>(&env->msg)) {
                take_deliveries(); // an event comes after the views before it
                ready.emplace_back(*e);
            }
        }
        take_deliveries();
    }

    // After a stall: reads the subscription until it has been quiet for settle_quiet (ZeroMQ's I/O
    // thread may still be moving what the kernel holds into the socket).
    void settle() {
        const auto limit = clock_type::now() + settle_limit;
        while (clock_type::now() < limit) {
            drain_sub();
            zmq::pollitem_t item{sub.handle(), 0, ZMQ_POLLIN, 0};
            if (poll_for(&item, 1, settle_quiet) == 0) {
                return;
            }
        }
    }

    // The core's sync request, if it has one: drained first, then asking for what follows the
    // newest view held (drain before sync).
    void send_request() {
        auto q = core.take_request();
        if (!q) {
            return;
        }
        drain_sub();
        if (!q->msg.full && core.current() != nullptr) {
            q->msg.after = core.current()->id;
        }
        last_request = q->msg;
        send_to_followed(q->msg);
    }

    void follow(std::size_t next) {
        if (!sub_endpoint.empty()) {
            (void)zmq_disconnect(sub.handle(), sub_endpoint.c_str()); // a no-op if it never connected
            sub_endpoint.clear();
        }
        followed = next;
        followed_since = clock_type::now();
        last_answer = {};
        next_status = {};
        ask_status();
        if (last_request) {
            send_to_followed(*last_request); // same id: the core takes the new node's answer
        }
    }

    // The followed node said it holds views up to `newest`: whether that counts as an answer.
    bool check_newest(std::size_t i, view_id newest) {
        if (newest < newest_reported[i]) {
            fatal = fmt::format("{} went back from view {} to view {}: it was restarted without its data, or "
                                "another cluster now runs there; stopping, since its views would not continue "
                                "the ones shown",
                                targets[i].given, newest_reported[i], newest);
            return false;
        }
        newest_reported[i] = newest;
        // Behind what was delivered already: it lags, or belongs to another history; not an answer.
        return core.current() == nullptr || newest >= core.current()->id;
    }

    void answered() {
        last_answer = clock_type::now();
        ever_answered = true;
        lost_in_a_row = 0;
        lost_why.clear();
    }

    void connect_sub(const std::string& publish) {
        std::string where = publish;
        // A wildcard bind is reached at the host we asked.
        for (const char* any : {"0.0.0.0:", "*:"}) {
            if (where.rfind(any, 0) == 0) {
                where = targets[followed].where.host + where.substr(std::string(any).size() - 1);
            }
        }
        auto parsed = parse_host_port(where);
        if (!parsed) {
            return; // not an endpoint this client can reach; the sync requests still bring every view
        }
        // A node publishes with the key it answers with.
        if (targets[followed].server_key) {
            sub.set(zmq::sockopt::curve_serverkey, zmq::buffer(targets[followed].server_key->bytes()));
        }
        sub_endpoint = parsed->zmq();
        if (zmq_connect(sub.handle(), sub_endpoint.c_str()) != 0) {
            sub_endpoint.clear();
        }
    }

    void receive_dealers() {
        for (std::size_t i = 0; i < dealers.size(); ++i) {
            zmq::message_t m;
            while (dealers[i].recv(m, zmq::recv_flags::dontwait)) {
                if (i != followed) {
                    continue; // an answer to an endpoint given up on
                }
                auto env = decode(m, o);
                if (!env) {
                    continue;
                }
                if (const auto* s = std::get_if<wire::status_reply>(&env->msg)) {
                    if (check_newest(i, s->view)) {
                        answered();
                        if (sub_endpoint.empty() && !s->publish_endpoint.empty()) {
                            connect_sub(s->publish_endpoint);
                        }
                    }
                } else if (const auto* r = std::get_if<views::sync_reply>(&env->msg)) {
                    if (check_newest(i, r->current)) {
                        answered();
                    }
                    if (!fatal) {
                        drain_sub(); // views queued before the reply come first
                        core.on_sync_reply(0, *r, now());
                        take_deliveries();
                    }
                }
                if (fatal) {
                    return;
                }
            }
        }
    }

    // Whether the followed node is lost; if so follows the next one, or sets `fatal` when none is
    // left.
    void check_followed() {
        const auto t = clock_type::now();
        links[followed].update(o.key.has_value());
        const auto since = std::max(last_answer, followed_since);
        // At the start an endpoint gets its share of --timeout (as a call does), and one that
        // refuses is left at once; later, the silence bound.
        const auto share = std::max<milliseconds>(
            o.timeout / static_cast<long>(std::max<std::size_t>(targets.size(), 1)), 1ms);
        const auto bound = ever_answered ? watch_silence_bound : share;
        const bool refused = !ever_answered && links[followed].refused();
        if (!refused && t - since < bound) {
            return;
        }
        const auto& given = targets[followed].given;
        std::string why;
        if (const auto& h = links[followed].handshake_failure()) {
            why = fmt::format("cannot talk to {}: {}", given, *h);
        } else if (refused) {
            why = fmt::format("{}: connection refused (is rosterd running there?)", given);
        } else if (ever_answered) {
            why = fmt::format("lost {} (no answer for {} s)", given, watch_silence_bound.count() / 1000);
        } else {
            why = fmt::format("no answer from {} within {} ms (is rosterd running there, in cluster '{}'?)", given,
                              bound.count(), o.cluster);
        }
        lost_why.push_back(why);
        ++lost_in_a_row;
        if (lost_in_a_row >= targets.size()) {
            std::string all;
            for (const auto& w : lost_why) {
                all += (all.empty() ? "" : "; ") + w;
            }
            fatal = targets.size() > 1 ? all + "; no endpoint left that answers" : all;
            return;
        }
        const std::size_t next = (followed + 1) % targets.size();
        if (ever_answered) {
            tell(o, fmt::format("{}; following {}", why, targets[next].given));
        } else if (refused) {
            tell(o, fmt::format("{} refused the connection; trying {}", given, targets[next].given));
        } else {
            tell(o, fmt::format("{} did not answer in {} ms; trying {}", given, bound.count(), targets[next].given));
        }
        follow(next);
    }
};

watcher::watcher(const options& o)
    : _impl(std::make_unique<impl>(o)) {}

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
        if (s.fatal) {
            return *s.fatal;
        }
        const auto now = clock_type::now();
        if (s.last_turn != clock_type::time_point{} && now - s.last_turn > stall_threshold) {
            // Nothing could be heard while we were not running: read the backlog first, and give
            // the followed node a fresh bound.
            s.settle();
            s.followed_since = std::max(s.followed_since, clock_type::now());
            s.last_answer = {};
        }
        s.last_turn = now;
        s.drain_sub();
        s.receive_dealers();
        if (s.fatal) {
            return *s.fatal;
        }
        s.check_followed();
        if (s.fatal) {
            return *s.fatal;
        }
        s.ask_status();
        s.core.tick(s.now());
        s.send_request();
        if (!s.ready.empty()) {
            break;
        }
        if (clock_type::now() >= deadline) {
            return std::optional<item>();
        }
        zmq::pollitem_t items[] = {{s.sub.handle(), 0, ZMQ_POLLIN, 0},
                                   {s.dealers[s.followed].handle(), 0, ZMQ_POLLIN, 0}};
        const auto wait = std::min<milliseconds>(ms_between(clock_type::now(), deadline), 50ms);
        const auto asleep = clock_type::now();
        poll_for(items, 2, std::max<milliseconds>(wait, 1ms));
        // When it should have woken at the latest: a process stopped in the poll wakes much later,
        // and the next turn counts that as a stall.
        s.last_turn = asleep + std::max<milliseconds>(wait, 1ms);
    }
    item out = std::move(s.ready.front());
    s.ready.pop_front();
    return std::optional<item>(std::move(out));
}

} // namespace roster::client
