#include <gtest/gtest.h>

#include "membership/suspicion_aggregator.hh"

namespace roster::membership {
namespace {

mono_time at(int ms) { return mono_time(std::chrono::milliseconds(ms)); }
membership::suspicion_report say(std::uint64_t member, std::uint64_t inc, bool suspected, bool full = false) {
    return {full, {{member_id(member), incarnation_number(inc), 9.0, suspected}}, {}};
}
// `member` is late at `inc` for the voter that reports this.
membership::suspicion_report late(std::uint64_t member, std::uint64_t inc, bool full = false) {
    return {full, {}, {{member_id(member), incarnation_number(inc), 3.0, false}}};
}
views::view view_of(std::vector<std::uint64_t> ids) {
    views::view v;
    for (auto id : ids) {
        views::member m;
        m.id = member_id(id);
        m.incarnation = incarnation_number(1);
        m.name = "m" + std::to_string(id);
        v.members.push_back(m);
    }
    return v;
}
const std::vector<voter_id> all_three{voter_id(1), voter_id(2), voter_id(3)};

TEST(suspicion_aggregator, removal_needs_a_majority_of_all_voters) {
    suspicion_aggregator a(3, 2s);
    a.report(voter_id(1), say(7, 1, true), at(0));
    EXPECT_FALSE(a.majority_suspects(member_id(7), incarnation_number(1), at(1)))
        << "one voter's detector (one flaky link) is not enough";
    a.report(voter_id(2), say(7, 1, true), at(1));
    EXPECT_TRUE(a.majority_suspects(member_id(7), incarnation_number(1), at(2)));
    EXPECT_EQ(a.majority_suspected(at(2)),
              (std::vector<std::pair<member_id, incarnation_number>>{{member_id(7), incarnation_number(1)}}));
}

TEST(suspicion_aggregator, a_clearing_report_withdraws_the_suspicion) {
    suspicion_aggregator a(3, 2s);
    a.report(voter_id(1), say(7, 1, true), at(0));
    a.report(voter_id(2), say(7, 1, true), at(0));
    a.report(voter_id(2), say(7, 1, false), at(5)); // a heartbeat got through after all
    EXPECT_FALSE(a.majority_suspects(member_id(7), incarnation_number(1), at(6)));
}

TEST(suspicion_aggregator, suspicions_of_another_incarnation_do_not_add_up) {
    suspicion_aggregator a(3, 2s);
    a.report(voter_id(1), say(7, 1, true), at(0));
    a.report(voter_id(2), say(7, 2, true), at(0));
    EXPECT_FALSE(a.majority_suspects(member_id(7), incarnation_number(1), at(1)));
    EXPECT_FALSE(a.majority_suspects(member_id(7), incarnation_number(2), at(1)));
}

TEST(suspicion_aggregator, a_suspicion_that_is_not_repeated_expires) {
    suspicion_aggregator a(3, 2s);
    a.report(voter_id(1), say(7, 1, true), at(0));
    a.report(voter_id(2), say(7, 1, true), at(0));
    EXPECT_TRUE(a.majority_suspects(member_id(7), incarnation_number(1), at(1999)));
    EXPECT_FALSE(a.majority_suspects(member_id(7), incarnation_number(1), at(2001)))
        << "voter 2 may have crashed while suspecting";
    a.report(voter_id(2), say(7, 1, true, true), at(2100)); // the periodic full report refreshes
    a.report(voter_id(1), say(7, 1, true, true), at(2100));
    EXPECT_TRUE(a.majority_suspects(member_id(7), incarnation_number(1), at(2101)));
}

TEST(suspicion_aggregator, a_full_report_replaces_what_the_voter_said_before) {
    suspicion_aggregator a(3, 2s);
    a.report(
        voter_id(1),
        {false,
         {{member_id(7), incarnation_number(1), 9, true}, {member_id(8), incarnation_number(1), 9, true}},
         {}},
        at(0));
    a.report(
        voter_id(2),
        {false,
         {{member_id(7), incarnation_number(1), 9, true}, {member_id(8), incarnation_number(1), 9, true}},
         {}},
        at(0));
    a.report(voter_id(1), say(8, 1, true, true), at(10)); // voter 1 now suspects only 8
    EXPECT_FALSE(a.majority_suspects(member_id(7), incarnation_number(1), at(11)));
    EXPECT_TRUE(a.majority_suspects(member_id(8), incarnation_number(1), at(11)));
}

TEST(suspicion_aggregator, five_voters_need_three) {
    suspicion_aggregator a(5, 2s);
    a.report(voter_id(1), say(7, 1, true), at(0));
    a.report(voter_id(2), say(7, 1, true), at(0));
    EXPECT_FALSE(a.majority_suspects(member_id(7), incarnation_number(1), at(1)));
    a.report(voter_id(5), say(7, 1, true), at(0));
    EXPECT_TRUE(a.majority_suspects(member_id(7), incarnation_number(1), at(1)));
    a.forget(member_id(7));
    EXPECT_EQ(a.suspecters(member_id(7), incarnation_number(1), at(1)), 0u);
}

TEST(suspicion_aggregator, a_removal_waits_while_a_voter_that_can_talk_still_hears_the_member) {
    suspicion_aggregator a(3, 2s);
    a.report(voter_id(1), say(7, 1, true), at(0));
    a.report(voter_id(2), say(7, 1, true), at(0));
    const auto v = view_of({7});
    EXPECT_EQ(a.removals_due(v, at(1)).size(), 1u) << "a majority suspects it";
    std::vector<suspicion_aggregator::held_removal> held;
    EXPECT_TRUE(a.hold_back(a.removals_due(v, at(1)), all_three, at(1), &held).empty()) << "voter 3 said nothing: it hears member 7";
    ASSERT_EQ(held.size(), 1u);
    EXPECT_EQ(held[0].member, member_id(7));
    EXPECT_EQ(held[0].hears, voter_id(3));

    // Voter 3 hears it late too: nobody hears it.
    a.report(voter_id(3), late(7, 1), at(2));
    held.clear();
    const auto due = a.hold_back(a.removals_due(v, at(3)), all_three, at(3), &held);
    ASSERT_EQ(due.size(), 1u);
    EXPECT_EQ(due[0].member, member_id(7));
    EXPECT_TRUE(held.empty());
}

TEST(suspicion_aggregator, a_voter_that_cannot_talk_holds_nothing) {
    suspicion_aggregator a(3, 2s);
    a.report(voter_id(1), say(7, 1, true), at(0));
    a.report(voter_id(2), say(7, 1, true), at(0));
    EXPECT_EQ(a.hold_back(a.removals_due(view_of({7}), at(1)), {voter_id(1), voter_id(2)}, at(1)).size(), 1u)
        << "voter 3 is not heard from: its silence is no evidence";
}

TEST(suspicion_aggregator, lateness_ends_when_the_voter_hears_the_member_again_or_expires) {
    suspicion_aggregator a(3, 2s);
    a.report(voter_id(1), say(7, 1, true), at(0));
    a.report(voter_id(2), say(7, 1, true), at(0));
    a.report(voter_id(3), late(7, 1), at(0));
    EXPECT_TRUE(a.does_not_hear(voter_id(3), member_id(7), incarnation_number(1), at(1)));
    EXPECT_FALSE(a.does_not_hear(voter_id(3), member_id(7), incarnation_number(2), at(1)))
        << "late at another incarnation";
    a.report(voter_id(3), say(7, 1, false), at(5)); // a heartbeat reached voter 3
    EXPECT_FALSE(a.does_not_hear(voter_id(3), member_id(7), incarnation_number(1), at(6)));
    EXPECT_TRUE(a.hold_back(a.removals_due(view_of({7}), at(6)), all_three, at(6)).empty());

    a.report(voter_id(3), late(7, 1), at(10));
    EXPECT_TRUE(a.does_not_hear(voter_id(3), member_id(7), incarnation_number(1), at(2009)));
    EXPECT_FALSE(a.does_not_hear(voter_id(3), member_id(7), incarnation_number(1), at(2011)))
        << "not repeated by a full report";
    a.report(voter_id(3), late(7, 1, true), at(2100));
    EXPECT_TRUE(a.does_not_hear(voter_id(3), member_id(7), incarnation_number(1), at(2101)));
    a.report(voter_id(3), say(8, 1, true, true), at(2200)); // a full report without 7: on time again
    EXPECT_FALSE(a.does_not_hear(voter_id(3), member_id(7), incarnation_number(1), at(2201)));
}

TEST(suspicion_aggregator, a_suspicion_replaces_the_same_voters_lateness) {
    suspicion_aggregator a(3, 2s);
    a.report(voter_id(3), late(7, 1), at(0));
    a.report(voter_id(3), say(7, 1, true), at(1));
    EXPECT_EQ(a.suspecters(member_id(7), incarnation_number(1), at(2)), 1u);
    EXPECT_TRUE(a.does_not_hear(voter_id(3), member_id(7), incarnation_number(1), at(2)));
    a.forget(member_id(7));
    EXPECT_FALSE(a.does_not_hear(voter_id(3), member_id(7), incarnation_number(1), at(3)));
}

} // namespace
} // namespace roster::membership
