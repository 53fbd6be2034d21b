// libFuzzer target: what arrives on the listen socket (members, clients, rosterctl), decoded as
// daemon/transport.cc decodes it and handed to three drivers that answer on their listen sockets:
// a single voter (leader of its cluster) in plaintext, the same voter secured with CURVE keys, and
// a member. On the secured voter, the frames come as the transport would pass them after the
// handshake: even frames from a member's key that may join only as "m4", odd ones from a voter's
// key (which may not join here). An input is one frame or several separated by fuzz::separator,
// delivered in order with 20 ms of the poll loop between them.
#include <cstddef>
#include <cstdint>

#include "auth/keys.hh"
#include "fuzz/drivers.hh"

using namespace roster;

namespace {

auth::key_pair make_key() {
    auto k = auth::generate_key_pair();
    if (!k) {
        invariant_broken("fuzz", "cannot make a key pair: {}", k.error());
    }
    return k.value();
}

struct keys {
    auth::key_pair voter = make_key();
    auth::key_pair member = make_key();
};

const keys& fixed_keys() {
    static const keys k;
    return k;
}

daemon::options secured_voter() {
    daemon::options o = fuzz::voter_options(1);
    o.key = fixed_keys().voter;
    o.voter_keys = {{voter_id(1), fixed_keys().voter.public_key}};
    return o;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::loop<daemon::voter_driver> voter(fuzz::voter_options(1), {});
    (void)voter.run(400); // elected, and a member of its own view
    fuzz::loop<daemon::voter_driver> secured(secured_voter(), {});
    (void)secured.run(400);
    fuzz::loop<daemon::member_driver> member(fuzz::member_options());
    const node::requester as_member{fixed_keys().member.public_key.raw(), std::string("m4")};
    const node::requester as_voter{fixed_keys().voter.public_key.raw(), std::string()};
    node::route_id route = 1;
    fuzz::for_each_envelope(data, size, [&](std::size_t, const wire::envelope& env) {
        voter.driver().on_request(route, node::requester{}, env.msg, voter.now());
        secured.driver().on_request(route, route % 2 == 1 ? as_member : as_voter, env.msg, secured.now());
        member.driver().on_request(route, node::requester{}, env.msg, member.now());
        ++route;
        (void)voter.delivered();
        (void)secured.delivered();
        (void)member.delivered();
    });
    (void)voter.run(300); // settle windows, commits, replies
    (void)secured.run(300);
    (void)member.run(300);
    return 0;
}
