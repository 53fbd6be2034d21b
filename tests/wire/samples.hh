#pragma once

#include <vector>

#include "membership/command.hh"
#include "wire/messages.hh"

namespace roster::wire::testing {

// One envelope of every body the protocol has (both forms of vote request and reply), with
// every field set to a value other than its default, so that a field lost in encoding or
// decoding shows up as a difference.
std::vector<wire::envelope> sample_envelopes();
// A view change with an operator's removal next to a suspicion: the reason an older reader sees
// (`left`) and the exact one (RemovalReason in roster.fbs).
views::view_change operator_removal_change();

// A command with every kind of op (a join with tags and one with only a name), and a snapshot of
// the sample view: the Raft log payloads ("RCMD", "RSNP").
membership::command sample_command();
membership::membership_snapshot sample_snapshot();

} // namespace roster::wire::testing
