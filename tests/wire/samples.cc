#include "tests/wire/samples.hh"

namespace roster::wire::testing {

namespace {

views::member member(std::uint64_t id) {
    return {member_id(id),
            "node-" + std::to_string(id),
            "10.0.0." + std::to_string(id) + ":7400",
            "10.0.0." + std::to_string(id) + ":7402",
            incarnation_number(1000 + id),
            {{"zone", "eu-" + std::to_string(id % 3)}, {"rack", ""}}};
}

views::view sample_view() {
    views::view v;
    v.id = view_id(12);
    v.members = {member(3), member(4), member(9)};
    v.leader = member_id(3);
    v.fencing_token = view_id(4);
    v.joined = {member_id(9)};
    v.removed = {{member_id(5), views::removal_reason::suspected},
                 {member_id(7), views::removal_reason::replaced}};
    return v;
}

views::view_change sample_change(std::uint64_t id) {
    return {view_id(id),
            {member(id + 20)},
            {{member_id(id), views::removal_reason::left}},
            member_id(3),
            view_id(4)};
}

} // namespace

views::view_change operator_removal_change() {
    return {view_id(21),
            {},
            {{member_id(5), views::removal_reason::suspected}, {member_id(7), views::removal_reason::removed_by_operator}},
            member_id(3),
            view_id(4)};
}

std::vector<wire::envelope> sample_envelopes() {
    using namespace roster::membership;
    using namespace roster::views;
    const sender from_member{voter_id(0), member_id(42), "member-42"};
    const sender from_voter{voter_id(2), member_id(3), "v2"};
    consensus::append_request append{raft_term(7), log_index(100), raft_term(6), {}, log_index(98)};
    append.entries.push_back({log_index(101), raft_term(7), consensus::entry_kind::noop, {}});
    append.entries.push_back(
        {log_index(102), raft_term(7), consensus::entry_kind::normal, {1, 2, 3, 0, 255}});

    std::vector<body> bodies = {
        heartbeat{member_id(42), incarnation_number(5), 77, view_id(12)},
        heartbeat_reply{member_id(42), incarnation_number(5), member_status::removed, view_id(13)},
        join_request{
            9, "member-42", "127.0.0.1:7500", "127.0.0.1:7502", incarnation_number(6), {{"role", "db"}}},
        join_reply{9, request_status::not_leader, member_id(43), incarnation_number(6), view_id(14),
                   "127.0.0.1:7410", "forward failed"},
        leave_request{10, member_id(43), incarnation_number(6)},
        leave_reply{10, request_status::unavailable, view_id(15), "no leader"},
        suspicion_report{true,
                         {{member_id(4), incarnation_number(2), 9.5, true, 37, 412},
                          {member_id(8), incarnation_number(1), 0.25, false, 100, 3},
                          {member_id(9), incarnation_number(1), 1e9, true, 0,
                           membership::suspicion::never_heard}},
                         {}},
        consensus::vote_request{raft_term(8), log_index(102), raft_term(7), true},
        consensus::vote_reply{raft_term(8), true, true},
        consensus::vote_request{raft_term(9), log_index(102), raft_term(7), false},
        consensus::vote_reply{raft_term(9), true, false},
        append,
        consensus::append_reply{raft_term(7), false, log_index(100), log_index(90), raft_term(5)},
        consensus::snapshot_request{raft_term(7), log_index(80), raft_term(6), {9, 8, 7, 6}},
        consensus::snapshot_reply{raft_term(7), true, log_index(80)},
        full_view{sample_view()},
        sample_change(12),
        sync_request{11, view_id(10), true},
        sync_reply{12, view_id(13), {sample_change(11), sample_change(12)}, sample_view()},
        status_request{13},
        node_event{node_event::kind::rejoined, member_id(42), member_id(57), view_id(20),
                   views::removal_reason::suspected},
        status_reply{13, "v2", node_role::pre_candidate, raft_term(9), log_index(101), view_id(12),
                     voter_id(2), member_id(3), voter_id(1), "10.0.0.2:7402"},
        membership::remove_request{14, member_id(0), "worker-7"},
        membership::remove_reply{14, membership::request_status::ok, view_id(21), member_id(7), ""},
    };
    std::vector<envelope> out;
    for (auto& b : bodies) {
        const bool from_voter_side = b.index() >= 7 && b.index() <= 12;
        out.push_back(
            {protocol_version, "prod-eu", from_voter_side ? from_voter : from_member, std::move(b)});
    }
    return out;
}

membership::command sample_command() {
    membership::command c;
    c.ops.push_back(membership::join_op{
        "db-1", "10.0.0.1:7400", "10.0.0.1:7402", incarnation_number(7), {{"zone", "a"}}});
    c.ops.push_back(membership::leave_op{member_id(3), incarnation_number(2)});
    c.ops.push_back(
        membership::remove_op{member_id(4), incarnation_number(9), views::removal_reason::suspected});
    c.ops.push_back(membership::join_op{"bare", "", "", incarnation_number(1), {}});
    return c;
}

membership::membership_snapshot sample_snapshot() {
    membership::membership_snapshot s;
    s.view = sample_view();
    s.next_member = member_id(77);
    s.incarnations = {{"a", incarnation_number(1)}, {"b", incarnation_number(5)}};
    return s;
}

} // namespace roster::wire::testing
