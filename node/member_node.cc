#include "node/member_node.hh"

#include <algorithm>

#include <fmt/format.h>

#include "detector/heartbeat_interval.hh"
#include "membership/validation.hh"
#include "views/view_ops.hh"

namespace roster::node {

using membership::heartbeat;
using membership::heartbeat_reply;
using membership::join_reply;
using membership::join_request;
using membership::leave_reply;
using membership::leave_request;
using membership::member_status;
using membership::request_status;
using views::full_view;
using views::node_event;
using views::sync_reply;
using views::sync_request;
using wire::body;
using wire::node_role;
using wire::status_reply;
using wire::status_request;

std::optional<std::string> member_config::validate() const {
    if (name.empty()) {
        return std::string("the member needs a name");
    }
    // What the voters would reject at join, refused here, before the first try.
    if (auto bad = membership::check_join_fields(*this)) {
        return *bad;
    }
    if (voters < 1) {
        return std::string("the member needs at least one voter endpoint to join through");
    }
    if (heartbeat_interval <= 0ns || request_timeout <= 0ns) {
        return std::string("heartbeat interval and request timeout must be positive");
    }
    if (auto bad = heartbeat_levels.empty() ? std::nullopt : detector::check_levels(heartbeat_levels)) {
        return std::string(*bad);
    }
    return std::nullopt;
}

member_node::member_node(const member_config& config, mono_time now, log_sink* logger)
    : _config(config)
    , _logger(logger)
    , _now(now)
    , _incarnation(config.incarnation)
    , _subscriber({config.voters, config.sync_timeout, config.poll_interval})
    , _publisher(config.publisher_ring)
    , _interval(config.heartbeat_levels.empty() ? config.heartbeat_interval
                                                : config.heartbeat_levels.front().interval) {
    _subscriber.start(now);
    take_subscriber_work();
}

status_reply member_node::status(std::uint64_t request_id) const {
    status_reply s{request_id,        _config.name,
                   node_role::member, raft_term(),
                   log_index(),       _publisher.current().id,
                   voter_id(),        _id,
                   voter_id(),        _config.publish_endpoint};
    add_to(s, health());
    return s;
}

node::health member_node::health() const {
    node::health h;
    const views::view& v = _publisher.current();
    switch (_phase) {
    case phase::joining:
        h.ready_reason = "not in the view yet: joining";
        break;
    case phase::active:
        if (!std::any_of(v.members.begin(), v.members.end(), [&](const views::member& m) { return m.id == _id; })) {
            h.ready_reason = "not in the view yet: joined, the view that adds it has not arrived";
        }
        break;
    case phase::leaving:
        h.ready_reason = "leaving the views";
        break;
    case phase::left:
        h.ready_reason = "left the views";
        break;
    case phase::removed_by_operator:
        h.ready_reason =
            fmt::format("removed by an operator in view {}; not rejoining until restarted", _removed_in);
        break;
    }
    h.ready = h.ready_reason.empty();
    if (v.id == view_id()) {
        h.reason = "no committed view yet";
    } else if (!h.ready) {
        h.reason = "not in the view: " + h.ready_reason;
    } else if (!_last_heard || _now - *_last_heard > member_contact_bound) {
        const double silent = _last_heard ? std::chrono::duration<double>(_now - *_last_heard).count() : 0;
        h.reason = fmt::format("no word from any voter for {:.1f} s", silent);
    }
    h.healthy = h.reason.empty();
    return h;
}

void member_node::tick(mono_time now) {
    _now = now;
    _subscriber.tick(now);
    take_subscriber_work();
    switch (_phase) {
    case phase::joining:
        if (_request && now >= _request_deadline) {
            _request.reset();
            _endpoint = (_endpoint + 1) % _config.voters;
            if (_leave_after_join) {
                // Never learned whether it joined; if it did, the detectors will remove it.
                _phase = phase::left;
                break;
            }
        }
        if (!_request && now >= _next_attempt) {
            send_join();
        }
        break;
    case phase::active:
        send_heartbeat();
        break;
    case phase::leaving:
        // Still a member until the leave commits: a leave slower than the detectors (a loaded
        // leader) must not end as a removal for silence.
        send_heartbeat();
        if (_request && now >= _request_deadline) {
            _request.reset();
            _endpoint = (_endpoint + 1) % _config.voters;
            if (++_leave_attempts >= static_cast<int>(2 * _config.voters + 1)) {
                _phase = phase::left; // give up: the detectors will remove it
                log_to(_logger, log_level::warn, "member {}: leave not confirmed; stopping anyway",
                       _config.name);
                break;
            }
        }
        if (!_request && now >= _next_attempt) {
            send_leave();
        }
        break;
    case phase::left:
    case phase::removed_by_operator:
        break;
    }
}

void member_node::send_heartbeat() {
    if (_now < _next_heartbeat) {
        return;
    }
    // A new interval is announced by the heartbeat sent at the old rhythm, before the gap it makes.
    if (!_config.heartbeat_levels.empty()) {
        _interval = detector::adaptive_heartbeat_interval(_publisher.current().members.size(), _interval,
                                                          _config.heartbeat_levels);
    }
    _next_heartbeat = _now + _interval;
    const heartbeat hb{_id, _incarnation, ++_sequence, _publisher.current().id,
                       membership::interval_ms(_interval)};
    for (std::size_t i = 0; i < _config.voters; ++i) {
        _out.to_endpoints.emplace_back(i, hb);
    }
}

void member_node::send_join() {
    const std::uint64_t id = _next_request++;
    _request = id;
    _request_deadline = _now + _config.request_timeout;
    _out.to_endpoints.emplace_back(_endpoint,
                                   join_request{id, _config.name, _config.address, _config.publish_endpoint,
                                                _incarnation, _config.tags});
}

void member_node::send_leave() {
    const std::uint64_t id = _next_request++;
    _request = id;
    _request_deadline = _now + _config.request_timeout;
    _out.to_endpoints.emplace_back(_endpoint, leave_request{id, _id, _incarnation});
}

void member_node::leave(mono_time now) {
    _now = now;
    if (_phase == phase::active) {
        _phase = phase::leaving;
        _request.reset();
        _next_attempt = now;
        send_leave();
    } else if (_phase == phase::removed_by_operator) {
        _phase = phase::left; // nothing to leave
    } else if (_phase == phase::joining) {
        if (_request) {
            // The join may commit: wait for its answer, then leave the view it put us in.
            _leave_after_join = true;
        } else {
            _phase = phase::left; // nothing to leave
        }
    }
}

void member_node::on_reply(std::size_t endpoint, const body& msg, mono_time now) {
    _now = now;
    _last_heard = now;
    if (const auto* jr = std::get_if<join_reply>(&msg)) {
        const join_reply* r = jr;
        if (_phase != phase::joining || !_request || r->request_id != *_request) {
            return;
        }
        _request.reset();
        switch (r->status) {
        case request_status::ok:
            _last_rejection.clear();
            _id = r->member;
            _joined_in = r->view;
            _phase = phase::active;
            _next_heartbeat = now;
            log_to(_logger, log_level::info, "member {}: joined as {} in view {}", _config.name, _id,
                   r->view);
            if (_previous_id != member_id()) {
                ++_rejoins;
                emit(node_event{node_event::kind::rejoined, _previous_id, _id, r->view,
                                views::removal_reason::suspected});
            }
            if (_leave_after_join) {
                leave(now);
            }
            break;
        case request_status::rejected:
            // A stale incarnation (a restart faster than the clock moved): go past it. Other reasons
            // (the views are full, a bound of this build's voters) do not go away by themselves: the
            // member says why, once while it lasts, and asks again only after retry_backoff, so
            // that a full cluster is not asked in a loop.
            if (r->error != _last_rejection) {
                log_to(_logger, log_level::warn, "member {}: join rejected: {}; trying again", _config.name,
                       r->error);
                _last_rejection = r->error;
            }
            _incarnation = _incarnation.next();
            _next_attempt = now + _config.retry_backoff;
            break;
        default:
            _endpoint = (endpoint + 1) % _config.voters;
            _next_attempt = now + _config.retry_backoff;
            if (_leave_after_join) {
                _phase = phase::left; // refused: it never joined
            }
            break;
        }
    } else if (const auto* lr = std::get_if<leave_reply>(&msg)) {
        const leave_reply* r = lr;
        if (_phase != phase::leaving || !_request || r->request_id != *_request) {
            return;
        }
        _request.reset();
        if (r->status == request_status::ok || r->status == request_status::not_found) {
            _phase = phase::left;
            log_to(_logger, log_level::info, "member {}: left in view {}", _config.name, r->view);
        } else {
            _endpoint = (endpoint + 1) % _config.voters;
            _next_attempt = now + _config.retry_backoff;
        }
    } else if (const auto* hr = std::get_if<heartbeat_reply>(&msg)) {
        const heartbeat_reply* r = hr;
        if (_phase == phase::active && r->member == _id && r->incarnation == _incarnation &&
            r->status == member_status::removed) {
            // The voter knows why when an operator removed it (the reply comes before the view).
            removed(r->current_view, r->reason == views::removal_reason::removed_by_operator
                                         ? r->reason
                                         : views::removal_reason::suspected);
        }
    } else if (const auto* sr = std::get_if<sync_reply>(&msg)) {
        const sync_reply* r = sr;
        _subscriber.on_sync_reply(endpoint, *r, now);
        take_subscriber_work();
    }
}

void member_node::on_published(const body& msg, mono_time now) {
    _now = now;
    _last_heard = now;
    if (const auto* c = std::get_if<views::view_change>(&msg)) {
        _subscriber.on_change(*c, now);
    } else if (const auto* f = std::get_if<full_view>(&msg)) {
        _subscriber.on_full(f->view, now);
    }
    take_subscriber_work();
}

void member_node::on_request(route_id from, const body& msg, mono_time now) {
    _now = now;
    if (const auto* sync = std::get_if<sync_request>(&msg)) {
        ++_syncs_served;
        _out.replies.emplace_back(from, _publisher.answer(*sync));
    } else if (const auto* st = std::get_if<status_request>(&msg)) {
        _out.replies.emplace_back(from, status(st->request_id));
    } else if (const auto* rm = std::get_if<membership::remove_request>(&msg)) {
        // Only voters decide: `not_leader` sends the operator's client on to its next endpoint.
        _out.replies.emplace_back(from, membership::remove_reply{rm->request_id, request_status::not_leader,
                                                                 _publisher.current().id, member_id(),
                                                                 "a member does not take removals: ask a voter"});
    }
}

void member_node::take_subscriber_work() {
    for (const auto& d : _subscriber.take_deliveries()) {
        deliver(d);
    }
    if (auto q = _subscriber.take_request()) {
        _out.to_endpoints.emplace_back(q->endpoint, q->msg);
    }
}

void member_node::emit(node_event e) {
    _held_events.push_back(e);
    constexpr std::size_t most_held = 8;
    if (_held_events.size() > most_held) {
        _held_events.erase(_held_events.begin());
    }
    release_events();
}

void member_node::release_events() {
    const view_id delivered = _publisher.current().id;
    auto it = _held_events.begin();
    while (it != _held_events.end() && it->view <= delivered) {
        _out.published.emplace_back(*it);
        ++it;
    }
    _held_events.erase(_held_events.begin(), it);
}

void member_node::deliver(const views::delivery& d) {
    if (!d.resync && d.current.id == _publisher.current().id.next()) {
        const views::view_change c = views::change_of(d.current);
        _publisher.publish(c);
        _out.published.emplace_back(c);
    } else {
        _publisher.reset(d.current);
        _out.published.emplace_back(full_view{d.current});
    }
    release_events();
    // A view at or after the one that added this instance, without it: it was removed.
    if (_phase == phase::active && d.current.id >= _joined_in) {
        const bool present = std::any_of(d.current.members.begin(), d.current.members.end(),
                                         [&](const views::member& m) { return m.id == _id; });
        if (!present) {
            auto why = views::removal_reason::suspected;
            for (const auto& r : d.current.removed) {
                if (r.id == _id) {
                    why = r.reason;
                }
            }
            removed(d.current.id, why);
        }
    }
}

void member_node::removed(view_id in_view, views::removal_reason why) {
    emit(node_event{node_event::kind::removed, _id, member_id(), in_view, why});
    if (why == views::removal_reason::removed_by_operator) {
        // Joining again at once would undo the operator's decision (and make the command useless on
        // a live member). It keeps following the views for its local subscribers; a restart joins
        // under a newer incarnation.
        log_to(_logger, log_level::warn,
               "member {}: removed by an operator in view {}; not rejoining until restarted", _config.name,
               in_view);
        _previous_id = _id;
        _id = member_id();
        _removed_in = in_view;
        _phase = phase::removed_by_operator;
        _request.reset();
        return;
    }
    log_to(_logger, log_level::warn, "member {}: removed from the view as {} ({}); joining again",
           _config.name, _id, views::to_string(why));
    _previous_id = _id;
    _id = member_id();
    _incarnation = _incarnation.next();
    _phase = phase::joining;
    _request.reset();
    _next_attempt = _now;
}

output member_node::take_output() {
    output out = std::move(_out);
    _out = {};
    return out;
}

} // namespace roster::node
