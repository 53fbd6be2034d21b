#include "node/self_member.hh"

namespace roster::node {

std::optional<std::variant<membership::join_request, membership::leave_request>>
self_member::next_request(const membership::membership_state& state, mono_time now) {
    if (_id != member_id() && state.departed(_id)) {
        // Its entry left the views in a change this voter did not apply one by one (a snapshot
        // installed past it): removed all the same.
        removed(_id);
    }
    switch (_phase) {
    case phase::left:
    case phase::removed_by_operator:
        return std::nullopt;
    case phase::leaving:
        if (_leave_sent && now - *_leave_sent < _leave_retry) {
            return std::nullopt;
        }
        _leave_sent = now;
        return membership::leave_request{0, _id, _join.incarnation};
    case phase::active:
        if (state.find(_id) != nullptr) {
            return std::nullopt;
        }
        // Not (or no longer) in the view applied here: a join reply ahead of the view, or an entry
        // gone with a snapshot. Keep heartbeating under the id it has, and ask again.
        [[fallthrough]];
    case phase::joining:
        if (const auto* me = state.find_by_name(_join.name); me && me->incarnation == _join.incarnation) {
            joined(me->id);
            return std::nullopt;
        }
        if (_join_sent && now - *_join_sent < _join_retry) {
            return std::nullopt;
        }
        _join_sent = now;
        return _join;
    }
    return std::nullopt;
}

void self_member::joined(member_id id) {
    _id = id;
    if (_phase == phase::joining) {
        _phase = phase::active;
    }
}

void self_member::join_answered(const membership::join_reply& r) {
    _join_sent.reset(); // answered either way: the next attempt need not wait
    if (r.incarnation != _join.incarnation) {
        return; // the answer to a join of an earlier incarnation
    }
    if (r.status == membership::request_status::ok) {
        joined(r.member);
    } else if (r.status == membership::request_status::rejected && _phase == phase::joining) {
        // Not newer than an incarnation the views have seen for its name: an earlier process of
        // this voter got further (it was removed and rejoined, then restarted with an incarnation
        // from before those rejoins, or the clock went back). The same incarnation would be
        // refused forever: go past it, as a member does.
        _join.incarnation = _join.incarnation.next();
    }
}

bool self_member::removed(member_id id, views::removal_reason why, view_id in) {
    if (id == member_id() || id != _id) {
        return false;
    }
    _id = member_id();
    if (_phase == phase::leaving) {
        _phase = phase::left;
    } else if (why == views::removal_reason::removed_by_operator) {
        // Joining again at once would undo the operator's decision; a restart joins again.
        _phase = phase::removed_by_operator;
        _removed_in = in;
    } else {
        _phase = phase::joining;
        _join.incarnation = _join.incarnation.next();
        _join_sent.reset();
    }
    return true;
}

void self_member::leave(const membership::membership_state& state) {
    if (_phase == phase::leaving || _phase == phase::left) {
        return;
    }
    if (_phase == phase::removed_by_operator) {
        _phase = phase::left; // nothing to leave
        return;
    }
    _phase = _phase == phase::active && state.find(_id) != nullptr ? phase::leaving : phase::left;
}

std::optional<membership::heartbeat> self_member::heartbeat(view_id known) {
    if (_id == member_id()) {
        return std::nullopt;
    }
    return membership::heartbeat{_id, _join.incarnation, ++_heartbeat_seq, known};
}

} // namespace roster::node
