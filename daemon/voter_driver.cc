#include "daemon/voter_driver.hh"

#include "daemon/http_documents.hh"
#include "views/view_ops.hh"

namespace roster::daemon {

voter_driver::voter_driver(const node::voter_config& config, prng random,
                           consensus::persisted_state recovered, mono_time now,
                           std::shared_ptr<spdlog::logger> log, metrics& m)
    : node_driver(std::move(log), m) {
    _node = std::make_unique<node::voter_node>(config, std::move(random), std::move(recovered), now, &_sink);
}

void voter_driver::on_peer(voter_id from, const wire::body& msg, mono_time now) {
    _node->on_peer(from, msg, now);
}

bool voter_driver::done_leaving() const { return _node->left(); }

wire::sender voter_driver::self() const { return {_node->config().id, _node->self(), _node->config().name}; }

void voter_driver::after_step(mono_time now) {
    log_events();
    log_leadership();
    _metrics.on_samples(_node->take_samples());
    show_views();
    if (observe_due(now)) {
        _metrics.observe(*_node, now);
        const auto& c = _node->config();
        _metrics.board().set_status(status_document(
            _node->status(0), c.detector.detector.threshold,
            static_cast<int>(membership::interval_ms(_node->heartbeat_interval())),
            voters_known(*_node, _node->voters_heard(), now)));
    }
    show_http(now);
}

void voter_driver::show_http(mono_time now) {
    // The detector table only while someone reads it, at most every 250 ms (every second for views
    // above 10,000 members): one table is a pass over every member.
    const steady_time t = std::chrono::steady_clock::now();
    if (t < _next_detector || !_metrics.board().detector_wanted(t)) {
        return;
    }
    _next_detector = t + (_node->view().members.size() > 10'000 ? std::chrono::milliseconds(1000)
                                                                 : std::chrono::milliseconds(250));
    _metrics.board().set_detector(detector_document(*_node, now), t);
}

void voter_driver::log_events() {
    for (const auto& e : _node->take_events()) {
        _metrics.on_event(e);
        switch (e.what) {
        case node::voter_event::kind::view_committed:
            _logger->info("view {} committed: {} members, leader {} (token {})", e.view,
                          _node->view().members.size(), _node->view().leader, _node->view().fencing_token);
            break;
        case node::voter_event::kind::member_joined:
            _logger->info("member {} '{}' joined in view {}", e.member, e.name, e.view);
            break;
        case node::voter_event::kind::member_removed:
            if (e.reason == views::removal_reason::suspected && e.since_heartbeat) {
                _logger->info("member {} removed in view {}: suspected, last heartbeat here {:.0f} ms before",
                              e.member, e.view, to_ms(*e.since_heartbeat));
            } else if (e.reason == views::removal_reason::suspected) {
                _logger->info("member {} removed in view {}: suspected, never heard from here", e.member, e.view);
            } else {
                _logger->info("member {} removed in view {}: {}", e.member, e.view,
                              views::to_string(e.reason));
            }
            break;
        case node::voter_event::kind::suspected:
            if (e.since_heartbeat) {
                _logger->info("suspecting member {} '{}': phi {:.1f} after {} samples, last heartbeat {:.0f} ms ago",
                              e.member, e.name, e.phi, e.samples, to_ms(*e.since_heartbeat));
            } else {
                _logger->info("suspecting member {} '{}': never heard from it since it joined", e.member, e.name);
            }
            break;
        case node::voter_event::kind::cleared:
            _logger->info("member {} '{}' is heard from again (phi {:.1f})", e.member, e.name, e.phi);
            break;
        case node::voter_event::kind::removal_held:
            _logger->info("holding the removal of member {} '{}': {}", e.member, e.name, e.detail);
            break;
        case node::voter_event::kind::removal_proposed:
            _logger->info("proposing the removal of member {} '{}': suspected by a majority ({})", e.member,
                          e.name, e.detail);
            break;
        }
    }
}

void voter_driver::log_leadership() {
    const voter_id leader = _node->consensus().leader();
    if (leader != _known_leader && leader != voter_id()) {
        if (leader == _node->config().id) {
            _logger->info("this voter is now the consensus leader (term {})", _node->consensus().term());
        } else {
            _logger->info("consensus leader is voter {} (term {})", leader, _node->consensus().term());
        }
    }
    _known_leader = leader;
}

} // namespace roster::daemon
