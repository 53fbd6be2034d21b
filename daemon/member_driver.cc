#include "daemon/member_driver.hh"

#include "daemon/http_documents.hh"
#include "views/view_ops.hh"

namespace roster::daemon {

member_driver::member_driver(const node::member_config& config, mono_time now,
                             std::shared_ptr<spdlog::logger> log, metrics& m)
    : node_driver(std::move(log), m)
    , _name(config.name) {
    _node = std::make_unique<node::member_node>(config, now, &_sink);
}

void member_driver::on_endpoint_reply(std::size_t which, const wire::body& msg, mono_time now) {
    _node->on_reply(which, msg, now);
}

void member_driver::on_published(const wire::body& msg, mono_time now) { _node->on_published(msg, now); }

bool member_driver::done_leaving() const { return _node->current_phase() == node::member_node::phase::left; }

node::output member_driver::take_output() {
    node::output out = _node->take_output();
    // Logged as they go out: a member has nothing to persist, so nothing can stop the batch first.
    for (const auto& b : out.published) {
        if (const auto* e = std::get_if<views::node_event>(&b)) {
            if (e->what == views::node_event::kind::removed &&
                e->reason == views::removal_reason::removed_by_operator) {
                _logger->warn("this node (member {}) was removed by an operator in view {}; not rejoining "
                              "until restarted",
                              e->member, e->view);
            } else if (e->what == views::node_event::kind::removed) {
                _logger->warn(
                    "this node (member {}) was removed from the view in view {} ({}); joining again",
                    e->member, e->view, views::to_string(e->reason));
            } else {
                _logger->info("this node rejoined as member {} (was {}) in view {}", e->new_member, e->member,
                              e->view);
            }
        }
    }
    return out;
}

wire::sender member_driver::self() const { return {voter_id(), _node->id(), _name}; }

void member_driver::describe_voters(std::vector<endpoint> join, std::vector<voter_id> join_voters,
                                    double phi_threshold) {
    _join = std::move(join);
    _join_voters = std::move(join_voters);
    _phi_threshold = phi_threshold;
}

void member_driver::after_step(mono_time now) {
    show_views();
    if (observe_due(now)) {
        _metrics.observe(*_node);
        _metrics.board().set_status(status_document(_node->status(0), _phi_threshold,
                                                    static_cast<int>(membership::interval_ms(_node->heartbeat_interval())),
                                                    voters_known(*_node, _join, _join_voters)));
    }
}

} // namespace roster::daemon
