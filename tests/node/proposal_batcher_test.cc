#include <gtest/gtest.h>

#include "node/proposal_batcher.hh"
#include "wire/codec.hh"
#include "tests/clock.hh"

namespace roster::node {
namespace {

using membership::join_op;
using membership::leave_op;
using membership::remove_op;

using roster::testing::at;

join_op join(const std::string& name, std::uint64_t inc = 1) {
    return {name, "", "", incarnation_number(inc), {}};
}
leave_op leave(std::uint64_t id) { return {member_id(id), incarnation_number(1)}; }
remove_op removal(std::uint64_t id) {
    return {member_id(id), incarnation_number(1), views::removal_reason::suspected};
}

batcher_config config() {
    batcher_config c;
    c.join_settle = 50ms;
    c.removal_settle = 10ms;
    c.removal_settle_max = 150ms;
    c.proposal_timeout = 2s;
    c.max_ops_per_command = 1000;
    return c;
}

using membership::op_outcome;
using membership::request_status;

// The outcome the state machine reports for each op: joined (id 100 + position) or removed.
std::vector<op_outcome> applied_ok(const membership::command& c) {
    std::vector<op_outcome> out;
    for (std::size_t i = 0; i < c.ops.size(); ++i) {
        out.push_back(
            {std::holds_alternative<join_op>(c.ops[i]) ? op_outcome::kind::joined : op_outcome::kind::removed,
             member_id(100 + i)});
    }
    return out;
}

const auto nobody_late = [] { return false; };
const auto others_late = [] { return true; };

std::vector<std::string> names(const membership::command& c) {
    std::vector<std::string> out;
    for (const auto& op : c.ops) {
        if (const auto* j = std::get_if<join_op>(&op)) {
            out.push_back(j->name);
        } else if (const auto* l = std::get_if<leave_op>(&op)) {
            out.push_back("leave " + std::to_string(l->member.value()));
        } else {
            out.push_back("remove " + std::to_string(std::get<remove_op>(op).member.value()));
        }
    }
    return out;
}

TEST(proposal_batcher, joins_wait_the_settle_window_and_share_one_command) {
    proposal_batcher b(config());
    b.queue(join("a"), from_route{1, 1}, at(0));
    b.queue(join("b"), from_route{2, 1}, at(30));
    EXPECT_FALSE(b.next(at(49), {}, nobody_late));
    auto cmd = b.next(at(50), {}, nobody_late);
    ASSERT_TRUE(cmd);
    EXPECT_EQ(names(*cmd), (std::vector<std::string>{"a", "b"}));
}

TEST(proposal_batcher, one_command_in_flight_at_a_time) {
    proposal_batcher b(config());
    b.queue(join("a"), from_route{1, 1}, at(0));
    const auto first = b.next(at(50), {}, nobody_late);
    ASSERT_TRUE(first);
    b.proposed(log_index(7), at(50));
    b.queue(join("b"), from_route{2, 1}, at(60));
    EXPECT_FALSE(b.next(at(500), {}, nobody_late)) << "a is in flight";
    EXPECT_FALSE(b.applied(log_index(6), at(510))) << "an earlier entry does not free the slot";
    EXPECT_EQ(b.answers(*first, applied_ok(*first), view_id(2), "").size(),
              1u); // what applying entry 7 answers
    const auto latency = b.applied(log_index(7), at(520));
    ASSERT_TRUE(latency);
    EXPECT_EQ(*latency, 470ms);
    auto cmd = b.next(at(520), {}, nobody_late);
    ASSERT_TRUE(cmd);
    EXPECT_EQ(names(*cmd), (std::vector<std::string>{"b"}));
}

TEST(proposal_batcher, a_retry_waits_with_the_first_and_both_are_answered) {
    proposal_batcher b(config());
    EXPECT_FALSE(b.add_origin(join("a"), from_route{1, 1}));
    b.queue(join("a"), from_route{1, 1}, at(0));
    EXPECT_TRUE(b.add_origin(join("a"), from_route{2, 9}));
    EXPECT_FALSE(b.add_origin(join("a", 2), from_route{3, 1})) << "another incarnation is another request";
    auto cmd = b.next(at(50), {}, nobody_late);
    ASSERT_TRUE(cmd);
    EXPECT_EQ(cmd->ops.size(), 1u);
    const auto answers = b.answers(*cmd, applied_ok(*cmd), view_id(4), "127.0.0.1:7400");
    ASSERT_EQ(answers.size(), 2u);
    EXPECT_EQ(answers[0].first, origin(from_route{1, 1}));
    EXPECT_EQ(answers[1].first, origin(from_route{2, 9}));
    const auto& reply = std::get<membership::join_reply>(answers[1].second);
    EXPECT_EQ(reply.request_id, 9u) << "each origin gets its own request id back";
    EXPECT_EQ(reply.status, request_status::ok);
    EXPECT_EQ(reply.member, member_id(100));
    EXPECT_EQ(reply.view, view_id(4));
    EXPECT_EQ(reply.leader_hint, "127.0.0.1:7400");
    EXPECT_TRUE(b.answers(*cmd, applied_ok(*cmd), view_id(4), "").empty()) << "answered once";
}

TEST(proposal_batcher, removals_settle_briefly_and_longer_while_others_look_late) {
    proposal_batcher b(config());
    const std::vector<remove_op> due{removal(4)};
    EXPECT_FALSE(b.next(at(0), due, nobody_late));
    EXPECT_FALSE(b.next(at(9), due, nobody_late));
    EXPECT_TRUE(b.next(at(10), due, nobody_late)) << "settled, nobody else late";

    proposal_batcher c(config());
    EXPECT_FALSE(c.next(at(0), due, others_late));
    EXPECT_FALSE(c.next(at(100), due, others_late)) << "others look late: wait for their removals";
    auto cmd = c.next(at(150), due, others_late);
    ASSERT_TRUE(cmd) << "but not past removal_settle_max";
    EXPECT_EQ(names(*cmd), (std::vector<std::string>{"remove 4"}));
}

TEST(proposal_batcher, a_removal_that_is_no_longer_due_starts_its_window_over) {
    proposal_batcher b(config());
    EXPECT_FALSE(b.next(at(0), {removal(4)}, nobody_late));
    EXPECT_FALSE(b.next(at(5), {}, nobody_late));
    EXPECT_FALSE(b.next(at(12), {removal(4)}, nobody_late)) << "the window opened again at 12";
    EXPECT_TRUE(b.next(at(22), {removal(4)}, nobody_late));
}

TEST(proposal_batcher, removals_then_leaves_then_joins_at_most_max_ops_per_command) {
    batcher_config c = config();
    c.max_ops_per_command = 3;
    proposal_batcher b(c);
    b.queue(join("a"), from_route{1, 1}, at(0));
    b.queue(join("b"), from_route{1, 2}, at(0));
    b.queue(leave(7), from_route{1, 3}, at(0));
    auto cmd = b.next(at(50), {removal(4)}, nobody_late);
    ASSERT_TRUE(cmd);
    EXPECT_EQ(names(*cmd), (std::vector<std::string>{"remove 4", "leave 7", "a"}));
    b.proposed(log_index(1), at(50));
    EXPECT_EQ(b.answers(*cmd, applied_ok(*cmd), view_id(2), "").size(), 2u) << "the leave and the join";
    ASSERT_TRUE(b.applied(log_index(1), at(60)));
    cmd = b.next(at(110), {}, nobody_late);
    ASSERT_TRUE(cmd);
    EXPECT_EQ(names(*cmd), (std::vector<std::string>{"b"}));
}

// Bytes bound a command before the count does: joins with large tags fill it sooner, and what does
// not fit waits, in order, for the next.
TEST(proposal_batcher, a_command_takes_the_requests_that_fit_in_max_command_bytes_in_order) {
    join_op big = join("big");
    big.tags.assign(32, views::tag{std::string(64, 'k'), std::string(256, 'v')});
    const std::size_t small_bytes = wire::op_bytes_bound(join("s0"));
    const std::size_t big_bytes = wire::op_bytes_bound(big);
    ASSERT_GT(big_bytes, 10000u);
    batcher_config c = config();
    c.max_command_bytes = wire::command_bytes_overhead + wire::op_bytes_bound(removal(4)) + 2 * small_bytes;
    proposal_batcher b(c);
    b.queue(join("s0"), from_route{1, 1}, at(0));
    b.queue(join("s1"), from_route{1, 2}, at(0));
    b.queue(join("s2"), from_route{1, 3}, at(0));
    b.queue(big, from_route{1, 4}, at(0));
    b.queue(join("s3"), from_route{1, 5}, at(0));
    auto cmd = b.next(at(50), {removal(4)}, nobody_late);
    ASSERT_TRUE(cmd);
    EXPECT_EQ(names(*cmd), (std::vector<std::string>{"remove 4", "s0", "s1"}));
    EXPECT_LE(wire::encode_command(*cmd).size(), c.max_command_bytes);
    b.proposed(log_index(1), at(50));
    (void)b.answers(*cmd, applied_ok(*cmd), view_id(2), "");
    ASSERT_TRUE(b.applied(log_index(1), at(60)));

    // The big join is larger than a command may be: it goes alone, after s2, and s3 after it.
    std::vector<std::vector<std::string>> commands;
    for (int i = 0; i < 3; ++i) {
        cmd = b.next(at(200 + 100 * i), {}, nobody_late);
        ASSERT_TRUE(cmd) << "command " << i;
        commands.push_back(names(*cmd));
        b.proposed(log_index(2 + i), at(200 + 100 * i));
        (void)b.answers(*cmd, applied_ok(*cmd), view_id(3 + i), "");
        ASSERT_TRUE(b.applied(log_index(2 + i), at(210 + 100 * i)));
    }
    EXPECT_EQ(commands, (std::vector<std::vector<std::string>>{{"s2"}, {"big"}, {"s3"}}));
    EXPECT_EQ(b.queued(), 0u);
}

// Removals a majority asks for go first and are bounded the same way: the ones that do not fit are
// still due at the next call (the suspicion stays), so they go in the next command.
TEST(proposal_batcher, due_removals_beyond_max_command_bytes_wait_for_the_next_command) {
    batcher_config c = config();
    c.max_command_bytes = wire::command_bytes_overhead + 2 * wire::op_bytes_bound(removal(1));
    proposal_batcher b(c);
    b.queue(join("a"), from_route{1, 1}, at(0));
    auto cmd = b.next(at(50), {removal(1), removal(2), removal(3)}, nobody_late);
    ASSERT_TRUE(cmd);
    EXPECT_EQ(names(*cmd), (std::vector<std::string>{"remove 1", "remove 2"}));
}

TEST(proposal_batcher, what_an_applied_entry_did_not_carry_is_proposed_again_first) {
    proposal_batcher b(config());
    b.queue(join("a"), from_route{1, 1}, at(0));
    b.queue(join("b"), from_route{1, 2}, at(0));
    ASSERT_TRUE(b.next(at(50), {}, nobody_late));
    b.proposed(log_index(5), at(50));
    b.queue(join("c"), from_route{1, 3}, at(60));
    // Index 5 applied, but it carried another leader's entry: a and b still wait, ahead of c.
    ASSERT_TRUE(b.applied(log_index(5), at(70)));
    auto cmd = b.next(at(120), {}, nobody_late);
    ASSERT_TRUE(cmd);
    EXPECT_EQ(names(*cmd), (std::vector<std::string>{"a", "b", "c"}));
}

TEST(proposal_batcher, a_proposal_not_applied_in_time_is_proposed_again) {
    proposal_batcher b(config());
    b.queue(join("a"), from_route{1, 1}, at(0));
    ASSERT_TRUE(b.next(at(50), {}, nobody_late));
    b.proposed(log_index(5), at(50));
    b.tick(at(2049));
    EXPECT_TRUE(b.in_flight());
    b.tick(at(2050));
    EXPECT_FALSE(b.in_flight());
    auto cmd = b.next(at(2100), {}, nobody_late);
    ASSERT_TRUE(cmd);
    EXPECT_EQ(names(*cmd), (std::vector<std::string>{"a"}));
}

TEST(proposal_batcher, a_command_that_could_not_be_proposed_waits_again) {
    proposal_batcher b(config());
    b.queue(join("a"), from_route{1, 1}, at(0));
    ASSERT_TRUE(b.next(at(50), {}, nobody_late));
    b.unproposed(at(50));
    EXPECT_FALSE(b.in_flight());
    EXPECT_EQ(b.queued(), 1u);
    EXPECT_TRUE(b.next(at(100), {}, nobody_late));
}

TEST(proposal_batcher, a_stale_join_is_rejected_and_a_leave_of_nobody_is_not_found) {
    proposal_batcher b(config());
    b.queue(join("a"), from_route{1, 1}, at(0));
    b.queue(leave(7), from_route{1, 2}, at(0));
    auto cmd = b.next(at(50), {}, nobody_late);
    ASSERT_TRUE(cmd);
    std::vector<op_outcome> outcomes{{op_outcome::kind::not_found, member_id(7)},
                                     {op_outcome::kind::stale, member_id()}};
    const auto answers = b.answers(*cmd, outcomes, view_id(3), "");
    ASSERT_EQ(answers.size(), 2u);
    EXPECT_EQ(std::get<membership::leave_reply>(answers[0].second).status, request_status::not_found);
    const auto& j = std::get<membership::join_reply>(answers[1].second);
    EXPECT_EQ(j.status, request_status::rejected);
    EXPECT_NE(j.error.find("not newer"), std::string::npos);
}

TEST(proposal_batcher, leadership_lost_answers_every_origin_not_leader) {
    proposal_batcher b(config());
    b.queue(join("a"), from_route{1, 1}, at(0));
    b.add_origin(join("a"), from_self{});
    b.queue(leave(7), from_voter{voter_id(3), 4}, at(0));
    ASSERT_TRUE(b.next(at(50), {}, nobody_late));
    b.proposed(log_index(5), at(50));
    const auto answers = b.abandon(view_id(9), "");
    ASSERT_EQ(answers.size(), 3u);
    EXPECT_EQ(answers[0].first, origin(from_route{1, 1}));
    EXPECT_EQ(answers[1].first, origin(from_self{}));
    EXPECT_EQ(answers[2].first, origin(from_voter{voter_id(3), 4}));
    EXPECT_EQ(std::get<membership::join_reply>(answers[0].second).status, request_status::not_leader);
    EXPECT_EQ(std::get<membership::join_reply>(answers[0].second).incarnation, incarnation_number(1));
    EXPECT_EQ(std::get<membership::leave_reply>(answers[2].second).status, request_status::not_leader);
    EXPECT_EQ(std::get<membership::leave_reply>(answers[2].second).request_id, 4u);
    EXPECT_FALSE(b.in_flight());
    EXPECT_EQ(b.queued(), 0u);
    EXPECT_FALSE(b.next(at(1000), {}, nobody_late));
}

} // namespace
} // namespace roster::node

