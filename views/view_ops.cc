#include "views/view_ops.hh"

#include <algorithm>

#include "common/invariant.hh"

namespace roster::views {

view apply_change(const view& previous, const view_change& change) {
    if (change.id != previous.id.next()) {
        invariant_broken("apply_change", "change {} does not follow view {}", change.id, previous.id);
    }
    view next;
    next.id = change.id;
    next.members.reserve(previous.members.size() + change.joined.size());
    auto removed = change.removed.begin();
    for (const member& m : previous.members) {
        while (removed != change.removed.end() && removed->id < m.id) {
            ++removed;
        }
        if (removed != change.removed.end() && removed->id == m.id) {
            continue;
        }
        next.members.push_back(m);
    }
    for (const member& m : change.joined) {
        next.members.push_back(m);
    }
    std::sort(next.members.begin(), next.members.end(),
              [](const member& a, const member& b) { return a.id < b.id; });
    next.leader = change.leader;
    next.fencing_token = change.fencing_token;
    for (const member& m : change.joined) {
        next.joined.push_back(m.id);
    }
    next.removed = change.removed;
    return next;
}

view_change change_of(const view& v) {
    view_change c{v.id, {}, v.removed, v.leader, v.fencing_token};
    for (member_id id : v.joined) {
        auto it = std::lower_bound(v.members.begin(), v.members.end(), id,
                                   [](const member& m, member_id x) { return m.id < x; });
        if (it != v.members.end() && it->id == id) {
            c.joined.push_back(*it);
        }
    }
    return c;
}

const char* to_string(removal_reason r) noexcept {
    switch (r) {
    case removal_reason::suspected:
        return "suspected";
    case removal_reason::left:
        return "left";
    case removal_reason::replaced:
        return "replaced";
    case removal_reason::removed_by_operator:
        return "removed_by_operator";
    }
    return "unknown";
}

} // namespace roster::views
