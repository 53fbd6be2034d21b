#include "views/view_subscriber.hh"

#include "views/view_ops.hh"

namespace roster::views {

namespace {
constexpr std::size_t max_buffered = 4096;
}

view_subscriber::view_subscriber(const subscriber_config& config)
    : _config(config) {
    if (_config.endpoints == 0) {
        _config.endpoints = 1;
    }
}

void view_subscriber::start(mono_time now) { request_sync(now, true); }

void view_subscriber::request_sync(mono_time now, bool full) {
    const std::uint64_t id = _next_request++;
    sync_request q{id, _current ? _current->id : view_id(), full || !_current};
    _pending = id;
    _pending_deadline = now + _config.sync_timeout;
    _last_sync = now;
    _outgoing = request{_endpoint, q};
    ++_stats.syncs;
}

void view_subscriber::deliver(view v, bool resync) {
    _current = v;
    if (v.id == view_id()) {
        return; // the empty view before the first join is a starting point, not a view to show
    }
    if (resync) {
        ++_stats.resyncs;
    }
    _deliveries.push_back({std::move(v), resync});
}

void view_subscriber::drain_buffer() {
    while (_current) {
        auto it = _buffer.begin();
        while (it != _buffer.end() && it->first <= _current->id) {
            it = _buffer.erase(it);
        }
        if (it == _buffer.end() || it->first != _current->id.next()) {
            return;
        }
        deliver(apply_change(*_current, it->second), false);
        _buffer.erase(it);
    }
}

void view_subscriber::on_change(const view_change& c, mono_time now) {
    if (_current && c.id <= _current->id) {
        return; // a duplicate (several publishers, or a replay)
    }
    if (_current && c.id == _current->id.next()) {
        deliver(apply_change(*_current, c), false);
        drain_buffer();
        return;
    }
    if (_buffer.size() < max_buffered) {
        _buffer.emplace(c.id, c);
    }
    if (_current) {
        ++_stats.gaps;
        if (!_pending) {
            request_sync(now, false);
        }
    }
}

void view_subscriber::on_full(const view& v, mono_time now) {
    if (_current && v.id <= _current->id) {
        return;
    }
    if (_current && v.id == _current->id.next()) {
        deliver(v, false);
        drain_buffer();
        return;
    }
    // Ahead of us: the changes in between may still be held by a publisher; ask for them rather
    // than jump (a jump is a resync, which subscribers would rather not see).
    _buffered_full_gap = true;
    if (_current) {
        ++_stats.gaps;
    }
    if (!_pending) {
        request_sync(now, false);
    }
}

void view_subscriber::on_sync_reply(std::size_t endpoint, const sync_reply& r, mono_time now) {
    if (!_pending || r.request_id != *_pending || endpoint != _endpoint) {
        return; // stale or from an endpoint we gave up on
    }
    _pending.reset();
    if (r.full) {
        if (!_current) {
            deliver(*r.full, false); // the first delivery: the current view
        } else if (r.full->id == _current->id.next()) {
            deliver(*r.full, false);
        } else if (r.full->id > _current->id) {
            deliver(*r.full, true);
        }
    }
    bool broken = false;
    for (const view_change& c : r.changes) {
        if (!_current || c.id <= _current->id) {
            continue;
        }
        if (c.id != _current->id.next()) {
            broken = true; // a hole in the reply itself: ask for the full view
            break;
        }
        deliver(apply_change(*_current, c), false);
    }
    drain_buffer();
    _buffered_full_gap = false;
    if (broken) {
        request_sync(now, true);
    } else if (!_buffer.empty() && _buffer.begin()->first > _current->id.next()) {
        // The reply did not reach what the stream showed us: the endpoint is behind; try again
        // (tick() fails over if it keeps not answering).
        request_sync(now, false);
    }
}

void view_subscriber::tick(mono_time now) {
    if (_pending && now >= _pending_deadline) {
        _endpoint = (_endpoint + 1) % _config.endpoints;
        ++_stats.failovers;
        request_sync(now, !_current);
        return;
    }
    if (!_pending && (now - _last_sync >= _config.poll_interval || !_buffer.empty() || _buffered_full_gap)) {
        request_sync(now, !_current);
    }
}

std::vector<delivery> view_subscriber::take_deliveries() {
    std::vector<delivery> out;
    out.swap(_deliveries);
    return out;
}

std::optional<view_subscriber::request> view_subscriber::take_request() {
    auto r = std::move(_outgoing);
    _outgoing.reset();
    return r;
}

} // namespace roster::views
