#include <gtest/gtest.h>

#include "membership/validation.hh"

namespace roster::membership {
namespace {

join_op good() {
    join_op j;
    j.name = "node-7.rack-3";
    j.address = "10.0.0.7:7400";
    j.publish_endpoint = "10.0.0.7:7402";
    j.incarnation = incarnation_number(1'700'000'000'000'000);
    j.tags = {{"zone", "eu-west-1a"}, {"role", ""}};
    return j;
}

// The reason for `j`, or "" when it passes.
std::string reason(const join_op& j) { return validate(j).value_or(""); }

TEST(validation, a_sensible_join_passes_and_so_do_the_edges_of_every_bound) {
    EXPECT_EQ(reason(good()), "");
    join_op j = good();
    j.name = std::string(255, 'n');
    j.incarnation = max_incarnation;
    j.address = std::string(255, 'a');
    j.publish_endpoint = "";
    j.tags.assign(32, views::tag{std::string(64, 'k'), std::string(256, 'v')});
    j.key = std::string(32, '\0');
    EXPECT_EQ(reason(j), "");
    j.name = "Zürich 東京 🚀";
    EXPECT_EQ(reason(j), "") << "any text, not only ASCII";
}

TEST(validation, names_are_1_to_255_bytes_of_text) {
    const auto name = [](std::string n) {
        join_op j = good();
        j.name = std::move(n);
        return reason(j);
    };
    EXPECT_EQ(name(""), "the name is empty");
    EXPECT_EQ(name(std::string(256, 'n')), "the name is 256 bytes, at most 255");
    EXPECT_EQ(name("a\x1b[31m"), "the name has control character U+001B at byte 1");
    EXPECT_EQ(name("a\x7f"), "the name has control character U+007F at byte 1");
    EXPECT_EQ(name("a\xc2\x85"), "the name has control character U+0085 at byte 1");
    EXPECT_EQ(name("tab\there"), "the name has control character U+0009 at byte 3");
    EXPECT_EQ(name("ok\xff"), "the name has invalid UTF-8 at byte 2 (0xff)");
    EXPECT_EQ(name("\xc0\xaf"), "the name has invalid UTF-8 at byte 0 (0xc0)") << "an overlong '/'";
}

TEST(validation, incarnations_are_1_to_2_to_the_63) {
    join_op j = good();
    j.incarnation = incarnation_number(0);
    EXPECT_EQ(reason(j), "incarnation 0 is outside 1..9223372036854775808");
    j.incarnation = max_incarnation.next();
    EXPECT_EQ(reason(j), "incarnation 9223372036854775809 is outside 1..9223372036854775808");
    j.incarnation = incarnation_number(1);
    EXPECT_EQ(reason(j), "");
    EXPECT_EQ(validate(leave_request{1, member_id(3), incarnation_number(0)}),
              "incarnation 0 is outside 1..9223372036854775808");
    EXPECT_FALSE(validate(leave_request{1, member_id(3), incarnation_number(5)}));
}

TEST(validation, tags_are_bounded_in_count_and_length_and_are_text) {
    join_op j = good();
    j.tags.assign(33, views::tag{"k", "v"});
    EXPECT_EQ(reason(j), "33 tags, at most 32");
    j.tags = {{"zone", "a"}, {std::string(65, 'k'), "v"}};
    EXPECT_EQ(reason(j), "the key of tag 2 is 65 bytes, at most 64");
    j.tags = {{"", "v"}};
    EXPECT_EQ(reason(j), "the key of tag 1 is empty");
    j.tags = {{"k", std::string(257, 'v')}};
    EXPECT_EQ(reason(j), "the value of tag 1 is 257 bytes, at most 256");
    j.tags = {{"k", "line\nbreak"}};
    EXPECT_EQ(reason(j), "the value of tag 1 has control character U+000A at byte 4");
    j.tags = {{"k\xfe", "v"}};
    EXPECT_EQ(reason(j), "the key of tag 1 has invalid UTF-8 at byte 1 (0xfe)");
}

TEST(validation, endpoints_are_at_most_255_bytes_of_printable_ascii) {
    join_op j = good();
    j.address = std::string(256, 'a');
    EXPECT_EQ(reason(j), "the address is 256 bytes, at most 255");
    j = good();
    j.publish_endpoint = "host:7402\r\n";
    EXPECT_EQ(reason(j), "the publish endpoint has byte 0x0d at 9, not printable ASCII");
    j = good();
    j.address = "hôst:7400";
    EXPECT_EQ(reason(j), "the address has byte 0xc3 at 1, not printable ASCII");
}

TEST(validation, a_key_is_32_bytes_or_none) {
    join_op j = good();
    j.key = std::string(31, 'k');
    EXPECT_EQ(reason(j), "the key is 31 bytes, not 32");
    j.key = "";
    EXPECT_EQ(reason(j), "");
}

TEST(validation, a_command_names_its_first_bad_join_and_ignores_leaves_and_removals) {
    join_op bad = good();
    bad.name = "";
    command c{{leave_op{member_id(1), incarnation_number(0)}, good(), bad}};
    EXPECT_EQ(validate(c), "op 3 (a join): the name is empty");
    c.ops.pop_back();
    EXPECT_FALSE(validate(c)) << "a leave acts only on a member with that incarnation: nothing to bound";
}

} // namespace
} // namespace roster::membership

namespace roster::membership {
namespace {

TEST(validate, a_removal_names_a_member_by_id_or_by_name) {
    EXPECT_FALSE(validate(remove_request{1, member_id(4), ""}));
    EXPECT_FALSE(validate(remove_request{1, member_id(), "web-1"}));
    EXPECT_EQ(validate(remove_request{1, member_id(), ""}), "a removal needs a member id or a name");
    EXPECT_EQ(validate(remove_request{1, member_id(4), "web-1"}),
              "a removal names a member by id or by name, not both");
    EXPECT_TRUE(validate(remove_request{1, member_id(), std::string(300, 'n')}));
    EXPECT_TRUE(validate(remove_request{1, member_id(), "bad\x1b[2J"}));
}

} // namespace
} // namespace roster::membership
