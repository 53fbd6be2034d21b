#include <csignal>
#include <functional>

#include <gtest/gtest.h>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "daemon/transport.hh"
#include "log_capture.hh"
#include "wire/codec.hh"

// The transport over real ZeroMQ sockets on 127.0.0.1 (ports chosen by the system). The test's
// own sockets stand for clients, voters and subscribers. Every wait has a deadline.
namespace roster::daemon {
namespace {

using namespace std::chrono_literals;

constexpr auto deadline = 5s;

// Keeps what the transport hands over.
struct recording_driver final : driver {
    std::vector<std::pair<node::route_id, wire::body>> requests;
    std::vector<std::pair<voter_id, wire::body>> peers;
    std::vector<std::pair<std::size_t, wire::body>> replies;
    std::vector<wire::body> published;
    wire::sender me{voter_id(), member_id(5), "t"};

    void on_request(node::route_id from, const wire::body& msg, mono_time) override {
        requests.emplace_back(from, msg);
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

// A storage that refuses every save, or keeps count of them.
struct counting_storage final : consensus::storage {
    bool fail = false;
    int saved = 0;
    [[nodiscard]] consensus::persisted_state recovered() const override { return {}; }
    [[nodiscard]] std::optional<consensus::storage_error> save(const consensus::ready&) override {
        if (fail) {
            return consensus::storage_error{"disk on fire"};
        }
        ++saved;
        return std::nullopt;
    }
};

options member_options() {
    options o;
    o.name = "t";
    o.cluster = "test";
    o.listen = {"127.0.0.1", 0};
    o.publish = {"127.0.0.1", 0};
    return o;
}

std::uint16_t port_of(const std::string& zmq_endpoint) {
    return static_cast<std::uint16_t>(std::stoi(zmq_endpoint.substr(zmq_endpoint.rfind(':') + 1)));
}

bytes envelope(wire::body b, const std::string& cluster = "test", wire::sender from = {}) {
    return wire::encode(wire::envelope{wire::protocol_version, cluster, std::move(from), std::move(b)});
}

// The transport of the test, with its metrics and log.
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

    zmq::socket_t client() {
        zmq::socket_t s(ctx, zmq::socket_type::dealer);
        s.set(zmq::sockopt::linger, 0);
        s.connect(net->bound().listen);
        return s;
    }

    double dropped(const std::string& socket, const std::string& reason) const {
        return m.value("roster_messages_dropped_total", {{"socket", socket}, {"reason", reason}});
    }
};

void send(zmq::socket_t& s, const bytes& b) { ASSERT_TRUE(s.send(zmq::buffer(b), zmq::send_flags::none)); }

// The next message on `s` (the last frame of it), decoded; nothing within the deadline: empty.
std::optional<wire::envelope> next_message(zmq::socket_t& s, std::chrono::milliseconds within = deadline) {
    zmq::pollitem_t item{s.handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, within) == 0) {
        return std::nullopt;
    }
    std::vector<zmq::message_t> parts;
    if (!zmq::recv_multipart(s, std::back_inserter(parts)) || parts.empty()) {
        return std::nullopt;
    }
    auto e =
        wire::decode(bytes_view(static_cast<const std::uint8_t*>(parts.back().data()), parts.back().size()));
    if (!e) {
        return std::nullopt;
    }
    return std::move(e).value();
}

std::uint64_t request_id_of(const wire::body& b) {
    if (const auto* q = std::get_if<wire::status_request>(&b)) {
        return q->request_id;
    }
    if (const auto* r = std::get_if<wire::status_reply>(&b)) {
        return r->request_id;
    }
    return 0;
}

node::output replies(std::vector<std::pair<node::route_id, std::uint64_t>> to) {
    node::output out;
    for (const auto& [route, id] : to) {
        wire::status_reply r;
        r.request_id = id;
        out.replies.emplace_back(route, r);
    }
    return out;
}

TEST(transport, a_reply_goes_back_to_the_route_of_its_request) {
    fixture f(member_options());
    ASSERT_TRUE(f.net);
    auto a = f.client();
    auto b = f.client();
    send(a, envelope(wire::status_request{1}));
    send(b, envelope(wire::status_request{2}));
    ASSERT_TRUE(f.receive_until([&] { return f.d.requests.size() == 2; }));
    std::map<std::uint64_t, node::route_id> route;
    for (const auto& [r, body] : f.d.requests) {
        route[request_id_of(body)] = r;
    }
    ASSERT_NE(route.at(1), route.at(2));
    ASSERT_TRUE(f.net->carry_out(replies({{route.at(2), 20}, {route.at(1), 10}}), f.d.self(), nullptr));
    auto to_a = next_message(a);
    auto to_b = next_message(b);
    ASSERT_TRUE(to_a && to_b);
    EXPECT_EQ(request_id_of(to_a->msg), 10u);
    EXPECT_EQ(request_id_of(to_b->msg), 20u);
    EXPECT_EQ(to_a->cluster, "test");
    EXPECT_EQ(to_a->from, f.d.self());
    EXPECT_EQ(f.m.value("roster_messages_received_total", {{"socket", "listen"}}), 2);
}

TEST(transport, a_malformed_frame_is_dropped_and_counted_not_delivered) {
    fixture f(member_options());
    ASSERT_TRUE(f.net);
    auto a = f.client();
    const std::string garbage = "RSTR, but not really";
    ASSERT_TRUE(a.send(zmq::buffer(garbage), zmq::send_flags::none));
    send(a, envelope(wire::status_request{3})); // after the garbage on the same connection
    ASSERT_TRUE(f.receive_until([&] { return !f.d.requests.empty(); }));
    ASSERT_EQ(f.d.requests.size(), 1u);
    EXPECT_EQ(request_id_of(f.d.requests[0].second), 3u);
    EXPECT_EQ(f.dropped("listen", "decode_error"), 1);
    EXPECT_EQ(f.m.value("roster_messages_received_total", {{"socket", "listen"}}), 2);
    EXPECT_EQ(f.log.count("dropped a message on the listen socket: "), 1) << f.log.text();
}

TEST(transport, a_frame_for_another_cluster_is_dropped) {
    fixture f(member_options());
    ASSERT_TRUE(f.net);
    auto a = f.client();
    send(a, envelope(wire::status_request{4}, "other"));
    send(a, envelope(wire::status_request{5}));
    ASSERT_TRUE(f.receive_until([&] { return !f.d.requests.empty(); }));
    ASSERT_EQ(f.d.requests.size(), 1u);
    EXPECT_EQ(request_id_of(f.d.requests[0].second), 5u);
    EXPECT_EQ(f.dropped("listen", "wrong_cluster"), 1);
    EXPECT_EQ(f.log.count("it is for cluster 'other', this is 'test'"), 1) << f.log.text();
}

TEST(transport, a_request_of_more_than_one_frame_is_dropped) {
    fixture f(member_options());
    ASSERT_TRUE(f.net);
    auto a = f.client();
    const bytes b = envelope(wire::status_request{6});
    ASSERT_TRUE(a.send(zmq::buffer(b), zmq::send_flags::sndmore));
    send(a, b);
    send(a, envelope(wire::status_request{7}));
    ASSERT_TRUE(f.receive_until([&] { return !f.d.requests.empty(); }));
    ASSERT_EQ(f.d.requests.size(), 1u);
    EXPECT_EQ(request_id_of(f.d.requests[0].second), 7u);
    EXPECT_EQ(f.dropped("listen", "bad_framing"), 1);
}

TEST(transport, bad_messages_are_logged_at_most_ten_times_a_minute) {
    fixture f(member_options());
    ASSERT_TRUE(f.net);
    auto a = f.client();
    for (int i = 0; i < 25; ++i) {
        send(a, envelope(wire::status_request{1}, "other"));
    }
    ASSERT_TRUE(f.receive_until([&] { return f.dropped("listen", "wrong_cluster") == 25; }));
    EXPECT_EQ(f.log.count("dropped a message on the listen socket"), 10) << f.log.text();
}

TEST(transport, the_route_table_forgets_idle_routes) {
    fixture f(member_options());
    ASSERT_TRUE(f.net);
    auto a = f.client();
    auto b = f.client();
    send(a, envelope(wire::status_request{1}));
    ASSERT_TRUE(f.receive_until([&] { return f.d.requests.size() == 1; }));
    const node::route_id old_a = f.d.requests[0].first;
    const mono_time start = f.net->now();
    send(b, envelope(wire::status_request{2}));
    ASSERT_TRUE(f.receive_until([&] { return f.d.requests.size() == 2; }, 500s)); // b is heard 500 s later
    const node::route_id route_b = f.d.requests[1].first;

    f.net->sweep_routes(start + 601s); // a idle for more than 10 minutes, b for less
    ASSERT_TRUE(f.net->carry_out(replies({{old_a, 100}, {route_b, 200}}), f.d.self(), nullptr));
    auto to_b = next_message(b);
    ASSERT_TRUE(to_b);
    EXPECT_EQ(request_id_of(to_b->msg), 200u);

    send(a, envelope(wire::status_request{3})); // a comes back: a new route
    ASSERT_TRUE(f.receive_until([&] { return f.d.requests.size() == 3; }, 602s));
    const node::route_id new_a = f.d.requests[2].first;
    EXPECT_NE(new_a, old_a);
    ASSERT_TRUE(f.net->carry_out(replies({{new_a, 101}}), f.d.self(), nullptr));
    auto to_a = next_message(a);
    ASSERT_TRUE(to_a);
    EXPECT_EQ(request_id_of(to_a->msg), 101u) << "the reply to the forgotten route was not sent";
}

TEST(transport, a_storage_failure_stops_the_batch_before_anything_is_sent) {
    fixture f(member_options());
    ASSERT_TRUE(f.net);
    auto a = f.client();
    send(a, envelope(wire::status_request{1}));
    ASSERT_TRUE(f.receive_until([&] { return f.d.requests.size() == 1; }));
    const node::route_id route = f.d.requests[0].first;

    counting_storage disk;
    disk.fail = true;
    node::output out = replies({{route, 1}});
    out.persist.emplace_back();
    EXPECT_FALSE(f.net->carry_out(std::move(out), f.d.self(), &disk));
    EXPECT_EQ(f.log.count("storage failure, stopping: disk on fire"), 1) << f.log.text();

    disk.fail = false;
    out = replies({{route, 2}});
    out.persist.emplace_back();
    EXPECT_TRUE(f.net->carry_out(std::move(out), f.d.self(), &disk));
    EXPECT_EQ(disk.saved, 1);
    auto to_a = next_message(a);
    ASSERT_TRUE(to_a);
    EXPECT_EQ(request_id_of(to_a->msg), 2u) << "nothing of the failed batch went out";
}

TEST(transport, publishes_to_subscribers_and_counts_them) {
    fixture f(member_options());
    ASSERT_TRUE(f.net);
    zmq::socket_t sub(f.ctx, zmq::socket_type::sub);
    sub.set(zmq::sockopt::linger, 0);
    sub.set(zmq::sockopt::subscribe, "");
    sub.connect(f.net->bound().publish);
    ASSERT_TRUE(f.receive_until([&] { return f.m.value("roster_subscribers_connected", {}) == 1; }));

    // A subscription reaches the publisher some time after the connection: publish until it arrives.
    std::optional<wire::envelope> got;
    const auto end = std::chrono::steady_clock::now() + deadline;
    while (!got && std::chrono::steady_clock::now() < end) {
        node::output out;
        out.published.emplace_back(wire::status_request{9});
        ASSERT_TRUE(f.net->carry_out(std::move(out), f.d.self(), nullptr));
        got = next_message(sub, 20ms);
    }
    ASSERT_TRUE(got);
    EXPECT_EQ(request_id_of(got->msg), 9u);
    EXPECT_EQ(got->from, f.d.self());

    sub.close();
    EXPECT_TRUE(f.receive_until([&] { return f.m.value("roster_subscribers_connected", {}) == 0; }));
}

TEST(transport, a_voter_takes_peer_messages_only_from_the_other_voters) {
    zmq::context_t ctx;
    zmq::socket_t voter2(ctx, zmq::socket_type::router); // stands for voter 2's --peer-listen
    voter2.set(zmq::sockopt::linger, 0);
    voter2.bind("tcp://127.0.0.1:0");
    options o = member_options();
    o.voter = voter_id(1);
    o.peer_listen = {"127.0.0.1", 0};
    o.voters = {{voter_id(1), {"127.0.0.1", 1}},
                {voter_id(2), {"127.0.0.1", port_of(voter2.get(zmq::sockopt::last_endpoint))}}};
    fixture f(o);
    ASSERT_TRUE(f.net);
    f.d.me = {voter_id(1), member_id(1), "t"};

    zmq::socket_t peer(f.ctx, zmq::socket_type::dealer);
    peer.set(zmq::sockopt::linger, 0);
    peer.connect(f.net->bound().peer_listen);
    send(peer, envelope(wire::status_request{1}, "test", {voter_id(9), member_id(), "stranger"}));
    send(peer, envelope(wire::status_request{2}, "test", {voter_id(1), member_id(), "myself"}));
    send(peer, envelope(wire::status_request{3}, "test", {voter_id(2), member_id(), "v2"}));
    ASSERT_TRUE(f.receive_until([&] { return !f.d.peers.empty(); }));
    ASSERT_EQ(f.d.peers.size(), 1u);
    EXPECT_EQ(f.d.peers[0].first, voter_id(2));
    EXPECT_EQ(request_id_of(f.d.peers[0].second), 3u);
    EXPECT_EQ(f.dropped("peer", "unknown_sender"), 2);

    // To voter 2 through its DEALER, which queues nothing until connected: send until it arrives.
    std::optional<wire::envelope> got;
    const auto end = std::chrono::steady_clock::now() + deadline;
    while (!got && std::chrono::steady_clock::now() < end) {
        node::output out;
        out.to_voters.emplace_back(voter_id(2), wire::status_request{4});
        out.to_voters.emplace_back(voter_id(3), wire::status_request{5}); // not a voter: skipped
        ASSERT_TRUE(f.net->carry_out(std::move(out), f.d.self(), nullptr));
        got = next_message(voter2, 20ms);
    }
    ASSERT_TRUE(got);
    EXPECT_EQ(request_id_of(got->msg), 4u);
    EXPECT_EQ(got->from.voter, voter_id(1));
}

TEST(transport, a_member_follows_where_a_voter_says_it_publishes) {
    zmq::context_t ctx;
    zmq::socket_t voter(ctx, zmq::socket_type::router); // stands for a voter's --listen
    voter.set(zmq::sockopt::linger, 0);
    voter.bind("tcp://127.0.0.1:0");
    zmq::socket_t voter_pub(ctx, zmq::socket_type::pub); // and its --publish
    voter_pub.set(zmq::sockopt::linger, 0);
    voter_pub.bind("tcp://127.0.0.1:0");
    options o = member_options();
    o.join = {{"127.0.0.1", port_of(voter.get(zmq::sockopt::last_endpoint))}};
    fixture f(o);
    ASSERT_TRUE(f.net);

    // The member asks every second until the voter answers; the answer names a wildcard host.
    std::vector<zmq::message_t> request;
    const auto end = std::chrono::steady_clock::now() + deadline;
    zmq::pollitem_t item{voter.handle(), 0, ZMQ_POLLIN, 0};
    while (request.empty() && std::chrono::steady_clock::now() < end) {
        ASSERT_TRUE(f.net->wait(f.net->now() + 20ms));
        f.net->receive(f.d, f.net->now());
        if (zmq::poll(&item, 1, 0ms) > 0) {
            ASSERT_TRUE(zmq::recv_multipart(voter, std::back_inserter(request)));
        }
    }
    ASSERT_EQ(request.size(), 2u);
    auto asked =
        wire::decode(bytes_view(static_cast<const std::uint8_t*>(request[1].data()), request[1].size()));
    ASSERT_TRUE(asked);
    EXPECT_TRUE(std::holds_alternative<wire::status_request>(asked->msg));
    wire::status_reply where;
    where.publish_endpoint = "0.0.0.0:" + std::to_string(port_of(voter_pub.get(zmq::sockopt::last_endpoint)));
    const std::string member = request[0].to_string(); // its routing identity
    for (const bytes& b : {envelope(where), envelope(membership::heartbeat_reply{})}) {
        ASSERT_TRUE(voter.send(zmq::buffer(member), zmq::send_flags::sndmore));
        ASSERT_TRUE(voter.send(zmq::buffer(b), zmq::send_flags::none));
    }
    ASSERT_TRUE(f.receive_until([&] { return !f.d.replies.empty(); }));
    ASSERT_EQ(f.d.replies.size(), 1u) << "the status reply is the transport's, not the node's";
    EXPECT_EQ(f.d.replies[0].first, 0u);
    EXPECT_TRUE(std::holds_alternative<membership::heartbeat_reply>(f.d.replies[0].second));
    EXPECT_EQ(f.log.count("following views published by 127.0.0.1:"), 1) << f.log.text();

    // What the voter publishes now reaches the driver (after the subscription arrives).
    const bytes view = envelope(wire::status_request{8});
    const auto until = std::chrono::steady_clock::now() + deadline;
    while (f.d.published.empty() && std::chrono::steady_clock::now() < until) {
        ASSERT_TRUE(voter_pub.send(zmq::buffer(view), zmq::send_flags::none));
        ASSERT_TRUE(f.net->wait(f.net->now() + 20ms));
        f.net->receive(f.d, f.net->now());
    }
    ASSERT_FALSE(f.d.published.empty());
    EXPECT_EQ(request_id_of(f.d.published[0]), 8u);
}

TEST(transport, a_busy_port_is_refused_with_the_flag_that_names_it) {
    fixture first(member_options());
    ASSERT_TRUE(first.net);
    options o = member_options();
    o.publish.port = port_of(first.net->bound().publish);
    metrics m(o.cluster, o.name, false, 1000);
    log_capture log;
    auto second = transport::open(o, log.logger, m);
    ASSERT_FALSE(second);
    EXPECT_EQ(second.error(), "cannot listen on 127.0.0.1:" + std::to_string(o.publish.port) +
                                  " (--publish): Address already in use");
}

TEST(transport, signals_are_read_from_the_descriptor) {
    fixture f(member_options());
    ASSERT_TRUE(f.net);
    ASSERT_EQ(::raise(SIGTERM), 0); // blocked by the transport: pending, not fatal
    const mono_time start = f.net->now();
    ASSERT_TRUE(f.net->wait(start + 10s));
    EXPECT_LT(f.net->now() - start, 5s) << "the signal ended the wait";
    EXPECT_EQ(f.net->take_signals(), std::vector<int>{SIGTERM});
    EXPECT_TRUE(f.net->take_signals().empty());
}

} // namespace
} // namespace roster::daemon
