#pragma once

#include <cstdint>
#include <variant>
#include <vector>

#include "common/bytes.hh"
#include "common/strong_value.hh"

namespace roster::consensus {

// The largest term a voter ever takes: 2^62. Terms only grow and are persisted, and the next term
// of 2^64 - 1 is 0 (strong_value::next wraps), so one forged message with a huge term would leave
// the cluster without a leader for good, across restarts. Bounded here, a term can never wrap:
// raft refuses a message carrying a term above it (counted as dropped_invalid), a voter at
// max_term does not campaign, and storage refuses to start from a persisted term above it.
// 2^62 elections at one a millisecond take 146 million years.
inline constexpr raft_term max_term{std::uint64_t{1} << 62};

enum class entry_kind : std::uint8_t {
    normal, // carries a proposal's bytes
    noop,   // appended by a new leader to commit entries of earlier terms (Raft §5.4.2, §8)
};

// One Raft log entry.
struct entry {
    log_index index;                      // position in the log, from 1
    raft_term term;                       // term of the leader that created it
    entry_kind kind = entry_kind::normal; // a proposal, or a new leader's no-op
    bytes data;                           // the proposal, opaque to consensus

    bool operator==(const entry&) const = default;
};

// RequestVote (Raft §5.2), and its pre-vote form (Raft thesis §9.6), which changes no term.
struct vote_request {
    raft_term term;        // candidate's term; for a pre-vote, the term it would campaign in
    log_index last_index;  // index of the candidate's last entry
    raft_term last_term;   // term of the candidate's last entry
    bool pre_vote = false; // a pre-vote: grant only what a real vote would grant

    bool operator==(const vote_request&) const = default;
};

struct vote_reply {
    raft_term term;        // the voter's term (for a granted pre-vote: the requested term)
    bool granted = false;  // the vote (or pre-vote) is given
    bool pre_vote = false; // answers a pre-vote

    bool operator==(const vote_reply&) const = default;
};

// AppendEntries (Raft §5.3); with no entries, the leader's heartbeat.
struct append_request {
    raft_term term;             // leader's term
    log_index prev_index;       // index of the entry just before `entries`
    raft_term prev_term;        // its term
    std::vector<entry> entries; // may be empty
    log_index commit;           // leader's commit index

    bool operator==(const append_request&) const = default;
};

struct append_reply {
    raft_term term;       // follower's term
    bool success = false; // the entries follow on from prev_index and are stored
    log_index index;      // success: last index now matched; rejection: the prev_index refused
    log_index hint_index; // rejection: where the leader should probe next
    raft_term hint_term;  // rejection: the term of the follower's entry at hint_index (0: none)

    bool operator==(const append_reply&) const = default;
};

// InstallSnapshot (Raft §7), sent whole.
struct snapshot_request {
    raft_term term;       // leader's term
    log_index last_index; // last index the snapshot covers
    raft_term last_term;  // term of that entry
    bytes data;           // the state machine's snapshot

    bool operator==(const snapshot_request&) const = default;
};

struct snapshot_reply {
    raft_term term;        // follower's term
    bool accepted = false; // installed, or already covered by the follower's log
    log_index match_index; // follower's last index after installing (or what it had)

    bool operator==(const snapshot_reply&) const = default;
};

using message_body =
    std::variant<vote_request, vote_reply, append_request, append_reply, snapshot_request, snapshot_reply>;

// A message between two voters.
struct message {
    voter_id from;     // the sender
    voter_id to;       // the receiver
    message_body body; // what it says

    bool operator==(const message&) const = default;
};

} // namespace roster::consensus
