// libFuzzer target: what a member receives on its DEALER sockets to the voters (replies to its
// joins, leaves, heartbeats, sync and status requests), decoded as daemon/transport.cc decodes it
// and handed to a member's driver as the reply of voter endpoint i (the i-th frame comes from
// endpoint i mod 3). A status reply goes to the transport's publisher discovery instead, which
// opens a socket: it is skipped here. An input is one frame or several separated by
// fuzz::separator, delivered in order with 20 ms of the poll loop between them.
#include <cstddef>
#include <cstdint>
#include <variant>

#include "fuzz/drivers.hh"

using namespace roster;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::loop<daemon::member_driver> member(fuzz::member_options());
    fuzz::for_each_envelope(data, size, [&](std::size_t i, const wire::envelope& env) {
        if (std::holds_alternative<wire::status_reply>(env.msg)) {
            return;
        }
        member.driver().on_endpoint_reply(i % 3, env.msg, member.now());
        (void)member.delivered();
    });
    (void)member.run(1200); // request timeouts, retries, rejoins
    return 0;
}
