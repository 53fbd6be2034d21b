#pragma once

#include <map>
#include <memory>

#include <spdlog/spdlog.h>

#include "common/prng.hh"
#include "consensus/state.hh"
#include "daemon/node_driver.hh"
#include "node/voter_node.hh"

namespace roster::daemon {

// A voter_node in the poll loop. Logs what the voter decides (views committed, members joined
// and removed, suspicions at debug level, consensus leadership changes) and feeds the metrics
// its events, its samples and, every 100 ms, its state.
class voter_driver final : public node_driver<node::voter_node> {
public:
    // Pre-condition: config.validate() is empty. `recovered` is what the voter's storage loaded;
    // `log` and `m` outlive the driver.
    voter_driver(const node::voter_config& config, prng random, consensus::persisted_state recovered,
                 mono_time now, std::shared_ptr<spdlog::logger> log, metrics& m);

    void on_peer(voter_id from, const wire::body& msg, mono_time now) override;
    [[nodiscard]] bool done_leaving() const override;
    void after_step(mono_time now) override;
    [[nodiscard]] wire::sender self() const override;

private:
    void log_events();
    void log_leadership();

    void show_http(mono_time now);

    voter_id _known_leader; // as last logged (0: none yet)
    steady_time _next_detector{};         // the /v1/detector table is remade at most this often
};

} // namespace roster::daemon
