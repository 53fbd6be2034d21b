#include <gtest/gtest.h>

#include "common/escape.hh"
#include "tools/commands.hh"
#include "tools/text.hh"

namespace roster::tools {
namespace {

views::member member(std::uint64_t id, std::string name, std::vector<views::tag> tags = {}) {
    views::member m;
    m.id = member_id(id);
    m.name = std::move(name);
    m.address = "127.0.0.1:" + std::to_string(7400 + id);
    m.incarnation = incarnation_number(100 + id);
    m.tags = std::move(tags);
    return m;
}

views::view sample() {
    views::view v;
    v.id = view_id(12);
    v.members = {member(1, "v1", {{"role", "scheduler"}, {"zone", "a"}}), member(3, "app-long-name")};
    v.members[0].voter = voter_id(1);
    v.members[0].joined_view = view_id(1);
    v.members[1].joined_view = view_id(9);
    v.leader = member_id(1);
    v.fencing_token = view_id(4);
    return v;
}

TEST(members_table, has_a_headline_and_aligned_columns) {
    EXPECT_EQ(members_table(sample()),
              "view 12, 2 members, member leader: id 1 (v1), fencing token 4\n"
              "ID  NAME           ADDRESS         INCARNATION  TAGS                   JOINED  VOTER\n"
              "1   v1             127.0.0.1:7401  101          role=scheduler,zone=a  view 1  voter 1 (role unknown)\n"
              "3   app-long-name  127.0.0.1:7403  103          -                      view 9  -\n");
}

TEST(members_table, says_which_voter_leads_consensus) {
    auto v = sample();
    v.members.push_back(member(4, "v2"));
    v.members.back().voter = voter_id(2);
    const auto text = members_table(v, voter_id(2));
    EXPECT_NE(text.find("voter 1 (follower)"), std::string::npos) << text;
    EXPECT_NE(text.find("voter 2 (leader)"), std::string::npos) << text;
}

// Issue 15: an empty view printed "leader - (id 0, fencing token 4)".
TEST(members_table, an_empty_view_says_so) {
    views::view v;
    v.id = view_id(7);
    EXPECT_EQ(members_table(v), "no members (view 7)\n");
}

TEST(members_table, escapes_what_a_node_sent) {
    auto v = sample();
    v.members[1].name = "evil\x1b[2J\n";
    v.members[0].tags = {{"k\x07", "v\r"}};
    const auto text = members_table(v);
    EXPECT_EQ(text.find('\x1b'), std::string::npos);
    EXPECT_EQ(text.find('\x07'), std::string::npos);
    EXPECT_EQ(text.find('\r'), std::string::npos);
    EXPECT_NE(text.find(escape_for_terminal("evil\x1b[2J\n")), std::string::npos) << text;
}

TEST(status_text, a_voter_names_the_consensus_leader_and_the_member_leader_apart) {
    wire::status_reply s;
    s.name = "v3";
    s.role = wire::node_role::follower;
    s.term = raft_term(5);
    s.commit = log_index(40);
    s.view = view_id(12);
    s.voter = voter_id(3);
    s.member = member_id(3);
    s.leader = voter_id(1);
    const auto v = sample();
    EXPECT_EQ(status_text(s, &v), "v3: voter 3, follower\n"
                                  "consensus leader: voter 1 (v1)\n"
                                  "term 5, commit index 40\n"
                                  "member id 3\n"
                                  "view 12, 2 members, member leader: id 1 (v1), fencing token 4\n");
}

// Issue 15: a member's status said "term 0, commit index 0".
TEST(status_text, a_member_shows_what_a_member_has) {
    wire::status_reply s;
    s.name = "app1";
    s.view = view_id(9);
    s.member = member_id(7);
    EXPECT_EQ(status_text(s, nullptr), "app1: member\nmember id 7\nview 9\n");
}

TEST(watch_printer, prints_the_whole_view_and_names_the_removed) {
    watch_printer p;
    auto v = sample();
    v.joined = {member_id(1), member_id(3)};
    EXPECT_EQ(p.print(views::delivery{v, false}),
              "view 12, 2 members, member leader: id 1 (v1), fencing token 4\n"
              "  + 1 v1 joined\n"
              "  + 3 app-long-name joined\n"
              "    ID  NAME           ADDRESS\n"
              "    1   v1             127.0.0.1:7401\n"
              "    3   app-long-name  127.0.0.1:7403\n");
    v.id = view_id(13);
    v.members.pop_back();
    v.joined.clear();
    v.removed = {{member_id(3), views::removal_reason::suspected}};
    EXPECT_EQ(p.print(views::delivery{v, true}),
              "view 13, 1 member, member leader: id 1 (v1), fencing token 4 [resync: the views in between are "
              "no longer held]\n"
              "  - 3 app-long-name removed: suspected\n"
              "    ID  NAME  ADDRESS\n"
              "    1   v1    127.0.0.1:7401\n");
}

TEST(did_you_mean, suggests_the_closest_command) {
    const auto table = commands();
    EXPECT_EQ(did_you_mean("memberz", table), "members");
    EXPECT_EQ(did_you_mean("stauts", table), "status");
    EXPECT_EQ(did_you_mean("lead", table), "leader");
    EXPECT_EQ(did_you_mean("watc", table), "watch");
    EXPECT_EQ(did_you_mean("xyzzy", table), std::nullopt);
    EXPECT_EQ(did_you_mean("", table), std::nullopt);
}

} // namespace
} // namespace roster::tools
