#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "common/bytes.hh"
#include "common/strong_value.hh"
#include "consensus/message.hh"

namespace roster::consensus {

// What a voter must persist before it answers anyone (Raft §5, Figure 2 "persistent state"),
// plus the commit index, so that a restart re-applies committed entries without waiting for
// a leader.
struct hard_state {
    raft_term term;   // latest term seen; only grows
    voter_id vote;    // candidate voted for in `term` (0: none)
    log_index commit; // highest index known committed; only grows

    bool operator==(const hard_state&) const = default;
};

struct snapshot_meta {
    log_index index; // last index the snapshot covers
    raft_term term;  // term of that entry

    bool operator==(const snapshot_meta&) const = default;
};

// A state machine snapshot. The bytes are shared: the leader keeps one to send to followers,
// storage writes it, the state machine reads it.
struct snapshot {
    snapshot_meta meta;
    std::shared_ptr<const bytes> data;

    bool operator==(const snapshot& o) const {
        return meta == o.meta && (data == o.data || (data && o.data && *data == *o.data));
    }
};

// Everything storage recovered at open; what raft starts from.
struct persisted_state {
    hard_state hard;
    std::optional<snapshot> snap;
    std::vector<entry> entries; // contiguous, from snap->meta.index + 1 (or 1)
};

enum class role : std::uint8_t { follower, pre_candidate, candidate, leader };

[[nodiscard]] constexpr const char* to_string(role r) noexcept {
    switch (r) {
    case role::follower:
        return "follower";
    case role::pre_candidate:
        return "pre-candidate";
    case role::candidate:
        return "candidate";
    case role::leader:
        return "leader";
    }
    return "unknown";
}

// Role and known leader; reported in a ready when either changes.
struct soft_state {
    consensus::role role = role::follower;
    voter_id leader;

    bool operator==(const soft_state&) const = default;
};

// One output batch of raft. The driver handles it in this order, and only then feeds raft the
// next input:
//   0. send `early_messages` (it may, or send them with `messages`);
//   1. persist, in one atomic write: `persist_snapshot` (dropping the stored log up to its
//      index, or the whole log when snapshot_replaces_log), then `entries` (first deleting every
//      stored entry at or after entries.front().index), then `hard`;
//   2. send `messages`;
//   3. apply: load `apply_snapshot` into the state machine, then `committed` in order.
// A ready whose only part to persist is a new commit index (only_commit_to_persist()) may be
// written after steps 2 and 3 (and without waiting for the disk): nothing sent depends on it, a
// committed entry is durable on a majority already, and a restart that lost it learns the commit
// index again from the leader.
// raft counts on step 1 being done before anything it sent in steps 0 and 2 is answered, and
// before its next input (a driver may feed several inputs before persisting their readies, in
// order, as long as no message of step 2 leaves before every earlier step 1 is done).
//
// Step 0 is the Raft thesis §10.2.1: a leader writes its log in parallel with sending it. Only a
// leader's appends of a term already handed out in an earlier ready go there: an append depends on
// the leader's own log only through commitment, and the leader counts its own log towards a
// commit only when an acknowledgement arrives, which is an input, so after step 1. A leader that
// crashes before step 1 is done has sent entries it does not hold: a follower may then hold an
// uncommitted entry the crashed leader lost, which Raft tolerates like any lost leader's entry.
struct ready {
    std::vector<message> early_messages;

    std::optional<snapshot> persist_snapshot;
    bool snapshot_replaces_log = false;
    std::vector<entry> entries;
    std::optional<hard_state> hard;
    bool hard_moves_only_commit = false; // `hard` has the term and vote of the previous one

    std::vector<message> messages;

    std::optional<snapshot> apply_snapshot;
    std::vector<entry> committed;

    std::optional<soft_state> soft; // for observers: role or leader changed

    [[nodiscard]] bool must_persist() const { return persist_snapshot || !entries.empty() || hard; }
    [[nodiscard]] bool only_commit_to_persist() const {
        return !persist_snapshot && entries.empty() && hard && hard_moves_only_commit;
    }
    [[nodiscard]] bool empty() const {
        return !must_persist() && early_messages.empty() && messages.empty() && !apply_snapshot &&
               committed.empty() && !soft;
    }
};

} // namespace roster::consensus
