#pragma once

// The replicated log's payloads as a voter's state machine (node/replicated_membership) takes
// them: committed entries one after another, snapshots checked and loaded. What it holds after
// any sequence must make a snapshot that every voter accepts (the snapshot check) and loads to
// the same state: a follower catching up from it must not refuse it. The payload decoders'
// stability is fuzz::decode_stable (fuzz/harness.hh).

#include <memory>

#include "common/invariant.hh"
#include "node/replicated_membership.hh"
#include "wire/codec.hh"

namespace roster::fuzz {

// Applies `data` as the committed entry at `index`: a command, or a refusal (skipped alike on
// every voter).
inline void apply_entry(node::replicated_membership& m, log_index index, bytes_view data) {
    consensus::entry e{index, raft_term(1), consensus::entry_kind::normal, bytes(data.begin(), data.end())};
    (void)m.apply(e);
}

// The snapshot `m` would compact with passes the check, loads, and makes the same bytes again.
inline void check_own_snapshot(const node::replicated_membership& m) {
    const bytes made = wire::encode_snapshot(m.state().snapshot());
    if (auto why = node::replicated_membership::check(made)) {
        invariant_broken("fuzz", "the state machine made a snapshot that the snapshot check refuses: {}",
                         *why);
    }
    node::replicated_membership loaded(1000, log_index());
    loaded.restore({{log_index(1), raft_term(1)}, std::make_shared<const bytes>(made)});
    if (wire::encode_snapshot(loaded.state().snapshot()) != made) {
        invariant_broken("fuzz", "a snapshot does not load back to the state that made it");
    }
}

} // namespace roster::fuzz
