#include "client/leader.hh"

#include <algorithm>

namespace roster::client {

std::optional<group> group::parse(const std::string& key_value) {
    const auto eq = key_value.find('=');
    if (eq == std::string::npos || eq == 0) {
        return std::nullopt;
    }
    return group{key_value.substr(0, eq), key_value.substr(eq + 1)};
}

bool group::contains(const views::member& m) const {
    if (key.empty()) {
        return true;
    }
    return std::any_of(m.tags.begin(), m.tags.end(),
                       [&](const views::tag& t) { return t.key == key && t.value == value; });
}

const views::member* group_leader(const views::view& v, const group& g) {
    // Members are sorted by id: the first one in the group leads it.
    auto it = std::find_if(v.members.begin(), v.members.end(), [&](const views::member& m) { return g.contains(m); });
    return it == v.members.end() ? nullptr : &*it;
}

group_leader_tracker::leadership group_leader_tracker::observe(const views::view& v, bool resync) {
    const views::member* l = group_leader(v, _group);
    const member_id leader = l != nullptr ? l->id : member_id();
    const bool changed = leader != _current.leader;
    if (_group.key.empty()) {
        _current = {leader, leader != member_id() ? v.fencing_token : view_id(), changed};
    } else if (changed || resync || _current.token == view_id()) {
        _current = {leader, leader != member_id() ? v.id : view_id(), changed};
    } else {
        _current.changed = false;
    }
    return _current;
}

} // namespace roster::client
