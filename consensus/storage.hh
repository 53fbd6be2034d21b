#pragma once

#include <optional>
#include <string>

#include "consensus/state.hh"

namespace roster::consensus {

// A storage failure: which file, and why. The voter cannot go on after one (it could not
// keep a promise it may already have made), so the daemon reports it and exits.
struct storage_error {
    std::string message;
};

// Where a voter's hard state, log and snapshot live.
class storage {
public:
    virtual ~storage() = default;

    // Everything persisted so far, as raft needs it to start.
    [[nodiscard]] virtual persisted_state recovered() const = 0;

    // Persists step 1 of a ready (snapshot, entries, hard state) atomically and durably: when it
    // returns without error, all of it survives a crash; when it returns an error, none of it
    // was applied. Pre-condition: r.entries, if any, start at most one past the stored last index.
    [[nodiscard]] virtual std::optional<storage_error> save(const ready& r) = 0;
};

} // namespace roster::consensus
