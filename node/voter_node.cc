#include "node/voter_node.hh"

#include <algorithm>

#include <fmt/format.h>

#include "common/invariant.hh"
#include "detector/heartbeat_interval.hh"
#include "membership/validation.hh"
#include "views/view_ops.hh"
#include "wire/codec.hh"

namespace roster::node {

using consensus::role;
using membership::heartbeat;
using membership::heartbeat_reply;
using membership::join_reply;
using membership::join_request;
using membership::leave_reply;
using membership::leave_request;
using membership::member_status;
using membership::remove_reply;
using membership::remove_request;
using membership::request_status;
using membership::suspicion_report;
using wire::body;
using wire::status_reply;

voter_node::voter_node(const voter_config& config, prng random, consensus::persisted_state recovered,
                       mono_time now, log_sink* logger)
    : _config(config)
    , _logger(logger)
    , _machine(config.compact_every, recovered.snap ? recovered.snap->meta.index : log_index())
    , _monitor(config.detector, config.report_interval, now, config.local_health)
    , _aggregator(config.voters.size(), config.suspicion_ttl)
    , _batcher(config.batching)
    , _forwarder(config.forward_timeout)
    , _self(join_request{0, config.name, config.address, config.publish_endpoint, config.incarnation,
                         config.tags})
    , _publisher(config.publisher_ring)
    , _now(now)
    , _views_full(fmt::format("the cluster has reached --max-members ({})", config.max_members))
    , _next_raft_tick(now + config.raft_tick)
    , _next_heartbeat(now)
    , _heartbeat_interval(config.heartbeat_levels.empty() ? config.heartbeat_interval
                                                          : config.heartbeat_levels.front().interval) {
    if (auto bad = config.validate()) {
        invariant_broken("voter_node", "invalid configuration: {}", *bad);
    }
    consensus::raft_config rc = config.raft;
    rc.id = config.id;
    rc.voters = config.voters;
    _replay_until = recovered.hard.commit;
    _raft = std::make_unique<consensus::raft>(rc, random, std::move(recovered), logger);
    drain();
}

voter_node::~voter_node() = default;

bool voter_node::is_leader() const { return _raft->role() == role::leader; }

status_reply voter_node::basic_status(std::uint64_t request_id) const {
    return {.request_id = request_id,
            .name = _config.name,
            .role = wire::role_of(_raft->role()),
            .term = _raft->term(),
            .commit = _raft->commit_index(),
            .view = state().current().id,
            .voter = _config.id,
            .member = _self.id(),
            .leader = _raft->leader(),
            .publish_endpoint = _config.publish_endpoint};
}

wire::status_reply voter_node::status(std::uint64_t request_id) const {
    status_reply s = basic_status(request_id);
    add_to(s, health());
    return s;
}

node::health voter_node::health() const {
    node::health h;
    if (_self.current_phase() == self_member::phase::removed_by_operator) {
        h.ready_reason = fmt::format("removed by an operator in view {}; not rejoining until restarted",
                                     _self.removed_in());
    } else if (_self.current_phase() == self_member::phase::leaving) {
        h.ready_reason = "leaving the views";
    } else if (_self.current_phase() == self_member::phase::left) {
        h.ready_reason = "left the views";
    } else if (_self.id() == member_id() || state().find(_self.id()) == nullptr) {
        h.ready_reason = "not in the view yet: joining";
    }
    h.ready = h.ready_reason.empty();

    if (state().id() == view_id()) {
        h.reason = "no committed view yet";
    } else if (_self.current_phase() == self_member::phase::removed_by_operator) {
        h.reason = "not in the view: " + h.ready_reason;
    } else if (_raft->leader() == voter_id()) {
        const duration since = _leaderless_since ? _now - *_leaderless_since : duration::zero();
        h.reason = fmt::format("no consensus leader for {:.1f} s", std::chrono::duration<double>(since).count());
    }
    h.healthy = h.reason.empty();
    return h;
}

void voter_node::track_leader() {
    if (_raft->leader() != voter_id()) {
        _leaderless_since.reset();
    } else if (!_leaderless_since) {
        _leaderless_since = _now;
    }
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
    if (auto full = _monitor.full_report(now, _raft->leader(), state())) {
        send_report(std::move(*full));
    }
    _forwarder.expire(now);
    _batcher.tick(now);
    self_membership();
    voter_heartbeats();
    leader_decide();
    drain();
}

void voter_node::leave(mono_time now) {
    _now = now;
    _self.leave(state());
    self_membership();
    drain();
}

void voter_node::on_peer(voter_id from, const body& msg, mono_time now) {
    _now = now;
    if (std::find(_config.voters.begin(), _config.voters.end(), from) == _config.voters.end() ||
        from == _config.id) {
        return;
    }
    _voter_heard[from] = now;
    std::visit(
        [&](const auto& m) {
            using T = std::decay_t<decltype(m)>;
            if constexpr (std::is_constructible_v<consensus::message_body, T>) {
                if (!refuse_snapshot(from, m)) {
                    _raft->step({from, _config.id, m});
                }
            } else if constexpr (std::is_same_v<T, heartbeat>) {
                auto key = _config.voter_keys.find(from);
                handle_heartbeat(m, from_voter{from, 0},
                                 key != _config.voter_keys.end() ? key->second : std::string());
            } else if constexpr (std::is_same_v<T, suspicion_report>) {
                if (is_leader()) {
                    // Only members of the view count (the leader applies a join before any
                    // follower can judge it): a voter's reports cannot grow the aggregator beyond
                    // the view, whatever ids they name.
                    suspicion_report r = m;
                    const auto unknown = [&](const membership::suspicion& s) { return state().find(s.member) == nullptr; };
                    std::erase_if(r.suspicions, unknown);
                    std::erase_if(r.late, unknown);
                    _aggregator.report(from, r, _now);
                }
            } else if constexpr (std::is_same_v<T, join_request>) {
                join_request q = m;
                if (q.voter != from) {
                    q.voter = voter_id(); // only voter N may say a join is voter N's own entry
                }
                handle_request(std::move(q), from_voter{from, m.request_id});
            } else if constexpr (std::is_same_v<T, leave_request>) {
                handle_request(m, from_voter{from, m.request_id});
            } else if constexpr (std::is_same_v<T, remove_request>) {
                // A remove_request from a voter was permitted where it arrived (voters trust each
                // other's checks, as for joins).
                handle_request(m, from_voter{from, m.request_id});
            } else if constexpr (std::is_same_v<T, join_reply> || std::is_same_v<T, leave_reply> ||
                                 std::is_same_v<T, remove_reply>) {
                if (auto back = _forwarder.route_back(m)) {
                    answer(back->first, std::move(back->second));
                }
            }
        },
        msg);
    leader_decide();
    drain();
}

void voter_node::on_request(route_id from, const body& msg, mono_time now, const requester& who) {
    _now = now;
    std::visit(
        [&](const auto& m) {
            using T = std::decay_t<decltype(m)>;
            if constexpr (std::is_same_v<T, heartbeat>) {
                handle_heartbeat(m, from_route{from, 0}, who.key);
            } else if constexpr (std::is_same_v<T, join_request>) {
                if (permitted(m, who, from_route{from, m.request_id})) {
                    join_request q = m;
                    q.key = who.key;      // the authenticated key, whatever the request said
                    q.voter = voter_id(); // nobody on the listen socket joins as a voter's entry
                    handle_request(std::move(q), from_route{from, m.request_id});
                }
            } else if constexpr (std::is_same_v<T, leave_request>) {
                leave_request q = m;
                q.key = who.key; // checked by the leader, which knows every member
                handle_request(std::move(q), from_route{from, m.request_id});
            } else if constexpr (std::is_same_v<T, remove_request>) {
                if (who.operator_actions) {
                    handle_request(m, from_route{from, m.request_id});
                } else {
                    ++_counters.removals_refused;
                    answer_remove(from_route{from, m.request_id}, request_status::rejected,
                                  fmt::format("this key may not remove members: it is a {} key, and operator "
                                              "actions need an admin key (docs/security.md)",
                                              who.kind.empty() ? std::string("non-admin") : who.kind));
                }
            } else if constexpr (std::is_same_v<T, views::sync_request>) {
                ++_counters.sync_requests;
                _out.replies.emplace_back(from, _publisher.answer(m));
            } else if constexpr (std::is_same_v<T, wire::status_request>) {
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
        const auto to_bodies = [](std::vector<consensus::message>& from, std::vector<std::pair<voter_id, body>>& to) {
            for (auto& m : from) {
                to.emplace_back(m.to, std::visit([](auto&& b) { return body(std::move(b)); }, std::move(m.body)));
            }
            from.clear();
        };
        to_bodies(rd.early_messages, _out.early_to_voters);
        to_bodies(rd.messages, _out.to_voters);
        if (rd.apply_snapshot) {
            restore(*rd.apply_snapshot);
        }
        for (const auto& e : rd.committed) {
            apply_entry(e, e.index <= _replay_until);
        }
        if (rd.soft) {
            if (rd.soft->role == role::leader && !_was_leader) {
                _aggregator.clear();
                _held.clear();
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
        if (auto snap = _machine.compaction_due(_raft->applied_index())) {
            _raft->compact(_raft->applied_index(), std::move(snap));
        }
    }
    track_leader();
}

bool voter_node::refuse_snapshot(voter_id from, const consensus::message_body& msg) {
    // The state machine must be able to load what raft would install: check the bytes here, while
    // refusing is still possible, not when the snapshot is applied.
    const auto* m = std::get_if<consensus::snapshot_request>(&msg);
    const auto why = m != nullptr ? replicated_membership::check(m->data) : std::nullopt;
    if (why) {
        ++_counters.snapshots_refused;
        log_to(_logger, log_level::warn, "voter {}: refused a snapshot at index {} from voter {}: {}",
               _config.id, m->last_index, from, *why);
    }
    return why.has_value();
}

void voter_node::restore(const consensus::snapshot& s) {
    _machine.restore(s);
    _publisher.reset(state().current());
    _monitor.watch_exactly(state().current(), _config.name, _now);
    if (const auto* me = state().find_by_name(_config.name); me && me->incarnation == _self.incarnation()) {
        _self.joined(me->id);
    }
    if (s.meta.index > _replay_until) {
        _out.published.emplace_back(views::full_view{state().current()});
        ++_counters.views_published;
    }
    log_to(_logger, log_level::info, "voter {}: restored membership snapshot at index {} (view {})",
           _config.id, s.meta.index, state().id());
}

void voter_node::apply_entry(const consensus::entry& e, bool replay) {
    auto applied = _machine.apply(e);
    if (!applied) {
        // Deterministic on every voter: the entry is skipped everywhere alike.
        const auto& refusal = applied.error();
        if (refusal.what == replicated_membership::refusal::kind::undecodable) {
            ++_counters.commands_undecodable;
            log_to(_logger, log_level::error,
                   "voter {}: committed entry {} is not a membership command ({}); skipped", _config.id,
                   e.index, refusal.why);
        } else {
            ++_counters.commands_invalid;
            log_to(_logger, log_level::error,
                   "voter {}: committed entry {} carries a join no voter accepts ({}); skipped", _config.id,
                   e.index, refusal.why);
        }
        return;
    }
    if (!applied.value()) {
        return; // a no-op
    }
    const auto& [cmd, result] = *applied.value();
    if (result.change) {
        on_view_change(*result.change, replay);
    }
    // Answer whoever asked for these ops (the leader holds the origins).
    for (auto& [to, reply] : _batcher.answers(cmd, result.outcomes, state().id(), leader_hint())) {
        answer(to, std::move(reply));
    }
    if (auto latency = _batcher.applied(e.index, _now);
        latency && _samples.commit_latencies.size() < max_samples) {
        _samples.commit_latencies.push_back(*latency);
    }
}

void voter_node::on_view_change(const views::view_change& c, bool replay) {
    _publisher.publish(c);
    std::vector<member_id> gone;
    gone.reserve(c.removed.size());
    std::vector<std::optional<duration>> silence(c.removed.size());
    for (std::size_t i = 0; i < c.removed.size(); ++i) {
        const auto& r = c.removed[i];
        silence[i] = _monitor.silence(r.id, _now);
        gone.push_back(r.id);
        _aggregator.forget(r.id);
        if (r.reason == views::removal_reason::removed_by_operator && !_operator_removed.count(r.id)) {
            _operator_removed.emplace(r.id, c.id);
            _operator_removed_order.push_back(r.id);
            if (_operator_removed_order.size() > max_operator_removed) {
                _operator_removed.erase(_operator_removed_order.front());
                _operator_removed_order.pop_front();
            }
        }
        if (_self.removed(r.id, r.reason, c.id)) {
            if (_self.current_phase() == self_member::phase::removed_by_operator) {
                log_to(_logger, log_level::warn,
                       "voter {}: its member {} was removed by an operator in view {}; not rejoining until "
                       "restarted (it keeps voting)",
                       _config.id, r.id, c.id);
            } else if (_self.current_phase() != self_member::phase::left) {
                log_to(_logger, log_level::warn, "voter {}: its member {} was removed ({})", _config.id, r.id,
                       views::to_string(r.reason));
            }
        }
    }
    _monitor.forget(gone);
    for (const auto& m : c.joined) {
        if (m.name == _config.name && m.incarnation == _self.incarnation()) {
            _self.joined(m.id);
        } else {
            _monitor.watch(m.id, _now);
        }
    }
    if (replay) {
        return;
    }
    _out.published.emplace_back(c);
    ++_counters.views_published;
    _events.push_back(voter_event::committed(c.id));
    for (const auto& m : c.joined) {
        _events.push_back(voter_event::joined(c.id, m.id, m.name));
    }
    for (std::size_t i = 0; i < c.removed.size(); ++i) {
        _events.push_back(voter_event::removed(c.id, c.removed[i].id, c.removed[i].reason, silence[i]));
    }
}

// ---- requests ----------------------------------------------------------------------------

void voter_node::handle_heartbeat(const heartbeat& hb, const origin& from, const std::string& key) {
    const views::member* m = state().find(hb.member);
    if (m != nullptr && m->key != key) {
        // Only the key that joined may keep a member alive: not another member, not a reader.
        ++_counters.requests_refused;
        return;
    }
    if (m != nullptr && m->incarnation == hb.incarnation) {
        std::optional<duration> interval;
        if (_monitor.heartbeat(hb.member, _now, interval, std::chrono::milliseconds(hb.interval_ms))) {
            ++_counters.heartbeats;
            if (interval && _samples.intervals.size() < max_samples) {
                _samples.intervals.push_back(*interval);
            }
        }
        return;
    }
    if (!state().departed(hb.member) && !(m != nullptr && m->incarnation > hb.incarnation)) {
        ++_counters.heartbeats_unknown; // joined in a view this voter has not applied yet
        return;
    }
    // Why, when it was an operator (and in which view): the member then stays out instead of
    // joining again.
    const auto by_operator = _operator_removed.find(hb.member);
    if (by_operator != _operator_removed.end()) {
        answer(from, heartbeat_reply{hb.member, hb.incarnation, member_status::removed, by_operator->second,
                                     views::removal_reason::removed_by_operator});
        return;
    }
    answer(from, heartbeat_reply{hb.member, hb.incarnation, member_status::removed, state().id()});
}

template <class Request>
bool voter_node::pass_on(const Request& q, const origin& from) {
    if (is_leader()) {
        return false;
    }
    auto fwd = _forwarder.forward(q, from, _raft->leader(), state().id(), _now);
    if (auto* refused = std::get_if<request_forwarder::answer>(&fwd)) {
        answer(refused->first, std::move(refused->second));
    } else {
        _out.to_voters.emplace_back(_raft->leader(), std::get<Request>(std::move(fwd)));
    }
    return true;
}

bool voter_node::permitted(const join_request& q, const requester& who, const origin& from) {
    if (!who.join_as || *who.join_as == q.name) {
        return true;
    }
    ++_counters.requests_refused;
    answer_join(from, request_status::rejected, member_id(), q.incarnation,
                who.join_as->empty() ? std::string("this key may not join (it is not authorized as a member)")
                                     : fmt::format("this key may join only as '{}'", *who.join_as));
    return false;
}

void voter_node::handle_request(join_request q, const origin& from) {
    if (std::holds_alternative<from_self>(from)) {
        q.key = _config.key;
        q.voter = _config.id;
    }
    // Checked by whichever voter receives it (the leader again, for a forwarded one): a join beyond
    // the bounds never reaches the log, and its sender learns why.
    if (auto why = membership::validate(q)) {
        ++_counters.requests_invalid;
        answer_join(from, request_status::rejected, member_id(), q.incarnation, std::move(*why));
        return;
    }
    if (pass_on(q, from)) {
        return;
    }
    membership::join_op op{q.name, q.address, q.publish_endpoint, q.incarnation, q.tags, q.key, q.voter};
    if (_batcher.add_origin(op, from)) {
        return; // a retry of one already on its way
    }
    // Already a member under that incarnation and key: answer at once (an idempotent retry).
    if (const auto* m = state().find_by_name(q.name);
        m && m->incarnation == q.incarnation && m->key == q.key) {
        answer_join(from, request_status::ok, m->id, m->incarnation, "");
        return;
    }
    _batcher.queue(std::move(op), from, _now);
}

void voter_node::handle_request(leave_request q, const origin& from) {
    if (std::holds_alternative<from_self>(from)) {
        q.key = _config.key;
    }
    if (auto why = membership::validate(q)) {
        ++_counters.requests_invalid;
        answer_leave(from, request_status::rejected, std::move(*why));
        return;
    }
    if (pass_on(q, from)) {
        return;
    }
    const views::member* m = state().find(q.member);
    if (m == nullptr || m->incarnation != q.incarnation) {
        answer_leave(from, request_status::not_found, "not a member");
        return;
    }
    // Only the key that joined a member may make it leave. Decided here, by the leader, whose
    // view holds every committed member (a follower's may not hold it yet).
    if (m->key != q.key) {
        ++_counters.requests_refused;
        answer_leave(from, request_status::rejected,
                     fmt::format("this key may not leave member {}", q.member));
        return;
    }
    membership::leave_op op{q.member, q.incarnation};
    if (!_batcher.add_origin(op, from)) {
        _batcher.queue(op, from, _now);
    }
}

void voter_node::handle_request(remove_request q, const origin& from) {
    if (auto why = membership::validate(q)) {
        ++_counters.requests_invalid;
        answer_remove(from, request_status::rejected, std::move(*why));
        return;
    }
    if (pass_on(q, from)) {
        return;
    }
    // Decided by the leader, whose view holds every committed member.
    const views::member* m = q.member != member_id() ? state().find(q.member) : state().find_by_name(q.name);
    if (m == nullptr) {
        answer_remove(from, request_status::not_found,
                      q.member != member_id() ? fmt::format("no member {} in view {}", q.member, state().id())
                                              : fmt::format("no member named '{}' in view {}", q.name, state().id()));
        return;
    }
    const membership::remove_op op{m->id, m->incarnation, views::removal_reason::removed_by_operator};
    if (!_batcher.add_origin(op, from)) {
        ++_counters.removals_requested;
        _batcher.queue(op, from, _now);
    }
}

void voter_node::answer(const origin& o, body reply) {
    if (const auto* route = std::get_if<from_route>(&o)) {
        _out.replies.emplace_back(route->route, std::move(reply));
    } else if (const auto* voter = std::get_if<from_voter>(&o)) {
        _out.to_voters.emplace_back(voter->voter, std::move(reply));
    } else if (const auto* j = std::get_if<join_reply>(&reply)) {
        _self.join_answered(*j); // this voter's own join
    }
    // This voter's own leave: done when the view that removes it applies here.
}

std::string voter_node::leader_hint() const {
    auto it = _config.listen_of.find(_raft->leader());
    return it != _config.listen_of.end() ? it->second : std::string();
}

void voter_node::answer_join(const origin& o, request_status status, member_id id, incarnation_number inc,
                             std::string error) {
    answer(o, join_reply{request_id_of(o), status, id, inc, state().id(), leader_hint(), std::move(error)});
}

void voter_node::answer_leave(const origin& o, request_status status, std::string error) {
    answer(o, leave_reply{request_id_of(o), status, state().id(), std::move(error)});
}

void voter_node::answer_remove(const origin& o, request_status status, std::string error) {
    answer(o, remove_reply{request_id_of(o), status, state().id(), member_id(), std::move(error)});
}

// ---- detection and agreement -------------------------------------------------------------

void voter_node::evaluate_detectors() {
    suspicion_report changes;
    for (const auto& v : _monitor.evaluate(_now, state(), changes)) {
        ++(v.suspected ? _counters.suspicions_raised : _counters.suspicions_cleared);
        _events.push_back(voter_event::judged(v.suspected, state().id(), v.member, v.name, v.phi, v.samples, v.silence));
    }
    if (!changes.suspicions.empty() || !changes.late.empty()) {
        send_report(std::move(changes));
    }
    if (auto c = _monitor.take_health_change()) {
        // Into and out of a degraded state at info; the steps between at debug.
        const log_level level = c->from == 0 || c->to == 0 ? log_level::info : log_level::debug;
        if (c->to == 0) {
            log_to(_logger, level, "voter {}: local health restored ({})", _config.id, c->why);
        } else {
            log_to(_logger, level,
                   "voter {}: local health score {} (was {}): {}; suspects a member only after {}x its usual silence",
                   _config.id, c->to, c->from, c->why, c->to + 1);
        }
    }
}

void voter_node::send_report(suspicion_report r) {
    const voter_id leader = _raft->leader();
    if (leader == _config.id) {
        _aggregator.report(_config.id, r, _now);
    } else if (leader != voter_id()) {
        _out.to_voters.emplace_back(leader, std::move(r));
    }
    // No leader: the periodic full report will reach the next one.
}

void voter_node::leader_decide() {
    if (!is_leader() || _batcher.in_flight()) {
        return;
    }
    std::vector<membership::suspicion_aggregator::held_removal> held;
    auto due = _aggregator.removals_due(view(), _now);
    if (_config.shared_evidence && !due.empty()) {
        due = _aggregator.hold_back(std::move(due), talking(), _now, &held);
    }
    // A hold is logged when it starts (or another voter holds it), not every time it is looked at.
    std::map<member_id, voter_id> now_held;
    for (const auto& h : held) {
        now_held[h.member] = h.hears;
        if (auto it = _held.find(h.member); it == _held.end() || it->second != h.hears) {
            ++_counters.removals_held;
            const views::member* m = state().find(h.member);
            const auto silence = h.hears == _config.id ? _monitor.silence(h.member, _now) : std::nullopt;
            _events.push_back(voter_event::held_removal(
                state().id(), h.member, m ? m->name : std::string(),
                fmt::format("voter {} still hears it{}; suspected by {}", h.hears,
                            silence ? fmt::format(" (last heartbeat {} ms ago)",
                                                  std::chrono::duration_cast<std::chrono::milliseconds>(*silence).count())
                                    : std::string(),
                            describe_suspicion(h.member, m ? m->incarnation : incarnation_number()))));
        }
    }
    _held = std::move(now_held);
    const member_limit limit{_config.max_members, [&] { return members_after_log(); },
                             [&](const membership::join_op& j) { return state().adds_member(j); },
                             _views_full};
    auto cmd = _batcher.next(
        _now, due, [&] { return _monitor.others_late(due, _now); }, limit);
    for (auto& [to, reply] : _batcher.take_refused(state().id(), leader_hint())) {
        ++_counters.joins_over_limit;
        answer(to, std::move(reply));
    }
    if (!cmd) {
        return;
    }
    auto index = _raft->propose(wire::encode_command(*cmd));
    if (!index) {
        _batcher.unproposed(_now);
        return;
    }
    _batcher.proposed(*index, _now);
    for (const auto& o : cmd->ops) {
        if (const auto* r = std::get_if<membership::remove_op>(&o); r && r->reason == views::removal_reason::suspected) {
            ++_counters.removals_proposed; // one of `due`: the batcher takes them first
            const views::member* m = state().find(r->member);
            _events.push_back(voter_event::proposed_removal(state().id(), r->member, m ? m->name : std::string(),
                                                            describe_suspicion(r->member, r->incarnation)));
        }
    }
    ++_counters.commands_proposed;
}

std::vector<voter_id> voter_node::talking() const {
    std::vector<voter_id> out{_config.id};
    for (const auto& [v, at] : _voter_heard) {
        if (_now - at <= _config.voter_contact) {
            out.push_back(v);
        }
    }
    return out;
}

std::string voter_node::describe_suspicion(member_id m, incarnation_number incarnation) const {
    std::string out;
    for (const auto& w : _aggregator.witnesses(m, incarnation, _now)) {
        if (!out.empty()) {
            out += "; ";
        }
        if (w.silence_ms == membership::suspicion::never_heard) {
            out += fmt::format("voter {}: never heard from it", w.voter);
        } else {
            out += fmt::format("voter {}: phi {:.1f} after {} samples, silent {} ms", w.voter, w.phi, w.samples,
                               w.silence_ms + std::chrono::duration_cast<std::chrono::milliseconds>(w.since_report).count());
        }
    }
    return out;
}

std::size_t voter_node::members_after_log() const {
    // A new leader may hold entries of earlier terms it has not applied (they commit with its
    // first entry), and a proposal given up after its timeout may still commit: both apply before
    // the next command, so their joins count. Joins of present names replace, not add.
    std::size_t members = view().members.size();
    const consensus::raft_log& log = _raft->log();
    if (_raft->applied_index() >= log.last_index()) {
        return members;
    }
    for (const auto& e : log.slice(_raft->applied_index().next(), log.last_index())) {
        if (e.kind != consensus::entry_kind::normal) {
            continue;
        }
        if (auto cmd = wire::decode_command(e.data)) {
            for (const auto& o : cmd.value().ops) {
                if (const auto* j = std::get_if<membership::join_op>(&o);
                    j && !state().find_by_name(j->name)) {
                    ++members;
                }
            }
        }
    }
    return members;
}

void voter_node::lost_leadership() {
    // Pending requests cannot be decided here any more: tell their askers to retry.
    for (auto& [to, reply] : _batcher.abandon(state().id(), leader_hint())) {
        answer(to, std::move(reply));
    }
    _aggregator.clear();
}

// ---- this voter as a member --------------------------------------------------------------

void voter_node::self_membership() {
    auto request = _self.next_request(state(), _now);
    if (!request) {
        return;
    }
    std::visit([&](const auto& q) { handle_request(q, from_self{}); }, *request);
}

void voter_node::voter_heartbeats() {
    if (_now < _next_heartbeat) {
        return;
    }
    if (!_config.heartbeat_levels.empty()) {
        _heartbeat_interval =
            detector::adaptive_heartbeat_interval(view().members.size(), _heartbeat_interval, _config.heartbeat_levels);
    }
    _next_heartbeat = _now + _heartbeat_interval;
    if (auto hb = _self.heartbeat(state().id())) {
        hb->interval_ms = membership::interval_ms(_heartbeat_interval);
        for (voter_id v : _config.voters) {
            if (v != _config.id) {
                _out.to_voters.emplace_back(v, *hb);
            }
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
