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
    std::size_t i = 0;
    for (const bytes_view frame : fuzz::split(data, size)) {
        const std::size_t endpoint = i++ % 3;
        const auto env = fuzz::decode_frame(frame);
        if (!env || std::holds_alternative<wire::status_reply>(env->msg)) {
            continue;
        }
        member.driver().on_endpoint_reply(endpoint, env->msg, member.now());
        (void)member.step();
        (void)member.run(20);
    }
    (void)member.run(1200); // request timeouts, retries, rejoins
    return 0;
}
