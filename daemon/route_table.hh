#pragma once

#include <cstddef>
#include <string>
#include <unordered_map>
#include <utility>

#include "common/time.hh"
#include "node/output.hh"

namespace roster::daemon {

// The ZeroMQ routing identities of whoever sent requests to --listen, as the small numbers the
// nodes address their replies to (node::route_id). Routes are never reused. A route not used for
// 10 minutes is forgotten, so that clients that come and go do not grow the table without bound.
class route_table {
public:
    // The route of `identity` (a new one the first time, or after it was forgotten); marks it
    // used at `now`.
    node::route_id route_of(const std::string& identity, mono_time now);
    // The identity behind `route`; null when there is none (never given, or forgotten).
    [[nodiscard]] const std::string* identity_of(node::route_id route) const;
    // Forgets the routes idle for more than 10 minutes. Does the work at most once a minute, so
    // it may be called on every tick.
    void sweep(mono_time now);
    [[nodiscard]] std::size_t size() const noexcept { return _identity_of_route.size(); }

private:
    std::unordered_map<std::string, node::route_id> _route_of_identity;
    std::unordered_map<node::route_id, std::pair<std::string, mono_time>> _identity_of_route; // last used
    node::route_id _next_route = 1;
    mono_time _next_sweep{};
};

} // namespace roster::daemon
