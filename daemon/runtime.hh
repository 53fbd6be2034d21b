#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <spdlog/spdlog.h>
#include <zmq.hpp>

#include "common/result.hh"
#include "consensus/sqlite_storage.hh"
#include "daemon/logging.hh"
#include "daemon/metrics.hh"
#include "daemon/options.hh"
#include "node/member_node.hh"
#include "node/voter_node.hh"

namespace roster::daemon {

// The process around a node: it owns every ZeroMQ socket and is the only thread that touches
// them; it reads the monotonic clock, feeds the node time and decoded messages, and carries out
// the node's output in order (persist, then send, then publish). Nothing here decides anything
// about membership.
//
// Sockets: a ROUTER on --listen (members and clients), a PUB on --publish (views); a voter also
// has a ROUTER on --peer-listen and a DEALER to each other voter's peer endpoint; a member has a
// DEALER to each voter's --listen endpoint and a SUB to each voter's publish endpoint (learned
// from the voter's status reply).
class runtime {
public:
    // Binds every socket, opens storage, starts metrics. Fails with a message that names the flag
    // or file and the reason (a port in use, a data dir of another voter...).
    static result<std::unique_ptr<runtime>, std::string> create(const options& o,
                                                                std::shared_ptr<spdlog::logger> logger);
    ~runtime();

    // Runs until SIGTERM or SIGINT; then leaves gracefully (the removal commits as "left") and
    // returns the exit code (0, or 1 after a storage failure).
    int run();

private:
    runtime(const options& o, std::shared_ptr<spdlog::logger> logger);
    result<bool, std::string> open();
    mono_time now() const;
    std::uint64_t route_of(const std::string& identity, mono_time now);
    bytes encode(wire::body b) const;
    std::optional<wire::envelope> decode(const zmq::message_t& m, const char* socket);

    void drain_listen(mono_time now);
    void drain_peers(mono_time now);
    void drain_dealers(mono_time now);
    void drain_sub(mono_time now);
    void drain_pub_monitor();
    bool carry_out(node::output out);
    void discover_publishers(mono_time now);
    void log_events();
    void log_leadership();

    options _o;
    std::shared_ptr<spdlog::logger> _log;
    spdlog_sink _sink;
    std::unique_ptr<metrics> _metrics;
    zmq::context_t _ctx;
    std::chrono::steady_clock::time_point _epoch;
    int _signal_fd = -1;

    zmq::socket_t _listen;
    zmq::socket_t _pub;
    zmq::socket_t _pub_monitor; // connection events of _pub
    std::unordered_map<std::string, std::uint64_t> _route_of_identity;
    std::unordered_map<std::uint64_t, std::pair<std::string, mono_time>> _identity_of_route;
    std::uint64_t _next_route = 1;
    mono_time _next_route_sweep{};

    // Voter.
    std::unique_ptr<consensus::sqlite_storage> _storage;
    std::unique_ptr<node::voter_node> _voter;
    zmq::socket_t _peer_router;
    std::map<voter_id, zmq::socket_t> _peer_dealers;
    voter_id _known_leader;

    // Member.
    std::unique_ptr<node::member_node> _member;
    std::vector<zmq::socket_t> _voter_dealers;
    zmq::socket_t _sub;
    std::vector<std::string> _voter_publish; // learned per voter (empty: not yet)
    mono_time _next_discovery{};
    member_id _logged_member;

    std::uint64_t _decode_errors_logged = 0;
    mono_time _decode_log_window{};
};

// The incarnation for a process starting now: wall-clock microseconds, and for a voter also
// more than any it used before (kept in <data-dir>/incarnation), so that a restart always
// replaces the old instance even if the clock went back.
result<incarnation_number, std::string> next_incarnation(const std::string& data_dir);

} // namespace roster::daemon
