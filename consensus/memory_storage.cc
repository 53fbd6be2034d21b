#include "consensus/memory_storage.hh"

#include <algorithm>

#include "common/invariant.hh"

namespace roster::consensus {

void apply_to(persisted_state& state, const ready& r) {
    if (r.persist_snapshot) {
        const log_index upto = r.persist_snapshot->meta.index;
        if (r.snapshot_replaces_log) {
            state.entries.clear();
        } else {
            std::erase_if(state.entries, [&](const entry& e) { return e.index <= upto; });
        }
        state.snap = r.persist_snapshot;
    }
    if (!r.entries.empty()) {
        const log_index from = r.entries.front().index;
        const log_index base = state.snap ? state.snap->meta.index : log_index();
        const log_index last = base + state.entries.size();
        if (from > last.next() || from <= base) {
            invariant_broken("memory_storage", "entries from {} do not follow the log ({}, {}]", from, base, last);
        }
        state.entries.resize(from - base - 1);
        state.entries.insert(state.entries.end(), r.entries.begin(), r.entries.end());
    }
    if (r.hard) {
        state.hard = *r.hard;
    }
}

persisted_state memory_storage::recovered() const { return _state; }

std::optional<storage_error> memory_storage::save(const ready& r) {
    if (r.must_persist()) {
        apply_to(_state, r);
        ++_saves;
    }
    return std::nullopt;
}

log_index memory_storage::last_index() const noexcept {
    const log_index base = _state.snap ? _state.snap->meta.index : log_index();
    return base + _state.entries.size();
}

} // namespace roster::consensus
