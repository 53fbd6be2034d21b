#include "membership/suspicion_aggregator.hh"

#include <algorithm>
#include <set>

namespace roster::membership {

suspicion_aggregator::suspicion_aggregator(std::size_t voters, duration ttl)
    : _quorum(voters / 2 + 1)
    , _ttl(ttl) {}

void suspicion_aggregator::report(voter_id from, const suspicion_report& r, mono_time now) {
    if (r.full) {
        // The full set replaces whatever this voter said before.
        std::set<member_id> listed;
        for (const auto& s : r.suspicions) {
            if (s.suspected) {
                listed.insert(s.member);
            }
        }
        for (auto it = _suspicions.begin(); it != _suspicions.end();) {
            if (!listed.count(it->first)) {
                it->second.erase(from);
            }
            it = it->second.empty() ? _suspicions.erase(it) : std::next(it);
        }
    }
    for (const auto& s : r.suspicions) {
        if (s.suspected) {
            _suspicions[s.member][from] = {s.incarnation, now, s.phi, s.samples, s.silence_ms};
        } else if (auto it = _suspicions.find(s.member); it != _suspicions.end()) {
            it->second.erase(from);
            if (it->second.empty()) {
                _suspicions.erase(it);
            }
        }
    }
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

} // namespace roster::membership
