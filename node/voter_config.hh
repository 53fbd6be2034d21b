#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/strong_value.hh"
#include "common/time.hh"
#include "consensus/raft.hh"
#include "detector/detector_registry.hh"
#include "detector/heartbeat_interval.hh"
#include "detector/local_health.hh"
#include "node/proposal_batcher.hh"
#include "views/view.hh"

namespace roster::node {

// Everything a voter_node is told at construction (the daemon builds it from rosterd's flags).
struct voter_config {
    std::string cluster = "roster";
    std::string name;                          // the voter's member name
    voter_id id;                               // this voter
    std::vector<voter_id> voters;              // all voters, this one included
    std::map<voter_id, std::string> listen_of; // every voter's --listen endpoint (for leader hints)
    std::string address;                       // own --listen endpoint
    std::string publish_endpoint;              // own --publish endpoint
    std::vector<views::tag> tags;              // of its member entry
    incarnation_number incarnation{1};         // of this process (the driver picks a growing one)
    // CURVE public keys (32 bytes each; all empty on an insecure cluster): this voter's, recorded
    // in its member entry, and every voter's, which alone may heartbeat for that voter's entry.
    std::string key;
    std::map<voter_id, std::string> voter_keys;

    duration raft_tick = 10ms;           // one raft tick
    consensus::raft_config raft;         // election/heartbeat ticks, limits (id, voters filled in)
    duration heartbeat_interval = 100ms; // this voter's heartbeats to the other voters
    // Not empty: the heartbeat interval adapts to the size of the view this node holds
    // (detector::adaptive_heartbeat_interval over these levels; rosterd passes
    // detector::adaptive_levels), and heartbeat_interval is not used. Empty: heartbeat_interval.
    std::vector<detector::adaptive_level> heartbeat_levels{};
    detector::registry_config detector;  // how members are judged (defaults: for 100 ms)
    // The voter's own health: many members late at once here, or a stall of this voter, and its
    // suspicions need more evidence (Lifeguard). enabled = false: every suspicion as judged.
    detector::local_health_config local_health;
    duration report_interval = 500ms;    // every current suspicion is repeated this often
    duration suspicion_ttl = 1600ms;     // a suspicion not repeated within this stops counting
    // Shared evidence (membership::suspicion_aggregator): a removal a majority asks for waits while
    // a voter heard from within voter_contact still hears the member. Off: a majority suffices.
    bool shared_evidence = true;
    duration voter_contact = 250ms;
    batcher_config batching;             // how the leader batches changes into views
    std::size_t compact_every = 1000;    // snapshot once this many entries were applied past the last
    std::size_t publisher_ring = 1024;   // recent view changes kept for catch-up
    duration forward_timeout = 5s;       // a forwarded request unanswered this long is dropped
    std::size_t max_members = 10'000;    // leader: a join that would make the views larger is rejected

    // Empty when valid, else what is wrong.
    [[nodiscard]] std::optional<std::string> validate() const;
};

} // namespace roster::node
