#include "node/proposal_batcher.hh"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "wire/codec.hh"

namespace roster::node {

namespace {

// Moves keys from the front of a queue into a command being built (proposal_batcher::filling) while
// their requests fit, skipping keys whose request was answered meanwhile (committed through an
// earlier proposal); records the keys taken.
template <class Key, class Pending, class Fill>
void take_queued(std::deque<Key>& queue, const std::map<Key, Pending>& pending, Fill& fill,
                 std::vector<Key>& taken) {
    while (!queue.empty()) {
        const Key key = queue.front();
        if (auto it = pending.find(key); it != pending.end()) {
            if (!fill.add(it->second.change)) {
                return;
            }
            taken.push_back(key);
        }
        queue.pop_front();
    }
}

// Puts the keys of an unfinished proposal back at the front of the queue, in their order, those
// still waiting for an answer.
template <class Key, class Pending>
void put_back(const std::vector<Key>& taken, const std::map<Key, Pending>& pending, std::deque<Key>& queue) {
    for (auto it = taken.rbegin(); it != taken.rend(); ++it) {
        if (pending.count(*it) != 0) {
            queue.push_front(*it);
        }
    }
}

template <class Key, class Pending>
bool add_to(std::map<Key, Pending>& pending, const Key& key, const origin& from) {
    auto it = pending.find(key);
    if (it == pending.end()) {
        return false;
    }
    it->second.origins.push_back(from);
    return true;
}

template <class Key, class Pending>
std::vector<origin> take_from(std::map<Key, Pending>& pending, const Key& key) {
    auto it = pending.find(key);
    if (it == pending.end()) {
        return {};
    }
    std::vector<origin> out = std::move(it->second.origins);
    pending.erase(it);
    return out;
}

} // namespace

// A command being built: at most max_ops_per_command ops and max_command_bytes (by
// wire::op_bytes_bound), but at least one op, whatever its size.
struct proposal_batcher::filling {
    explicit filling(const batcher_config& c)
        : config(c) {}

    const batcher_config& config;
    membership::command cmd;
    std::size_t bytes = wire::command_bytes_overhead;

