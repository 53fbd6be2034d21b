#include "node/voter_config.hh"

namespace roster::node {

std::optional<std::string> voter_config::validate() const {
    consensus::raft_config r = raft;
    r.id = id;
    r.voters = voters;
    if (auto bad = r.validate()) {
        return bad;
    }
    if (auto bad = detector.validate()) {
        return std::string(*bad);
    }
    if (name.empty()) {
        return std::string("the voter needs a name");
    }
    if (raft_tick <= 0ns || heartbeat_interval <= 0ns || report_interval <= 0ns) {
        return std::string("tick, heartbeat and report intervals must be positive");
    }
    if (suspicion_ttl <= report_interval) {
        return std::string("the suspicion ttl must be longer than the report interval");
    }
    if (batching.max_ops_per_command < 1 || compact_every < 1) {
        return std::string("max_ops_per_command and compact_every must be at least 1");
    }
    return std::nullopt;
}

} // namespace roster::node
