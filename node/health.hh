#pragma once

#include <string>

#include "common/time.hh"
#include "wire/messages.hh"

namespace roster::node {

// What GET /health and GET /ready on a node's metrics port answer, and its status reply repeats
// (docs/monitoring.md, "Health"). Computed by the node from its own state, so the simulation and the
// daemon give the same verdicts.
//
//   healthy: the node is in a cluster that works, from where it stands. A voter: it holds a
//            committed view and a consensus leader (it is the leader, which with check-quorum means
//            it heard from a majority within an election timeout, or it heard from the leader
//            within an election timeout: Raft forgets a silent leader when its election timer
//            fires). A member: it holds a committed view, its own entry is in it, and it heard from
//            a voter within `member_contact_bound`.
//   ready:   this node's own member entry is in its current view (it is serving as a member).
//
// Reasons are short English phrases for operators ("no consensus leader for 1.2 s"), never
// secrets: the endpoints answer without authentication.
struct health {
    bool healthy = false;
    std::string reason; // why not healthy (empty when healthy)
    bool ready = false;
    std::string ready_reason; // why not ready (empty when ready)

    bool operator==(const health&) const = default;
};

// The verdicts as a status reply carries them.
inline void add_to(wire::status_reply& s, const health& h) {
    s.healthy = h.healthy;
    s.health_reason = h.reason;
    s.ready = h.ready;
    s.ready_reason = h.ready_reason;
}

// A member that heard from no voter for this long is not healthy: it polls its voters every second
// (subscriber_config::poll_interval), so three polls went unanswered.
inline constexpr duration member_contact_bound = 3s;

} // namespace roster::node