    // Whether one more op of `n` bytes (by wire::op_bytes_bound) fits.
    [[nodiscard]] bool fits(std::size_t n) const {
        return cmd.ops.empty() || (cmd.ops.size() < config.max_ops_per_command && bytes + n <= config.max_command_bytes);
    }
    // Adds `o`, of `n` bytes by wire::op_bytes_bound, if it fits; false (and nothing added) when
    // the command is full.
    bool add(const membership::op& o, std::size_t n) {
        if (!fits(n)) {
            return false;
        }
        bytes += n;
        cmd.ops.push_back(o);
        return true;
    }
    bool add(const membership::op& o) { return add(o, wire::op_bytes_bound(o)); }
};

bool proposal_batcher::add_origin(const membership::join_op& op, const origin& from) {
    return add_to(_joins, key_of(op), from);
}

bool proposal_batcher::add_origin(const membership::leave_op& op, const origin& from) {
    return add_to(_leaves, key_of(op), from);
}

bool proposal_batcher::add_origin(const membership::remove_op& op, const origin& from) {
    return add_to(_removes, key_of(op), from);
}

void proposal_batcher::queue(membership::join_op op, origin from, mono_time now) {
    const join_key key = key_of(op);
    _joins.emplace(key, pending{std::move(op), {std::move(from)}});
    _join_queue.push_back(key);
    open_join_window(now);
}

void proposal_batcher::queue(membership::leave_op op, origin from, mono_time now) {
    const leave_key key = key_of(op);
    _leaves.emplace(key, pending{op, {std::move(from)}});
    _leave_queue.push_back(key);
    open_join_window(now);
}

void proposal_batcher::queue(membership::remove_op op, origin from, mono_time now) {
    const leave_key key = key_of(op);
    _removes.emplace(key, pending{op, {std::move(from)}});
    _remove_queue.push_back(key);
    open_join_window(now);
}

void proposal_batcher::open_join_window(mono_time now) {
    if (!_join_open) {
        _join_open = now;
    }
}

std::optional<membership::command> proposal_batcher::next(mono_time now,
                                                          const std::vector<membership::remove_op>& due,
                                                          const std::function<bool()>& others_late,
                                                          const member_limit& limit) {
    if (_in_flight || _building) {
        return std::nullopt;
    }
    if (due.empty()) {
        _removal_open.reset();
    } else if (!_removal_open) {
        _removal_open = now;
    }
    bool go = false;
    if (_removal_open) {
        const bool settled = now >= *_removal_open + _config.removal_settle;
        const bool waited_enough = now >= *_removal_open + _config.removal_settle_max;
        go = settled && (waited_enough || !others_late());
    }
    if (_join_open && now >= *_join_open + _config.join_settle) {
        go = true;
    }
    if (!go || (due.empty() && nothing_queued())) {
        return std::nullopt;
    }
    filling fill(_config);
    flight f;
    for (const auto& r : due) {
        if (!fill.add(r)) {
            break;
        }
    }
    take_queued(_remove_queue, _removes, fill, f.removes);
    take_queued(_leave_queue, _leaves, fill, f.leaves);
    take_joins(limit, fill, f.joins);
    if (fill.cmd.ops.empty()) {
        // Every join waiting was refused for lack of room: nothing to propose.
        _join_open = nothing_queued() ? std::nullopt : std::optional<mono_time>(now);
        return std::nullopt;
    }
    _building = std::move(f);
    return std::move(fill.cmd);
}

void proposal_batcher::take_joins(const member_limit& limit, filling& fill, std::vector<join_key>& taken) {
    std::optional<std::size_t> members; // asked for once, when the first join that adds one comes
    std::set<std::string> added;        // names this command adds (a second join of one adds none)
    while (!_join_queue.empty()) {
        const join_key key = _join_queue.front();
        auto it = _joins.find(key);
        if (it == _joins.end()) {
            _join_queue.pop_front(); // answered meanwhile
            continue;
        }
        const std::size_t bytes = wire::op_bytes_bound(it->second.change);
        if (!fill.fits(bytes)) {
            return; // the command is full: the join waits for the next, first in line
        }
        _join_queue.pop_front();
        const auto& op = std::get<membership::join_op>(it->second.change);
        if (limit.max_members != SIZE_MAX && !added.count(op.name) && (!limit.adds || limit.adds(op))) {
            if (!members) {
                members = limit.members ? limit.members() : 0;
            }
            if (*members + added.size() >= limit.max_members) {
                _refused.push_back({op, std::move(it->second.origins), limit.reason});
                _joins.erase(it);
                continue;
            }
            added.insert(op.name);
        }
        fill.add(op, bytes); // fits, checked above
        taken.push_back(key);
    }
}

std::vector<proposal_batcher::answer> proposal_batcher::take_refused(view_id view,
                                                                     const std::string& leader_hint) {
    std::vector<answer> out;
    for (auto& r : _refused) {
        for (auto& o : r.origins) {
            const std::uint64_t id = request_id_of(o);
            out.emplace_back(std::move(o),
                             membership::join_reply{id, membership::request_status::rejected, member_id(),
                                                    r.op.incarnation, view, leader_hint, r.reason});
        }
    }
    _refused.clear();
    return out;
}

void proposal_batcher::proposed(log_index index, mono_time now) {
    _in_flight = std::move(_building);
    _building.reset();
    _in_flight->index = index;
    _in_flight->proposed = now;
    _removal_open.reset();
    _join_open = nothing_queued() ? std::nullopt : std::optional<mono_time>(now);
}

void proposal_batcher::unproposed(mono_time now) {
    _in_flight = std::move(_building);
    _building.reset();
    requeue(now);
}

std::optional<duration> proposal_batcher::applied(log_index index, mono_time now) {
    if (!_in_flight || index < _in_flight->index) {
        return std::nullopt;
    }
    // Whatever landed at that index, the slot is used: what it did not carry is proposed again.
    const duration latency = now - _in_flight->proposed;
    requeue(now);
    return latency;
}

void proposal_batcher::tick(mono_time now) {
    if (_in_flight && now - _in_flight->proposed >= _config.proposal_timeout) {
        // The proposal never applied (lost with a term change that kept this leader, or stuck).
        requeue(now);
    }
}

void proposal_batcher::requeue(mono_time now) {
    if (!_in_flight) {
        return;
    }
    put_back(_in_flight->joins, _joins, _join_queue);
    put_back(_in_flight->leaves, _leaves, _leave_queue);
    put_back(_in_flight->removes, _removes, _remove_queue);
    _in_flight.reset();
    if (!nothing_queued()) {
        open_join_window(now);
    }
}

std::vector<proposal_batcher::answer>
proposal_batcher::answers(const membership::command& cmd, const std::vector<membership::op_outcome>& outcomes,
                          view_id view, const std::string& leader_hint) {
    using membership::request_status;
    std::vector<answer> out;
    for (std::size_t i = 0; i < cmd.ops.size() && i < outcomes.size(); ++i) {
        const auto& outcome = outcomes[i];
        if (const auto* j = std::get_if<membership::join_op>(&cmd.ops[i])) {
            std::string error;
            if (outcome.what == membership::op_outcome::kind::stale) {
                error = fmt::format("incarnation {} of '{}' is not newer than one already seen",
                                    j->incarnation, j->name);
            } else if (outcome.what == membership::op_outcome::kind::taken) {
                error = fmt::format("the name '{}' belongs to member {}, which joined with another key",
                                    j->name, outcome.member);
            }
            const bool refused = !error.empty();
            for (auto& o : take_from(_joins, key_of(*j))) {
                const std::uint64_t id = request_id_of(o);
                out.emplace_back(
                    std::move(o),
                    membership::join_reply{id, refused ? request_status::rejected : request_status::ok,
                                           refused ? member_id() : outcome.member, j->incarnation, view,
                                           leader_hint, error});
            }
        } else if (const auto* l = std::get_if<membership::leave_op>(&cmd.ops[i])) {
            const bool removed = outcome.what == membership::op_outcome::kind::removed;
            for (auto& o : take_from(_leaves, key_of(*l))) {
                const std::uint64_t id = request_id_of(o);
                out.emplace_back(
                    std::move(o),
                    membership::leave_reply{id, removed ? request_status::ok : request_status::not_found,
                                            view, std::string()});
            }
        } else if (const auto* r = std::get_if<membership::remove_op>(&cmd.ops[i])) {
            // An operator's removal (or a suspicion that removed the same member first: removed
            // all the same).
            const bool removed = outcome.what == membership::op_outcome::kind::removed;
            for (auto& o : take_from(_removes, key_of(*r))) {
                const std::uint64_t id = request_id_of(o);
                out.emplace_back(std::move(o),
                                 membership::remove_reply{id, removed ? request_status::ok : request_status::not_found,
                                                          view, removed ? r->member : member_id(),
                                                          removed ? std::string() : "no longer a member"});
            }
        }
    }
    return out;
}

std::vector<proposal_batcher::answer> proposal_batcher::abandon(view_id view,
                                                                const std::string& leader_hint) {
    using membership::request_status;
    std::vector<answer> out;
    for (auto& [key, p] : _joins) {
        const auto& j = std::get<membership::join_op>(p.change);
        for (auto& o : p.origins) {
            const std::uint64_t id = request_id_of(o);
            out.emplace_back(std::move(o),
                             membership::join_reply{id, request_status::not_leader, member_id(),
                                                    j.incarnation, view, leader_hint, "leadership changed"});
        }
    }
    for (auto& [key, p] : _leaves) {
        for (auto& o : p.origins) {
            const std::uint64_t id = request_id_of(o);
            out.emplace_back(std::move(o), membership::leave_reply{id, request_status::not_leader, view,
                                                                   "leadership changed"});
        }
    }
    for (auto& [key, p] : _removes) {
        for (auto& o : p.origins) {
            const std::uint64_t id = request_id_of(o);
            out.emplace_back(std::move(o), membership::remove_reply{id, request_status::not_leader, view,
                                                                    member_id(), "leadership changed"});
        }
    }
    _joins.clear();
    _leaves.clear();
    _removes.clear();
    _join_queue.clear();
    _leave_queue.clear();
    _remove_queue.clear();
    _join_open.reset();
    _removal_open.reset();
    _building.reset();
    _in_flight.reset();
    return out;
}

} // namespace roster::node
