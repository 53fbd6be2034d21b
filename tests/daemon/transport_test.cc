#include "transport_fixture.hh"

// The transport's --listen and --publish sockets and how it carries out a batch.
namespace roster::daemon::testing {
namespace {

// A store that refuses every save while `fail`, and counts the others.
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

// The request id of the next message on `s`; 0 when none came in time.
std::uint64_t next_id(zmq::socket_t& s) {
    auto e = next_message(s);
    return e ? request_id_of(e->msg) : 0;
}

TEST(transport, a_reply_goes_back_to_the_route_of_its_request) {
    fixture f(member_options());
    ASSERT_TRUE(f.net);
    auto a = f.client();
    auto b = f.client();
    const node::route_id route_a = f.request_from(a, 1);
    const node::route_id route_b = f.request_from(b, 2);
    ASSERT_NE(route_a, route_b);
    EXPECT_EQ(f.request_from(a, 3), route_a) << "one route per client";
    ASSERT_TRUE(f.net->carry_out(replies({{route_b, 20}, {route_a, 10}}), f.d.self(), nullptr));
    auto to_a = next_message(a);
    ASSERT_TRUE(to_a);
    EXPECT_EQ(request_id_of(to_a->msg), 10u);
    EXPECT_EQ(to_a->cluster, "test");
    EXPECT_EQ(to_a->from, f.d.self());
    EXPECT_EQ(next_id(b), 20u);
    EXPECT_EQ(f.m.value("roster_messages_received_total", {{"socket", "listen"}}), 3);
}

TEST(transport, a_malformed_frame_is_dropped_and_counted_not_delivered) {
    fixture f(member_options());
    ASSERT_TRUE(f.net);
    auto a = f.client();
    const std::string garbage = "RSTR, but not really";
    ASSERT_TRUE(a.send(zmq::buffer(garbage), zmq::send_flags::none));
    f.request_from(a, 3); // after the garbage on the same connection
    EXPECT_EQ(f.d.requests.size(), 1u);
    EXPECT_EQ(f.dropped("listen", "decode_error"), 1);
    EXPECT_EQ(f.m.value("roster_messages_received_total", {{"socket", "listen"}}), 2);
    EXPECT_EQ(f.log.count("dropped a message on the listen socket: "), 1) << f.log.text();
}

TEST(transport, a_frame_for_another_cluster_is_dropped) {
    fixture f(member_options());
    ASSERT_TRUE(f.net);
    auto a = f.client();
    send(a, envelope(wire::status_request{4}, "other"));
    f.request_from(a, 5);
    EXPECT_EQ(f.d.requests.size(), 1u);
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
    f.request_from(a, 7);
    EXPECT_EQ(f.d.requests.size(), 1u);
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
    const mono_time start = f.net->now();
    const node::route_id old_a = f.request_from(a, 1);
    const node::route_id route_b = f.request_from(b, 2, 500s); // b is heard 500 s later

    f.net->sweep_routes(start + 601s); // a idle for more than 10 minutes, b for less
    ASSERT_TRUE(f.net->carry_out(replies({{old_a, 100}, {route_b, 200}}), f.d.self(), nullptr));
    EXPECT_EQ(next_id(b), 200u);

    const node::route_id new_a = f.request_from(a, 3, 602s); // a comes back: a new route
    EXPECT_NE(new_a, old_a);
    ASSERT_TRUE(f.net->carry_out(replies({{new_a, 101}}), f.d.self(), nullptr));
    EXPECT_EQ(next_id(a), 101u) << "the reply to the forgotten route was not sent";
}

TEST(transport, a_storage_failure_stops_the_batch_before_anything_is_sent) {
    fixture f(member_options());
    ASSERT_TRUE(f.net);
    auto a = f.client();
    const node::route_id route = f.request_from(a, 1);

    counting_storage disk;
    disk.fail = true;
    node::output out = replies({{route, 1}});
    out.published.emplace_back(wire::status_request{1});
    out.persist.emplace_back();
    EXPECT_FALSE(f.net->carry_out(std::move(out), f.d.self(), &disk));
    EXPECT_EQ(f.log.count("storage failure, stopping: disk on fire"), 1) << f.log.text();

    disk.fail = false;
    out = replies({{route, 2}});
    out.persist.emplace_back();
    EXPECT_TRUE(f.net->carry_out(std::move(out), f.d.self(), &disk));
    EXPECT_EQ(disk.saved, 1);
    EXPECT_EQ(next_id(a), 2u) << "nothing of the failed batch went out";
}

TEST(transport, publishes_to_subscribers_and_counts_them) {
    fixture f(member_options());
    ASSERT_TRUE(f.net);
    zmq::socket_t sub(f.ctx, zmq::socket_type::sub);
    sub.set(zmq::sockopt::linger, 0);
    sub.set(zmq::sockopt::subscribe, "");
    sub.connect(f.net->bound().publish);
    ASSERT_TRUE(f.receive_until([&] { return f.m.value("roster_subscribers_connected", {}) == 1; }));

    auto got = resend_until_received(
        [&] {
            node::output out;
            out.published.emplace_back(wire::status_request{9});
            ASSERT_TRUE(f.net->carry_out(std::move(out), f.d.self(), nullptr));
        },
        sub);
    ASSERT_TRUE(got);
    EXPECT_EQ(request_id_of(got->msg), 9u);
    EXPECT_EQ(got->from, f.d.self());

    sub.close();
    EXPECT_TRUE(f.receive_until([&] { return f.m.value("roster_subscribers_connected", {}) == 0; }));
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
    EXPECT_EQ(second.error(), "--publish 127.0.0.1:" + std::to_string(o.publish.port) +
                                  ": address in use (another process listens on that port)");
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
} // namespace roster::daemon::testing
