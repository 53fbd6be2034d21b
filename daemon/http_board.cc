#include "daemon/http_board.hh"

#include <algorithm>

#include "client/json.hh"

namespace roster::daemon {

http_board::http_board(bool voter, limits l)
    : _voter(voter)
    , _limits(l) {
    _limits.ring_views = std::max<std::size_t>(_limits.ring_views, 1);
}

void http_board::add_view(std::shared_ptr<const views::view> v) {
    entry e{v, std::make_shared<entry::rendering>(), estimated_bytes(*v)};
    {
        std::lock_guard<std::mutex> hold(_lock);
        if (_ring.empty() || v->id != _ring.back().view->id.next()) {
            _ring.clear();
            _ring_bytes = 0;
        }
        _ring_bytes += e.bytes;
        _ring.push_back(std::move(e));
        while (_ring.size() > 1 && (_ring.size() > _limits.ring_views || _ring_bytes > _limits.ring_bytes)) {
            _ring_bytes -= _ring.front().bytes;
            _ring.pop_front();
        }
    }
    _changed.notify_all();
}

http_board::rendered_view http_board::render(const entry& e) {
    // Concurrent requests for the same view: one renders, the others wait for it.
    std::call_once(e.json->once, [&] { e.json->json = client::view_json(*e.view); });
    // The string lives as long as the rendering (aliasing constructor): no copy.
    return {e.view->id, std::shared_ptr<const std::string>(e.json, &e.json->json)};
}

void http_board::set_status(std::string json) {
    auto s = std::make_shared<const std::string>(std::move(json));
    std::lock_guard<std::mutex> hold(_lock);
    _status = std::move(s);
}

void http_board::set_detector(std::string json, steady_time made) {
    auto s = std::make_shared<const std::string>(std::move(json));
    {
        std::lock_guard<std::mutex> hold(_lock);
        _detector = {std::move(s), made};
    }
    _changed.notify_all();
}

bool http_board::detector_wanted(steady_time now) const {
    const auto asked = _detector_asked.load(std::memory_order_relaxed);
    return asked != 0 && now - steady_time(steady_time::duration(asked)) <= detector_interest;
}

void http_board::stop() {
    {
        std::lock_guard<std::mutex> hold(_lock);
        _stopped = true;
    }
    _changed.notify_all();
}

bool http_board::stopped() const {
    std::lock_guard<std::mutex> hold(_lock);
    return _stopped;
}

std::optional<http_board::rendered_view> http_board::current() const {
    entry e;
    {
        std::lock_guard<std::mutex> hold(_lock);
        if (_ring.empty()) {
            return std::nullopt;
        }
        e = _ring.back();
    }
    return render(e);
}

std::shared_ptr<const std::string> http_board::status() const {
    std::lock_guard<std::mutex> hold(_lock);
    return _status;
}

http_board::detector_table http_board::detector(steady_time now) {
    // Never 0, which means "never asked".
    _detector_asked.store(std::max<steady_time::rep>(now.time_since_epoch().count(), 1), std::memory_order_relaxed);
    std::lock_guard<std::mutex> hold(_lock);
    return _detector;
}

http_board::detector_table http_board::wait_detector(steady_time fresh_since, steady_time until) {
    std::unique_lock<std::mutex> hold(_lock);
    _changed.wait_until(hold, until, [&] { return _stopped || (_detector.json && _detector.made >= fresh_since); });
    return _detector;
}

http_board::history http_board::after(view_id after, std::size_t max_views, std::size_t max_bytes) const {
    history h;
    std::vector<entry> wanted; // copied under the lock, rendered outside it
    {
        std::lock_guard<std::mutex> hold(_lock);
        if (_ring.empty()) {
            return h;
        }
        h.current = _ring.back().view->id;
        if (after >= h.current) {
            return h;
        }
        if (after.next() < _ring.front().view->id) {
            h.resync = true;
            wanted.push_back(_ring.back());
        } else {
            // Consecutive ids: the first wanted is at a known offset.
            auto it = _ring.begin() + static_cast<std::ptrdiff_t>(after.next().value() - _ring.front().view->id.value());
            for (; it != _ring.end() && wanted.size() < max_views; ++it) {
                wanted.push_back(*it);
            }
            h.more = it != _ring.end();
        }
    }
    std::size_t bytes = 0;
    for (const auto& e : wanted) {
        rendered_view r = render(e);
        if (!h.views.empty() && bytes + r.json->size() > max_bytes) {
            h.more = true;
            break;
        }
        bytes += r.json->size();
        h.views.push_back(std::move(r));
    }
    return h;
}

bool http_board::wait_view(view_id after, steady_time until) const {
    std::unique_lock<std::mutex> hold(_lock);
    _changed.wait_until(hold, until, [&] { return _stopped || (!_ring.empty() && _ring.back().view->id > after); });
    return !_ring.empty() && _ring.back().view->id > after;
}

} // namespace roster::daemon
