// libFuzzer target: a voter's data file, opened as rosterd opens it (daemon/runtime.cc:
// daemon::open_voter_storage, then a voter_driver started on what it recovered, its output saved
// back through the same storage). An input that starts like an SQLite file ("SQLite format 3") is
// the data file itself, byte for byte; any other input is a script (fuzz/storage_script.hh)
// that builds a data file with the real storage's writer and then damages it with SQL. The
// storage must refuse a bad file with an error; what it accepts, the voter must start from and
// run on without breaking an invariant.
#include "consensus/sqlite_storage.hh"

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <sqlite3.h>

#include "daemon/voter_storage.hh"
#include "fuzz/drivers.hh"
#include "fuzz/storage_script.hh"

using namespace roster;

namespace {

namespace fs = std::filesystem;

const consensus::storage_identity identity{fuzz::cluster, voter_id(1)};

void clean(const fs::path& file) {
    std::error_code ec;
    for (const char* suffix : {"", "-wal", "-shm", "-journal", ".new"}) {
        fs::remove(file.string() + suffix, ec);
    }
}

// Builds the data file as the script says: written by the real storage (storage_script::save),
// then damaged with SQL.
void build(const fs::path& file, bytes_view script) {
    namespace s = fuzz::storage_script;
    const auto records = s::read_script(script);
    {
        auto opened = consensus::sqlite_storage::open(file, identity);
        if (!opened) {
            invariant_broken("fuzz", "cannot create a data file: {}", opened.error().message);
        }
        if (auto err = s::save(*opened.value(), records)) {
            invariant_broken("fuzz", "the writer failed: {}", err->message);
        }
    }
    // The damage stays inside this file: no ATTACH (it creates files) and no VACUUM (INTO writes
    // one), and a statement that runs long is interrupted.
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK) {
        sqlite3_limit(db, SQLITE_LIMIT_ATTACHED, 0);
        sqlite3_limit(db, SQLITE_LIMIT_LENGTH, 1 << 20);
        sqlite3_set_authorizer(
            db,
            [](void*, int action, const char*, const char*, const char*, const char*) {
                return action == SQLITE_ATTACH || action == SQLITE_DETACH ? SQLITE_DENY : SQLITE_OK;
            },
            nullptr);
        int steps = 0;
        sqlite3_progress_handler(
            db, 1000, [](void* n) { return ++*static_cast<int*>(n) > 1000 ? 1 : 0; }, &steps);
        for (const auto& r : records) {
            const auto* t = std::get_if<s::tamper>(&r);
            if (t == nullptr) {
                continue;
            }
            std::string lower = t->sql;
            std::transform(lower.begin(), lower.end(), lower.begin(),
                           [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
            if (lower.find("vacuum") == std::string::npos && lower.find("attach") == std::string::npos) {
                (void)sqlite3_exec(db, t->sql.c_str(), nullptr, nullptr, nullptr);
            }
        }
    }
    sqlite3_close(db);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const fs::path file = fuzz::scratch_dir() / "raft.db";
    clean(file);
    constexpr std::string_view sqlite_header("SQLite format 3", 15);
    if (size >= sqlite_header.size() && std::memcmp(data, sqlite_header.data(), sqlite_header.size()) == 0) {
        std::ofstream(file, std::ios::binary)
            .write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    } else {
        build(file, {data, size});
    }
    {
        auto opened = daemon::open_voter_storage(file, identity);
        if (opened) {
            auto storage = std::move(opened).value();
            fuzz::loop<daemon::voter_driver> voter(fuzz::voter_options(1), storage->recovered(),
                                                   storage.get());
            (void)voter.run(400);
        }
    }
    clean(file);
    return 0;
}
