#include "consensus/raft_log.hh"

#include "common/invariant.hh"

namespace roster::consensus {

raft_log::raft_log(snapshot_meta snap, std::vector<entry> entries)
    : _snap(snap) {
    for (auto& e : entries) {
        append(std::move(e));
    }
}

std::optional<raft_term> raft_log::term(log_index index) const noexcept {
    if (index == _snap.index) {
        return _snap.term;
    }
    if (index < _snap.index || index > last_index()) {
        return std::nullopt;
    }
    return _entries[index - first_index()].term;
}

const entry& raft_log::at(log_index index) const {
    if (index < first_index() || index > last_index()) {
        invariant_broken("raft_log", "at({}) outside [{}, {}]", index, first_index(), last_index());
    }
    return _entries[index - first_index()];
}

std::vector<entry> raft_log::slice(log_index from, log_index to, std::size_t max_count,
                                   std::size_t max_bytes) const {
    if (from < first_index()) {
        invariant_broken("raft_log", "slice from {} below first index {}", from, first_index());
    }
    std::vector<entry> out;
    std::size_t size = 0;
    for (log_index i = from; i <= to && i <= last_index() && out.size() < max_count; ++i) {
        const entry& e = at(i);
        if (!out.empty() && size + e.data.size() > max_bytes) {
            break;
        }
        size += e.data.size();
        out.push_back(e);
    }
    return out;
}

void raft_log::append(entry e) {
    if (e.index != last_index().next() || e.term < last_term()) {
        invariant_broken("raft_log", "append of ({}, term {}) after ({}, term {})", e.index, e.term,
                         last_index(), last_term());
    }
    _entries.push_back(std::move(e));
}

void raft_log::truncate_after(log_index index) {
    if (index < _snap.index) {
        invariant_broken("raft_log", "truncate after {} below the snapshot at {}", index, _snap.index);
    }
    while (last_index() > index) {
        _entries.pop_back();
    }
}

void raft_log::compact(log_index index) {
    if (index < _snap.index || index > last_index()) {
        invariant_broken("raft_log", "compact to {} outside [{}, {}]", index, _snap.index, last_index());
    }
    const raft_term t = *term(index);
    while (_snap.index < index) {
        _entries.pop_front();
        _snap.index = _snap.index.next();
    }
    _snap.term = t;
}

void raft_log::reset(snapshot_meta snap) {
    _entries.clear();
    _snap = snap;
}

bool raft_log::is_up_to_date(log_index last, raft_term t) const noexcept {
    return t > last_term() || (t == last_term() && last >= last_index());
}

log_index raft_log::find_conflict_by_term(log_index index, raft_term t) const noexcept {
    if (index > last_index()) {
        index = last_index();
    }
    while (index > _snap.index) {
        if (*term(index) <= t) {
            return index;
        }
        index = index.prev();
    }
    return _snap.index;
}

} // namespace roster::consensus
