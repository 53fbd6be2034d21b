#pragma once

#include <map>
#include <memory>
#include <string>

#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "common/result.hh"
#include "daemon/endpoint.hh"
#include "node/member_node.hh"
#include "node/voter_node.hh"

namespace roster::daemon {

// Every metric rosterd exports, named roster_* with units in the names. The main loop updates
// them (prometheus-cpp's metrics are atomics); the exposer's threads only read them.
// docs/monitoring.md lists them.
class metrics {
public:
    // Starts the /metrics endpoint. Fails (with a message) when the port cannot be bound.
    static result<std::unique_ptr<metrics>, std::string> start(const endpoint& where,
                                                               const std::string& cluster,
                                                               const std::string& name, bool voter,
                                                               std::size_t member_limit);

    // Socket hygiene: what was received and dropped, per socket and reason.
    void received(const std::string& socket);
    void dropped(const std::string& socket, const std::string& reason);
    void fsync_seconds(double s);
    void storage_bytes(std::uint64_t b);

    // Called after each loop iteration with the node's current state.
    void update(const node::voter_node& v, mono_time now);
    void update(const node::member_node& m);
    void on_event(const node::voter_event& e);

private:
    metrics(const endpoint& where, const std::string& cluster, const std::string& name, bool voter,
            std::size_t member_limit);

    std::shared_ptr<prometheus::Registry> _registry;
    std::unique_ptr<prometheus::Exposer> _exposer;
    std::size_t _member_limit;

    prometheus::Family<prometheus::Counter>* _received;
    prometheus::Family<prometheus::Counter>* _dropped;
    prometheus::Family<prometheus::Gauge>* _view_id;
    prometheus::Family<prometheus::Gauge>* _members;
    prometheus::Family<prometheus::Histogram>* _fsync;
    prometheus::Histogram* _fsync_hist = nullptr;
    prometheus::Gauge* _view_id_g = nullptr;
    prometheus::Gauge* _members_g = nullptr;
};

} // namespace roster::daemon
