// send_garbage HOST:PORT: throws bad bytes at a rosterd --listen socket, the way a confused or
// hostile client would: random bytes, truncated and altered messages, another cluster's
// messages, empty and multi-frame messages. Used by the integration tests, which then check that
// the daemon still answers and counted the drops.
#include <cstdio>
#include <random>
#include <string>

#include <zmq.hpp>

#include "wire/codec.hh"

using namespace roster;

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: send_garbage HOST:PORT\n");
        return 2;
    }
    zmq::context_t ctx(1);
    zmq::socket_t s(ctx, zmq::socket_type::dealer);
    s.set(zmq::sockopt::linger, 2000);
    s.connect(std::string("tcp://") + argv[1]);
    std::mt19937_64 rng(7);
    int sent = 0;
    auto send = [&](const bytes& b) {
        s.send(zmq::buffer(b), zmq::send_flags::none);
        ++sent;
    };
    for (int i = 0; i < 200; ++i) {
        bytes b(rng() % 300);
        for (auto& x : b) {
            x = static_cast<std::uint8_t>(rng());
        }
        send(b);
    }
    wire::envelope good{wire::protocol_version, "roster", {}, wire::status_request{1}};
    const bytes encoded = wire::encode(good);
    for (std::size_t n = 0; n < encoded.size(); ++n) {
        send(bytes(encoded.begin(), encoded.begin() + static_cast<std::ptrdiff_t>(n)));
    }
    for (int i = 0; i < 200; ++i) {
        bytes b = encoded;
        b[rng() % b.size()] ^= static_cast<std::uint8_t>(1 + rng() % 255);
        send(b);
    }
    wire::envelope other = good;
    other.cluster = "somebody-else";
    send(wire::encode(other));
    s.send(zmq::buffer(encoded), zmq::send_flags::sndmore); // two frames
    s.send(zmq::buffer(encoded), zmq::send_flags::none);
    ++sent;
    std::printf("sent %d bad messages\n", sent);
    return 0;
}
