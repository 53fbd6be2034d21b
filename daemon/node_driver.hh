#pragma once

#include <memory>

#include <spdlog/spdlog.h>

#include "daemon/driver.hh"
#include "daemon/logging.hh"
#include "daemon/metrics.hh"
#include "views/view_ops.hh"

namespace roster::daemon {

// What the voter and the member drivers share: the node (`Node`: node::voter_node or
// node::member_node), the sink that hands its log lines to spdlog, the metrics, and the inputs
// both nodes take the same way. The derived driver creates the node and adds its role's inputs,
// logging and metrics.
template <typename Node>
class node_driver : public driver {
public:
    void on_request(node::route_id from, const node::requester& who, const wire::body& msg,
                    mono_time now) override {
        if constexpr (requires { _node->on_request(from, msg, now, who); }) {
            _node->on_request(from, msg, now, who); // a voter: joins, leaves and heartbeats come here
        } else {
            _node->on_request(from, msg, now); // a member answers questions only
        }
    }
    void tick(mono_time now) override { _node->tick(now); }
    void leave(mono_time now) override { _node->leave(now); }
    node::output take_output() override { return _node->take_output(); }

    [[nodiscard]] const Node& node() const noexcept { return *_node; }

protected:
    // `log` and `m` outlive the driver.
    node_driver(std::shared_ptr<spdlog::logger> log, metrics& m)
        : _logger(std::move(log))
        , _sink(_logger)
        , _metrics(m) {}

    // Brings the HTTP API's board up to the node's views: every view committed since the last call,
    // in order (several can commit in one loop turn), or the current one alone when the node's ring
    // no longer reaches back (a resync, a snapshot).
    void show_views() {
        const auto& publisher = _node->publisher();
        const view_id current = publisher.current().id;
        const view_id shown = _shown ? _shown->id : view_id();
        if (current == view_id() || current == shown) {
            return;
        }
        views::sync_request q;
        q.after = shown;
        q.full = shown == view_id() || current < shown;
        auto r = publisher.answer(q);
        if (r.full) {
            _shown = std::make_shared<const views::view>(std::move(*r.full));
            _metrics.board().add_view(_shown);
            return;
        }
        for (const auto& c : r.changes) {
            // One copy of the view per change, shared with the board (which renders it only when
            // a request asks for it).
            _shown = std::make_shared<const views::view>(views::apply_change(*_shown, c));
            _metrics.board().add_view(_shown);
        }
    }

    // True once every 100 ms: the metrics read the node's state this often.
    bool observe_due(mono_time now) {
        if (now < _next_observe) {
            return false;
        }
        _next_observe = now + 100ms;
        return true;
    }

    std::shared_ptr<spdlog::logger> _logger;
    spdlog_sink _sink; // the node's log; declared before _node, which writes to it
    metrics& _metrics;
    std::unique_ptr<Node> _node; // set by the derived constructor

private:
    mono_time _next_observe;
    std::shared_ptr<const views::view> _shown; // the newest view on the HTTP board (null: none yet)
};

} // namespace roster::daemon
