#include "node/voter_node.hh"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include <fmt/format.h>

#include "common/invariant.hh"
#include "views/view_ops.hh"
#include "wire/codec.hh"

namespace roster::node {

using membership::heartbeat;
using membership::heartbeat_reply;
using membership::join_reply;
using membership::join_request;
using membership::leave_reply;
using membership::leave_request;
using membership::member_status;
using membership::request_status;
using membership::suspicion_report;
using views::full_view;
using views::node_event;
using views::sync_reply;
using views::sync_request;
using wire::body;
using wire::node_role;
using wire::status_reply;
using wire::status_request;

namespace {

// Moves keys from the front of a leader's queue into a command, up to max ops in all, skipping
// keys whose request was answered meanwhile (committed through an earlier proposal); records the
// keys taken in `flight`.
template <class Key, class Pending>
void take_queued(std::deque<Key>& queue, const std::map<Key, Pending>& pending, std::size_t max,
                 membership::command& cmd, std::vector<Key>& flight) {
    while (!queue.empty() && cmd.ops.size() < max) {
        const Key key = queue.front();
        queue.pop_front();
        if (auto it = pending.find(key); it != pending.end()) {
            cmd.ops.push_back(it->second.change);
            flight.push_back(key);
        }
    }
}

// Puts the keys of an unfinished proposal back at the front of the queue, in their order, those
// still waiting for an answer.
template <class Key, class Pending>
void requeue(const std::vector<Key>& flight, const std::map<Key, Pending>& pending, std::deque<Key>& queue) {
    for (auto it = flight.rbegin(); it != flight.rend(); ++it) {
        if (pending.count(*it) != 0) {
            queue.push_front(*it);
        }
    }
}

} // namespace

using consensus::role;

std::optional<std::string> voter_config::validate() const {
    consensus::raft_config r = raft;
    r.id = id;
    r.voters = voters;
    if (auto bad = r.validate()) {
        return bad;
    }
    if (auto bad = detector.validate()) {
        return std::string(*bad);
    }
    if (name.empty()) {
        return std::string("the voter needs a name");
    }
    if (raft_tick <= 0ns || heartbeat_interval <= 0ns || report_interval <= 0ns) {
        return std::string("tick, heartbeat and report intervals must be positive");
    }
    if (suspicion_ttl <= report_interval) {
        return std::string("the suspicion ttl must be longer than the report interval");
    }
    if (max_ops_per_command < 1 || compact_every < 1) {
        return std::string("max_ops_per_command and compact_every must be at least 1");
    }
    return std::nullopt;
}

voter_node::voter_node(const voter_config& config, prng random, consensus::persisted_state recovered,
                       mono_time now, log_sink* log)
    : _config(config)
    , _log(log)
    , _registry(config.detector)
    , _aggregator(config.voters.size(), config.suspicion_ttl)
    , _publisher(config.publisher_ring)
    , _now(now)
    , _next_raft_tick(now + config.raft_tick)
    , _next_report(now + config.report_interval)
    , _next_heartbeat(now)
    , _self_incarnation(config.incarnation) {
    if (auto bad = config.validate()) {
        invariant_broken("voter_node", "invalid configuration: {}", *bad);
    }
    consensus::raft_config rc = config.raft;
    rc.id = config.id;
    rc.voters = config.voters;
    _replay_until = recovered.hard.commit;
    _last_snapshot = recovered.snap ? recovered.snap->meta.index : log_index();
    _raft = std::make_unique<consensus::raft>(rc, random, std::move(recovered), log);
    drain();
}

voter_node::~voter_node() = default;

bool voter_node::is_leader() const { return _raft->role() == role::leader; }

status_reply voter_node::status(std::uint64_t request_id) const {
    node_role r = node_role::follower;
    switch (_raft->role()) {
    case role::follower:
        r = node_role::follower;
        break;
    case role::pre_candidate:
        r = node_role::pre_candidate;
        break;
    case role::candidate:
        r = node_role::candidate;
        break;
    case role::leader:
        r = node_role::leader;
        break;
    }
    return {request_id,          _config.name, r,     _raft->term(),   _raft->commit_index(),
            _state.current().id, _config.id,   _self, _raft->leader(), _config.publish_endpoint};
}

// ---- inputs ------------------------------------------------------------------------------

void voter_node::tick(mono_time now) {
    _now = now;
    // Raft ticks at its own pace; after a long stall, skip ahead rather than tick in a burst.
    if (now - _next_raft_tick > 20 * _config.raft_tick) {
        _next_raft_tick = now;
    }
    while (now >= _next_raft_tick) {
        _raft->tick();
        _next_raft_tick += _config.raft_tick;
    }
    drain();
    evaluate_detectors();
    // A new leader starts with an empty picture: give it ours at once, not at the next repeat.
    if (_raft->leader() != _reported_to && _raft->leader() != voter_id()) {
        _reported_to = _raft->leader();
        _next_report = now;
    }
    if (now >= _next_report) {
        _next_report = now + _config.report_interval;
        membership::suspicion_report full{true, {}};
        for (member_id m : _registry.suspected()) {
            if (const auto* member = _state.find(m)) {
                full.suspicions.push_back({m, member->incarnation, *_registry.phi(m, now), true});
            }
        }
        send_report(std::move(full));
    }
    for (auto it = _forwards.begin(); it != _forwards.end();) {
        it = now >= it->second.expires ? _forwards.erase(it) : std::next(it);
    }
    self_membership();
    voter_heartbeats();
    leader_decide();
    drain();
}

void voter_node::leave(mono_time now) {
    _now = now;
    _leaving = true;
    if (_self == member_id() || !_state.find(_self)) {
        _left = true;
        return;
    }
    send_self_leave();
    drain();
}

void voter_node::send_self_leave() {
    _leave_sent = _now;
    handle_leave(leave_request{0, _self, _self_incarnation}, origin{std::monostate{}, 0});
}

void voter_node::on_peer(voter_id from, const body& msg, mono_time now) {
    _now = now;
    if (std::find(_config.voters.begin(), _config.voters.end(), from) == _config.voters.end() ||
        from == _config.id) {
        return;
    }
    std::visit(
        [&](const auto& m) {
            using T = std::decay_t<decltype(m)>;
            if constexpr (std::is_same_v<T, consensus::vote_request> ||
                          std::is_same_v<T, consensus::vote_reply> ||
                          std::is_same_v<T, consensus::append_request> ||
                          std::is_same_v<T, consensus::append_reply> ||
                          std::is_same_v<T, consensus::snapshot_request> ||
                          std::is_same_v<T, consensus::snapshot_reply>) {
                _raft->step({from, _config.id, m});
            } else if constexpr (std::is_same_v<T, heartbeat>) {
                handle_heartbeat(m, std::nullopt, from);
            } else if constexpr (std::is_same_v<T, heartbeat_reply>) {
                if (m.member == _self && m.incarnation == _self_incarnation &&
                    m.status == member_status::removed) {
                    // The others know this voter's member was removed; the view will say so too.
                    self_membership();
                }
            } else if constexpr (std::is_same_v<T, suspicion_report>) {
                if (is_leader()) {
                    _aggregator.report(from, m, _now);
                }
            } else if constexpr (std::is_same_v<T, join_request>) {
                handle_join(m, origin{std::pair{from, m.request_id}, m.request_id});
            } else if constexpr (std::is_same_v<T, leave_request>) {
                handle_leave(m, origin{std::pair{from, m.request_id}, m.request_id});
            } else if constexpr (std::is_same_v<T, join_reply> || std::is_same_v<T, leave_reply>) {
                auto it = _forwards.find(m.request_id);
                if (it == _forwards.end()) {
                    return;
                }
                forwarded f = it->second;
                _forwards.erase(it);
                if (std::holds_alternative<route_id>(f.to)) {
                    T reply = m;
                    reply.request_id = f.request_id;
                    _out.replies.emplace_back(std::get<route_id>(f.to), reply);
                } else if constexpr (std::is_same_v<T, join_reply>) {
                    // This voter's own join.
                    _self_join_sent.reset();
                    if (m.status == request_status::ok && m.incarnation == _self_incarnation) {
                        _self = m.member;
                    }
                }
            }
        },
        msg);
    leader_decide();
    drain();
}

void voter_node::on_request(route_id from, const body& msg, mono_time now) {
    _now = now;
    std::visit(
        [&](const auto& m) {
            using T = std::decay_t<decltype(m)>;
            if constexpr (std::is_same_v<T, heartbeat>) {
                handle_heartbeat(m, from, std::nullopt);
            } else if constexpr (std::is_same_v<T, join_request>) {
                handle_join(m, origin{from, m.request_id});
            } else if constexpr (std::is_same_v<T, leave_request>) {
                handle_leave(m, origin{from, m.request_id});
            } else if constexpr (std::is_same_v<T, sync_request>) {
                ++_counters.sync_requests;
                _out.replies.emplace_back(from, _publisher.answer(m));
            } else if constexpr (std::is_same_v<T, status_request>) {
                _out.replies.emplace_back(from, status(m.request_id));
            }
        },
        msg);
    leader_decide();
    drain();
}

// ---- consensus output and the state machine ----------------------------------------------

void voter_node::drain() {
    while (_raft->has_ready()) {
        consensus::ready rd = _raft->take_ready();
        const bool persist = rd.must_persist();
        for (auto& m : rd.messages) {
            _out.to_voters.emplace_back(
                m.to, std::visit([](auto&& b) { return body(std::move(b)); }, std::move(m.body)));
        }
        rd.messages.clear();
        if (rd.apply_snapshot) {
            restore(*rd.apply_snapshot);
        }
        for (const auto& e : rd.committed) {
            apply_entry(e, e.index <= _replay_until);
        }
        if (rd.soft) {
            if (rd.soft->role == role::leader && !_was_leader) {
                _aggregator.clear();
            } else if (rd.soft->role != role::leader && _was_leader) {
                lost_leadership();
            }
            _was_leader = rd.soft->role == role::leader;
        }
        rd.committed.clear();
        rd.apply_snapshot.reset();
        if (persist) {
            _out.persist.push_back(std::move(rd));
        }
        // Compact once enough was applied past the last snapshot.
        const log_index applied = _raft->applied_index();
        if (applied - _last_snapshot >= _config.compact_every) {
            _raft->compact(applied, std::make_shared<const bytes>(wire::encode_snapshot(_state.snapshot())));
            _last_snapshot = applied;
        }
    }
}

void voter_node::restore(const consensus::snapshot& s) {
    auto decoded = wire::decode_snapshot(*s.data);
    if (!decoded) {
        // Every voter produced the same bytes; one that cannot read them is broken.
        std::fprintf(stderr, "voter %u: cannot read the membership snapshot at index %llu: %s\n",
                     _config.id.value(), static_cast<unsigned long long>(s.meta.index.value()),
                     decoded.error().describe().c_str());
        std::abort();
    }
    _state = membership::membership_state(std::move(decoded).value());
    _last_snapshot = std::max(_last_snapshot, s.meta.index);
    _publisher.reset(_state.current());
    // Monitor exactly the members of the restored view.
    std::vector<member_id> gone;
    _registry.for_each([&](member_id m, const auto&, bool) {
        if (!_state.find(m)) {
            gone.push_back(m);
        }
    });
    _registry.forget(gone);
    for (const auto& m : _state.current().members) {
        if (m.name != _config.name) {
            _registry.add(m.id, _now);
        }
    }
    if (const auto* me = _state.find_by_name(_config.name); me && me->incarnation == _self_incarnation) {
        _self = me->id;
    }
    if (s.meta.index > _replay_until) {
        _out.published.emplace_back(full_view{_state.current()});
        ++_counters.views_published;
    }
    log_to(_log, log_level::info, "voter {}: restored membership snapshot at index {} (view {})", _config.id,
           s.meta.index, _state.current().id);
}

void voter_node::apply_entry(const consensus::entry& e, bool replay) {
    if (e.kind != consensus::entry_kind::normal) {
        return;
    }
    auto decoded = wire::decode_command(e.data);
    if (!decoded) {
        // Deterministic on every voter: the entry is skipped everywhere alike.
        ++_counters.commands_undecodable;
        log_to(_log, log_level::error,
               "voter {}: committed entry {} is not a membership command ({}); skipped", _config.id, e.index,
               decoded.error().describe());
        return;
    }
    const membership::command& cmd = decoded.value();
    auto applied = _state.apply(cmd);
    if (applied.change) {
        on_view_change(*applied.change, replay);
    }
    // Answer whoever asked for these ops (the leader holds the origins).
    for (std::size_t i = 0; i < cmd.ops.size(); ++i) {
        const auto& outcome = applied.outcomes[i];
        if (const auto* j = std::get_if<membership::join_op>(&cmd.ops[i])) {
            auto it = _pending_joins.find({j->name, j->incarnation.value()});
            if (it == _pending_joins.end()) {
                continue;
            }
            for (const auto& o : it->second.origins) {
                if (outcome.what == membership::op_outcome::kind::stale) {
                    answer_join(o, request_status::rejected, member_id(), j->incarnation, _state.id(),
                                fmt::format("incarnation {} of '{}' is not newer than one already seen",
                                            j->incarnation, j->name));
                } else {
                    answer_join(o, request_status::ok, outcome.member, j->incarnation, _state.id(), "");
                }
            }
            _pending_joins.erase(it);
        } else if (const auto* l = std::get_if<membership::leave_op>(&cmd.ops[i])) {
            auto it = _pending_leaves.find({l->member.value(), l->incarnation.value()});
            if (it == _pending_leaves.end()) {
                continue;
            }
            for (const auto& o : it->second.origins) {
                answer_leave(o,
                             outcome.what == membership::op_outcome::kind::removed ? request_status::ok
                                                                                      : request_status::not_found,
                             _state.id(), "");
            }
            _pending_leaves.erase(it);
        }
    }
    if (_in_flight && e.index >= _in_flight->index) {
        if (_samples.commit_latencies.size() < max_samples) {
            _samples.commit_latencies.push_back(_now - _in_flight->proposed);
        }
        // Whatever landed at that index, the slot is used: what it did not carry is proposed again.
        requeue_in_flight();
    }
}

void voter_node::on_view_change(const views::view_change& c, bool replay) {
    _publisher.publish(c);
    std::vector<member_id> gone;
    gone.reserve(c.removed.size());
    std::vector<duration> silence(c.removed.size());
    for (std::size_t i = 0; i < c.removed.size(); ++i) {
        const auto& r = c.removed[i];
        if (const auto* d = _registry.find(r.id); d && d->last_heartbeat()) {
            silence[i] = _now - *d->last_heartbeat();
        }
        gone.push_back(r.id);
        _aggregator.forget(r.id);
        if (r.id == _self && _leaving) {
            _left = true;
            _self = member_id();
        } else if (r.id == _self) {
            log_to(_log, log_level::warn, "voter {}: its member {} was removed ({})", _config.id, r.id,
                   views::to_string(r.reason));
            _self = member_id();
            _self_incarnation = _self_incarnation.next();
            _self_join_sent.reset();
        }
    }
    _registry.forget(gone);
    for (const auto& m : c.joined) {
        if (m.name == _config.name && m.incarnation == _self_incarnation) {
            _self = m.id;
        } else {
            _registry.add(m.id, _now);
        }
    }
    if (replay) {
        return;
    }
    _out.published.emplace_back(c);
    ++_counters.views_published;
    _events.push_back({voter_event::kind::view_committed, c.id, member_id(), "", {}, 0, {}});
    for (const auto& m : c.joined) {
        _events.push_back({voter_event::kind::member_joined, c.id, m.id, m.name, {}, 0, {}});
    }
    for (std::size_t i = 0; i < c.removed.size(); ++i) {
        _events.push_back({voter_event::kind::member_removed, c.id, c.removed[i].id, "", c.removed[i].reason,
                           0, silence[i]});
    }
}

// ---- requests ----------------------------------------------------------------------------

void voter_node::handle_heartbeat(const heartbeat& hb, std::optional<route_id> route,
                                  std::optional<voter_id> voter) {
    const views::member* m = _state.find(hb.member);
    if (m != nullptr && m->incarnation == hb.incarnation) {
        const auto* d = _registry.find(hb.member);
        const auto previous = d != nullptr ? d->last_heartbeat() : std::nullopt;
        if (_registry.heartbeat(hb.member, _now)) {
            ++_counters.heartbeats;
            if (previous && _samples.intervals.size() < max_samples) {
                _samples.intervals.push_back(_now - *previous);
            }
        }
        return;
    }
    if (!_state.departed(hb.member) && !(m != nullptr && m->incarnation > hb.incarnation)) {
        ++_counters.heartbeats_unknown; // joined in a view this voter has not applied yet
        return;
    }
    heartbeat_reply reply{hb.member, hb.incarnation, member_status::removed, _state.id()};
    if (route) {
        _out.replies.emplace_back(*route, reply);
    } else if (voter) {
        _out.to_voters.emplace_back(*voter, reply);
    }
}

void voter_node::handle_join(const join_request& q, origin from) {
    if (q.name.empty()) {
        answer_join(from, request_status::rejected, member_id(), q.incarnation, _state.id(),
                    "a member needs a name");
        return;
    }
    if (is_leader()) {
        const join_key key{q.name, q.incarnation.value()};
        if (auto it = _pending_joins.find(key); it != _pending_joins.end()) {
            it->second.origins.push_back(from); // a retry of one already on its way
            return;
        }
        // Already a member under that incarnation: answer at once (an idempotent retry).
        if (const auto* m = _state.find_by_name(q.name); m && m->incarnation == q.incarnation) {
            answer_join(from, request_status::ok, m->id, m->incarnation, _state.id(), "");
            return;
        }
        _pending_joins.emplace(
            key, pending{membership::join_op{q.name, q.address, q.publish_endpoint, q.incarnation, q.tags}, {from}});
        _join_queue.push_back(key);
        if (!_join_open) {
            _join_open = _now;
        }
        return;
    }
    const voter_id leader = _raft->leader();
    if (leader == voter_id() || std::holds_alternative<std::pair<voter_id, std::uint64_t>>(from.to)) {
        // No leader known, or a forward that reached a voter that is no longer leader.
        answer_join(from, leader == voter_id() ? request_status::unavailable : request_status::not_leader,
                    member_id(), q.incarnation, _state.id(), "no consensus leader right now");
        return;
    }
    const std::uint64_t id = _next_forward++;
    forwarded f{std::monostate{}, from.request_id, _now + _config.forward_timeout};
    if (std::holds_alternative<route_id>(from.to)) {
        f.to = std::get<route_id>(from.to);
    }
    _forwards.emplace(id, f);
    join_request fwd = q;
    fwd.request_id = id;
    _out.to_voters.emplace_back(leader, std::move(fwd));
    ++_counters.joins_forwarded;
}

void voter_node::handle_leave(const leave_request& q, origin from) {
    if (is_leader()) {
        const views::member* m = _state.find(q.member);
        if (m == nullptr || m->incarnation != q.incarnation) {
            answer_leave(from, request_status::not_found, _state.id(), "not a member");
            return;
        }
        const leave_key key{q.member.value(), q.incarnation.value()};
        if (auto it = _pending_leaves.find(key); it != _pending_leaves.end()) {
            it->second.origins.push_back(from);
            return;
        }
        _pending_leaves.emplace(key, pending{membership::leave_op{q.member, q.incarnation}, {from}});
        _leave_queue.push_back(key);
        if (!_join_open) {
            _join_open = _now;
        }
        return;
    }
    const voter_id leader = _raft->leader();
    if (leader == voter_id() || std::holds_alternative<std::pair<voter_id, std::uint64_t>>(from.to)) {
        answer_leave(from, request_status::unavailable, _state.id(), "no consensus leader right now");
        return;
    }
    const std::uint64_t id = _next_forward++;
    forwarded f{std::monostate{}, from.request_id, _now + _config.forward_timeout};
    if (std::holds_alternative<route_id>(from.to)) {
        f.to = std::get<route_id>(from.to);
    }
    _forwards.emplace(id, f);
    leave_request fwd = q;
    fwd.request_id = id;
    _out.to_voters.emplace_back(leader, fwd);
}

void voter_node::answer(const origin& o, body reply) {
    if (const auto* route = std::get_if<route_id>(&o.to)) {
        _out.replies.emplace_back(*route, std::move(reply));
    } else if (const auto* fwd = std::get_if<std::pair<voter_id, std::uint64_t>>(&o.to)) {
        _out.to_voters.emplace_back(fwd->first, std::move(reply));
    } else if (const auto* j = std::get_if<join_reply>(&reply)) {
        // This voter's own join, decided here as leader.
        _self_join_sent.reset();
        if (j->status == request_status::ok && j->incarnation == _self_incarnation) {
            _self = j->member;
        }
    }
}

void voter_node::answer_join(const origin& o, request_status status, member_id id, incarnation_number inc,
                             view_id view, std::string error) {
    const voter_id leader = _raft->leader();
    std::string hint;
    if (auto it = _config.listen_of.find(leader); it != _config.listen_of.end()) {
        hint = it->second;
    }
    answer(o, join_reply{o.request_id, status, id, inc, view, std::move(hint), std::move(error)});
}

void voter_node::answer_leave(const origin& o, request_status status, view_id view, std::string error) {
    answer(o, leave_reply{o.request_id, status, view, std::move(error)});
}

// ---- detection and agreement -------------------------------------------------------------

void voter_node::evaluate_detectors() {
    const auto changes = _registry.evaluate(_now);
    if (changes.empty()) {
        return;
    }
    membership::suspicion_report r{false, {}};
    for (const auto& t : changes) {
        const views::member* m = _state.find(t.member);
        if (m == nullptr) {
            continue;
        }
        r.suspicions.push_back({t.member, m->incarnation, std::isinf(t.phi) ? 1e9 : t.phi, t.suspected});
        if (t.suspected) {
            ++_counters.suspicions_raised;
            _events.push_back({voter_event::kind::suspected, _state.id(), t.member, m->name, {}, t.phi, {}});
        } else {
            ++_counters.suspicions_cleared;
            _events.push_back({voter_event::kind::cleared, _state.id(), t.member, m->name, {}, t.phi, {}});
        }
    }
    if (!r.suspicions.empty()) {
        send_report(std::move(r));
    }
}

void voter_node::send_report(membership::suspicion_report r) {
    const voter_id leader = _raft->leader();
    if (leader == _config.id) {
        _aggregator.report(_config.id, r, _now);
    } else if (leader != voter_id()) {
        _out.to_voters.emplace_back(leader, std::move(r));
    }
    // No leader: the periodic full report will reach the next one.
}

bool voter_node::late_members_besides(const std::vector<member_id>& due) const {
    bool late = false;
    _registry.for_each([&](member_id m, const detector::phi_accrual_detector& d, bool suspected) {
        if (late || std::binary_search(due.begin(), due.end(), m)) {
            return;
        }
        if (suspected) {
            late = true; // suspected here, not (yet) by a majority: reports may be on their way
            return;
        }
        const auto last = d.last_heartbeat();
        if (!last) {
            return;
        }
        const double elapsed_us = std::chrono::duration<double, std::micro>(_now - *last).count();
        const double mean = d.mean_us();
        if (elapsed_us > mean + std::max(4 * d.std_deviation_us(), 0.2 * mean)) {
            late = true; // stopped heartbeating too: likely the same failure
        }
    });
    return late;
}

void voter_node::leader_decide() {
    if (!is_leader() || _in_flight) {
        return;
    }
    // Removals due: a majority of voters suspects the member at its current incarnation.
    std::vector<member_id> due_ids;
    std::vector<membership::op> removals;
    for (const auto& [m, inc] : _aggregator.majority_suspected(_now)) {
        const views::member* member = _state.find(m);
        if (member == nullptr || member->incarnation != inc) {
            continue;
        }
        due_ids.push_back(m);
        removals.push_back(membership::remove_op{m, inc, views::removal_reason::suspected});
    }
    if (removals.empty()) {
        _removal_open.reset();
    } else if (!_removal_open) {
        _removal_open = _now;
    }
    bool go = false;
    if (_removal_open) {
        const bool settled = _now >= *_removal_open + _config.removal_settle;
        const bool waited_enough = _now >= *_removal_open + _config.removal_settle_max;
        go = settled && (waited_enough || !late_members_besides(due_ids));
    }
    if (_join_open && _now >= *_join_open + _config.join_settle) {
        go = true;
    }
    if (!go || (removals.empty() && _join_queue.empty() && _leave_queue.empty())) {
        return;
    }
    membership::command cmd;
    in_flight flight;
    for (auto& r : removals) {
        if (cmd.ops.size() >= _config.max_ops_per_command) {
            break;
        }
        cmd.ops.push_back(std::move(r));
    }
    take_queued(_leave_queue, _pending_leaves, _config.max_ops_per_command, cmd, flight.leaves);
    take_queued(_join_queue, _pending_joins, _config.max_ops_per_command, cmd, flight.joins);
    auto index = _raft->propose(wire::encode_command(cmd));
    if (!index) {
        return;
    }
    _counters.removals_proposed += std::min(removals.size(), _config.max_ops_per_command);
    ++_counters.commands_proposed;
    flight.index = *index;
    flight.proposed = _now;
    _in_flight = std::move(flight);
    _removal_open.reset();
    _join_open = (_join_queue.empty() && _leave_queue.empty()) ? std::nullopt : std::optional<mono_time>(_now);
}

void voter_node::requeue_in_flight() {
    if (!_in_flight) {
        return;
    }
    requeue(_in_flight->joins, _pending_joins, _join_queue);
    requeue(_in_flight->leaves, _pending_leaves, _leave_queue);
    _in_flight.reset();
    if ((!_join_queue.empty() || !_leave_queue.empty()) && !_join_open) {
        _join_open = _now;
    }
}

void voter_node::lost_leadership() {
    // Pending requests cannot be decided here any more: tell their askers to retry.
    for (const auto& [key, p] : _pending_joins) {
        for (const auto& o : p.origins) {
            answer_join(o, request_status::not_leader, member_id(), incarnation_number(), _state.id(),
                        "leadership changed");
        }
    }
    for (const auto& [key, p] : _pending_leaves) {
        for (const auto& o : p.origins) {
            answer_leave(o, request_status::not_leader, _state.id(), "leadership changed");
        }
    }
    _pending_joins.clear();
    _pending_leaves.clear();
    _join_queue.clear();
    _leave_queue.clear();
    _in_flight.reset();
    _join_open.reset();
    _removal_open.reset();
    _aggregator.clear();
}

// ---- this voter as a member --------------------------------------------------------------

void voter_node::self_membership() {
    if (_in_flight && _now - _in_flight->proposed >= _config.proposal_timeout) {
        // The proposal never applied (lost with a term change that kept this leader, or stuck):
        // put its requests back.
        requeue_in_flight();
    }
    if (_leaving) {
        if (!_left && _self != member_id() && (!_leave_sent || _now - *_leave_sent >= 1s)) {
            send_self_leave();
        }
        return;
    }
    if (_self != member_id() && _state.find(_self)) {
        return;
    }
    if (const auto* me = _state.find_by_name(_config.name); me && me->incarnation == _self_incarnation) {
        _self = me->id;
        return;
    }
    if (_self_join_sent && _now - *_self_join_sent < 250ms) {
        return;
    }
    _self_join_sent = _now;
    handle_join(join_request{0, _config.name, _config.address, _config.publish_endpoint, _self_incarnation,
                             _config.tags},
                origin{std::monostate{}, 0});
}

void voter_node::voter_heartbeats() {
    if (_now < _next_heartbeat) {
        return;
    }
    _next_heartbeat = _now + _config.heartbeat_interval;
    if (_self == member_id()) {
        return;
    }
    const heartbeat hb{_self, _self_incarnation, ++_heartbeat_seq, _state.id()};
    for (voter_id v : _config.voters) {
        if (v != _config.id) {
            _out.to_voters.emplace_back(v, hb);
        }
    }
}

output voter_node::take_output() {
    drain();
    output out = std::move(_out);
    _out = {};
    return out;
}

voter_samples voter_node::take_samples() {
    voter_samples out;
    std::swap(out, _samples);
    return out;
}

std::vector<voter_event> voter_node::take_events() {
    std::vector<voter_event> out;
    out.swap(_events);
    return out;
}

} // namespace roster::node
