#pragma once

#include <chrono>

#include <zmq.hpp>

namespace roster::client {

// How fast a TCP link of roster notices that the network broke it, and how fast it is rebuilt
// once the network heals (guarantee 8). Every socket of rosterd, rosterctl and the client
// library takes these options, on both ends of every link.
//
// Without them a link cut for a few seconds stays dead for 5-12 s after the heal: the kernel
// retransmits what was queued with an exponentially growing timeout (0.2, 0.4, ... 6.4 s), and
// ZeroMQ does not learn that anything is wrong, because TCP only gives up after ~15 minutes.
// With them:
//   - each end sends a ZMTP PING every `link_heartbeat_interval`; a link on which nothing at
//     all arrives for `link_heartbeat_timeout` after a PING is closed (and the other end is told
//     the same bound, ZMQ_HEARTBEAT_TTL, in the PING);
//   - the connecting end then reconnects every `link_reconnect_interval`, never backing off
//     (ZMQ_RECONNECT_IVL_MAX 0), and gives up on a connection attempt whose SYN got no answer
//     within `link_connect_timeout` instead of waiting for the kernel's SYN retries (1, 3, 7 s ...).
// So a link whose fault lasted longer than the timeout carries traffic again within about
// link_reconnect_interval + link_connect_timeout (+ a CURVE handshake) of the heal; one whose fault was
// shorter is either resumed by TCP's next retransmission or closed and rebuilt at the timeout.
// Measured in docs/chaos.md.
//
// The cost: two ZMTP frames per link per interval, a few bytes each; and a link slower than the
// timeout (a peer stopped for longer, 80 % loss) is closed and rebuilt instead of waited for,
// which is what we want: queued heartbeats and appends are stale by then anyway.
inline constexpr std::chrono::milliseconds link_heartbeat_interval{250};
inline constexpr std::chrono::milliseconds link_heartbeat_timeout{1000};
inline constexpr std::chrono::milliseconds link_connect_timeout{500};
inline constexpr std::chrono::milliseconds link_reconnect_interval{100};

inline void apply_link_timing(zmq::socket_t& s) {
    s.set(zmq::sockopt::heartbeat_ivl, static_cast<int>(link_heartbeat_interval.count()));
    s.set(zmq::sockopt::heartbeat_timeout, static_cast<int>(link_heartbeat_timeout.count()));
    s.set(zmq::sockopt::heartbeat_ttl, static_cast<int>(link_heartbeat_timeout.count()));
    s.set(zmq::sockopt::connect_timeout, static_cast<int>(link_connect_timeout.count()));
    s.set(zmq::sockopt::reconnect_ivl, static_cast<int>(link_reconnect_interval.count()));
    s.set(zmq::sockopt::reconnect_ivl_max, 0);
}

} // namespace roster::client
