#pragma once

#include <string>

#include "views/view.hh"

// rosterctl's JSON output: one line per document, stable field order, every string escaped.
namespace roster::tools {

// A JSON string literal for `s`, quotes included: quotes, backslashes and control characters are
// escaped, and invalid UTF-8 becomes U+FFFD, so the output is valid JSON whatever a member's name or
// address holds (common/escape.hh).
[[nodiscard]] std::string json_quote(const std::string& s);

// JSON of a view in the `rosterctl members --json` format (one line, no trailing newline).
[[nodiscard]] std::string view_json(const views::view& v);

} // namespace roster::tools
