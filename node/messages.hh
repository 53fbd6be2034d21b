#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/strong_value.hh"
#include "consensus/message.hh"
#include "views/view.hh"

// The messages that cross process boundaries, as plain structs. wire/codec converts them to
// and from the FlatBuffers of wire/roster.fbs; the simulation passes them as they are.
namespace roster::node {

inline constexpr std::uint16_t protocol_version = 1;

enum class member_status : std::uint8_t { active, unknown, removed };

enum class request_status : std::uint8_t {
    ok,          //
    not_leader,  // the receiver is not the consensus leader and could not forward
    unavailable, // no leader right now; retry
    rejected,    // invalid or stale; `error` says why
    not_found,   // the member is not in the view
};

enum class node_role : std::uint8_t { member, follower, pre_candidate, candidate, leader };

// Member -> every voter, every heartbeat interval.
struct heartbeat {
    member_id member;               //
    incarnation_number incarnation; //
    std::uint64_t sequence = 0;     // counts up from 1 per incarnation
    view_id known_view;             // newest view the member holds

    bool operator==(const heartbeat&) const = default;
};

struct heartbeat_reply {
    member_id member;                             //
    incarnation_number incarnation;               //
    member_status status = member_status::active; // `removed`: the member must rejoin
    view_id current_view;                         // the voter's newest view

    bool operator==(const heartbeat_reply&) const = default;
};

struct join_request {
    std::uint64_t request_id = 0;   // chosen by the requester, echoed in the reply
    std::string name;               //
    std::string address;            // its --listen endpoint
    std::string publish_endpoint;   // its --publish endpoint
    incarnation_number incarnation; //
    std::vector<views::tag> tags;   //

    bool operator==(const join_request&) const = default;
};

struct join_reply {
    std::uint64_t request_id = 0;               //
    request_status status = request_status::ok; //
    member_id member;                           // the id assigned
    incarnation_number incarnation;             //
    view_id view;                               // the view in which the join committed
    std::string leader_hint;                    // leader's --listen endpoint, when known
    std::string error;                          // why, when not ok

    bool operator==(const join_reply&) const = default;
};

struct leave_request {
    std::uint64_t request_id = 0;   //
    member_id member;               //
    incarnation_number incarnation; //

    bool operator==(const leave_request&) const = default;
};

struct leave_reply {
    std::uint64_t request_id = 0;               //
    request_status status = request_status::ok; //
    view_id view;                               // the view in which the leave committed
    std::string error;                          //

    bool operator==(const leave_reply&) const = default;
};

struct suspicion {
    member_id member;               //
    incarnation_number incarnation; //
    double phi = 0;                 // phi when the report was made
    bool suspected = false;         // false: heard from again

    bool operator==(const suspicion&) const = default;
};

// Voter -> consensus leader.
struct suspicion_report {
    bool full = false;                 // the periodic repetition of every current suspicion
    std::vector<suspicion> suspicions; // by member id

    bool operator==(const suspicion_report&) const = default;
};

struct full_view {
    views::view view;

    bool operator==(const full_view&) const = default;
};

struct sync_request {
    std::uint64_t request_id = 0; //
    view_id after;                // newest view held (0: none)
    bool full = false;            // ask for the whole current view

    bool operator==(const sync_request&) const = default;
};

// Either `changes` (every view after `after`, in order) or `full`.
struct sync_reply {
    std::uint64_t request_id = 0;            //
    view_id current;                         // the publisher's newest view
    std::vector<views::view_change> changes; //
    std::optional<views::view> full;         //

    bool operator==(const sync_reply&) const = default;
};

struct status_request {
    std::uint64_t request_id = 0;

    bool operator==(const status_request&) const = default;
};

struct status_reply {
    std::uint64_t request_id = 0;       //
    std::string name;                   //
    node_role role = node_role::member; //
    raft_term term;                     // voters only
    log_index commit;                   // voters only
    view_id view;                       // newest view held
    voter_id voter;                     // 0 for members
    member_id member;                   // 0 before joining
    voter_id leader;                    // consensus leader as known (0: unknown)
    std::string publish_endpoint;       // where it publishes views

    bool operator==(const status_reply&) const = default;
};

// Member -> its local subscribers, on its PUB socket.
struct node_event {
    enum class kind : std::uint8_t { removed, rejoined };
    kind what = kind::removed;                                       //
    member_id member;                                                // the id that was removed
    member_id new_member;                                            // rejoined: the new id
    view_id view;                                                    // the view that removed or re-added it
    views::removal_reason reason = views::removal_reason::suspected; // removed: why

    bool operator==(const node_event&) const = default;
};

using body =
    std::variant<heartbeat, heartbeat_reply, join_request, join_reply, leave_request, leave_reply,
                 suspicion_report, consensus::vote_request, consensus::vote_reply, consensus::append_request,
                 consensus::append_reply, consensus::snapshot_request, consensus::snapshot_reply, full_view,
                 views::view_change, sync_request, sync_reply, status_request, status_reply, node_event>;

struct sender {
    voter_id voter;   // 0 unless a voter
    member_id member; // 0 until joined
    std::string name; //

    bool operator==(const sender&) const = default;
};

// One message on a socket.
struct envelope {
    std::uint16_t version = protocol_version; //
    std::string cluster;                      //
    sender from;                              //
    body msg;                                 //

    bool operator==(const envelope&) const = default;
};

} // namespace roster::node
