#pragma once

#include <string>

#include "views/messages.hh"
#include "views/view.hh"
#include "views/view_subscriber.hh"

// rosterctl's JSON output: one line per document, stable field order, every string escaped.
namespace roster::tools {

// A JSON string literal for `s`, quotes included: quotes, backslashes and control characters are
// escaped, and invalid UTF-8 becomes U+FFFD, so the output is valid JSON whatever a member's name or
// address holds (common/escape.hh).
[[nodiscard]] std::string json_quote(const std::string& s);

// JSON of a view in the `rosterctl members --json` format (one line, no trailing newline).
[[nodiscard]] std::string view_json(const views::view& v);

// One line of `rosterctl watch --json`: a delivered view (view_json plus "resync"), or an event
// of a member's own stream ({"event": "removed" | "rejoined", ...}). Every client program that
// prints the watch format (rosterctl, examples/watch_views --json) prints it through these.
[[nodiscard]] std::string delivery_json(const views::delivery& d);
[[nodiscard]] std::string event_json(const views::node_event& e);

} // namespace roster::tools
