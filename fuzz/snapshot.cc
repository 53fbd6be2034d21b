// libFuzzer target: the snapshot codec and the snapshot check, as a voter meets them when a
// snapshot arrives in an InstallSnapshot (voter_node::refuse_snapshot: replicated_membership::check)
// and when it loads one (replicated_membership::restore). The first part of the input (parts
// separated by fuzz::separator) is the snapshot; one that passes the check is loaded, the later
// parts are applied to it as committed entries, and the state must then make a snapshot that
// the check accepts and that loads back to it. A snapshot that passes the check must load to
// exactly the state it describes. Whatever decodes must encode and decode to the same.
#include <cstddef>
#include <cstdint>
#include <memory>

#include "fuzz/harness.hh"
#include "fuzz/replicated.hh"

using namespace roster;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto parts = fuzz::split(data, size);
    const bytes_view snap = parts.front();
    const auto decoded = fuzz::decode_stable(snap, wire::decode_snapshot, wire::encode_snapshot, "payload");
    if (node::replicated_membership::check(snap)) {
        return 0; // refused: raft never sees it
    }
    node::replicated_membership m(1000, log_index());
    m.restore({{log_index(10), raft_term(2)}, std::make_shared<const bytes>(snap.begin(), snap.end())});
    // What passed the check loads as it is: the state holds exactly what the snapshot says.
    if (wire::encode_snapshot(m.state().snapshot()) != wire::encode_snapshot(decoded.value())) {
        invariant_broken("fuzz", "a snapshot that passed the check loads to another state");
    }
    log_index index(10);
    for (std::size_t i = 1; i < parts.size(); ++i) {
        index = index.next();
        fuzz::apply_entry(m, index, parts[i]);
    }
    fuzz::check_own_snapshot(m);
    return 0;
}
