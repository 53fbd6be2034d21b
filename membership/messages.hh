#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/strong_value.hh"
#include "common/time.hh"
#include "views/view.hh"

// The messages of the membership protocol, as plain structs: heartbeats, joins and leaves between
// members and voters, and suspicion reports between voters. wire/ converts them to and from bytes.
namespace roster::membership {

// What a voter knows of a member that heartbeats to it.
enum class member_status : std::uint8_t {
    active,  // in the view at this incarnation
    unknown, // not (yet) known here
    removed, // removed from the view: the member must join again
};

// How a join or leave request ended.
enum class request_status : std::uint8_t {
    ok,          // committed
    not_leader,  // the receiver is not the consensus leader and could not forward
    unavailable, // no leader right now; retry
    rejected,    // invalid or stale; `error` says why
    not_found,   // the member is not in the view
};

// Member -> every voter, every heartbeat interval.
struct heartbeat {
    member_id member;               // the sender's member id
    incarnation_number incarnation; // the sender's incarnation
    std::uint64_t sequence = 0;     // counts up from 1 per incarnation
    view_id known_view;             // newest view the member holds
    // The interval the member heartbeats at from now on, in milliseconds (0: not said). A voter's
    // detector starts over when it changes (detector_registry::heartbeat).
    std::uint32_t interval_ms = 0;

    bool operator==(const heartbeat&) const = default;
};

// An interval as heartbeat::interval_ms: whole milliseconds, at most 2^32 - 1.
[[nodiscard]] inline std::uint32_t interval_ms(duration d) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
    return ms <= 0 ? 0u : ms >= 0xffffffffLL ? 0xffffffffu : static_cast<std::uint32_t>(ms);
}

// Voter -> member, when the heartbeat's member is not (or no longer) in the voter's view.
struct heartbeat_reply {
    member_id member;                             // as in the heartbeat
    incarnation_number incarnation;               // as in the heartbeat
    member_status status = member_status::active; // `removed`: the member must rejoin
    view_id current_view;                         // the voter's newest view (removed by an operator: the view that did)
    // `removed`: why, as far as the voter knows (suspected when it does not). A member removed by
    // an operator stays out until its process restarts.
    views::removal_reason reason = views::removal_reason::suspected;

    bool operator==(const heartbeat_reply&) const = default;
};

// Member (or client) -> any voter; forwarded to the consensus leader.
struct join_request {
    std::uint64_t request_id = 0;   // chosen by the requester, echoed in the reply
    std::string name;               // unique among current members
    std::string address;            // its --listen endpoint
    std::string publish_endpoint;   // its --publish endpoint
    incarnation_number incarnation; // a newer one replaces an older instance of the same name
    std::vector<views::tag> tags;   // free-form labels
    std::string key{};              // set by the receiving voter: the requester's CURVE key
    // A voter's own entry: that voter's id. Set only by the voter itself (its self-join); a voter
    // clears it on every request from its listen socket and the leader keeps it only on a request
    // that came over the peer link of that same voter.
    voter_id voter{};

    bool operator==(const join_request&) const = default;
};

struct join_reply {
    std::uint64_t request_id = 0;               // of the request
    request_status status = request_status::ok; // ok: committed
    member_id member;                           // the id assigned
    incarnation_number incarnation;             // as in the request
    view_id view;                               // the view in which the join committed
    std::string leader_hint;                    // leader's --listen endpoint, when known
    std::string error;                          // why, when not ok

    bool operator==(const join_reply&) const = default;
};

// Member -> any voter: leave the views gracefully.
struct leave_request {
    std::uint64_t request_id = 0;   // chosen by the requester, echoed in the reply
    member_id member;               // who leaves
    incarnation_number incarnation; // must match the member's
    std::string key{};              // set by the receiving voter: the requester's CURVE key

    bool operator==(const leave_request&) const = default;
};

struct leave_reply {
    std::uint64_t request_id = 0;               // of the request
    request_status status = request_status::ok; // ok: committed
    view_id view;                               // the view in which the leave committed
    std::string error;                          // why, when not ok

    bool operator==(const leave_reply&) const = default;
};

// Operator (client) -> any voter; forwarded to the consensus leader. Removes a member by id (when
// not 0) or else by name; committed as a remove_op with reason removed_by_operator. Only a key
// that may act as an operator may ask (requester::operator_actions).
struct remove_request {
    std::uint64_t request_id = 0; // chosen by the requester, echoed in the reply
    member_id member;             // the member to remove (0: by name)
    std::string name;             // its name, when `member` is 0

    bool operator==(const remove_request&) const = default;
};

struct remove_reply {
    std::uint64_t request_id = 0;               // of the request
    request_status status = request_status::ok; // ok: committed in `view`
    view_id view;                               // the view that removed it (ok), else the newest held
    member_id member;                           // the member removed (ok)
    std::string error;                          // why, when not ok

    bool operator==(const remove_reply&) const = default;
};

// One voter's judgement of one member.
struct suspicion {
    member_id member;               // the member judged
    incarnation_number incarnation; // its incarnation as the voter knows it
    double phi = 0;                 // phi when the report was made
    bool suspected = false;         // false: heard from again
    // For the logs of the leader: how much the voter's detector knew, and how long it had not
    // heard from the member (never_heard: not since it was watched).
    std::uint32_t samples = 0;
    std::uint32_t silence_ms = never_heard;

    static constexpr std::uint32_t never_heard = 0xFFFF'FFFF;

    bool operator==(const suspicion&) const = default;
};

// Voter -> consensus leader: what changed in its detectors' suspicions, or (periodically) all of
// them.
struct suspicion_report {
    bool full = false;                 // the periodic repetition of every current suspicion
    std::vector<suspicion> suspicions; // by member id
    // Members this voter hears late (silent clearly longer than their usual interval) without
    // suspecting them, by id: evidence the leader asks of every voter before a removal. Full:
    // all of them; otherwise those that became late. A suspicion entry with suspected = false (heard
    // from again) ends a member's lateness too. Entries have suspected = false.
    std::vector<suspicion> late;

    bool operator==(const suspicion_report&) const = default;
};

} // namespace roster::membership
