#pragma once

#include "common/prng.hh"
#include "consensus/state.hh"

namespace roster::consensus::testing {

// Generates a stream of step-1 readies (snapshot, entries, hard state) of the kinds raft
// produces: appends, truncations of an uncommitted suffix under a new term, local compactions,
// snapshot installs that replace the log, and hard state changes. Deterministic for a seed.
class ready_generator {
public:
    explicit ready_generator(std::uint64_t seed)
        : _rng(seed) {}

    ready next() {
        ready r;
        const double dice = _rng.unit();
        if (dice < 0.03 && _commit > _snap) {
            // Local compaction up to a committed index.
            const log_index at = _snap + 1 + _rng.below(_commit - _snap);
            r.persist_snapshot = snapshot{{at, _terms_at(at)}, data(64)};
            _snap = at;
        } else if (dice < 0.05) {
            // A snapshot from the leader replaces the whole log.
            const log_index at = std::max(_last, _commit) + 1 + _rng.below(5);
            _term = _term.next();
            r.persist_snapshot = snapshot{{at, _term}, data(128)};
            r.snapshot_replaces_log = true;
            _snap = at;
            _last = at;
            _commit = at;
            _terms.clear();
        } else {
            log_index from = _last.next();
            if (dice < 0.15 && _last > std::max(_commit, _snap)) {
                // Overwrite an uncommitted suffix under a new term.
                from = std::max(_commit, _snap) + 1 + _rng.below(_last - std::max(_commit, _snap));
                _term = _term.next();
            }
            const std::size_t n = 1 + _rng.below(5);
            _last = from.prev();
            _terms.resize(_last - _snap);
            for (std::size_t i = 0; i < n; ++i) {
                _last = _last.next();
                const auto kind = _rng.chance(0.1) ? entry_kind::noop : entry_kind::normal;
                r.entries.push_back({_last, _term, kind, kind == entry_kind::noop ? bytes() : *data(200)});
                _terms.push_back(_term);
            }
        }
        // Raft stores a new term no later than the first entry or snapshot of that term (the
        // storage refuses a file whose log is newer than its term).
        if (_term != _saved_term || _rng.chance(0.7)) {
            if (_last > _commit && _rng.chance(0.5)) {
                _commit = _commit + 1 + _rng.below(_last - _commit);
            }
            r.hard = hard_state{_term, voter_id(static_cast<std::uint32_t>(1 + _rng.below(3))), _commit};
            _saved_term = _term;
        }
        // Keep the term lookup aligned with the snapshot point.
        while (_terms.size() > _last - _snap) {
            _terms.erase(_terms.begin());
        }
        return r;
    }

private:
    std::shared_ptr<const bytes> data(std::size_t max) {
        bytes b(_rng.below(max + 1));
        for (auto& x : b) {
            x = static_cast<std::uint8_t>(_rng.next());
        }
        return std::make_shared<const bytes>(std::move(b));
    }

    raft_term _terms_at(log_index i) const { return _terms.at(i - _snap - 1); }

    prng _rng;
    raft_term _term{1};
    raft_term _saved_term; // in the last hard state
    log_index _snap;
    log_index _last;
    log_index _commit;
    std::vector<raft_term> _terms; // terms of (_snap, _last]
};

} // namespace roster::consensus::testing
