#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "daemon/voter_storage.hh"
#include "membership/membership_state.hh"
#include "tests/temp_dir.hh"
#include "wire/codec.hh"

namespace roster::daemon {
namespace {

namespace fs = std::filesystem;

const consensus::storage_identity me{"prod", voter_id(1)};

class voter_storage_test : public ::testing::Test {
protected:
    // A data file written by the real storage, holding a snapshot of `data` at index 7.
    void write_snapshot(bytes data) {
        auto s = consensus::sqlite_storage::open(_file, me);
        ASSERT_TRUE(s) << s.error().message;
        consensus::ready r;
        r.persist_snapshot =
            consensus::snapshot{{log_index(7), raft_term(2)}, std::make_shared<const bytes>(std::move(data))};
        r.snapshot_replaces_log = true;
        r.hard = consensus::hard_state{raft_term(2), voter_id(1), log_index(7)};
        ASSERT_FALSE(s.value()->save(r));
    }

    // Every file of the data dir, with its bytes.
    [[nodiscard]] std::map<std::string, std::string> files() const {
        std::map<std::string, std::string> out;
        for (const auto& f : fs::directory_iterator(_dir)) {
            std::ifstream in(f.path(), std::ios::binary);
            out[f.path().filename().string()] = std::string(std::istreambuf_iterator<char>(in), {});
        }
        return out;
    }

    const roster::testing::temp_dir _tmp{"roster-voter-storage"};
    const fs::path _dir = _tmp.path();
    const fs::path _file = _dir / "raft.db";
};

TEST_F(voter_storage_test, a_new_file_and_a_loadable_snapshot_open) {
    {
        auto s = open_voter_storage(_file, me);
        ASSERT_TRUE(s) << s.error();
    }
    membership::membership_state state;
    state.apply({{membership::join_op{"a", "", "", incarnation_number(1), {}}}});
    write_snapshot(wire::encode_snapshot(state.snapshot()));
    auto s = open_voter_storage(_file, me);
    ASSERT_TRUE(s) << s.error();
    ASSERT_TRUE(s.value()->recovered().snap);
    EXPECT_EQ(s.value()->recovered().snap->meta.index, log_index(7));
}

// Found by fuzz/sqlite_storage.cc: a snapshot whose checksum is right but whose bytes are not a
// membership snapshot opened, and the voter stopped on a broken invariant when it loaded it.
TEST_F(voter_storage_test, a_snapshot_the_state_machine_cannot_load_is_refused) {
    write_snapshot({9, 8, 7, 6});
    const auto before = files();
    auto s = open_voter_storage(_file, me);
    ASSERT_FALSE(s);
    EXPECT_EQ(files(), before) << "the refused data dir was changed";
    EXPECT_NE(s.error().find(fmt::format("data file {} holds a membership snapshot at index 7 that cannot be "
                                         "loaded (",
                                         _file.string())),
              std::string::npos)
        << s.error();
    EXPECT_NE(s.error().find("nothing in " + _dir.string() + " was changed"), std::string::npos) << s.error();

    // One that decodes but that no state machine could have made (next member id 0) too.
    fs::remove(_file);
    membership::membership_snapshot zero;
    write_snapshot(wire::encode_snapshot(zero));
    const auto before_zero = files();
    s = open_voter_storage(_file, me);
    ASSERT_FALSE(s);
    EXPECT_EQ(files(), before_zero) << "the refused data dir was changed";
    EXPECT_NE(s.error().find("the next member id 0"), std::string::npos) << s.error();
}

TEST_F(voter_storage_test, what_the_storage_refuses_is_refused_with_its_message) {
    {
        auto other = open_voter_storage(_file, {"other", voter_id(1)});
        ASSERT_TRUE(other) << other.error();
    }
    auto s = open_voter_storage(_file, me);
    ASSERT_FALSE(s);
    EXPECT_NE(s.error().find("belongs to cluster 'other'"), std::string::npos) << s.error();
}

} // namespace
} // namespace roster::daemon
