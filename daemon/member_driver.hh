#pragma once

#include <memory>
#include <string>

#include <spdlog/spdlog.h>

#include "daemon/driver.hh"
#include "daemon/logging.hh"
#include "daemon/metrics.hh"
#include "node/member_node.hh"

namespace roster::daemon {

// A member_node in the poll loop. Logs when this node learns that it was removed from the view
// and when it rejoined (the node's node_event, which it also publishes to its local
// subscribers), and feeds the metrics its state every 100 ms.
//
// Where each voter publishes is found by the transport (status requests on the --join
// connections), which connects the SUB socket; the node only sees what arrives on it.
class member_driver final : public driver {
public:
    // Pre-condition: config.validate() is empty. `log` and `m` outlive the driver.
    member_driver(const node::member_config& config, mono_time now, std::shared_ptr<spdlog::logger> log,
                  metrics& m);

    void on_request(node::route_id from, const wire::body& msg, mono_time now) override;
    void on_endpoint_reply(std::size_t endpoint, const wire::body& msg, mono_time now) override;
    void on_published(const wire::body& msg, mono_time now) override;
    void tick(mono_time now) override;
    void leave(mono_time now) override;
    [[nodiscard]] bool done_leaving() const override;
    node::output take_output() override;
    void after_step(mono_time now) override;
    [[nodiscard]] wire::sender self() const override;

    [[nodiscard]] const node::member_node& node() const noexcept { return *_node; }

private:
    std::string _name; // the member name, in every envelope
    std::shared_ptr<spdlog::logger> _log;
    spdlog_sink _sink; // before _node, which writes to it
    metrics& _metrics;
    std::unique_ptr<node::member_node> _node;
    mono_time _next_observe; // of the metrics
};

} // namespace roster::daemon
