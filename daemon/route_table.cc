#include "daemon/route_table.hh"

namespace roster::daemon {

namespace {

constexpr auto idle_limit = 600s;
constexpr auto sweep_interval = 60s;

} // namespace

node::route_id route_table::route_of(const std::string& identity, mono_time now) {
    auto it = _route_of_identity.find(identity);
    if (it != _route_of_identity.end()) {
        _identity_of_route[it->second].second = now;
        return it->second;
    }
    const node::route_id r = _next_route++;
    _route_of_identity.emplace(identity, r);
    _identity_of_route.emplace(r, std::make_pair(identity, now));
    return r;
}

const std::string* route_table::identity_of(node::route_id route) const {
    auto it = _identity_of_route.find(route);
    return it == _identity_of_route.end() ? nullptr : &it->second.first;
}

void route_table::sweep(mono_time now) {
    if (now < _next_sweep) {
        return;
    }
    _next_sweep = now + sweep_interval;
    for (auto it = _identity_of_route.begin(); it != _identity_of_route.end();) {
        if (now - it->second.second > idle_limit) {
            _route_of_identity.erase(it->second.first);
            it = _identity_of_route.erase(it);
        } else {
            ++it;
        }
    }
}

} // namespace roster::daemon
