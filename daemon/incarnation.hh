#pragma once

#include <string>

#include "common/result.hh"
#include "common/strong_value.hh"

namespace roster::daemon {

// The incarnation for a process starting now: wall-clock microseconds, and for a voter also
// more than any it used before (kept in <data-dir>/incarnation, written and synced before this
// returns), so that a restart always replaces the old instance even if the clock went back.
// `data_dir` empty: a member, which keeps nothing. Fails with a message naming the file.
result<incarnation_number, std::string> next_incarnation(const std::string& data_dir);

} // namespace roster::daemon
