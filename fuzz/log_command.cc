// libFuzzer target: the log command codec, as Raft's committed entries reach it. Each part of the
// input (parts separated by fuzz::separator) is one committed entry, applied in order by a voter's
// state machine (node/replicated_membership: decode_command, the bounds of
// membership/validation.hh, membership_state::apply) that already holds three members (ids 1, 2,
// 3), so that leaves and removals find someone. Whatever decodes must encode and decode to the
// same; after the entries, the state must make a snapshot that the snapshot check accepts and that
// loads back to it.
#include <cstddef>
#include <cstdint>

#include "fuzz/harness.hh"
#include "fuzz/replicated.hh"

using namespace roster;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    node::replicated_membership m(1000, log_index());
    membership::command three;
    for (const char* name : {"a", "b", "c"}) {
        three.ops.push_back(
            membership::join_op{name, "10.0.0.1:7400", "10.0.0.1:7402", incarnation_number(1), {}});
    }
    fuzz::apply_entry(m, log_index(1), wire::encode_command(three));
    log_index index(1);
    for (const bytes_view part : fuzz::split(data, size)) {
        (void)fuzz::decode_stable(part, wire::decode_command, wire::encode_command, "payload");
        index = index.next();
        fuzz::apply_entry(m, index, part);
    }
    fuzz::check_own_snapshot(m);
    return 0;
}
