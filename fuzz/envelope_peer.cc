// libFuzzer target: what arrives on a voter's peer socket (voter to voter: Raft, forwarded joins
// and leaves, suspicion reports, heartbeats), decoded as daemon/transport.cc decodes it and handed
// to voter 1 of three. As the transport does, a message is dropped unless its envelope names
// another voter of --voters as its sender. An input is one frame or several separated by
// fuzz::separator, delivered in order with 20 ms of the poll loop between them; then 600 ms more
// (elections, timeouts) run on what they left.
#include <cstddef>
#include <cstdint>

#include "fuzz/drivers.hh"

using namespace roster;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::loop<daemon::voter_driver> voter(fuzz::voter_options(3), {});
    fuzz::for_each_envelope(data, size, [&](std::size_t, const wire::envelope& env) {
        const voter_id from = env.from.voter;
        if (from != voter_id(2) && from != voter_id(3)) {
            return; // transport: "unknown_sender"
        }
        voter.driver().on_peer(from, env.msg, voter.now());
        (void)voter.delivered();
    });
    (void)voter.run(600);
    return 0;
}
