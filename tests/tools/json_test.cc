#include <gtest/gtest.h>

#include "tools/json.hh"

namespace roster::tools {
namespace {

TEST(json_quote, escapes_quotes_backslashes_and_control_characters) {
    EXPECT_EQ(json_quote("plain"), "\"plain\"");
    EXPECT_EQ(json_quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
    EXPECT_EQ(json_quote("line\nnext"), "\"line\\nnext\"");
    EXPECT_EQ(json_quote(std::string("\x1b[31m\x01", 6)), "\"\\u001b[31m\\u0001\"");
}

TEST(view_json, lists_the_leader_members_and_changes_in_a_stable_order) {
    views::view v;
    v.id = view_id(7);
    v.members = {{member_id(2), "b", "h:2", "h:3", incarnation_number(5), {}},
                 {member_id(4), "d\"", "h:4", "h:5", incarnation_number(6), {}}};
    v.leader = member_id(2);
    v.fencing_token = view_id(3);
    v.joined = {member_id(4)};
    v.removed = {{member_id(3), views::removal_reason::left}};
    EXPECT_EQ(view_json(v),
              "{\"view_id\": 7, \"leader\": {\"id\": 2, \"name\": \"b\", \"fencing_token\": 3}, "
              "\"members\": [{\"id\": 2, \"name\": \"b\", \"address\": \"h:2\", \"incarnation\": 5}, "
              "{\"id\": 4, \"name\": \"d\\\"\", \"address\": \"h:4\", \"incarnation\": 6}], "
              "\"joined\": [4], \"removed\": [{\"id\": 3, \"reason\": \"left\"}]}");
}

TEST(view_json, an_empty_view_has_no_leader) {
    views::view v;
    v.id = view_id(1);
    EXPECT_EQ(view_json(v),
              "{\"view_id\": 1, \"leader\": null, \"members\": [], \"joined\": [], \"removed\": []}");
}

} // namespace
} // namespace roster::tools
