#pragma once

#include <string>

#include "client/json.hh"

// rosterctl's JSON output: the renderers live in client/json.hh (rosterd's HTTP API serves the same
// documents); rosterctl and the examples name them here.
namespace roster::tools {

// A JSON string literal for `s`, quotes included: quotes, backslashes and control characters are
// escaped, and invalid UTF-8 becomes U+FFFD, so the output is valid JSON whatever a member's name or
// address holds (common/escape.hh).
[[nodiscard]] std::string json_quote(const std::string& s);

using client::delivery_json;
using client::event_json;
using client::status_json;
using client::view_json;

} // namespace roster::tools
