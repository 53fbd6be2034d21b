#pragma once

#include <cstddef>
#include <deque>
#include <optional>
#include <vector>

#include "consensus/message.hh"
#include "consensus/state.hh"

namespace roster::consensus {

// The in-memory Raft log of one voter: a snapshot point and the entries after it.
//
// Invariants (checked): entries are contiguous, entry i has index snapshot.index + 1 + i, and
// terms never decrease along the log.
class raft_log {
public:
    raft_log() = default;
    // Pre-condition: `entries` are contiguous from snap.index + 1 with non-decreasing terms.
    raft_log(snapshot_meta snap, std::vector<entry> entries);

    [[nodiscard]] snapshot_meta snapshot_point() const noexcept { return _snap; }
    [[nodiscard]] log_index first_index() const noexcept { return _snap.index.next(); }
    [[nodiscard]] log_index last_index() const noexcept { return _snap.index + _entries.size(); }
    [[nodiscard]] raft_term last_term() const noexcept {
        return _entries.empty() ? _snap.term : _entries.back().term;
    }

    // The term at `index`: known for the snapshot point and every entry after it; empty for a
    // compacted index or one past the end.
    [[nodiscard]] std::optional<raft_term> term(log_index index) const noexcept;
    [[nodiscard]] bool matches(log_index index, raft_term t) const noexcept {
        const auto x = term(index);
        return x && *x == t;
    }

    // Pre-condition: first_index() <= index <= last_index().
    [[nodiscard]] const entry& at(log_index index) const;

    // Entries [from, to] (to capped at last_index), at most max_count of them and at most about
    // max_bytes of data (always at least one). Pre-condition: from >= first_index().
    [[nodiscard]] std::vector<entry> slice(log_index from, log_index to, std::size_t max_count = SIZE_MAX,
                                           std::size_t max_bytes = SIZE_MAX) const;

    // Pre-condition: e.index == last_index() + 1, e.term >= last_term().
    void append(entry e);
    // Drops every entry after `index`. Pre-condition: index >= snapshot_point().index.
    void truncate_after(log_index index);
    // Drops entries up to `index` and moves the snapshot point there.
    // Pre-condition: snapshot_point().index <= index <= last_index().
    void compact(log_index index);
    // Drops everything; the log starts after `snap`.
    void reset(snapshot_meta snap);

    // Raft §5.4.1: is a log ending at (last_index, last_term) at least as up-to-date as this one?
    [[nodiscard]] bool is_up_to_date(log_index last, raft_term last_term) const noexcept;

    // The largest index <= `index` whose term is <= `t` (or the snapshot point, where the log
    // cannot be looked at further back). Used on both sides of a rejected append to skip a
    // whole conflicting term at once (etcd-raft's findConflictByTerm).
    [[nodiscard]] log_index find_conflict_by_term(log_index index, raft_term t) const noexcept;

private:
    snapshot_meta _snap;
    std::deque<entry> _entries;
};

} // namespace roster::consensus
