#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "auth/key_table.hh"
#include "tests/temp_dir.hh"
#include "transport_fixture.hh"

// The transport of a secured node (--key-file): CURVE handshakes through its ZAP handler, and
// what each authenticated key may send. Real ZeroMQ sockets on loopback.
namespace roster::daemon::testing {
namespace {

auth::key_pair new_key() { return auth::generate_key_pair().value(); }

// Keys of a small secured cluster, and a directory for the --authorized-keys file.
struct secured {
    auth::key_pair voter1 = new_key(), voter2 = new_key(), member = new_key(), reader = new_key();
    ::roster::testing::temp_dir tmp{"roster-transport-security"};
    std::filesystem::path dir = tmp.path();

    secured() {
        write_authorized({member.public_key.z85() + " member web-1", reader.public_key.z85() + " reader"});
    }

    void write_authorized(const std::vector<std::string>& lines) const {
        std::ofstream out(dir / "authorized");
        for (const auto& l : lines) {
            out << l << "\n";
        }
    }

    // Voter 1 of two, secured; voter 2's endpoint is not listened on (the tests play voter 2).
    options voter() const {
        options o = member_options();
        o.voter = voter_id(1);
        o.peer_listen = {"127.0.0.1", 0};
        o.voters = {{voter_id(1), {"127.0.0.1", 1}}, {voter_id(2), {"127.0.0.1", 1}}};
        o.key = voter1;
        o.voter_keys = {{voter_id(1), voter1.public_key}, {voter_id(2), voter2.public_key}};
        o.authorized_keys = dir / "authorized";
        return o;
    }
};

// A DEALER of the test connected to `endpoint` as a CURVE client with `k` (or in plaintext).
zmq::socket_t connect(zmq::context_t& ctx, const std::string& endpoint, const auth::curve_key& server,
                      const std::optional<auth::key_pair>& k) {
    zmq::socket_t s(ctx, zmq::socket_type::dealer);
    s.set(zmq::sockopt::linger, 0);
    if (k) {
        s.set(zmq::sockopt::curve_serverkey, zmq::buffer(server.bytes()));
        s.set(zmq::sockopt::curve_publickey, zmq::buffer(k->public_key.bytes()));
        s.set(zmq::sockopt::curve_secretkey, zmq::buffer(k->secret_key.bytes()));
    }
    s.connect(endpoint);
    return s;
}

double handshakes_failed(const fixture& f, const std::string& socket, const std::string& reason) {
    return f.m.value("roster_handshakes_failed_total", {{"socket", socket}, {"reason", reason}});
}

TEST(transport_security, an_authorized_key_is_served_and_its_requests_say_what_it_may_do) {
    secured s;
    fixture f(s.voter());
    ASSERT_TRUE(f.net);
    auto member = connect(f.ctx, f.net->bound().listen, s.voter1.public_key, s.member);
    auto reader = connect(f.ctx, f.net->bound().listen, s.voter1.public_key, s.reader);
    const node::route_id m = f.request_from(member, 1);
    const node::route_id r = f.request_from(reader, 2);
    ASSERT_EQ(f.d.requesters.size(), 2u);
    EXPECT_EQ(f.d.requesters[0], (node::requester{s.member.public_key.raw(), "web-1", false, "member"}));
    EXPECT_EQ(f.d.requesters[1], (node::requester{s.reader.public_key.raw(), "", false, "reader"}))
        << "a reader may not join, nor remove";
    // The answers are encrypted to the right client.
    ASSERT_TRUE(f.net->carry_out(replies({{r, 20}, {m, 10}}), f.d.self(), nullptr));
    auto to_member = next_message(member);
    ASSERT_TRUE(to_member);
    EXPECT_EQ(request_id_of(to_member->msg), 10u);
    EXPECT_EQ(f.m.value("roster_authorized_keys", {}), 4) << "two voters, a member, a reader";
}

TEST(transport_security, a_key_not_authorized_and_a_plaintext_client_never_reach_the_node) {
    secured s;
    fixture f(s.voter());
    ASSERT_TRUE(f.net);
    auto stranger = connect(f.ctx, f.net->bound().listen, s.voter1.public_key, new_key());
    auto plaintext = connect(f.ctx, f.net->bound().listen, s.voter1.public_key, std::nullopt);
    send(stranger, envelope(wire::status_request{1}));
    send(plaintext, envelope(wire::status_request{2}));
    ASSERT_TRUE(f.receive_until([&] {
        // A plaintext client is told apart by its greeting, or (when the server hangs up first) not at all.
        return handshakes_failed(f, "listen", "unauthorized_key") >= 1 &&
               handshakes_failed(f, "listen", "mechanism_mismatch") +
                       handshakes_failed(f, "listen", "protocol") >=
                   1;
    })) << handshakes_failed(f, "listen", "unauthorized_key")
        << " " << handshakes_failed(f, "listen", "mechanism_mismatch") << " "
        << handshakes_failed(f, "listen", "protocol") << " " << f.log.text();
    // A request that would have come by now did not.
    auto member = connect(f.ctx, f.net->bound().listen, s.voter1.public_key, s.member);
    f.request_from(member, 3);
    ASSERT_EQ(f.d.requests.size(), 1u);
    EXPECT_EQ(request_id_of(f.d.requests[0].second), 3u);
    EXPECT_EQ(f.m.value("roster_messages_received_total", {{"socket", "listen"}}), 1);
    EXPECT_GE(f.log.count("is not authorized"), 1);
}

TEST(transport_security, a_reader_may_only_ask) {
    secured s;
    fixture f(s.voter());
    ASSERT_TRUE(f.net);
    auto reader = connect(f.ctx, f.net->bound().listen, s.voter1.public_key, s.reader);
    send(reader, envelope(membership::heartbeat{member_id(1), incarnation_number(1), 1, view_id()}));
    send(reader, envelope(membership::join_request{1, "x", "", "", incarnation_number(1), {}}));
    send(reader, envelope(membership::leave_request{1, member_id(1), incarnation_number(1)}));
    f.request_from(reader, 4);
    ASSERT_EQ(f.d.requests.size(), 1u) << "only the status request";
    EXPECT_EQ(f.dropped("listen", "not_permitted"), 3);
}

TEST(transport_security, a_revoked_key_is_refused_from_the_next_message_on) {
    secured s;
    fixture f(s.voter());
    ASSERT_TRUE(f.net);
    auto member = connect(f.ctx, f.net->bound().listen, s.voter1.public_key, s.member);
    f.request_from(member, 1);
    s.write_authorized({s.reader.public_key.z85() + " reader"}); // the member's line is gone
    ASSERT_EQ(f.net->reload_keys(), std::nullopt);
    send(member, envelope(wire::status_request{2})); // on the connection made before
    ASSERT_TRUE(f.receive_until([&] { return f.dropped("listen", "unauthorized") == 1; }));
    EXPECT_EQ(f.d.requests.size(), 1u);
    // And a new connection is refused at the handshake.
    auto again = connect(f.ctx, f.net->bound().listen, s.voter1.public_key, s.member);
    send(again, envelope(wire::status_request{3}));
    ASSERT_TRUE(f.receive_until([&] { return handshakes_failed(f, "listen", "unauthorized_key") >= 1; }));
    EXPECT_EQ(f.d.requests.size(), 1u);
}

TEST(transport_security, a_bad_authorized_keys_file_on_reload_keeps_the_keys_in_force) {
    secured s;
    fixture f(s.voter());
    ASSERT_TRUE(f.net);
    s.write_authorized({"not a key line"});
    auto err = f.net->reload_keys();
    ASSERT_TRUE(err);
    EXPECT_NE(err->find("line 1"), std::string::npos) << *err;
    auto member = connect(f.ctx, f.net->bound().listen, s.voter1.public_key, s.member);
    f.request_from(member, 1); // still authorized
    EXPECT_EQ(f.d.requests.size(), 1u);
}

TEST(transport_security, a_voter_key_speaks_on_the_peer_socket_only_as_its_own_voter) {
    secured s;
    fixture f(s.voter());
    ASSERT_TRUE(f.net);
    auto voter2 = connect(f.ctx, f.net->bound().peer_listen, s.voter1.public_key, s.voter2);
    send(voter2, envelope(wire::status_request{1}, "test", {voter_id(1), member_id(), "claims to be 1"}));
    send(voter2, envelope(wire::status_request{2}, "test", {voter_id(2), member_id(), "v2"}));
    ASSERT_TRUE(f.receive_until([&] { return !f.d.peers.empty(); }));
    ASSERT_EQ(f.d.peers.size(), 1u);
    EXPECT_EQ(request_id_of(f.d.peers[0].second), 2u);
    EXPECT_EQ(f.dropped("peer", "unknown_sender"), 1) << "voter 1 is this node";
    // A member's key cannot even connect to the peer socket.
    auto member = connect(f.ctx, f.net->bound().peer_listen, s.voter1.public_key, s.member);
    send(member, envelope(wire::status_request{3}, "test", {voter_id(2), member_id(), "v2"}));
    ASSERT_TRUE(f.receive_until([&] { return handshakes_failed(f, "peer", "unauthorized_key") >= 1; }));
    EXPECT_EQ(f.d.peers.size(), 1u);
}

TEST(transport_security, joins_are_rate_limited_per_key) {
    secured s;
    fixture f(s.voter());
    ASSERT_TRUE(f.net);
    auto member = connect(f.ctx, f.net->bound().listen, s.voter1.public_key, s.member);
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < 30; ++i) {
        send(member, envelope(membership::join_request{
                         static_cast<std::uint64_t>(i), "web-1", "", "", incarnation_number(1), {}}));
    }
    ASSERT_TRUE(
        f.receive_until([&] { return f.d.requests.size() + f.dropped("listen", "rate_limited") >= 30; }));
    // The burst of 20, plus what 10 a second refilled while the joins came in (however slow the
    // machine), and not one more.
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const auto allowed = static_cast<std::size_t>(20 + 10 * elapsed) + 1;
    EXPECT_GE(f.d.requests.size(), 20u);
    EXPECT_LE(f.d.requests.size(), allowed) << "after " << elapsed << " s";
    EXPECT_EQ(f.d.requests.size() + static_cast<std::size_t>(f.dropped("listen", "rate_limited")), 30u);
}

TEST(transport_security, a_message_too_large_for_the_listen_socket_is_not_read) {
    secured s;
    fixture f(s.voter());
    ASSERT_TRUE(f.net);
    auto member = connect(f.ctx, f.net->bound().listen, s.voter1.public_key, s.member);
    f.request_from(member, 1);
    const std::string big(1 << 20, 'x'); // 1 MiB where a request is a few hundred bytes
    ASSERT_TRUE(member.send(zmq::buffer(big), zmq::send_flags::none));
    auto other = connect(f.ctx, f.net->bound().listen, s.voter1.public_key, s.reader);
    f.request_from(other, 2); // the node still serves
    EXPECT_EQ(f.d.requests.size(), 2u);
    EXPECT_EQ(f.m.value("roster_messages_received_total", {{"socket", "listen"}}), 2) << "never read";
}

} // namespace
} // namespace roster::daemon::testing
