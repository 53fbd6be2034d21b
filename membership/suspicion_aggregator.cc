#include "membership/suspicion_aggregator.hh"

#include <algorithm>
#include <set>

namespace roster::membership {

suspicion_aggregator::suspicion_aggregator(std::size_t voters, duration ttl)
    : _quorum(voters / 2 + 1)
    , _ttl(ttl) {}

void suspicion_aggregator::report(voter_id from, const suspicion_report& r, mono_time now) {
    const auto drop = [&](auto& table, member_id m) {
        if (auto it = table.find(m); it != table.end()) {
            it->second.erase(from);
            if (it->second.empty()) {
                table.erase(it);
            }
        }
    };
    if (r.full) {
        // The full set replaces whatever this voter said before.
        const auto replace = [&](auto& table, const std::set<member_id>& listed) {
            for (auto it = table.begin(); it != table.end();) {
                if (!listed.count(it->first)) {
                    it->second.erase(from);
                }
                it = it->second.empty() ? table.erase(it) : std::next(it);
            }
        };
        std::set<member_id> suspected;
        for (const auto& s : r.suspicions) {
            if (s.suspected) {
                suspected.insert(s.member);
            }
        }
        std::set<member_id> late;
        for (const auto& s : r.late) {
            late.insert(s.member);
        }
        replace(_suspicions, suspected);
        replace(_late, late);
    }
    for (const auto& s : r.suspicions) {
        if (s.suspected) {
            _suspicions[s.member][from] = {s.incarnation, now, s.phi, s.samples, s.silence_ms};
            drop(_late, s.member);
        } else {
            drop(_suspicions, s.member); // heard from again: neither suspected nor late
            drop(_late, s.member);
        }
    }
    for (const auto& s : r.late) {
        _late[s.member][from] = {s.incarnation, now, s.phi, s.samples, s.silence_ms};
    }
}

bool suspicion_aggregator::does_not_hear(voter_id voter, member_id member, incarnation_number incarnation,
                                         mono_time now) const {
    for (const auto* table : {&_suspicions, &_late}) {
        if (auto it = table->find(member); it != table->end()) {
            if (auto v = it->second.find(voter); v != it->second.end() && v->second.incarnation == incarnation &&
                                                  now - v->second.refreshed <= _ttl) {
                return true;
            }
        }
    }
    return false;
}

std::size_t suspicion_aggregator::suspecters(member_id member, incarnation_number incarnation,
                                             mono_time now) const {
    auto it = _suspicions.find(member);
    if (it == _suspicions.end()) {
        return 0;
    }
    std::size_t n = 0;
    for (const auto& [voter, v] : it->second) {
        n += v.incarnation == incarnation && now - v.refreshed <= _ttl ? 1 : 0;
    }
    return n;
}

std::vector<suspicion_aggregator::witness>
suspicion_aggregator::witnesses(member_id member, incarnation_number incarnation, mono_time now) const {
    std::vector<witness> out;
    auto it = _suspicions.find(member);
    if (it == _suspicions.end()) {
        return out;
    }
    for (const auto& [voter, v] : it->second) {
        if (v.incarnation == incarnation && now - v.refreshed <= _ttl) {
            out.push_back({voter, v.phi, v.samples, v.silence_ms, now - v.refreshed});
        }
    }
    return out;
}

std::vector<std::pair<member_id, incarnation_number>>
suspicion_aggregator::majority_suspected(mono_time now) const {
    std::vector<std::pair<member_id, incarnation_number>> out;
    for (const auto& [member, votes] : _suspicions) {
        std::map<incarnation_number, std::size_t> by_incarnation;
        for (const auto& [voter, v] : votes) {
            if (now - v.refreshed <= _ttl) {
                ++by_incarnation[v.incarnation];
            }
        }
        for (const auto& [inc, n] : by_incarnation) {
            if (n >= _quorum) {
                out.emplace_back(member, inc);
            }
        }
    }
    return out;
}

std::vector<remove_op> suspicion_aggregator::removals_due(const views::view& v, mono_time now) const {
    std::vector<remove_op> out;
    for (const auto& [member, inc] : majority_suspected(now)) {
        auto it = std::lower_bound(v.members.begin(), v.members.end(), member,
                                   [](const views::member& m, member_id id) { return m.id < id; });
        if (it != v.members.end() && it->id == member && it->incarnation == inc) {
            out.push_back({member, inc, views::removal_reason::suspected});
        }
    }
    return out;
}

std::vector<remove_op> suspicion_aggregator::hold_back(std::vector<remove_op> due, const std::vector<voter_id>& talking,
                                                       mono_time now, std::vector<held_removal>* held) const {
    std::erase_if(due, [&](const remove_op& r) {
        const auto hears = std::find_if(talking.begin(), talking.end(), [&](voter_id t) {
            return !does_not_hear(t, r.member, r.incarnation, now);
        });
        if (hears != talking.end() && held != nullptr) {
            held->push_back({r.member, *hears});
        }
        return hears != talking.end();
    });
    return due;
}

} // namespace roster::membership
