#pragma once

// What the Raft tests write again and again: voter ids and a normal entry at (index, term).

#include <cstdint>

#include "consensus/raft_log.hh"

namespace roster::consensus::testing {

inline const voter_id v1(1), v2(2), v3(3), v4(4), v5(5);

[[nodiscard]] inline entry e(std::uint64_t index, std::uint64_t term) {
    return {log_index(index), raft_term(term), entry_kind::normal, {}};
}

[[nodiscard]] inline entry e(log_index index, raft_term term) { return {index, term, entry_kind::normal, {}}; }

} // namespace roster::consensus::testing
