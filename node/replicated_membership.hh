#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "common/bytes.hh"
#include "common/result.hh"
#include "consensus/state.hh"
#include "membership/membership_state.hh"

namespace roster::node {

// The membership state machine as Raft drives it: committed entries come in as bytes, views come
// out. Decodes each entry (one that is not a membership command, or carries a join beyond the
// bounds of membership/validation.hh, is skipped, alike on every voter), applies it, loads
// snapshots, checks a snapshot that arrives from the network before raft may take it, and says
// when to compact. Deterministic and I/O-free.
class replicated_membership {
public:
    // `compact_every`: entries applied past the last snapshot before the next one is due;
    // `last_snapshot`: where the recovered snapshot ends (0: none).
    replicated_membership(std::size_t compact_every, log_index last_snapshot)
        : _compact_every(compact_every)
        , _last_snapshot(last_snapshot) {}

    struct applied {
        membership::command command;                  // what the entry said
        membership::membership_state::applied result; // the view change it made, and each op's outcome
    };
    // Why a committed entry was skipped.
    struct refusal {
        enum class kind : std::uint8_t {
            undecodable, // the bytes are not a membership command
            invalid,     // a command no voter would have proposed (membership::validate)
        };
        kind what = kind::undecodable;
        std::string why;
    };
    // Applies a committed entry. Nothing for a no-op entry; a refusal for an entry that is not a
    // valid membership command, which is then skipped: nothing of it applies, and every voter
    // decides alike (the same bytes, the same rules), so the views stay the same everywhere.
    result<std::optional<applied>, refusal> apply(const consensus::entry& e);

    // Loads a snapshot. Pre-condition: it came from storage (which checks what it loads) or passed
    // check(); anything else is a bug (invariant_broken).
    void restore(const consensus::snapshot& s);
    // Why these snapshot bytes could not be loaded, or nothing.
    [[nodiscard]] static std::optional<std::string> check(bytes_view snapshot_data);

    // The snapshot to compact the log with, when `applied_index` is far enough past the last one
    // (else null).
    std::shared_ptr<const bytes> compaction_due(log_index applied_index);

    [[nodiscard]] const membership::membership_state& state() const noexcept { return _state; }

private:
    membership::membership_state _state;
    std::size_t _compact_every;
    log_index _last_snapshot;
};

} // namespace roster::node
