#pragma once

#include <cstddef>

#include "common/strong_value.hh"
#include "common/time.hh"
#include "node/origin.hh"
#include "node/output.hh"
#include "wire/messages.hh"

namespace roster::daemon {

// What the poll loop drives: one node (a voter or a member) with the logging and metrics of its
// role. The transport hands it decoded messages of this cluster and carries out its output; the
// runtime ticks it and asks it to leave. Every call comes from the loop's thread, with the `now`
// of the current loop turn (never decreasing).
class driver {
public:
    virtual ~driver() = default;

    // A request on --listen (members, clients, rosterctl); a reply goes back to `from`. `who` is
    // what the authenticated sender may do.
    virtual void on_request(node::route_id from, const node::requester& who, const wire::body& msg,
                            mono_time now) = 0;
    // Voters: a message on --peer-listen from voter `from` (a voter of --voters, not this one).
    virtual void on_peer(voter_id /*from*/, const wire::body& /*msg*/, mono_time /*now*/) {}
    // Members: a reply from the voter at --join endpoint `endpoint` (an index into --join).
    virtual void on_endpoint_reply(std::size_t /*endpoint*/, const wire::body& /*msg*/, mono_time /*now*/) {}
    // Members: a message a voter published.
    virtual void on_published(const wire::body& /*msg*/, mono_time /*now*/) {}

    // Called about every 10 ms.
    virtual void tick(mono_time now) = 0;
    // Starts the graceful leave (SIGTERM, SIGINT); done_leaving() turns true once it committed.
    virtual void leave(mono_time now) = 0;
    [[nodiscard]] virtual bool done_leaving() const = 0;

    // The node's effects since the last call, for the transport to carry out in order.
    virtual node::output take_output() = 0;
    // After each loop turn's output went out: the role's log lines and metrics.
    virtual void after_step(mono_time now) = 0;

    // Who this node says it is in every envelope it sends (the member id changes on a rejoin).
    [[nodiscard]] virtual wire::sender self() const = 0;
};

} // namespace roster::daemon
