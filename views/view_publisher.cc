#include "views/view_publisher.hh"

#include <algorithm>

#include "views/view_ops.hh"

namespace roster::views {

view_publisher::view_publisher(std::size_t capacity)
    : _capacity(std::max<std::size_t>(capacity, 1)) {}

void view_publisher::reset(view current) {
    _current = std::move(current);
    _ring.clear();
}

void view_publisher::publish(const view_change& c) {
    _current = apply_change(_current, c);
    _ring.push_back(c);
    while (_ring.size() > _capacity) {
        _ring.pop_front();
    }
}

sync_reply view_publisher::answer(const sync_request& q) const {
    sync_reply r;
    r.request_id = q.request_id;
    r.current = _current.id;
    if (q.full || (q.after < _current.id && (_ring.empty() || q.after.next() < _ring.front().id))) {
        r.full = _current;
        return r;
    }
    for (const view_change& c : _ring) {
        if (c.id > q.after) {
            r.changes.push_back(c);
        }
    }
    return r;
}

} // namespace roster::views
