#include "consensus/sqlite_storage.hh"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <sqlite3.h>

#include "common/crc32c.hh"
#include "common/invariant.hh"

namespace roster::consensus {

namespace {

constexpr const char* format_version = "1";

constexpr const char* schema = R"sql(
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE hard_state(id INTEGER PRIMARY KEY CHECK (id = 1), term INTEGER NOT NULL,
                        vote INTEGER NOT NULL, commit_index INTEGER NOT NULL);
CREATE TABLE snapshot(id INTEGER PRIMARY KEY CHECK (id = 1), last_index INTEGER NOT NULL,
                      last_term INTEGER NOT NULL, data BLOB NOT NULL, crc INTEGER NOT NULL);
CREATE TABLE entries(idx INTEGER PRIMARY KEY, term INTEGER NOT NULL, kind INTEGER NOT NULL,
                     data BLOB NOT NULL, crc INTEGER NOT NULL);
INSERT INTO hard_state VALUES (1, 0, 0, 0);
)sql";

std::uint32_t entry_crc(std::uint64_t index, std::uint64_t term, std::uint8_t kind, const bytes& data) {
    std::uint8_t head[17];
    std::memcpy(head, &index, 8);
    std::memcpy(head + 8, &term, 8);
    head[16] = kind;
    return crc32c(data.data(), data.size(), crc32c(head, sizeof head));
}

std::uint32_t snapshot_crc(std::uint64_t index, std::uint64_t term, const bytes& data) {
    return entry_crc(index, term, 0xff, data);
}

// sqlite3_bind_blob binds NULL for a null pointer, which an empty vector may have.
int bind_bytes(sqlite3_stmt* s, int col, const bytes& b) {
    return b.empty() ? sqlite3_bind_zeroblob(s, col, 0)
                     : sqlite3_bind_blob64(s, col, b.data(), b.size(), SQLITE_STATIC);
}

std::int64_t i64(std::uint64_t v) { return static_cast<std::int64_t>(v); }
std::uint64_t u64(sqlite3_stmt* s, int col) {
    return static_cast<std::uint64_t>(sqlite3_column_int64(s, col));
}

bytes blob(sqlite3_stmt* s, int col) {
    const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(s, col));
    const int n = sqlite3_column_bytes(s, col);
    return p == nullptr ? bytes() : bytes(p, p + n);
}

// Syncs a directory so that a rename in it is durable.
bool sync_dir(const std::filesystem::path& dir) {
    const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY);
    if (fd < 0) {
        return false;
    }
    const bool ok = ::fsync(fd) == 0;
    ::close(fd);
    return ok;
}

// Statement guard: finalizes on scope exit.
struct statement {
    sqlite3_stmt* s = nullptr;
    ~statement() { sqlite3_finalize(s); }
};

std::optional<storage_error> create(const std::filesystem::path& path, const storage_identity& identity) {
    const std::filesystem::path tmp = path.string() + ".new";
    std::error_code ec;
    std::filesystem::remove(tmp, ec);
    sqlite3* db = nullptr;
    auto fail = [&](const std::string& why) {
        sqlite3_close(db);
        std::filesystem::remove(tmp, ec);
        return storage_error{fmt::format("cannot create data file {}: {}", path.string(), why)};
    };
    if (sqlite3_open_v2(tmp.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) != SQLITE_OK) {
        return fail(db ? sqlite3_errmsg(db) : "out of memory");
    }
    const std::string meta = fmt::format(
        "INSERT INTO meta VALUES ('format', '{}'), ('cluster', {}), ('voter_id', '{}');", format_version,
        [&] {
            char* quoted = sqlite3_mprintf("%Q", identity.cluster.c_str());
            std::string out(quoted);
            sqlite3_free(quoted);
            return out;
        }(),
        identity.voter);
    const std::string script = std::string("PRAGMA journal_mode=DELETE; PRAGMA synchronous=FULL; BEGIN;") +
                               schema + meta + "COMMIT;";
    char* err = nullptr;
    if (sqlite3_exec(db, script.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
        std::string why = err ? err : "unknown error";
        sqlite3_free(err);
        return fail(why);
    }
    sqlite3_close(db);
    db = nullptr;
    const int fd = ::open(tmp.c_str(), O_RDONLY);
    if (fd < 0 || ::fsync(fd) != 0) {
        const std::string why = std::strerror(errno);
        if (fd >= 0) {
            ::close(fd);
        }
        return fail(why);
    }
    ::close(fd);
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        return fail(std::strerror(errno));
    }
    if (!sync_dir(path.parent_path())) {
        return storage_error{
            fmt::format("cannot sync directory of {}: {}", path.string(), std::strerror(errno))};
    }
    return std::nullopt;
}

} // namespace

