#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "common/result.hh"
#include "consensus/storage.hh"

struct sqlite3;
struct sqlite3_stmt;

namespace roster::consensus {

// Whose data a file holds; a file of another cluster or voter is refused.
struct storage_identity {
    std::string cluster;
    voter_id voter;
};

// A voter's durable state in one SQLite file: WAL journal, synchronous=FULL, one transaction
// per save(). Every log entry and the snapshot carry a CRC-32C, checked at open.
//
// Files: <path> and its WAL (<path>-wal). The file is created atomically (written under a
// temporary name, synced, renamed, directory synced), so an existing file that is empty or not
// a roster data file is damage, never a half-made new one, and is refused.
class sqlite_storage final : public storage {
public:
    // Opens the data file, creating it if neither it nor its WAL exists. Refuses, with a message
    // that names the file and says why: a file that is not a roster data file, is corrupt
    // (SQLite's quick_check, a checksum, a gap in the log), belongs to another cluster or voter,
    // is locked by another process, or cannot be read. Never starts empty over data it could
    // not read.
    static result<std::unique_ptr<sqlite_storage>, storage_error> open(const std::filesystem::path& path,
                                                                       const storage_identity& identity);
    ~sqlite_storage() override;
    sqlite_storage(const sqlite_storage&) = delete;
    sqlite_storage& operator=(const sqlite_storage&) = delete;

    [[nodiscard]] persisted_state recovered() const override;
    [[nodiscard]] std::optional<storage_error> save(const ready& r) override;

    [[nodiscard]] const std::filesystem::path& path() const noexcept { return _path; }

private:
    sqlite_storage(std::filesystem::path path, sqlite3* db, int lock_fd);
    std::optional<storage_error> prepare();
    std::optional<storage_error> load(const storage_identity& identity);
    storage_error error(const std::string& doing) const;

    std::filesystem::path _path;
    sqlite3* _db;
    int _lock_fd;
    persisted_state _recovered;
    log_index _snapshot_index; // of what is stored now
    log_index _last_index;

    sqlite3_stmt* _begin = nullptr;
    sqlite3_stmt* _commit = nullptr;
    sqlite3_stmt* _rollback = nullptr;
    sqlite3_stmt* _put_snapshot = nullptr;
    sqlite3_stmt* _delete_all = nullptr;
    sqlite3_stmt* _delete_upto = nullptr;
    sqlite3_stmt* _delete_from = nullptr;
    sqlite3_stmt* _insert_entry = nullptr;
    sqlite3_stmt* _put_hard = nullptr;
    sqlite3_stmt* _relaxed_sync = nullptr;
    sqlite3_stmt* _full_sync = nullptr;
    bool _relaxed = false; // the connection is in synchronous=NORMAL (a commit-index-only batch)
    raft_term _saved_term; // term and vote as last saved, to tell a commit-only batch
    voter_id _saved_vote;
};

} // namespace roster::consensus
