#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/time.hh"
#include "daemon/endpoint.hh"
#include "node/member_node.hh"
#include "node/voter_node.hh"
#include "wire/messages.hh"

// The documents of /v1/status and /v1/detector (docs/http.md), made on the loop's thread from the
// node's state. Pure: the time is a parameter.
namespace roster::daemon {

// One voter as this node knows it; anything unknown is empty (JSON null).
struct known_voter {
    std::optional<voter_id> id;      // empty: a member's --join endpoint it cannot name yet
    std::optional<std::string> name; // its member name, from the view
    std::string role = "unknown";    // leader, follower, pre_candidate, candidate, unknown
    std::optional<std::uint64_t> term;
    std::optional<std::uint64_t> commit_index;
    std::optional<std::uint64_t> match_index;  // the leader's knowledge of its log
    std::optional<std::uint64_t> heard_ms_ago; // since its last message to this node
    bool self = false;
    std::optional<std::string> endpoint; // members: the --join endpoint
};

// rosterctl status --json's fields, then healthy, health_reason, ready, ready_reason,
// phi_threshold, heartbeat_interval_ms and voters.
[[nodiscard]] std::string status_document(const wire::status_reply& s, double phi_threshold,
                                          int heartbeat_interval_ms, const std::vector<known_voter>& voters);

// Every configured voter, by id: this voter exactly; the leader's followers with their match index;
// the leader as a follower knows it; the rest unknown. `heard`: when each voter's last peer message
// arrived.
[[nodiscard]] std::vector<known_voter> voters_known(const node::voter_node& v, const std::map<voter_id, mono_time>& heard,
                                                    mono_time now);

// A member: the voters of `join` (named by ID@ in --join, or found in the view by address), role unknown.
[[nodiscard]] std::vector<known_voter> voters_known(const node::member_node& m, const std::vector<endpoint>& join,
                                                    const std::vector<voter_id>& join_voters);

// /v1/detector: this voter's judgement of every member it monitors, by member id.
[[nodiscard]] std::string detector_document(const node::voter_node& v, mono_time now);

} // namespace roster::daemon