sqlite_storage::sqlite_storage(std::filesystem::path path, sqlite3* db, int lock_fd)
    : _path(std::move(path))
    , _db(db)
    , _lock_fd(lock_fd) {}

sqlite_storage::~sqlite_storage() {
    for (sqlite3_stmt* s : {_begin, _commit, _rollback, _put_snapshot, _delete_all, _delete_upto,
                            _delete_from, _insert_entry, _put_hard, _relaxed_sync, _full_sync}) {
        sqlite3_finalize(s);
    }
    sqlite3_close(_db);
    if (_lock_fd >= 0) {
        ::close(_lock_fd);
    }
}

storage_error sqlite_storage::error(const std::string& doing) const {
    return {fmt::format("data file {}: {}: {}", _path.string(), doing, sqlite3_errmsg(_db))};
}

result<std::unique_ptr<sqlite_storage>, storage_error>
sqlite_storage::open(const std::filesystem::path& path, const storage_identity& identity) {
    std::error_code ec;
    const std::filesystem::path wal = path.string() + "-wal";
    const bool exists = std::filesystem::exists(path, ec);
    if (ec) {
        return storage_error{fmt::format("data file {}: cannot check it: {}", path.string(), ec.message())};
    }
    if (!exists) {
        if (std::filesystem::exists(wal, ec)) {
            return storage_error{
                fmt::format("data file {} is missing but its journal {} exists: refusing to start "
                            "empty over a log that may hold committed entries",
                            path.string(), wal.string())};
        }
        if (auto err = create(path, identity)) {
            return *err;
        }
    }
    if (std::filesystem::is_directory(path, ec)) {
        return storage_error{fmt::format("data file {} is a directory", path.string())};
    }
    if (std::filesystem::file_size(path, ec) == 0 && !ec) {
        return storage_error{
            fmt::format("data file {} is empty: it was damaged (roster creates its files whole); "
                        "refusing to start empty",
                        path.string())};
    }

    // One process per data file.
    const int lock_fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (lock_fd < 0) {
        return storage_error{
            fmt::format("data file {}: cannot open: {}", path.string(), std::strerror(errno))};
    }
    if (::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
        const int e = errno;
        ::close(lock_fd);
        return storage_error{fmt::format("data file {} is in use by another process ({})", path.string(),
                                         e == EWOULDBLOCK ? "locked" : std::strerror(e))};
    }

    sqlite3* db = nullptr;
    const int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
    std::unique_ptr<sqlite_storage> s(new sqlite_storage(path, db, lock_fd));
    if (rc != SQLITE_OK) {
        return s->error("cannot open");
    }
    if (auto err = s->load(identity)) {
        return *err;
    }
    if (auto err = s->prepare()) {
        return *err;
    }
    return s;
}

