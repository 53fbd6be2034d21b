// libFuzzer target: what a member receives on its SUB socket (the voters' publish streams: full
// views, view changes, node events), decoded as daemon/transport.cc decodes it and handed to a
// member's driver. An input is one frame or several separated by fuzz::separator, delivered in
// order with 20 ms of the poll loop between them.
#include <cstddef>
#include <cstdint>

#include "fuzz/drivers.hh"

using namespace roster;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::loop<daemon::member_driver> member(fuzz::member_options());
    fuzz::for_each_envelope(data, size, [&](std::size_t, const wire::envelope& env) {
        member.driver().on_published(env.msg, member.now());
        (void)member.delivered();
    });
    (void)member.run(1200); // sync timeouts, polls
    return 0;
}
