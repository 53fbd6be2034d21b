#include <gtest/gtest.h>

#include "membership/suspicion_aggregator.hh"

namespace roster::membership {
namespace {

mono_time at(int ms) { return mono_time(std::chrono::milliseconds(ms)); }
membership::suspicion_report say(std::uint64_t member, std::uint64_t inc, bool suspected, bool full = false) {
    return {full, {{member_id(member), incarnation_number(inc), 9.0, suspected}}};
}

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
         {{member_id(7), incarnation_number(1), 9, true}, {member_id(8), incarnation_number(1), 9, true}}},
        at(0));
    a.report(
        voter_id(2),
        {false,
         {{member_id(7), incarnation_number(1), 9, true}, {member_id(8), incarnation_number(1), 9, true}}},
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

} // namespace
} // namespace roster::membership
