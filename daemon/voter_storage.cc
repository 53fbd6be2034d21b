#include "daemon/voter_storage.hh"

#include <fmt/format.h>

#include "node/replicated_membership.hh"

namespace roster::daemon {

result<std::unique_ptr<consensus::sqlite_storage>, std::string>
open_voter_storage(const std::filesystem::path& path, const consensus::storage_identity& identity) {
    auto opened = consensus::sqlite_storage::open(path, identity);
    if (!opened) {
        return opened.error().message;
    }
    auto storage = std::move(opened).value();
    // The checksum guards the bytes, not what they say: a snapshot written whole by a build that
    // encoded it otherwise, or damaged before its checksum was taken, passes it.
    const auto recovered = storage->recovered();
    if (recovered.snap) {
        if (auto why = node::replicated_membership::check(*recovered.snap->data)) {
            return fmt::format("data file {} holds a membership snapshot at index {} that cannot be loaded "
                               "({}); refusing to start, nothing in {} was changed",
                               path.string(), recovered.snap->meta.index, *why, path.parent_path().string());
        }
    }
    return storage;
}

} // namespace roster::daemon
