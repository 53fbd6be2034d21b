#pragma once

#include <memory>
#include <string>

#include <spdlog/spdlog.h>

#include "daemon/node_driver.hh"
#include "node/member_node.hh"

namespace roster::daemon {

// A member_node in the poll loop. Logs when this node learns that it was removed from the view
// and when it rejoined (the node's node_event, which it also publishes to its local
// subscribers), and feeds the metrics its state every 100 ms.
//
// Where each voter publishes is found by the transport (status requests on the --join
// connections), which connects the SUB socket; the node only sees what arrives on it.
class member_driver final : public node_driver<node::member_node> {
public:
    // Pre-condition: config.validate() is empty. `log` and `m` outlive the driver.
    member_driver(const node::member_config& config, mono_time now, std::shared_ptr<spdlog::logger> log,
                  metrics& m);

    void on_endpoint_reply(std::size_t endpoint, const wire::body& msg, mono_time now) override;
    void on_published(const wire::body& msg, mono_time now) override;
    [[nodiscard]] bool done_leaving() const override;
    node::output take_output() override;
    void after_step(mono_time now) override;
    [[nodiscard]] wire::sender self() const override;

private:
    std::string _name; // the member name, in every envelope
};

} // namespace roster::daemon