namespace roster::node {
namespace {

// --max-members: joins are taken in arrival order while there is room; the rest are answered
// `rejected` (every origin) and forgotten. A second join of a name in the same command, or one the
// state says replaces a member, takes no room.
TEST(proposal_batcher, joins_beyond_the_member_limit_are_refused_in_arrival_order) {
    proposal_batcher b(config());
    b.queue(join("a"), from_route{1, 1}, at(0));
    b.queue(join("present", 2), from_route{1, 2}, at(0));
    b.queue(join("b"), from_route{1, 3}, at(0));
    b.queue(join("a", 2), from_route{1, 4}, at(0));
    b.queue(join("c"), from_route{1, 5}, at(0));
    ASSERT_TRUE(b.add_origin(join("c"), from_route{2, 6}));
    b.queue(leave(7), from_route{1, 7}, at(0));
    int asked = 0;
    const member_limit limit{10,
                             [&] {
                                 ++asked;
                                 return std::size_t{8};
                             },
                             [](const join_op& j) { return j.name != "present"; }, "full (10)"};
    auto cmd = b.next(at(50), {}, nobody_late, limit);
    ASSERT_TRUE(cmd);
    EXPECT_EQ(names(*cmd), (std::vector<std::string>{"leave 7", "a", "present", "b", "a"}));
    EXPECT_EQ(asked, 1) << "the member count is asked for once per command";
    const auto refused = b.take_refused(view_id(3), "hint");
    ASSERT_EQ(refused.size(), 2u) << "both origins of c";
    for (std::size_t i = 0; i < refused.size(); ++i) {
        EXPECT_EQ(refused[i].first, i == 0 ? origin(from_route{1, 5}) : origin(from_route{2, 6}));
        const auto& r = std::get<membership::join_reply>(refused[i].second);
        EXPECT_EQ(r.status, request_status::rejected);
        EXPECT_EQ(r.error, "full (10)");
        EXPECT_EQ(r.view, view_id(3));
        EXPECT_EQ(r.request_id, i == 0 ? 5u : 6u);
    }
    EXPECT_TRUE(b.take_refused(view_id(3), "hint").empty()) << "answered once";
    EXPECT_FALSE(b.add_origin(join("c"), from_route{3, 1})) << "forgotten";
}

TEST(proposal_batcher, a_command_of_only_refused_joins_is_not_proposed) {
    proposal_batcher b(config());
    b.queue(join("a"), from_route{1, 1}, at(0));
    const member_limit full{3, [] { return std::size_t{3}; }, [](const join_op&) { return true; }, "full"};
    EXPECT_FALSE(b.next(at(50), {}, nobody_late, full));
    EXPECT_FALSE(b.in_flight());
    EXPECT_EQ(b.queued(), 0u);
    EXPECT_EQ(b.take_refused(view_id(1), "").size(), 1u);
    // Removals still go while the views are full.
    auto cmd = b.next(at(60), {removal(4)}, nobody_late, full);
    EXPECT_FALSE(cmd) << "the removal settles first";
    cmd = b.next(at(70), {removal(4)}, nobody_late, full);
    ASSERT_TRUE(cmd);
    EXPECT_EQ(names(*cmd), (std::vector<std::string>{"remove 4"}));
}

} // namespace
} // namespace roster::node

