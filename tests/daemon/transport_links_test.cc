#include "transport_fixture.hh"

// The sockets between rosterd processes: a voter's to the other voters, a member's to the voters.
namespace roster::daemon::testing {
namespace {

// A socket of the test bound to a port the system picks.
zmq::socket_t bound_socket(zmq::context_t& ctx, zmq::socket_type type) {
    zmq::socket_t s(ctx, type);
    s.set(zmq::sockopt::linger, 0);
    s.bind("tcp://127.0.0.1:0");
    return s;
}

// Options of voter 1 of two, whose voter 2 listens for peers on `voter2`.
options voter_one_of_two(zmq::socket_t& voter2) {
    options o = member_options();
    o.voter = voter_id(1);
    o.peer_listen = {"127.0.0.1", 0};
    o.voters = {{voter_id(1), {"127.0.0.1", 1}},
                {voter_id(2), {"127.0.0.1", port_of(voter2.get(zmq::sockopt::last_endpoint))}}};
    return o;
}

TEST(transport_links, a_voter_takes_peer_messages_only_from_the_other_voters) {
    zmq::context_t ctx;
    auto voter2 = bound_socket(ctx, zmq::socket_type::router); // voter 2's --peer-listen
    fixture f(voter_one_of_two(voter2));
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

    auto got = resend_until_received(
        [&] {
            node::output out;
            out.to_voters.emplace_back(voter_id(2), wire::status_request{4});
            out.to_voters.emplace_back(voter_id(3), wire::status_request{5}); // not a voter: skipped
            ASSERT_TRUE(f.net->carry_out(std::move(out), f.d.self(), nullptr));
        },
        voter2);
    ASSERT_TRUE(got);
    EXPECT_EQ(request_id_of(got->msg), 4u);
    EXPECT_EQ(got->from.voter, voter_id(1));
}

TEST(transport_links, a_member_follows_where_a_voter_says_it_publishes) {
    zmq::context_t ctx;
    auto voter = bound_socket(ctx, zmq::socket_type::router);  // a voter's --listen
    auto voter_pub = bound_socket(ctx, zmq::socket_type::pub); // and its --publish
    options o = member_options();
    o.join = {{"127.0.0.1", port_of(voter.get(zmq::sockopt::last_endpoint))}};
    fixture f(o);
    ASSERT_TRUE(f.net);

    // The member asks every second until the voter answers; the answer names a wildcard host.
    std::vector<zmq::message_t> request;
    zmq::pollitem_t item{voter.handle(), 0, ZMQ_POLLIN, 0};
    ASSERT_TRUE(f.receive_until([&] {
        return zmq::poll(&item, 1, 0ms) > 0 && zmq::recv_multipart(voter, std::back_inserter(request));
    }));
    ASSERT_EQ(request.size(), 2u);
    auto asked =
        wire::decode(bytes_view(static_cast<const std::uint8_t*>(request[1].data()), request[1].size()));
    ASSERT_TRUE(asked);
    EXPECT_TRUE(std::holds_alternative<wire::status_request>(asked->msg));
    EXPECT_EQ(asked->from, f.d.self());
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

    // What the voter publishes now reaches the driver (once the subscription arrived).
    const bytes view = envelope(wire::status_request{8});
    ASSERT_TRUE(f.receive_until([&] {
        EXPECT_TRUE(voter_pub.send(zmq::buffer(view), zmq::send_flags::none));
        return !f.d.published.empty();
    }));
    EXPECT_EQ(request_id_of(f.d.published[0]), 8u);
}

TEST(transport_links, a_flood_on_the_listen_socket_is_read_in_slices_and_the_voters_come_first) {
    zmq::context_t ctx;
    auto voter2 = bound_socket(ctx, zmq::socket_type::router); // voter 2's --peer-listen
    fixture f(voter_one_of_two(voter2));
    ASSERT_TRUE(f.net);
    f.d.me = {voter_id(1), member_id(1), "t"};
    // The peer's connection is up before the flood: its handshake must not race the reading.
    zmq::socket_t peer(f.ctx, zmq::socket_type::dealer);
    peer.set(zmq::sockopt::linger, 0);
    peer.connect(f.net->bound().peer_listen);
    send(peer, envelope(wire::status_request{1}, "test", {voter_id(2), member_id(), "v2"}));
    ASSERT_TRUE(f.receive_until([&] { return !f.d.peers.empty(); }));
    f.d.peers.clear();
    auto flood = f.client();
    constexpr std::size_t flood_size = 2000;
    for (std::size_t i = 1; i <= flood_size; ++i) {
        send(flood, envelope(wire::status_request{i}));
    }
    // The flood is arriving (the first slice is read) when the peer's message comes.
    ASSERT_TRUE(f.receive_until([&] { return !f.d.requests.empty(); }));
    ASSERT_LE(f.d.requests.size(), 256u);
    send(peer, envelope(wire::status_request{2}, "test", {voter_id(2), member_id(), "v2"}));
    // Each turn of the poll loop reads at most 256 of the flood, whatever is waiting; the peer's
    // message is read on the first turn it is there, not after the flood.
    std::size_t largest_turn = f.d.requests.size();
    std::size_t last = f.d.requests.size();
    std::size_t flood_read_before_peer = flood_size;
    ASSERT_TRUE(f.receive_until([&] {
        largest_turn = std::max(largest_turn, f.d.requests.size() - last);
        last = f.d.requests.size();
        if (!f.d.peers.empty() && flood_read_before_peer == flood_size) {
            flood_read_before_peer = f.d.requests.size();
        }
        return f.d.requests.size() == flood_size && !f.d.peers.empty();
    }));
    EXPECT_LE(largest_turn, 256u);
    EXPECT_LT(flood_read_before_peer, flood_size) << "the voter's message waited for the whole flood";
}

} // namespace
} // namespace roster::daemon::testing
