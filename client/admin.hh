#pragma once

// Operator actions and health checks over the listen sockets of rosterd (the same endpoints and
// keys as client/client.hh):
//
//   roster::client::remove_member(o, "m3")   removes member m3 (by name, or by id: "17"), like
//                                            `consul force-leave`; needs an admin key on a secured
//                                            cluster (docs/security.md)
//   roster::client::health(o)                asks every endpoint for its /health verdict
//
// Blocking with the options' timeout; a call belongs to the thread that made it.

#include <cstdint>
#include <string>
#include <vector>

#include "client/client.hh"
#include "common/result.hh"
#include "common/strong_value.hh"

namespace roster::client {

// Why a removal did not happen.
struct admin_error {
    enum class kind : std::uint8_t {
        invalid,       // the argument or the options are wrong (no endpoint, an empty name...)
        not_found,     // no such member in the current view
        not_permitted, // the cluster refused this key (not an admin key), or the request's bounds
        no_leader,     // no voter could decide it: no consensus leader, or none answered in time
    };
    kind what = kind::invalid;
    std::string message; // for people: what happened, per endpoint tried

    bool operator==(const admin_error&) const = default;
};

// Removes the member called `name_or_id` (all digits: a member id; a member whose name is all
// digits is removed by its id) from the views, committed with reason `removed_by_operator`, and
// returns the view that removed it. Asks the endpoints in turn (a follower voter forwards to the
// leader; a member refers the client on), retrying the ones that answer "no leader" until the
// options' timeout has passed in all. The removed member's rosterd stays out of the views until it
// restarts (docs/membership.md, "Operator removal").
result<view_id, admin_error> remove_member(const options& o, const std::string& name_or_id);

// The health of one endpoint, as its status reply says (the verdict of its GET /health).
struct endpoint_health {
    std::string endpoint;
    bool reachable = false; // it answered
    bool healthy = false;
    std::string reason{}; // why not healthy, or why unreachable (the error)
    bool ready = false; // its own member entry is in its view (GET /ready)
    std::string ready_reason{};

    bool operator==(const endpoint_health&) const = default;
};

// Asks every endpoint of `o` (each within the options' timeout, one after the other) and returns
// one verdict per endpoint, in the order given. A node of an older version that does not report
// health reads as not healthy, with a reason that says so.
std::vector<endpoint_health> health(const options& o);

} // namespace roster::client
