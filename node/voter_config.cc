#include "node/voter_config.hh"

#include <fmt/format.h>

#include "membership/validation.hh"

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
    if (auto bad = local_health.validate()) {
        return std::string(*bad);
    }
    if (name.empty()) {
        return std::string("the voter needs a name");
    }
    // The voter joins the views like any member: its own entry must pass what every voter checks.
    if (auto bad = membership::check_join_fields(*this)) {
        return "its member entry: " + *bad;
    }
    if (max_members < voters.size()) {
        return fmt::format("max_members ({}) must leave room for the {} voters", max_members, voters.size());
    }
    if (raft_tick <= 0ns || heartbeat_interval <= 0ns || report_interval <= 0ns) {
        return std::string("tick, heartbeat and report intervals must be positive");
    }
    if (auto bad = heartbeat_levels.empty() ? std::nullopt : detector::check_levels(heartbeat_levels)) {
        return std::string(*bad);
    }
    if (suspicion_ttl <= report_interval) {
        return std::string("the suspicion ttl must be longer than the report interval");
    }
    if (batching.max_ops_per_command < 1 || batching.max_command_bytes < 1 || compact_every < 1) {
        return std::string("max_ops_per_command, max_command_bytes and compact_every must be at least 1");
    }
    return std::nullopt;
}

} // namespace roster::node
