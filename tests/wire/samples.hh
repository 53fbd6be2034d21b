#pragma once

#include <vector>

#include "wire/messages.hh"

namespace roster::wire::testing {

// One envelope of every body the protocol has (both forms of vote request and reply), with
// every field set to a value other than its default, so that a field lost in encoding or
// decoding shows up as a difference.
std::vector<wire::envelope> sample_envelopes();

} // namespace roster::wire::testing
