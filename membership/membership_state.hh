#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "membership/command.hh"
#include "views/view.hh"

namespace roster::membership {

// What happened to one op of an applied command (for answering whoever asked for it).
struct op_outcome {
    enum class kind : std::uint8_t {
        joined,    // a new member, with its id
        already,   // the same name and incarnation was already a member (a retried join): its id
        removed,   // the member is gone (left, suspected, replaced)
        not_found, // no such member with that incarnation (already gone): nothing changed
        stale,     // a join with an incarnation not newer than one already seen for that name
        taken,     // a join for a name that a member with another CURVE key holds: nothing changed
    };
    kind what = kind::not_found;
    member_id member;
};

// The replicated state machine: members, ids, incarnations, view numbering. Deterministic:
// every voter applies the same committed commands in the same order and reaches the same views.
//
// Rules:
//  - a join assigns the next member id; ids only grow and are never reused;
//  - a join under a present name with a newer incarnation replaces that member (removed as
//    `replaced`) in the same view; the same incarnation again is a retry (no change); an older
//    one, or one not newer than a departed instance of that name, is stale (no change);
//  - leave and remove name the member and its incarnation, and do nothing if it is not there;
//  - every applied command that changes something makes exactly one new view, view_id + 1;
//  - the leader is the member with the lowest id; its fencing token is the view_id at which it
//    became leader, so the token never decreases.
class membership_state {
public:
    membership_state() = default;
    explicit membership_state(membership_snapshot snapshot);

    struct applied {
        std::optional<views::view_change> change; // empty when nothing changed
        std::vector<op_outcome> outcomes;         // one per op, in order
    };
    applied apply(const command& c);

    [[nodiscard]] const views::view& current() const noexcept { return _view; }
    [[nodiscard]] view_id id() const noexcept { return _view.id; }
    [[nodiscard]] member_id next_member() const noexcept { return _next; }
    [[nodiscard]] const views::member* find(member_id id) const;
    [[nodiscard]] const views::member* find_by_name(const std::string& name) const;
    // Whether applying `j` now would add a member: not a retry of a present incarnation, not a
    // newer incarnation replacing the member of its name, not a stale one.
    [[nodiscard]] bool adds_member(const join_op& j) const;
    // A member id that was assigned once and is not in the view any more.
    [[nodiscard]] bool departed(member_id id) const { return id < _next && id != member_id() && !find(id); }

    [[nodiscard]] membership_snapshot snapshot() const;

private:
    views::view _view;
    member_id _next{1};
    std::map<std::string, incarnation_number> _incarnations;
    std::unordered_map<std::string, member_id> _by_name; // the members of _view, by name
};

// Member ids and view ids grow by one per join and per view. A snapshot whose counters are past
// this came from damage or a forger, and the next joins or views could wrap them around to 0.
inline constexpr std::uint64_t max_snapshot_counter = std::uint64_t{1} << 62;

// Why `s` is not a snapshot a membership_state could have produced (members out of order or twice,
// a name twice, ids at or past next_member, a next id of 0, a leader that is not the lowest id,
// counters past max_snapshot_counter...), or nothing. A snapshot that comes off the network is
// checked with this before anything loads it.
[[nodiscard]] std::optional<std::string> check_snapshot(const membership_snapshot& s);

} // namespace roster::membership
