#pragma once

#include <string>

#include "common/result.hh"
#include "common/strong_value.hh"
#include "daemon/options.hh"
#include "node/member_node.hh"
#include "node/voter_node.hh"

// The node configurations rosterd derives from its flags. Pure: no clock, no files, no sockets,
// so that every value a flag turns into is checked by a unit test (tests/daemon).
namespace roster::daemon {

// A voter's configuration: its id and the ids of every voter (--voter-id, --voters), its own
// --listen and --publish endpoints, the member heartbeat interval and the detector tuned to it
// (--heartbeat-interval-ms, --phi-threshold), the settle windows (--join-settle-ms,
// --removal-settle-ms; a removal waits at most 1.5 heartbeat intervals while others look late), Raft's
// election timeout in ticks and its heartbeat, a fifth of it, at most 100 ms (--election-timeout-ms).
// Pre-condition: o.is_voter(). Fails with "invalid configuration: <why>" when the node refuses
// the result (voter_config::validate).
result<node::voter_config, std::string> make_voter_config(const options& o, incarnation_number incarnation);

// A member's configuration: its own --listen and --publish endpoints, how many voters it joins
// through (--join, by index), the heartbeat interval. Fails like make_voter_config.
result<node::member_config, std::string> make_member_config(const options& o, incarnation_number incarnation);

} // namespace roster::daemon
