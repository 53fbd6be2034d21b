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
//   1. persist, in one atomic write: `persist_snapshot` (dropping the stored log up to its
//      index, or the whole log when snapshot_replaces_log), then `entries` (first deleting every
//      stored entry at or after entries.front().index), then `hard`;
//   2. send `messages`;
//   3. apply: load `apply_snapshot` into the state machine, then `committed` in order.
// raft counts on step 1 being done before anything it sent in step 2 is answered.
struct ready {
    std::optional<snapshot> persist_snapshot;
    bool snapshot_replaces_log = false;
    std::vector<entry> entries;
    std::optional<hard_state> hard;

    std::vector<message> messages;

    std::optional<snapshot> apply_snapshot;
    std::vector<entry> committed;

    std::optional<soft_state> soft; // for observers: role or leader changed

    [[nodiscard]] bool must_persist() const { return persist_snapshot || !entries.empty() || hard; }
    [[nodiscard]] bool empty() const {
        return !must_persist() && messages.empty() && !apply_snapshot && committed.empty() && !soft;
    }
};

} // namespace roster::consensus
