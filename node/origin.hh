#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include "common/strong_value.hh"
#include "node/output.hh"

namespace roster::node {

// Who sent a request on a listen socket, as the transport authenticated it. What it may do: join
// only as `join_as` (when set; an empty name: not at all), heartbeat for or leave only member
// entries that carry its key, and act as an operator (remove members) only with
// `operator_actions`.
struct requester {
    std::string key;                    // CURVE public key (32 bytes); empty on an insecure node
    std::optional<std::string> join_as; // nullopt: any name (an insecure node)
    bool operator_actions = true;       // an admin key, or anyone on an insecure node
    std::string kind{};                 // what the key is ("reader", "member"...), for refusals

    bool operator==(const requester&) const = default;
};

// Who asked a voter for a join or leave, so that the answer finds its way back.

// A member or client on the voter's listen socket.
struct from_route {
    route_id route;               // where the request came from
    std::uint64_t request_id = 0; // the requester's id, echoed in the reply

    bool operator==(const from_route&) const = default;
};

// Another voter that forwarded the request to this one (the consensus leader).
struct from_voter {
    voter_id voter;               // the forwarding voter
    std::uint64_t request_id = 0; // the id that voter gave the forwarded request

    bool operator==(const from_voter&) const = default;
};

// This voter itself: its own member entry's join or leave.
struct from_self {
    bool operator==(const from_self&) const = default;
};

using origin = std::variant<from_route, from_voter, from_self>;

// The request id to echo in a reply to `o` (0 for this voter itself).
[[nodiscard]] inline std::uint64_t request_id_of(const origin& o) noexcept {
    if (const auto* r = std::get_if<from_route>(&o)) {
        return r->request_id;
    }
    if (const auto* v = std::get_if<from_voter>(&o)) {
        return v->request_id;
    }
    return 0;
}

} // namespace roster::node
