#include <gtest/gtest.h>

#include "auth/key_table.hh"

namespace roster::auth {
namespace {

curve_key key() { return generate_key_pair()->public_key; }

TEST(key_table, parses_members_readers_and_admins_with_comments) {
    const curve_key a = key(), b = key(), c = key();
    const std::string text = "# who may connect\n\n" + a.z85() + " member web-1   # the web server\n" +
                             b.z85() + "\treader\n  " + c.z85() + " admin\n";
    auto t = key_table::parse_authorized(text, "keys.txt");
    ASSERT_TRUE(t) << t.error();
    EXPECT_EQ(t->size(), 3u);
    EXPECT_EQ(*t->find(a), (grant{permission::member, "web-1", voter_id()}));
    EXPECT_EQ(t->find(b)->what, permission::reader);
    EXPECT_EQ(t->find(c)->what, permission::admin);
    EXPECT_EQ(t->find(key()), nullptr);
}

TEST(key_table, a_hash_inside_a_key_is_part_of_the_key) {
    // '#' is in the Z85 alphabet: only a word that starts with it begins a comment.
    auto k = curve_key::from_z85("0000#" + std::string(35, '0'));
    ASSERT_TRUE(k) << k.error();
    auto t = key_table::parse_authorized(k->z85() + " reader #trailing\n# " + k->z85() + " admin\n", "f");
    ASSERT_TRUE(t) << t.error();
    EXPECT_EQ(t->size(), 1u);
    ASSERT_NE(t->find(*k), nullptr);
    EXPECT_EQ(t->find(*k)->what, permission::reader);
}

TEST(key_table, errors_name_the_file_and_line) {
    const curve_key a = key();
    auto bad_role = key_table::parse_authorized("\n" + a.z85() + " owner\n", "keys.txt");
    ASSERT_FALSE(bad_role);
    EXPECT_NE(bad_role.error().find("keys.txt line 2"), std::string::npos) << bad_role.error();
    auto no_name = key_table::parse_authorized(a.z85() + " member\n", "keys.txt");
    ASSERT_FALSE(no_name);
    EXPECT_NE(no_name.error().find("member NAME"), std::string::npos);
    auto twice = key_table::parse_authorized(a.z85() + " reader\n" + a.z85() + " admin\n", "keys.txt");
    ASSERT_FALSE(twice);
    EXPECT_NE(twice.error().find("line 2: this key is already listed"), std::string::npos) << twice.error();
    auto bad_name = key_table::parse_authorized(a.z85() + " member web\x1b[31m\n", "keys.txt");
    ASSERT_FALSE(bad_name);
    EXPECT_NE(bad_name.error().find("control character"), std::string::npos) << bad_name.error();
    EXPECT_EQ(bad_name.error().find('\x1b'), std::string::npos) << "never quoted";
    EXPECT_FALSE(
        key_table::parse_authorized(a.z85() + " member " + std::string(256, 'n') + "\n", "keys.txt"));
    auto not_key = key_table::parse_authorized("hello reader\n", "keys.txt");
    ASSERT_FALSE(not_key);
    EXPECT_NE(not_key.error().find("public key"), std::string::npos);
    EXPECT_NE(key_table::load_authorized("/nonexistent/keys").error().find("/nonexistent/keys"),
              std::string::npos);
}

TEST(key_table, voter_keys) {
    const curve_key a = key(), b = key();
    auto v = key_table::parse_voter_keys("1=" + a.z85() + ",3=" + b.z85());
    ASSERT_TRUE(v) << v.error();
    EXPECT_EQ(v->size(), 2u);
    EXPECT_EQ(v->at(voter_id(1)), a);
    EXPECT_EQ(v->at(voter_id(3)), b);
    EXPECT_FALSE(key_table::parse_voter_keys("1=" + a.z85() + ",1=" + b.z85()));
    EXPECT_FALSE(key_table::parse_voter_keys("0=" + a.z85()));
    EXPECT_FALSE(key_table::parse_voter_keys("x=" + a.z85()));
    EXPECT_FALSE(key_table::parse_voter_keys(a.z85()));
    EXPECT_NE(key_table::parse_voter_keys("2=abc").error().find("the key of voter 2"), std::string::npos);
}

} // namespace
} // namespace roster::auth
