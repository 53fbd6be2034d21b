#include <filesystem>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "tests/temp_dir.hh"

#include "auth/keys.hh"

namespace roster::auth {
namespace {

// A directory of its own for each test, removed afterwards.
using roster::testing::temp_dir;

TEST(keys, z85_round_trip_and_the_rfc_32_test_vector) {
    // ZeroMQ RFC 32 (Z85): these 8 bytes are "HelloWorld".
    auto k = curve_key::from_raw(std::string("\x86\x4F\xD2\x6F\xB5\x59\xF7\x5B", 8) + std::string(24, '\0'));
    ASSERT_TRUE(k);
    EXPECT_EQ(k->z85().substr(0, 10), "HelloWorld");
    auto back = curve_key::from_z85(k->z85());
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, *k);
    EXPECT_EQ(back->raw(), k->raw());
}

TEST(keys, bad_text_is_refused_with_the_reason) {
    EXPECT_NE(curve_key::from_z85("short").error().find("40 Z85 characters"), std::string::npos);
    EXPECT_NE(curve_key::from_z85(std::string(39, 'a') + "\"").error().find("outside the Z85 alphabet"),
              std::string::npos);
    EXPECT_NE(curve_key::from_raw("abc").error().find("32 bytes"), std::string::npos);
    EXPECT_TRUE(curve_key::from_z85("  " + std::string(40, '0') + "\n")); // white space around is fine
}

TEST(keys, a_generated_pair_is_consistent) {
    ASSERT_TRUE(curve_available());
    auto a = generate_key_pair();
    auto b = generate_key_pair();
    ASSERT_TRUE(a && b);
    EXPECT_NE(a->public_key, b->public_key);
    EXPECT_NE(a->public_key, a->secret_key);
    auto pub = public_of(a->secret_key);
    ASSERT_TRUE(pub);
    EXPECT_EQ(*pub, a->public_key);
}

TEST(keys, key_files_are_written_0600_and_read_back) {
    temp_dir d{"roster-keys-test"};
    const std::string path = d.path() / "node";
    auto k = generate_key_pair();
    ASSERT_TRUE(k);
    ASSERT_FALSE(write_key_files(path, *k));
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    std::ifstream pub(path + ".pub");
    std::string line;
    std::getline(pub, line);
    EXPECT_EQ(line, k->public_key.z85());
    auto loaded = load_key_file(path);
    ASSERT_TRUE(loaded) << loaded.error();
    EXPECT_EQ(loaded->public_key, k->public_key);
    EXPECT_EQ(loaded->secret_key, k->secret_key);
    // Never overwritten: a second keygen to the same path fails and the first key stays.
    auto again = write_key_files(path, *generate_key_pair());
    ASSERT_TRUE(again);
    EXPECT_NE(again->find("File exists"), std::string::npos) << *again;
    EXPECT_EQ(load_key_file(path)->secret_key, k->secret_key);
}

TEST(keys, a_key_file_others_may_read_is_refused) {
    temp_dir d{"roster-keys-test"};
    const std::string path = d.path() / "node";
    ASSERT_FALSE(write_key_files(path, *generate_key_pair()));
    ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
    auto loaded = load_key_file(path);
    ASSERT_FALSE(loaded);
    EXPECT_NE(loaded.error().find("mode 0644"), std::string::npos) << loaded.error();
    EXPECT_NE(loaded.error().find("chmod 600"), std::string::npos) << loaded.error();
}

TEST(keys, a_file_that_is_not_a_key_names_the_path_and_the_fix) {
    temp_dir d{"roster-keys-test"};
    const std::string path = d.path() / "node";
    {
        std::ofstream out(path);
        out << "not a key\n";
    }
    ASSERT_EQ(::chmod(path.c_str(), 0600), 0);
    auto loaded = load_key_file(path);
    ASSERT_FALSE(loaded);
    EXPECT_NE(loaded.error().find(path), std::string::npos);
    EXPECT_NE(loaded.error().find("rosterctl keygen"), std::string::npos);
    EXPECT_NE(load_key_file(d.path() / "missing").error().find("No such file"), std::string::npos);
}

} // namespace
} // namespace roster::auth
