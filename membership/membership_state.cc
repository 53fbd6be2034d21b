#include "membership/membership_state.hh"

#include <algorithm>
#include <set>

#include <fmt/format.h>

namespace roster::membership {

membership_state::membership_state(membership_snapshot snapshot)
    : _view(std::move(snapshot.view))
    , _next(snapshot.next_member) {
    for (auto& [name, inc] : snapshot.incarnations) {
        _incarnations.emplace(std::move(name), inc);
    }
    for (const auto& m : _view.members) {
        _by_name.emplace(m.name, m.id);
    }
}

const views::member* membership_state::find(member_id id) const {
    auto it = std::lower_bound(_view.members.begin(), _view.members.end(), id,
                               [](const views::member& m, member_id x) { return m.id < x; });
    return it != _view.members.end() && it->id == id ? &*it : nullptr;
}

const views::member* membership_state::find_by_name(const std::string& name) const {
    auto it = _by_name.find(name);
    return it == _by_name.end() ? nullptr : find(it->second);
}

bool membership_state::adds_member(const join_op& j) const {
    if (find_by_name(j.name) != nullptr) {
        return false;
    }
    auto seen = _incarnations.find(j.name);
    return seen == _incarnations.end() || j.incarnation > seen->second;
}

membership_state::applied membership_state::apply(const command& c) {
    applied out;
    std::vector<views::member> joined;
    std::vector<views::removal> removed;
    auto remove = [&](member_id id, views::removal_reason why) {
        auto it = std::lower_bound(_view.members.begin(), _view.members.end(), id,
                                   [](const views::member& m, member_id x) { return m.id < x; });
        _by_name.erase(it->name);
        _view.members.erase(it);
        // A member that joins and goes in the same command leaves no trace in the change.
        auto j =
            std::find_if(joined.begin(), joined.end(), [&](const views::member& m) { return m.id == id; });
        if (j != joined.end()) {
            joined.erase(j);
        } else {
            removed.push_back({id, why});
        }
    };

    for (const op& o : c.ops) {
        if (const auto* join = std::get_if<join_op>(&o)) {
            auto seen = _incarnations.find(join->name);
            const views::member* present = find_by_name(join->name);
            if (present != nullptr && present->incarnation == join->incarnation) {
                out.outcomes.push_back({op_outcome::kind::already, present->id});
                continue;
            }
            // A name belongs to the key that holds it (on a secured cluster): another key cannot
            // replace its member, whatever incarnation it claims.
            if (present != nullptr && present->key != join->key) {
                out.outcomes.push_back({op_outcome::kind::taken, present->id});
                continue;
            }
            if (seen != _incarnations.end() && join->incarnation <= seen->second) {
                out.outcomes.push_back({op_outcome::kind::stale, member_id()});
                continue;
            }
            if (present != nullptr) {
                remove(present->id, views::removal_reason::replaced);
            }
            views::member m{_next,      join->name, join->address, join->publish_endpoint, join->incarnation,
                            join->tags, join->key,  join->voter,   _view.id.next()};
            _next = _next.next();
            _incarnations[join->name] = join->incarnation;
            // New ids are the largest yet: appending keeps the members sorted.
            _by_name[m.name] = m.id;
            _view.members.push_back(m);
            joined.push_back(std::move(m));
            out.outcomes.push_back({op_outcome::kind::joined, _view.members.back().id});
        } else {
            const member_id id = std::holds_alternative<leave_op>(o) ? std::get<leave_op>(o).member
                                                                     : std::get<remove_op>(o).member;
            const incarnation_number inc = std::holds_alternative<leave_op>(o)
                                               ? std::get<leave_op>(o).incarnation
                                               : std::get<remove_op>(o).incarnation;
            const auto why = std::holds_alternative<leave_op>(o) ? views::removal_reason::left
                                                                 : std::get<remove_op>(o).reason;
            const views::member* m = find(id);
            if (m == nullptr || m->incarnation != inc) {
                out.outcomes.push_back({op_outcome::kind::not_found, id});
                continue;
            }
            remove(id, why);
            out.outcomes.push_back({op_outcome::kind::removed, id});
        }
    }

    if (joined.empty() && removed.empty()) {
        return out;
    }
    std::sort(removed.begin(), removed.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    _view.id = _view.id.next();
    const member_id leader = _view.members.empty() ? member_id() : _view.members.front().id;
    if (leader != _view.leader) {
        _view.leader = leader;
        _view.fencing_token = _view.id;
    }
    _view.joined.clear();
    for (const auto& m : joined) {
        _view.joined.push_back(m.id);
    }
    _view.removed = removed;
    out.change = views::view_change{_view.id, std::move(joined), std::move(removed), _view.leader,
                                    _view.fencing_token};
    return out;
}

membership_snapshot membership_state::snapshot() const {
    membership_snapshot s{_view, _next, {}};
    for (const auto& [name, inc] : _incarnations) {
        s.incarnations.emplace_back(name, inc);
    }
    return s;
}

std::optional<std::string> check_snapshot(const membership_snapshot& s) {
    const views::view& v = s.view;
    // A state machine starts at 1: a next id of 0 would give the next member the id 0.
    if (s.next_member == member_id() || s.next_member.value() > max_snapshot_counter) {
        return fmt::format("the next member id {} is 0 or past {}", s.next_member, max_snapshot_counter);
    }
    if (v.id.value() > max_snapshot_counter) {
        return fmt::format("view {} is past {}", v.id, max_snapshot_counter);
    }
    std::set<std::string> names;
    for (std::size_t i = 0; i < v.members.size(); ++i) {
        const views::member& m = v.members[i];
        if (m.id == member_id() || (i > 0 && m.id <= v.members[i - 1].id)) {
            return fmt::format("member id {} at position {} is zero or out of order", m.id, i);
        }
        if (m.id >= s.next_member) {
            return fmt::format("member id {} is not below the next id {}", m.id, s.next_member);
        }
        if (m.name.empty() || !names.insert(m.name).second) {
            return fmt::format("member {} has an empty or repeated name", m.id);
        }
        if (m.joined_view > v.id) {
            return fmt::format("member {} joined in view {}, after view {}", m.id, m.joined_view, v.id);
        }
    }
    const member_id leader = v.members.empty() ? member_id() : v.members.front().id;
    if (v.leader != leader) {
        return fmt::format("leader {} is not the lowest member id {}", v.leader, leader);
    }
    if (v.fencing_token > v.id) {
        return fmt::format("fencing token {} is past view {}", v.fencing_token, v.id);
    }
    for (std::size_t i = 1; i < s.incarnations.size(); ++i) {
        if (s.incarnations[i].first <= s.incarnations[i - 1].first) {
            return std::string("the incarnations are not sorted by name, or list a name twice");
        }
    }
    return std::nullopt;
}

} // namespace roster::membership
