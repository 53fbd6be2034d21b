#pragma once

#include <memory>

#include <spdlog/spdlog.h>

#include "common/prng.hh"
#include "consensus/state.hh"
#include "daemon/driver.hh"
#include "daemon/logging.hh"
#include "daemon/metrics.hh"
#include "node/voter_node.hh"

namespace roster::daemon {

// A voter_node in the poll loop. Logs what the voter decides (views committed, members joined
// and removed, suspicions at debug level, consensus leadership changes) and feeds the metrics
// its events, its samples and, every 100 ms, its state.
class voter_driver final : public driver {
public:
    // Pre-condition: config.validate() is empty. `recovered` is what the voter's storage loaded;
    // `log` and `m` outlive the driver.
    voter_driver(const node::voter_config& config, prng random, consensus::persisted_state recovered,
                 mono_time now, std::shared_ptr<spdlog::logger> log, metrics& m);

    void on_request(node::route_id from, const wire::body& msg, mono_time now) override;
    void on_peer(voter_id from, const wire::body& msg, mono_time now) override;
    void tick(mono_time now) override;
    void leave(mono_time now) override;
    [[nodiscard]] bool done_leaving() const override;
    node::output take_output() override;
    void after_step(mono_time now) override;
    [[nodiscard]] wire::sender self() const override;

    [[nodiscard]] const node::voter_node& node() const noexcept { return *_node; }

private:
    void log_events();
    void log_leadership();

    std::shared_ptr<spdlog::logger> _log;
    spdlog_sink _sink; // before _node, which writes to it
    metrics& _metrics;
    std::unique_ptr<node::voter_node> _node;
    voter_id _known_leader;  // as last logged (0: none yet)
    mono_time _next_observe; // of the metrics
};

} // namespace roster::daemon
