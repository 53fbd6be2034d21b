// libFuzzer target: what arrives on the listen socket (members, clients, rosterctl), decoded as
// daemon/transport.cc decodes it and handed to a voter's driver (a single voter, leader of its
// cluster) and to a member's driver, which both answer on their listen sockets. An input is one
// frame or several frames separated by fuzz::separator, delivered in order with 20 ms of the
// poll loop between them.
#include <cstddef>
#include <cstdint>

#include "fuzz/drivers.hh"

using namespace roster;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::loop<daemon::voter_driver> voter(fuzz::voter_options(1), {});
    (void)voter.run(400); // elected, and a member of its own view
    fuzz::loop<daemon::member_driver> member(fuzz::member_options());
    node::route_id route = 1;
    for (const bytes_view frame : fuzz::split(data, size)) {
        const auto env = fuzz::decode_frame(frame);
        if (!env) {
            continue;
        }
        voter.driver().on_request(route, node::requester{}, env->msg, voter.now());
        (void)voter.step();
        member.driver().on_request(route, node::requester{}, env->msg, member.now());
        (void)member.step();
        ++route;
        (void)voter.run(20);
        (void)member.run(20);
    }
    (void)voter.run(300); // settle windows, commits, replies
    (void)member.run(300);
    return 0;
}
