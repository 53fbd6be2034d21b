#include "tools/json.hh"

#include "common/escape.hh"

namespace roster::tools {

std::string json_quote(const std::string& s) { return roster::json_quote(s); }

} // namespace roster::tools
