#include <chrono>
#include <cstdio>
#include <fcntl.h>
#include <fstream>
#include <iterator>
#include <optional>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include "consensus/memory_storage.hh"
#include "consensus/sqlite_storage.hh"
#include "tests/consensus/ready_generator.hh"
#include "tests/temp_dir.hh"

namespace roster::consensus {
namespace {

namespace fs = std::filesystem;

const storage_identity me{"prod", voter_id(2)};

class sqlite_storage_test : public ::testing::Test {
protected:

    std::unique_ptr<sqlite_storage> open_ok(const storage_identity& id = me) {
        auto s = sqlite_storage::open(_file, id);
        EXPECT_TRUE(s) << (s ? "" : s.error().message);
        return s ? std::move(s).value() : nullptr;
    }

    std::string open_error(const storage_identity& id = me) {
        auto s = sqlite_storage::open(_file, id);
        EXPECT_FALSE(s) << "the file was accepted";
        return s ? std::string() : s.error().message;
    }

    // Runs an SQL statement on the file behind the storage's back (to damage it).
    void tamper(const std::string& sql) {
        sqlite3* db = nullptr;
        ASSERT_EQ(sqlite3_open(_file.c_str(), &db), SQLITE_OK);
        char* err = nullptr;
        ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
        sqlite3_close(db);
    }

    void fill(sqlite_storage& s, std::uint64_t seed, int batches, persisted_state* mirror = nullptr) {
        testing::ready_generator gen(seed);
        fill(s, gen, batches, mirror);
    }

    void fill(sqlite_storage& s, testing::ready_generator& gen, int batches,
              persisted_state* mirror = nullptr) {
        for (int i = 0; i < batches; ++i) {
            const ready r = gen.next();
            auto err = s.save(r);
            ASSERT_FALSE(err) << err->message;
            if (mirror) {
                apply_to(*mirror, r);
            }
        }
    }