// ---- operators' removals (issue 15) ---------------------------------------------------------

namespace roster::node {
namespace {

TEST(proposal_batcher, an_operators_removal_waits_like_a_leave_goes_before_leaves_and_is_answered_once) {
    using membership::remove_op;
    proposal_batcher b(batcher_config{});
    const mono_time t0(std::chrono::milliseconds(0));
    const remove_op op{member_id(4), incarnation_number(2), views::removal_reason::removed_by_operator};
    b.queue(membership::leave_op{member_id(5), incarnation_number(1)}, from_route{1, 10}, t0);
    b.queue(op, from_route{2, 20}, t0);
    EXPECT_TRUE(b.add_origin(op, from_route{3, 30})) << "a retry waits with the first";
    EXPECT_EQ(b.queued(), 2u);
    EXPECT_FALSE(b.next(t0 + 10ms, {}, [] { return false; })) << "join_settle";
    const auto cmd = b.next(t0 + 60ms, {}, [] { return false; });
    ASSERT_TRUE(cmd);
    ASSERT_EQ(cmd->ops.size(), 2u);
    EXPECT_EQ(std::get<remove_op>(cmd->ops[0]), op) << "before the leave";
    b.proposed(log_index(7), t0 + 60ms);
    const std::vector<membership::op_outcome> outcomes{{membership::op_outcome::kind::removed, member_id(4)},
                                                       {membership::op_outcome::kind::not_found, member_id(5)}};
    const auto answers = b.answers(*cmd, outcomes, view_id(12), "");
    ASSERT_EQ(answers.size(), 3u);
    std::vector<membership::remove_reply> removes;
    for (const auto& [to, reply] : answers) {
        if (const auto* r = std::get_if<membership::remove_reply>(&reply)) {
            removes.push_back(*r);
        }
    }
    ASSERT_EQ(removes.size(), 2u);
    for (const auto& r : removes) {
        EXPECT_EQ(r.status, membership::request_status::ok);
        EXPECT_EQ(r.view, view_id(12));
        EXPECT_EQ(r.member, member_id(4));
    }
    EXPECT_TRUE(b.answers(*cmd, outcomes, view_id(12), "").empty()) << "answered once";
}

TEST(proposal_batcher, a_waiting_removal_is_told_not_leader_when_leadership_is_lost) {
    proposal_batcher b(batcher_config{});
    const mono_time t0(std::chrono::milliseconds(0));
    b.queue(membership::remove_op{member_id(4), incarnation_number(2), views::removal_reason::removed_by_operator},
            from_route{2, 20}, t0);
    const auto answers = b.abandon(view_id(3), "");
    ASSERT_EQ(answers.size(), 1u);
    const auto& r = std::get<membership::remove_reply>(answers[0].second);
    EXPECT_EQ(r.request_id, 20u);
    EXPECT_EQ(r.status, membership::request_status::not_leader);
    EXPECT_EQ(b.queued(), 0u);
}

} // namespace
} // namespace roster::node
