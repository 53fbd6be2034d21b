#pragma once

#include <cstdint>
#include <string>
#include <variant>

#include "common/strong_value.hh"
#include "consensus/message.hh"
#include "consensus/state.hh"
#include "membership/messages.hh"
#include "views/messages.hh"

// Every message that crosses a process boundary: each layer owns its messages (consensus/,
// membership/, views/); this header assembles them into the one `body` of an envelope, and adds
// the few that are about a process as a whole (its status). wire/codec converts envelopes to and
// from the FlatBuffers of wire/roster.fbs; the simulation passes them as they are.
namespace roster::wire {

inline constexpr std::uint16_t protocol_version = 1;

// What a process is, in a status reply: a member, or a voter in one of its consensus roles.
enum class node_role : std::uint8_t { member, follower, pre_candidate, candidate, leader };

// A voter's node_role: its consensus role.
[[nodiscard]] constexpr node_role role_of(consensus::role r) noexcept {
    switch (r) {
    case consensus::role::follower:
        return node_role::follower;
    case consensus::role::pre_candidate:
        return node_role::pre_candidate;
    case consensus::role::candidate:
        return node_role::candidate;
    case consensus::role::leader:
        return node_role::leader;
    }
    return node_role::follower;
}

// Client -> any rosterd.
struct status_request {
    std::uint64_t request_id = 0; // chosen by the client, echoed in the reply

    bool operator==(const status_request&) const = default;
};

struct status_reply {
    std::uint64_t request_id = 0;       // of the request
    std::string name;                   // the node's member name
    node_role role = node_role::member; // member, or the voter's consensus role
    raft_term term;                     // voters only
    log_index commit;                   // voters only
    view_id view;                       // newest view held
    voter_id voter;                     // 0 for members
    member_id member;                   // 0 before joining
    voter_id leader;                    // consensus leader as known (0: unknown)
    std::string publish_endpoint;       // where it publishes views
    // GET /health and GET /ready of the node (node/health.hh), with why not. A node of an older
    // version sends neither: healthy false with an empty reason.
    bool healthy = false;
    std::string health_reason{};
    bool ready = false;
    std::string ready_reason{};

    bool operator==(const status_reply&) const = default;
};

using body =
    std::variant<membership::heartbeat, membership::heartbeat_reply, membership::join_request,
                 membership::join_reply, membership::leave_request, membership::leave_reply,
                 membership::suspicion_report, consensus::vote_request, consensus::vote_reply,
                 consensus::append_request, consensus::append_reply, consensus::snapshot_request,
                 consensus::snapshot_reply, views::full_view, views::view_change, views::sync_request,
                 views::sync_reply, status_request, status_reply, views::node_event,
                 membership::remove_request, membership::remove_reply>;

// Who sent an envelope, as the sender says.
struct sender {
    voter_id voter;   // 0 unless a voter
    member_id member; // 0 until joined
    std::string name; // its member name

    bool operator==(const sender&) const = default;
};

// One message on a socket.
struct envelope {
    std::uint16_t version = protocol_version; // refused unless this build speaks it
    std::string cluster;                      // refused unless it is the receiver's cluster
    sender from;                              // who sent it
    body msg;                                 // the message

    bool operator==(const envelope&) const = default;
};

} // namespace roster::wire
