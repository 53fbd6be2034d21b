#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "daemon/transport.hh"
#include "log_capture.hh"
#include "wire/codec.hh"

// A transport over real ZeroMQ sockets on 127.0.0.1 (ports chosen by the system), and the test's
// own sockets that stand for clients, voters and subscribers. Every wait has a deadline.
namespace roster::daemon::testing {

using namespace std::chrono_literals;

inline constexpr auto deadline = 5s;

// Keeps what the transport hands over.
struct recording_driver final : driver {
    std::vector<std::pair<node::route_id, wire::body>> requests;
    std::vector<node::requester> requesters; // by request
    std::vector<std::pair<voter_id, wire::body>> peers;
    std::vector<std::pair<std::size_t, wire::body>> replies;
    std::vector<wire::body> published;
    wire::sender me{voter_id(), member_id(5), "t"};

    void on_request(node::route_id from, const node::requester& who, const wire::body& msg,
                    mono_time) override {
        requests.emplace_back(from, msg);
        requesters.push_back(who);
    }
    void on_peer(voter_id from, const wire::body& msg, mono_time) override { peers.emplace_back(from, msg); }
    void on_endpoint_reply(std::size_t e, const wire::body& msg, mono_time) override {
        replies.emplace_back(e, msg);
    }
    void on_published(const wire::body& msg, mono_time) override { published.push_back(msg); }
    void tick(mono_time) override {}
    void leave(mono_time) override {}
    [[nodiscard]] bool done_leaving() const override { return false; }
    node::output take_output() override { return {}; }
    void after_step(mono_time) override {}
    [[nodiscard]] wire::sender self() const override { return me; }
};

inline options member_options() {
    return {.name = "t", .cluster = "test", .listen = {"127.0.0.1", 0}, .publish = {"127.0.0.1", 0}};
}

inline std::uint16_t port_of(const std::string& zmq_endpoint) {
    return static_cast<std::uint16_t>(std::stoi(zmq_endpoint.substr(zmq_endpoint.rfind(':') + 1)));
}

inline bytes envelope(wire::body b, const std::string& cluster = "test", wire::sender from = {}) {
    return wire::encode(wire::envelope{wire::protocol_version, cluster, std::move(from), std::move(b)});
}

// The request id of a status request or reply (the tests' messages), else 0.
inline std::uint64_t request_id_of(const wire::body& b) {
    if (const auto* q = std::get_if<wire::status_request>(&b)) {
        return q->request_id;
    }
    if (const auto* r = std::get_if<wire::status_reply>(&b)) {
        return r->request_id;
    }
    return 0;
}

inline void send(zmq::socket_t& s, const bytes& b) {
    ASSERT_TRUE(s.send(zmq::buffer(b), zmq::send_flags::none));
}

// The next message on `s` (its last frame), decoded; empty when nothing decodable came in time.
inline std::optional<wire::envelope> next_message(zmq::socket_t& s,
                                                  std::chrono::milliseconds within = deadline) {
    zmq::pollitem_t item{s.handle(), 0, ZMQ_POLLIN, 0};
    std::vector<zmq::message_t> parts;
    if (zmq::poll(&item, 1, within) == 0 || !zmq::recv_multipart(s, std::back_inserter(parts))) {
        return std::nullopt;
    }
    auto e =
        wire::decode(bytes_view(static_cast<const std::uint8_t*>(parts.back().data()), parts.back().size()));
    return e ? std::optional<wire::envelope>(std::move(e).value()) : std::nullopt;
}

// Calls `send_once` until `receiver` gets a message: for sockets that drop what they cannot
// deliver yet (a DEALER with ZMQ_IMMEDIATE, a PUB before the subscription arrived).
inline std::optional<wire::envelope> resend_until_received(const std::function<void()>& send_once,
                                                           zmq::socket_t& receiver) {
    const auto end = std::chrono::steady_clock::now() + deadline;
    std::optional<wire::envelope> got;
    while (!got && std::chrono::steady_clock::now() < end) {
        send_once();
        got = next_message(receiver, 20ms);
    }
    return got;
}

// The status replies `to` routes, as a node would answer.
inline node::output replies(std::vector<std::pair<node::route_id, std::uint64_t>> to) {
    node::output out;
    for (const auto& [route, id] : to) {
        wire::status_reply r;
        r.request_id = id;
        out.replies.emplace_back(route, r);
    }
    return out;
}

// The transport of the test, opened as `o` says, with its metrics and log.
struct fixture {
    log_capture log;
    metrics m;
    std::unique_ptr<transport> net;
    recording_driver d;
    zmq::context_t ctx; // the test's own sockets

    explicit fixture(const options& o)
        : m(o.cluster, o.name, o.is_voter(), 1000) {
        auto opened = transport::open(o, log.logger, m);
        if (!opened) {
            ADD_FAILURE() << opened.error();
            return;
        }
        net = std::move(opened).value();
        if (o.is_voter()) {
            EXPECT_EQ(net->open_voter_links(), std::nullopt);
        } else {
            net->open_member_links();
        }
    }

    // Polls and receives until `done` holds; `offset` moves the time the transport is given.
    bool receive_until(const std::function<bool()>& done, duration offset = {}) {
        const auto end = std::chrono::steady_clock::now() + deadline;
        while (!done()) {
            if (std::chrono::steady_clock::now() > end) {
                return false;
            }
            EXPECT_TRUE(net->wait(net->now() + 20ms));
            net->receive(d, net->now() + offset);
        }
        return true;
    }

    // A client connected to --listen.
    zmq::socket_t client() {
        zmq::socket_t s(ctx, zmq::socket_type::dealer);
        s.set(zmq::sockopt::linger, 0);
        s.connect(net->bound().listen);
        return s;
    }

    // Sends a status request from `c` and returns the route the driver got it from.
    node::route_id request_from(zmq::socket_t& c, std::uint64_t id, duration offset = {}) {
        const std::size_t before = d.requests.size();
        send(c, envelope(wire::status_request{id}));
        if (!receive_until([&] { return d.requests.size() > before; }, offset)) {
            ADD_FAILURE() << "request " << id << " did not arrive";
            return 0;
        }
        EXPECT_EQ(request_id_of(d.requests.back().second), id);
        return d.requests.back().first;
    }

    double dropped(const std::string& socket, const std::string& reason) const {
        return m.value("roster_messages_dropped_total", {{"socket", socket}, {"reason", reason}});
    }
};

} // namespace roster::daemon::testing
