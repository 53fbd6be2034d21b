#pragma once

#include <memory>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "daemon/endpoint.hh"
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
    // What /v1/status says of the voters and the detector settings: the --join endpoints (with the
    // voter ids named as ID@, 0 where none) and --phi-threshold.
    void describe_voters(std::vector<endpoint> join, std::vector<voter_id> join_voters, double phi_threshold);

private:
    std::vector<endpoint> _join;
    std::vector<voter_id> _join_voters;
    double _phi_threshold = 8.0;
    std::string _name; // the member name, in every envelope
};

} // namespace roster::daemon
