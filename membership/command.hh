#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "common/strong_value.hh"
#include "views/view.hh"

// The changes the membership state machine applies, as decided through consensus. Several
// changes in one committed command make one view.
namespace roster::membership {

// Adds a member, or replaces the member of the same name with an older incarnation.
struct join_op {
    std::string name;               // unique among current members
    std::string address;            // its --listen endpoint
    std::string publish_endpoint;   // its --publish endpoint
    incarnation_number incarnation; // a newer one replaces an older instance of the name
    std::vector<views::tag> tags;   // free-form labels
    std::string key{};              // CURVE public key of the joining member (empty: insecure)
    voter_id voter{};               // a voter's own entry: that voter (see join_request::voter)

    bool operator==(const join_op&) const = default;
};

// A graceful departure; removes the member with reason `left`.
struct leave_op {
    member_id member;               // who leaves
    incarnation_number incarnation; // must match the member's

    bool operator==(const leave_op&) const = default;
};

// A removal decided by the leader (a majority of voters suspect the member).
struct remove_op {
    member_id member;                                                // who is removed
    incarnation_number incarnation;                                  // must match the member's
    views::removal_reason reason = views::removal_reason::suspected; // why, as the view will say

    bool operator==(const remove_op&) const = default;
};

using op = std::variant<join_op, leave_op, remove_op>;

// One Raft entry's worth of changes: applied together, they make one view.
struct command {
    std::vector<op> ops;

    bool operator==(const command&) const = default;
};

// Everything the state machine holds, for snapshots (Raft §7) and restarts.
struct membership_snapshot {
    views::view view;      // the current view (joined/removed: those of its own change)
    member_id next_member; // the id the next join gets
    // The highest incarnation ever seen per name, members and departed alike, so that a
    // stale or replayed join of a departed instance cannot bring it back.
    std::vector<std::pair<std::string, incarnation_number>> incarnations; // sorted by name

    bool operator==(const membership_snapshot&) const = default;
};

} // namespace roster::membership
