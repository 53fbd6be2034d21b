#include "daemon/node_configs.hh"

#include <algorithm>
#include <cassert>
#include <cstdlib>
#include <cstring>

#include "detector/heartbeat_interval.hh"

namespace roster::daemon {

result<node::voter_config, std::string> make_voter_config(const options& o, incarnation_number incarnation) {
    assert(o.is_voter());
    // Without --heartbeat-interval-ms the interval adapts; the detector's base is then the
    // shortest level, and each member's detector follows the interval the member announces.
    const bool adaptive = o.heartbeat_interval_ms == 0;
    const duration heartbeat = adaptive ? detector::adaptive_levels[0].interval
                                        : duration(std::chrono::milliseconds(o.heartbeat_interval_ms));
    node::voter_config c;
    c.cluster = o.cluster;
    c.name = o.name;
    c.id = *o.voter;
    for (const auto& [id, peer] : o.voters) {
        c.voters.push_back(id);
    }
    // Only this voter's own: the others' --listen endpoints are not among a voter's flags.
    c.listen_of[*o.voter] = o.listen.text();
    c.address = o.listen.text();
    c.publish_endpoint = o.publish.text();
    c.tags = o.tags;
    c.incarnation = incarnation;
    if (o.secured()) {
        c.key = o.key->public_key.raw();
        for (const auto& [id, k] : o.voter_keys) {
            c.voter_keys[id] = k.raw();
        }
    }
    c.heartbeat_interval = heartbeat;
    if (adaptive) {
        c.heartbeat_levels.assign(std::begin(detector::adaptive_levels), std::end(detector::adaptive_levels));
    }
    c.detector.detector = detector::phi_accrual_config::for_heartbeat_interval(heartbeat);
    c.detector.detector.threshold = o.phi_threshold;
    c.batching.removal_settle_max = heartbeat + heartbeat / 2;
    c.batching.join_settle = std::chrono::milliseconds(o.join_settle_ms);
    c.batching.removal_settle = std::chrono::milliseconds(o.removal_settle_ms);
    c.max_members = o.max_members;
    // Raft counts in ticks of c.raft_tick (10 ms). The leader sends a heartbeat five times per
    // election timeout, at most every 100 ms (the voters' contact window for shared evidence is
    // 250 ms) and at least every other tick.
    const auto tick_ms = std::chrono::duration_cast<std::chrono::milliseconds>(c.raft_tick).count();
    c.raft.election_ticks = static_cast<int>((o.election_timeout_ms + tick_ms - 1) / tick_ms);
    c.raft.heartbeat_ticks = std::clamp(c.raft.election_ticks / 5, 2, static_cast<int>(100 / tick_ms));
    // The timeout adapts (Raft §5.6: broadcast time well under it) up to 2 s unless told otherwise;
    // silences are judged over 30 periods of 1 s.
    const int max_ms = o.election_timeout_max_ms != 0 ? o.election_timeout_max_ms
                                                      : std::max(2'000, o.election_timeout_ms);
    c.raft.max_election_ticks = std::max(c.raft.election_ticks, static_cast<int>((max_ms + tick_ms - 1) / tick_ms));
    c.raft.silence_period_ticks = static_cast<int>(std::max<std::int64_t>(1, 1'000 / tick_ms));
    c.raft.silence_periods = 30;
    // For bench/commit's comparison only (not a flag: nobody should turn it off): the leader's
    // appends wait for its own write, as before Raft thesis §10.2.1 was followed.
    if (const char* e = std::getenv("ROSTER_EARLY_APPENDS"); e != nullptr && std::strcmp(e, "0") == 0) {
        c.raft.early_appends = false;
    }
    // The same for shared evidence (docs/membership.md): a majority of suspicions suffices.
    if (const char* e = std::getenv("ROSTER_SHARED_EVIDENCE"); e != nullptr && std::strcmp(e, "0") == 0) {
        c.shared_evidence = false;
    }
    // And for local health (docs/membership.md): every suspicion as the detectors judge it.
    if (const char* e = std::getenv("ROSTER_LOCAL_HEALTH"); e != nullptr && std::strcmp(e, "0") == 0) {
        c.local_health.enabled = false;
    }
    if (auto bad = c.validate()) {
        return "invalid configuration: " + *bad;
    }
    return c;
}

result<node::member_config, std::string> make_member_config(const options& o,
                                                            incarnation_number incarnation) {
    node::member_config c;
    c.cluster = o.cluster;
    c.name = o.name;
    c.address = o.listen.text();
    c.publish_endpoint = o.publish.text();
    c.voters = o.join.size();
    c.tags = o.tags;
    c.incarnation = incarnation;
    if (o.heartbeat_interval_ms == 0) {
        c.heartbeat_levels.assign(std::begin(detector::adaptive_levels), std::end(detector::adaptive_levels));
    } else {
        c.heartbeat_interval = std::chrono::milliseconds(o.heartbeat_interval_ms);
    }
    if (auto bad = c.validate()) {
        return "invalid configuration: " + *bad;
    }
    return c;
}

} // namespace roster::daemon