std::optional<storage_error> sqlite_storage::load(const storage_identity& identity) {
    char* err = nullptr;
    if (sqlite3_exec(_db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", nullptr, nullptr, &err) !=
        SQLITE_OK) {
        std::string why = err ? err : sqlite3_errmsg(_db);
        sqlite3_free(err);
        return storage_error{fmt::format("data file {} cannot be read: {}", _path.string(), why)};
    }
    {
        statement check;
        if (sqlite3_prepare_v2(_db, "PRAGMA quick_check", -1, &check.s, nullptr) != SQLITE_OK) {
            return storage_error{
                fmt::format("data file {} cannot be read: {}", _path.string(), sqlite3_errmsg(_db))};
        }
        const int rc = sqlite3_step(check.s);
        if (rc != SQLITE_ROW) {
            return storage_error{
                fmt::format("data file {} is corrupt: {}", _path.string(), sqlite3_errmsg(_db))};
        }
        const auto* verdict = reinterpret_cast<const char*>(sqlite3_column_text(check.s, 0));
        if (verdict == nullptr || std::strcmp(verdict, "ok") != 0) {
            return storage_error{fmt::format("data file {} is corrupt: quick_check says: {}", _path.string(),
                                             verdict ? verdict : "(nothing)")};
        }
    }

    std::string format, cluster, voter;
    {
        statement meta;
        if (sqlite3_prepare_v2(_db, "SELECT key, value FROM meta", -1, &meta.s, nullptr) != SQLITE_OK) {
            return storage_error{fmt::format("data file {} is not a roster data file: {}", _path.string(),
                                             sqlite3_errmsg(_db))};
        }
        int rc;
        while ((rc = sqlite3_step(meta.s)) == SQLITE_ROW) {
            const auto* k = reinterpret_cast<const char*>(sqlite3_column_text(meta.s, 0));
            const auto* v = reinterpret_cast<const char*>(sqlite3_column_text(meta.s, 1));
            const std::string key = k ? k : "", value = v ? v : "";
            if (key == "format") {
                format = value;
            } else if (key == "cluster") {
                cluster = value;
            } else if (key == "voter_id") {
                voter = value;
            }
        }
        if (rc != SQLITE_DONE) {
            return storage_error{
                fmt::format("data file {} is corrupt: {}", _path.string(), sqlite3_errmsg(_db))};
        }
    }
    if (format != format_version) {
        return storage_error{fmt::format("data file {} has format '{}', this build reads format {}",
                                         _path.string(), format, format_version)};
    }
    if (cluster != identity.cluster || voter != std::to_string(identity.voter.value())) {
        return storage_error{
            fmt::format("data file {} belongs to cluster '{}' voter {}, not cluster '{}' voter {}",
                        _path.string(), cluster, voter, identity.cluster, identity.voter)};
    }

    {
        statement hard;
        if (sqlite3_prepare_v2(_db, "SELECT term, vote, commit_index FROM hard_state WHERE id = 1", -1,
                               &hard.s, nullptr) != SQLITE_OK ||
            sqlite3_step(hard.s) != SQLITE_ROW) {
            return storage_error{fmt::format("data file {} is corrupt: no hard state: {}", _path.string(),
                                             sqlite3_errmsg(_db))};
        }
        _recovered.hard = {raft_term(u64(hard.s, 0)), voter_id(static_cast<std::uint32_t>(u64(hard.s, 1))),
                           log_index(u64(hard.s, 2))};
        _saved_term = _recovered.hard.term;
        _saved_vote = _recovered.hard.vote;
        if (_recovered.hard.term > max_term) {
            // raft never takes such a term; one here came from a forged message stored by an older
            // build, or from damage. Starting would mean a voter that can never campaign (or, from
            // 2^64 - 1, terms that wrap): refuse, and leave the file for the operator.
            return storage_error{fmt::format(
                "data file {} holds term {}, above the largest term {} a voter takes (from a forged "
                "message or damage; the next term could wrap); refusing to start, nothing in {} was changed",
                _path.string(), _recovered.hard.term, max_term, _path.parent_path().string())};
        }
    }
    {
        statement snap;
        if (sqlite3_prepare_v2(_db, "SELECT last_index, last_term, data, crc FROM snapshot WHERE id = 1", -1,
                               &snap.s, nullptr) != SQLITE_OK) {
            return storage_error{
                fmt::format("data file {} is corrupt: {}", _path.string(), sqlite3_errmsg(_db))};
        }
        const int rc = sqlite3_step(snap.s);
        if (rc == SQLITE_ROW) {
            const std::uint64_t index = u64(snap.s, 0), term = u64(snap.s, 1);
            bytes data = blob(snap.s, 2);
            if (snapshot_crc(index, term, data) != static_cast<std::uint32_t>(u64(snap.s, 3))) {
                return storage_error{
                    fmt::format("data file {} is corrupt: the snapshot at index {} fails its checksum",
                                _path.string(), index)};
            }
            if (raft_term(term) > max_term) {
                return storage_error{fmt::format("data file {} is corrupt: the snapshot at index {} has term "
                                                 "{}, above the largest term {}; nothing in {} was changed",
                                                 _path.string(), index, term, max_term,
                                                 _path.parent_path().string())};
            }
            _recovered.snap =
                snapshot{{log_index(index), raft_term(term)}, std::make_shared<const bytes>(std::move(data))};
        } else if (rc != SQLITE_DONE) {
            return storage_error{
                fmt::format("data file {} is corrupt: {}", _path.string(), sqlite3_errmsg(_db))};
        }
    }
    _snapshot_index = _recovered.snap ? _recovered.snap->meta.index : log_index();
    {
        statement rows;
        if (sqlite3_prepare_v2(_db, "SELECT idx, term, kind, data, crc FROM entries ORDER BY idx", -1,
                               &rows.s, nullptr) != SQLITE_OK) {
            return storage_error{
                fmt::format("data file {} is corrupt: {}", _path.string(), sqlite3_errmsg(_db))};
        }
        log_index expected = _snapshot_index.next();
        raft_term previous_term = _recovered.snap ? _recovered.snap->meta.term : raft_term();
        int rc;
        while ((rc = sqlite3_step(rows.s)) == SQLITE_ROW) {
            const std::uint64_t index = u64(rows.s, 0), term = u64(rows.s, 1), kind = u64(rows.s, 2);
            bytes data = blob(rows.s, 3);
            if (log_index(index) != expected) {
                return storage_error{fmt::format("data file {} is corrupt: the log jumps from index {} to {}",
                                                 _path.string(), expected.prev(), index)};
            }
            if (kind > static_cast<std::uint64_t>(entry_kind::noop) ||
                entry_crc(index, term, static_cast<std::uint8_t>(kind), data) !=
                    static_cast<std::uint32_t>(u64(rows.s, 4))) {
                return storage_error{fmt::format("data file {} is corrupt: entry {} fails its checksum",
                                                 _path.string(), index)};
            }
            if (raft_term(term) > max_term) {
                return storage_error{fmt::format("data file {} is corrupt: entry {} has term {}, above the "
                                                 "largest term {}; nothing in {} was changed",
                                                 _path.string(), index, term, max_term,
                                                 _path.parent_path().string())};
            }
            if (raft_term(term) < previous_term) {
                return storage_error{
                    fmt::format("data file {} is corrupt: entry {} has term {} after term {}", _path.string(),
                                index, term, previous_term)};
            }
            previous_term = raft_term(term);
            _recovered.entries.push_back(
                {log_index(index), raft_term(term), static_cast<entry_kind>(kind), std::move(data)});
            expected = expected.next();
        }
        if (rc != SQLITE_DONE) {
            return storage_error{
                fmt::format("data file {} is corrupt: {}", _path.string(), sqlite3_errmsg(_db))};
        }
        _last_index = expected.prev();
    }
    // A voter stores a term before it takes an entry or a snapshot of that term: none is newer
    // than the stored term (the log's terms only grow, so the last one tells). Started from such a
    // file, a voter would campaign in a term below its own log's and break raft's log order.
    const raft_term newest = !_recovered.entries.empty() ? _recovered.entries.back().term
                             : _recovered.snap           ? _recovered.snap->meta.term
                                                         : raft_term();
    if (newest > _recovered.hard.term) {
        return storage_error{fmt::format("data file {} is corrupt: its log reaches term {} (index {}), above "
                                         "the current term {} it stores",
                                         _path.string(), newest, _last_index, _recovered.hard.term)};
    }
    if (_recovered.hard.commit > _last_index) {
        return storage_error{fmt::format("data file {} is corrupt: commit index {} is past the last entry {}",
                                         _path.string(), _recovered.hard.commit, _last_index)};
    }
    return std::nullopt;
}

std::optional<storage_error> sqlite_storage::prepare() {
    const std::pair<sqlite3_stmt**, const char*> statements[] = {
        {&_begin, "BEGIN IMMEDIATE"},
        {&_commit, "COMMIT"},
        {&_rollback, "ROLLBACK"},
        {&_put_snapshot, "INSERT OR REPLACE INTO snapshot VALUES (1, ?, ?, ?, ?)"},
        {&_delete_all, "DELETE FROM entries"},
        {&_delete_upto, "DELETE FROM entries WHERE idx <= ?"},
        {&_delete_from, "DELETE FROM entries WHERE idx >= ?"},
        {&_insert_entry, "INSERT INTO entries VALUES (?, ?, ?, ?, ?)"},
        {&_put_hard, "UPDATE hard_state SET term = ?, vote = ?, commit_index = ? WHERE id = 1"},
        {&_relaxed_sync, "PRAGMA synchronous=NORMAL"},
        {&_full_sync, "PRAGMA synchronous=FULL"},
    };
    for (const auto& [stmt, sql] : statements) {
        if (sqlite3_prepare_v3(_db, sql, -1, SQLITE_PREPARE_PERSISTENT, stmt, nullptr) != SQLITE_OK) {
            return error(fmt::format("cannot prepare '{}'", sql));
        }
    }
    return std::nullopt;
}

persisted_state sqlite_storage::recovered() const { return _recovered; }

std::optional<storage_error> sqlite_storage::save(const ready& r) {
    if (!r.must_persist()) {
        return std::nullopt;
    }
    log_index snapshot_index = _snapshot_index;
    log_index last_index = _last_index;
    if (r.persist_snapshot) {
        snapshot_index = r.persist_snapshot->meta.index;
        if (r.snapshot_replaces_log || last_index < snapshot_index) {
            last_index = snapshot_index;
        }
    }
    if (!r.entries.empty() &&
        (r.entries.front().index > last_index.next() || r.entries.front().index <= snapshot_index)) {
        invariant_broken("sqlite_storage", "entries from {} do not follow the stored log ({}, {}]",
                         r.entries.front().index, snapshot_index, last_index);
    }

    auto run = [&](sqlite3_stmt* s) {
        const int rc = sqlite3_step(s);
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
        return rc == SQLITE_DONE;
    };
    auto abort_with = [&](const std::string& doing) {
        storage_error e = error(doing);
        run(_rollback);
        return e;
    };

    // A batch that only moves the commit index need not wait for the disk: losing it in a crash
    // loses nothing (the commit index is re-learned from the leader, and every committed entry is
    // on a majority of disks already). SQLite keeps it atomic either way; the next synced batch
    // makes it durable too. Everything else (entries, snapshot, term, vote) is synced.
    const bool commit_only = !r.persist_snapshot && r.entries.empty() && r.hard && r.hard->term == _saved_term &&
                             r.hard->vote == _saved_vote;
    if (commit_only != _relaxed) {
        if (!run(commit_only ? _relaxed_sync : _full_sync)) {
            return error("cannot set the sync mode");
        }
        _relaxed = commit_only;
    }
    if (!run(_begin)) {
        return error("cannot begin a transaction");
    }
    if (r.persist_snapshot) {
        const auto& snap = *r.persist_snapshot;
        const bytes& data = *snap.data;
        sqlite3_bind_int64(_put_snapshot, 1, i64(snap.meta.index.value()));
        sqlite3_bind_int64(_put_snapshot, 2, i64(snap.meta.term.value()));
        bind_bytes(_put_snapshot, 3, data);
        sqlite3_bind_int64(_put_snapshot, 4,
                           snapshot_crc(snap.meta.index.value(), snap.meta.term.value(), data));
        if (!run(_put_snapshot)) {
            return abort_with("cannot write the snapshot");
        }
        if (r.snapshot_replaces_log) {
            if (!run(_delete_all)) {
                return abort_with("cannot drop the log");
            }
        } else {
            sqlite3_bind_int64(_delete_upto, 1, i64(snap.meta.index.value()));
            if (!run(_delete_upto)) {
                return abort_with("cannot compact the log");
            }
        }
    }
    if (!r.entries.empty()) {
        sqlite3_bind_int64(_delete_from, 1, i64(r.entries.front().index.value()));
        if (!run(_delete_from)) {
            return abort_with("cannot truncate the log");
        }
        for (const entry& e : r.entries) {
            const auto kind = static_cast<std::uint8_t>(e.kind);
            sqlite3_bind_int64(_insert_entry, 1, i64(e.index.value()));
            sqlite3_bind_int64(_insert_entry, 2, i64(e.term.value()));
            sqlite3_bind_int(_insert_entry, 3, kind);
            bind_bytes(_insert_entry, 4, e.data);
            sqlite3_bind_int64(_insert_entry, 5, entry_crc(e.index.value(), e.term.value(), kind, e.data));
            if (!run(_insert_entry)) {
                return abort_with(fmt::format("cannot write entry {}", e.index));
            }
        }
        last_index = r.entries.back().index;
    }
    if (r.hard) {
        sqlite3_bind_int64(_put_hard, 1, i64(r.hard->term.value()));
        sqlite3_bind_int64(_put_hard, 2, i64(r.hard->vote.value()));
        sqlite3_bind_int64(_put_hard, 3, i64(r.hard->commit.value()));
        if (!run(_put_hard)) {
            return abort_with("cannot write the hard state");
        }
    }
    if (!run(_commit)) {
        return abort_with("cannot commit");
    }
    _snapshot_index = snapshot_index;
    _last_index = last_index;
    if (r.hard) {
        _saved_term = r.hard->term;
        _saved_vote = r.hard->vote;
    }
    return std::nullopt;
}

} // namespace roster::consensus