    const roster::testing::temp_dir _tmp{"roster-storage"};
    const fs::path _dir = _tmp.path();
    const fs::path _file = _dir / "raft.db";
};

void expect_same(const persisted_state& a, const persisted_state& b) {
    EXPECT_EQ(a.hard, b.hard);
    ASSERT_EQ(a.snap.has_value(), b.snap.has_value());
    if (a.snap) {
        EXPECT_EQ(*a.snap, *b.snap);
    }
    ASSERT_EQ(a.entries.size(), b.entries.size());
    for (std::size_t i = 0; i < a.entries.size(); ++i) {
        ASSERT_EQ(a.entries[i], b.entries[i]) << "entry " << i;
    }
}

TEST_F(sqlite_storage_test, a_new_file_starts_empty) {
    auto s = open_ok();
    ASSERT_TRUE(s);
    const auto st = s->recovered();
    EXPECT_EQ(st.hard, hard_state{});
    EXPECT_FALSE(st.snap);
    EXPECT_TRUE(st.entries.empty());
    EXPECT_TRUE(fs::exists(_file));
    EXPECT_FALSE(fs::exists(_file.string() + ".new"));
}

TEST_F(sqlite_storage_test, reopening_recovers_exactly_what_memory_storage_holds) {
    // Differential property test: random ready streams (appends, truncations, compactions,
    // snapshot installs, hard states) against the in-memory reference, across reopenings.
    for (std::uint64_t seed = 1; seed <= 25; ++seed) {
        fs::remove(_file);
        fs::remove(_file.string() + "-wal");
        persisted_state mirror;
        testing::ready_generator gen(seed);
        for (int round = 0; round < 4; ++round) {
            auto s = open_ok();
            ASSERT_TRUE(s);
            expect_same(s->recovered(), mirror);
            fill(*s, gen, 60, &mirror);
        }
        auto s = open_ok();
        expect_same(s->recovered(), mirror);
        if (::testing::Test::HasFailure()) {
            FAIL() << "seed " << seed;
        }
    }
}

TEST_F(sqlite_storage_test, a_file_of_another_cluster_or_voter_is_refused) {
    { auto s = open_ok(); }
    auto msg = open_error({"staging", voter_id(2)});
    EXPECT_NE(msg.find(_file.string()), std::string::npos) << msg;
    EXPECT_NE(msg.find("belongs to cluster 'prod' voter 2"), std::string::npos) << msg;
    msg = open_error({"prod", voter_id(3)});
    EXPECT_NE(msg.find("not cluster 'prod' voter 3"), std::string::npos) << msg;
    EXPECT_TRUE(open_ok()) << "the rightful owner still opens it";
}

TEST_F(sqlite_storage_test, a_file_that_is_not_a_database_is_refused) {
    std::ofstream(_file)
        << "these are not the bytes you are looking for, and there are enough of them to matter";
    const auto msg = open_error();
    EXPECT_NE(msg.find(_file.string()), std::string::npos) << msg;
    EXPECT_NE(msg.find("not a database"), std::string::npos) << msg;
}

TEST_F(sqlite_storage_test, an_empty_file_is_refused_not_reinitialized) {
    std::ofstream(_file).flush();
    const auto msg = open_error();
    EXPECT_NE(msg.find("is empty"), std::string::npos) << msg;
    EXPECT_EQ(fs::file_size(_file), 0u) << "nothing was written over it";
}

TEST_F(sqlite_storage_test, a_journal_without_its_database_is_refused) {
    std::ofstream(_file.string() + "-wal") << "wal bytes";
    const auto msg = open_error();
    EXPECT_NE(msg.find("is missing but its journal"), std::string::npos) << msg;
    EXPECT_FALSE(fs::exists(_file));
}

TEST_F(sqlite_storage_test, a_sqlite_database_of_something_else_is_refused) {
    tamper("CREATE TABLE t(x); INSERT INTO t VALUES (1);");
    const auto msg = open_error();
    EXPECT_NE(msg.find("not a roster data file"), std::string::npos) << msg;
}

TEST_F(sqlite_storage_test, a_truncated_file_is_refused) {
    {
        auto s = open_ok();
        fill(*s, 7, 400);
    }
    tamper("PRAGMA wal_checkpoint(TRUNCATE);");
    const auto size = fs::file_size(_file);
    ASSERT_GT(size, 8192u);
    fs::resize_file(_file, size / 2);
    const auto msg = open_error();
    EXPECT_NE(msg.find(_file.string()), std::string::npos) << msg;
    EXPECT_TRUE(msg.find("corrupt") != std::string::npos || msg.find("malformed") != std::string::npos)
        << msg;
}

TEST_F(sqlite_storage_test, an_entry_whose_bytes_changed_fails_its_checksum) {
    {
        auto s = open_ok();
        ready r;
        r.entries = {{log_index(1), raft_term(1), entry_kind::normal, bytes{1, 2, 3}},
                     {log_index(2), raft_term(1), entry_kind::normal, bytes{4, 5, 6}}};
        ASSERT_FALSE(s->save(r));
    }
    tamper("UPDATE entries SET data = x'040507' WHERE idx = 2;");
    const auto msg = open_error();
    EXPECT_NE(msg.find("entry 2 fails its checksum"), std::string::npos) << msg;
}

TEST_F(sqlite_storage_test, a_flipped_byte_on_disk_is_caught) {
    // A recognizable payload, then one bit flipped in the file itself.
    const bytes marker{0xde, 0xad, 0xbe, 0xef, 0x52, 0x4f, 0x53, 0x54, 0x45, 0x52, 0x21, 0x21};
    {
        auto s = open_ok();
        ready r;
        r.entries = {{log_index(1), raft_term(1), entry_kind::normal, marker}};
        r.hard = hard_state{raft_term(1), voter_id(), log_index(1)};
        ASSERT_FALSE(s->save(r));
    }
    tamper("PRAGMA wal_checkpoint(TRUNCATE);");
    std::fstream f(_file, std::ios::in | std::ios::out | std::ios::binary);
    std::string content((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    const auto at = content.find(std::string(marker.begin(), marker.end()));
    ASSERT_NE(at, std::string::npos);
    f.seekp(static_cast<std::streamoff>(at + 5));
    f.put(static_cast<char>(content[at + 5] ^ 0x10));
    f.close();
    const auto msg = open_error();
    EXPECT_NE(msg.find("entry 1 fails its checksum"), std::string::npos) << msg;
}

TEST_F(sqlite_storage_test, a_commit_index_past_the_log_is_refused) {
    { auto s = open_ok(); }
    tamper("UPDATE hard_state SET commit_index = 5;");
    const auto msg = open_error();
    EXPECT_NE(msg.find("commit index 5 is past the last entry 0"), std::string::npos) << msg;
}

// Found by fuzz/sqlite_storage.cc: a log newer than the stored term made the voter campaign in a
// term below its last entry's, and raft's log broke its order (raft_log: invariant broken).
TEST_F(sqlite_storage_test, a_log_newer_than_the_stored_term_is_refused) {
    {
        auto s = open_ok();
        ready r;
        r.entries = {{log_index(1), raft_term(1), entry_kind::noop, {}},
                     {log_index(2), raft_term(245), entry_kind::normal, bytes{1}}};
        r.hard = hard_state{raft_term(1), voter_id(1), log_index(2)};
        ASSERT_FALSE(s->save(r));
    }
    auto msg = open_error();
    EXPECT_NE(msg.find("is corrupt: its log reaches term 245 (index 2), above the current term 1 it stores"),
              std::string::npos)
        << msg;
    tamper("UPDATE hard_state SET term = 245;");
    EXPECT_TRUE(open_ok()) << "the same log under its own term opens";

    // A snapshot alone counts too.
    tamper("DELETE FROM entries; UPDATE hard_state SET term = 2, commit_index = 0;");
    {
        auto s = open_ok();
        ready r;
        r.persist_snapshot = snapshot{{log_index(7), raft_term(3)}, std::make_shared<const bytes>(bytes{9})};
        r.snapshot_replaces_log = true;
        ASSERT_FALSE(s->save(r));
    }
    msg = open_error();
    EXPECT_NE(msg.find("its log reaches term 3 (index 7), above the current term 2"), std::string::npos)
        << msg;
}

// A term past max_term (what a forged AppendEntries left on disk before raft refused them) would
// make the voter start where it can never campaign, or where the next term wraps: refused at open,
// naming the file and its directory, and the file is left exactly as it was.
TEST_F(sqlite_storage_test, a_term_above_the_largest_is_refused_and_left_alone) {
    for (const std::int64_t stored : {static_cast<std::int64_t>(max_term.value() + 1), std::int64_t{-1}}) {
        {
            auto s = open_ok();
            ASSERT_TRUE(s);
        }
        tamper(fmt::format("UPDATE hard_state SET term = {};", stored));
        std::ifstream before_file(_file, std::ios::binary);
        const std::string before((std::istreambuf_iterator<char>(before_file)), {});
        const auto msg = open_error();
        const raft_term term(static_cast<std::uint64_t>(stored));
        EXPECT_NE(msg.find(fmt::format("data file {} holds term {}, above the largest term {}",
                                       _file.string(), term, max_term)),
                  std::string::npos)
            << msg;
        EXPECT_NE(msg.find(fmt::format("nothing in {} was changed", _dir.string())), std::string::npos)
            << msg;
        std::ifstream after_file(_file, std::ios::binary);
        const std::string after((std::istreambuf_iterator<char>(after_file)), {});
        EXPECT_EQ(after, before) << "the refused file was written to";
        tamper("UPDATE hard_state SET term = 3;");
        EXPECT_TRUE(open_ok()) << "the same file with a sane term opens";
    }
}

TEST_F(sqlite_storage_test, the_largest_term_itself_is_accepted) {
    {
        auto s = open_ok();
        ready r;
        r.hard = hard_state{max_term, voter_id(1), log_index()};
        ASSERT_FALSE(s->save(r));
    }
    auto s = open_ok();
    ASSERT_TRUE(s);
    EXPECT_EQ(s->recovered().hard.term, max_term);
}

TEST_F(sqlite_storage_test, a_gap_in_the_log_is_refused) {
    {
        auto s = open_ok();
        fill(*s, 3, 20);
    }
    tamper("DELETE FROM entries WHERE idx = (SELECT MIN(idx) + 1 FROM entries);");
    const auto msg = open_error();
    EXPECT_NE(msg.find("the log jumps"), std::string::npos) << msg;
}

TEST_F(sqlite_storage_test, a_second_process_cannot_open_the_same_file) {
    auto first = open_ok();
    ASSERT_TRUE(first);
    const auto msg = open_error();
    EXPECT_NE(msg.find("in use by another process"), std::string::npos) << msg;
}

TEST_F(sqlite_storage_test, a_directory_in_place_of_the_file_is_refused) {
    fs::create_directory(_file);
    const auto msg = open_error();
    EXPECT_NE(msg.find("is a directory"), std::string::npos) << msg;
}

TEST_F(sqlite_storage_test, a_full_disk_fails_the_save_and_loses_nothing_committed) {
    // A real full disk: a 512 KiB tmpfs in a private mount namespace of a child process would
    // need CAP_SYS_ADMIN; the test runs as root in CI (scripts/test) and mounts directly.
    const fs::path mnt = _dir / "small";
    fs::create_directory(mnt);
    if (::mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=512k") != 0) {
        GTEST_SKIP() << "cannot mount a small tmpfs here (needs root): " << std::strerror(errno);
    }
    const fs::path file = mnt / "raft.db";
    persisted_state committed;
    std::string failure;
    {
        auto opened = sqlite_storage::open(file, me);
        ASSERT_TRUE(opened) << opened.error().message;
        auto& s = *opened.value();
        testing::ready_generator gen(9);
        for (int i = 0; i < 100'000; ++i) {
            ready r = gen.next();
            if (auto err = s.save(r)) {
                failure = err->message;
                break;
            }
            apply_to(committed, r);
        }
    }
    ASSERT_FALSE(failure.empty()) << "the disk never filled up";
    std::printf("after %zu entries: %s\n", committed.entries.size(), failure.c_str());
    EXPECT_NE(failure.find(file.string()), std::string::npos) << failure;
    EXPECT_NE(failure.find("full"), std::string::npos) << failure;
    // Make room and reopen: everything that save() reported durable is there.
    {
        auto opened = sqlite_storage::open(file, me);
        if (opened) {
            expect_same(opened.value()->recovered(), committed);
        } else {
            ADD_FAILURE() << "reopening after the disk filled up failed: " << opened.error().message;
        }
    }
    ::umount2(mnt.c_str(), MNT_DETACH);
}

// The child writes batches as fast as it can and reports each one after save() returned; the
// parent kills it with SIGKILL at a random moment. Whatever the child reported must be there
// after reopening: the state after the last reported batch, or after the one it was writing.
TEST_F(sqlite_storage_test, a_writer_killed_with_sigkill_loses_nothing_it_reported_durable) {
    for (std::uint64_t seed = 1; seed <= 6; ++seed) {
        fs::remove(_file);
        fs::remove(_file.string() + "-wal");
        int fds[2];
        ASSERT_EQ(::pipe(fds), 0);
        const pid_t child = ::fork();
        ASSERT_GE(child, 0);
        if (child == 0) {
            ::close(fds[0]);
            auto s = sqlite_storage::open(_file, me);
            if (!s) {
                ::_exit(3);
            }
            testing::ready_generator gen(seed);
            for (std::uint32_t batch = 1;; ++batch) {
                if (s.value()->save(gen.next())) {
                    ::_exit(4);
                }
                if (::write(fds[1], &batch, sizeof batch) != sizeof batch) {
                    ::_exit(5);
                }
            }
        }
        ::close(fds[1]);
        // Let it run for 50..300 ms after its first report, reading reports. (On a loaded machine
        // the first fsync can take longer than the whole window: wait for it, up to a deadline.)
        prng rng(seed);
        std::uint32_t reported = 0;
        ::fcntl(fds[0], F_SETFL, O_NONBLOCK);
        const auto start = std::chrono::steady_clock::now();
        std::optional<std::chrono::steady_clock::time_point> deadline;
        while (!deadline || std::chrono::steady_clock::now() < *deadline) {
            if (!deadline && reported > 0) {
                deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(rng.between(50, 300));
            }
            if (!deadline && std::chrono::steady_clock::now() - start > std::chrono::seconds(60)) {
                break; // the assertion below says the writer never reported
            }
            std::uint32_t b;
            while (::read(fds[0], &b, sizeof b) == sizeof b) {
                reported = b;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        ASSERT_EQ(::kill(child, SIGKILL), 0);
        int status = 0;
        ASSERT_EQ(::waitpid(child, &status, 0), child);
        ASSERT_TRUE(WIFSIGNALED(status)) << "the writer stopped on its own with status " << status;
        std::uint32_t b;
        while (::read(fds[0], &b, sizeof b) == sizeof b) {
            reported = b;
        }
        ::close(fds[0]);
        ASSERT_GT(reported, 0u) << "seed " << seed << ": the writer reported nothing before the kill";

        auto reopened = open_ok();
        ASSERT_TRUE(reopened);
        const persisted_state got = reopened->recovered();
        // Replay the generator: the state after batch `reported`, and after the next one.
        testing::ready_generator gen(seed);
        persisted_state expected;
        for (std::uint32_t i = 1; i <= reported; ++i) {
            apply_to(expected, gen.next());
        }
        persisted_state one_more = expected;
        apply_to(one_more, gen.next());
        auto same = [](const persisted_state& x, const persisted_state& y) {
            return x.hard == y.hard && x.snap == y.snap && x.entries == y.entries;
        };
        EXPECT_TRUE(same(got, expected) || same(got, one_more))
            << "seed " << seed << ": after " << reported << " reported batches the file holds "
            << got.entries.size() << " entries and commit " << got.hard.commit << "; expected "
            << expected.entries.size() << " entries and commit " << expected.hard.commit;
        std::printf("seed %llu: killed after %u reported batches, %zu entries recovered\n",
                    static_cast<unsigned long long>(seed), reported, got.entries.size());
    }
}

} // namespace
} // namespace roster::consensus
