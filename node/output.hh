#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "consensus/state.hh"
#include "wire/messages.hh"

namespace roster::node {

// The driver's handle for where a request came from (a ZeroMQ routing id, a simulated
// endpoint); a reply goes back to it. Opaque to the nodes.
using route_id = std::uint64_t;

// One batch of a node's effects. The driver carries it out in this order:
//   0. send `early_to_voters` (a leader's appends, which may leave before its own write: see
//      consensus::ready; a driver may also send them with `to_voters`);
//   1. `persist`: save each ready (their persist parts) to storage, in order, each atomically;
//      if a save fails the voter must stop (it could not keep what it may have promised);
//   2. send `to_voters` (peer sockets), `replies` (the listen socket, to the request's route)
//      and `to_endpoints` (a member's requests to voter listen endpoints, by index);
//   3. publish `published` on the PUB socket.
// Nothing in steps 2 and 3 may leave before step 1 is done: replies and views can depend on
// entries persisted in step 1. Except: when every ready of `persist` only moves the commit index
// (consensus::ready::only_commit_to_persist), step 1 may come last.
struct output {
    std::vector<std::pair<voter_id, wire::body>> early_to_voters;
    std::vector<consensus::ready> persist;
    std::vector<std::pair<voter_id, wire::body>> to_voters;
    std::vector<std::pair<route_id, wire::body>> replies;
    std::vector<std::pair<std::size_t, wire::body>> to_endpoints;
    std::vector<wire::body> published;

    // Every ready of `persist` only moves the commit index: step 1 may come last.
    [[nodiscard]] bool persist_last() const {
        return std::all_of(persist.begin(), persist.end(),
                           [](const consensus::ready& rd) { return rd.only_commit_to_persist(); });
    }
    [[nodiscard]] bool empty() const {
        return early_to_voters.empty() && persist.empty() && to_voters.empty() && replies.empty() && to_endpoints.empty() &&
               published.empty();
    }
};

} // namespace roster::node
