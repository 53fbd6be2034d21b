#include <gtest/gtest.h>

#include "common/escape.hh"
#include "tools/json.hh"

namespace roster::tools {
namespace {

TEST(json_quote, escapes_quotes_backslashes_and_control_characters) {
    EXPECT_EQ(json_quote("plain"), "\"plain\"");
    EXPECT_EQ(json_quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
    EXPECT_EQ(json_quote("line\nnext"), "\"line\\nnext\"");
    EXPECT_EQ(json_quote(std::string("\x1b[31m\x01", 6)), "\"\\u001b[31m\\u0001\"");
}

TEST(json_quote, gives_valid_json_for_invalid_utf8_and_every_control_character) {
    EXPECT_EQ(json_quote("bad\xff\xc3"), "\"bad\\ufffd\\ufffd\"");
    EXPECT_EQ(json_quote("\xed\xa0\x80"), "\"\\ufffd\\ufffd\\ufffd\"") << "a surrogate is not UTF-8";
    EXPECT_EQ(json_quote("\x7f\xc2\x9b\r\t"), "\"\\u007f\\u009b\\r\\t\"");
    EXPECT_EQ(json_quote("Zürich"), "\"Zürich\"");
}

// Issue 13: "a member name with invalid UTF-8: rosterctl members --json prints invalid JSON".
TEST(view_json, stays_valid_json_whatever_the_names_and_addresses_hold) {
    views::view v;
    v.id = view_id(2);
    views::member m;
    m.id = member_id(1);
    m.name = "evil\xff\x1b[2J\n\"";
    m.address = "h:\x01\xfe";
    m.incarnation = incarnation_number(1);
    v.members = {m};
    v.leader = member_id(1);
    v.fencing_token = view_id(1);
    const std::string json = view_json(v);
    EXPECT_TRUE(is_valid_utf8(json)) << json;
    EXPECT_FALSE(find_text_flaw(json)) << "no raw control character: " << json;
    EXPECT_EQ(json,
              "{\"view_id\": 2, \"leader\": {\"id\": 1, \"name\": \"evil\\ufffd\\u001b[2J\\n\\\"\", "
              "\"fencing_token\": 1}, \"members\": [{\"id\": 1, \"name\": \"evil\\ufffd\\u001b[2J\\n\\\"\", "
              "\"address\": \"h:\\u0001\\ufffd\", \"incarnation\": 1, \"tags\": {}, \"joined_view\": 0, \"voter_id\": 0}], \"joined\": [], \"removed\": []}");
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
              "\"members\": [{\"id\": 2, \"name\": \"b\", \"address\": \"h:2\", \"incarnation\": 5, \"tags\": {}, \"joined_view\": 0, \"voter_id\": 0}, "
              "{\"id\": 4, \"name\": \"d\\\"\", \"address\": \"h:4\", \"incarnation\": 6, \"tags\": {}, \"joined_view\": 0, \"voter_id\": 0}], "
              "\"joined\": [4], \"removed\": [{\"id\": 3, \"reason\": \"left\"}]}");
}

TEST(view_json, an_empty_view_has_no_leader) {
    views::view v;
    v.id = view_id(1);
    EXPECT_EQ(view_json(v),
              "{\"view_id\": 1, \"leader\": null, \"members\": [], \"joined\": [], \"removed\": []}");
}

// The two kinds of line of `rosterctl watch --json` (and `watch_views --json`).
TEST(delivery_json, is_the_view_with_resync_last) {
    views::delivery d;
    d.current.id = view_id(1);
    EXPECT_EQ(delivery_json(d), "{\"view_id\": 1, \"leader\": null, \"members\": [], \"joined\": [], "
                                "\"removed\": [], \"resync\": false}");
    d.resync = true;
    EXPECT_EQ(delivery_json(d), "{\"view_id\": 1, \"leader\": null, \"members\": [], \"joined\": [], "
                                "\"removed\": [], \"resync\": true}");
}

TEST(event_json, names_the_event_the_ids_and_the_view) {
    views::node_event removed{views::node_event::kind::removed, member_id(7), member_id(0), view_id(13),
                              views::removal_reason::suspected};
    EXPECT_EQ(event_json(removed),
              "{\"event\": \"removed\", \"member_id\": 7, \"new_member_id\": 0, \"view_id\": 13}");
    views::node_event back{views::node_event::kind::rejoined, member_id(7), member_id(11), view_id(14),
                           views::removal_reason::suspected};
    EXPECT_EQ(event_json(back),
              "{\"event\": \"rejoined\", \"member_id\": 7, \"new_member_id\": 11, \"view_id\": 14}");
}

TEST(view_json, carries_each_members_tags_escaped) {
    views::view v;
    v.id = view_id(3);
    views::member m;
    m.id = member_id(1);
    m.name = "a";
    m.address = "h:1";
    m.incarnation = incarnation_number(2);
    m.tags = {{"role", "scheduler"}, {"k\"", "v\n\xff"}};
    v.members = {m};
    v.leader = member_id(1);
    v.fencing_token = view_id(1);
    EXPECT_NE(view_json(v).find("\"incarnation\": 2, \"tags\": {\"role\": \"scheduler\", \"k\\\"\": \"v\\n\\ufffd\"}, \"joined_view\""),
              std::string::npos)
        << view_json(v);
}

} // namespace
} // namespace roster::tools
