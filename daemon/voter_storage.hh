#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "common/result.hh"
#include "consensus/sqlite_storage.hh"

namespace roster::daemon {

// Opens a voter's data file (consensus::sqlite_storage::open: checksums, log order, identity) and
// checks what the voter will load from it: the recovered snapshot must be one the membership
// state machine can load (node::replicated_membership::check), since loading one it cannot is a
// broken invariant. A refusal names the file and says why; nothing in it is changed.
result<std::unique_ptr<consensus::sqlite_storage>, std::string>
open_voter_storage(const std::filesystem::path& path, const consensus::storage_identity& identity);

} // namespace roster::daemon
