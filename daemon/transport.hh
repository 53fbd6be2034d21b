#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>
#include <zmq.hpp>

#include "auth/key_table.hh"
#include "common/bytes.hh"
#include "common/result.hh"
#include "consensus/storage.hh"
#include "daemon/commit_trace.hh"
#include "daemon/driver.hh"
#include "daemon/metrics.hh"
#include "daemon/options.hh"
#include "daemon/route_table.hh"
#include "node/origin.hh"
#include "node/output.hh"
#include "wire/messages.hh"

namespace roster::daemon {

// Everything between the network and a driver: the ZeroMQ context and every socket, signals,
// the monotonic clock, the checked decode of every incoming frame and the encode of every
// outgoing body. Every socket is created and every frame decoded here, so that this is the one
// place where authentication is added. Not thread-safe: one thread (the poll loop's) makes
// every call.
//
// Sockets: every node has signal handling (a signalfd for SIGTERM and SIGINT), a ROUTER on
// --listen (members and clients) and a PUB on --publish (views, with a monitor that counts the
// subscribers). A voter adds a ROUTER on --peer-listen and a DEALER to each other voter's
// --voters endpoint; a member adds a DEALER to each --join endpoint and a SUB, which it connects
// to each voter's publish endpoint as learned from the voter's status reply. That discovery is
// here rather than in the member driver because it only decides where a socket connects (and,
// with CURVE, with which key); the node never sees status replies.
//
// Incoming frames are counted (roster_messages_received_total by socket) and decoded; a frame
// that does not decode, is for another cluster, is badly framed or (on --peer-listen) names a
// sender that is not another voter is dropped, counted by reason and logged (at most 10 lines a
// minute, whoever sends them), and never reaches the driver.
//
// Security (docs/security.md). With --key-file every socket runs CURVE: the listen, publish and
// peer sockets as servers, whose ZAP handler (served from the poll loop, on an inproc socket of
// this transport's context) admits only the keys of the key table (--voter-keys,
// --authorized-keys, this node's own key), the peer socket only voters' keys; every connection
// this node makes authenticates its server by the voter's key. Each message carries the key that
// sent it (its ZeroMQ User-Id), and that key, looked up again for every message so that a key
// revoked on SIGHUP stops counting at once, decides what it may do: a voter key speaks on the peer
// socket only as its own voter; on the listen socket a reader key may only ask (status, sync), a
// member key may join only under its name, and the node checks that heartbeats and leaves come
// from the key of the entry they name (node::requester). Joins are rate-limited per key.
class transport {
public:
    // Where the sockets are bound, as tcp://HOST:PORT (with port 0 in the options: the port the
    // system chose).
    struct addresses {
        std::string listen;
        std::string publish;
        std::string peer_listen; // voters, once open_voter_links() succeeded
    };

    // Blocks SIGTERM and SIGINT (to be read from a descriptor) and binds --listen and --publish.
    // Call before any thread starts, so that every thread inherits the blocked signals. `m`
    // outlives the transport. Fails with a message that names the flag and the reason
    // ("cannot listen on HOST:PORT (--listen): Address already in use").
    static result<std::unique_ptr<transport>, std::string>
    open(const options& o, std::shared_ptr<spdlog::logger> log, metrics& m);
    ~transport();
    transport(const transport&) = delete;
    transport& operator=(const transport&) = delete;

    // A voter's links: binds --peer-listen, and connects a DEALER to every other voter. Call once,
    // on a voter's transport only; fails like open().
    [[nodiscard]] std::optional<std::string> open_voter_links();
    // A member's links: a DEALER to each --join endpoint, and the SUB (connected once a voter says
    // where it publishes). Call once, on a member's transport only.
    void open_member_links();

    // Monotonic time since the transport was opened.
    [[nodiscard]] mono_time now() const;
    [[nodiscard]] const addresses& bound() const noexcept { return _bound; }

    // Waits until a socket or a signal has something to read, or until `until` (at least 1 ms).
    // Returns false when polling failed (logged); the loop must stop.
    [[nodiscard]] bool wait(mono_time until);
    // The signals received since the last call, in order.
    std::vector<int> take_signals();
    // Reads every socket until it has nothing left and hands each accepted message to `d`, in
    // this order: --listen, the publish monitor, then --peer-listen (voters) or the --join
    // connections and the SUB (members). A member also asks, once a second, every voter whose
    // publish endpoint it does not know yet. `now` stamps the routes of requests.
    void receive(driver& d, mono_time now);
    // Forgets the routes of clients not heard from for 10 minutes (looks once a minute): a reply
    // to a forgotten route is not sent, and the client gets a new route if it comes back.
    void sweep_routes(mono_time now);
    // The end of a turn of the poll loop, for ROSTER_TRACE_COMMITS (commit_trace::step_end).
    void trace_step_end() {
        if (_trace) {
            _trace->step_end();
        }
    }
    // Re-reads --authorized-keys (SIGHUP). On an error (returned) the keys in force stay.
    [[nodiscard]] std::optional<std::string> reload_keys();
    [[nodiscard]] const auth::key_table& keys() const noexcept { return _keys; }
    // Carries out one batch in the order node/output.hh states: sends a leader's early appends,
    // saves `out.persist` to `durable` (a voter's storage; may be null only when there is nothing
    // to persist), then sends to voters, replies and requests to voters, then publishes; a batch
    // that only moves the commit index is saved last. Every envelope says it is from `from`.
    // Sends never block: a full queue drops the message (counted). Returns false after a storage
    // failure (logged), with nothing sent that depended on the write: the caller must stop.
    [[nodiscard]] bool carry_out(node::output out, const wire::sender& from, consensus::storage* durable);

private:
    // Saves each ready (false, logged, when the storage fails).
    bool save(const std::vector<consensus::ready>& readies, consensus::storage* durable);
    // Sends each message to its voter's peer socket; `append_event` names appends in the trace.
    void send_to_voters(std::vector<std::pair<voter_id, wire::body>>& messages, const wire::sender& from,
                        const char* append_event);
    transport(const options& o, std::shared_ptr<spdlog::logger> log, metrics& m);
    [[nodiscard]] std::optional<std::string> open_common();
    [[nodiscard]] std::optional<std::string> bind(zmq::socket_t& s, const endpoint& e, const char* flag);
    // Adds `s` to the poll set; returns its place there (for readable()).
    std::size_t poll_on(zmq::socket_t& s);
    // The last poll found something to read at this place of the poll set. A socket that has
    // nothing is not read: with ZeroMQ an empty non-blocking read is not free (it checks the
    // socket's command mailbox: two system calls, a poll and a getpid), and every turn of the loop
    // read every socket, monitors included. Whatever arrives after the poll is read on the next
    // turn, whose poll returns at once.
    [[nodiscard]] bool readable(std::size_t place) const {
        return place < _poll_items.size() && (_poll_items[place].revents & ZMQ_POLLIN) != 0;
    }
    static constexpr std::size_t not_polled = static_cast<std::size_t>(-1);
    // The key table: voters, --authorized-keys, this node's own key.
    [[nodiscard]] result<auth::key_table, std::string> load_keys() const;
    // CURVE server with the ZAP domain `domain` (the socket's name), when secured.
    void secure_server(zmq::socket_t& s, const char* domain);
    // CURVE client of the node whose public key is `server`'s, when secured.
    void secure_client(zmq::socket_t& s, voter_id server);
    // Connection events of `s` (handshake failures; for the publish socket also subscribers).
    [[nodiscard]] std::optional<std::string> watch(zmq::socket_t& s, const std::string& socket,
                                                   const std::string& peer, int events);
    void drain_monitors();
    void drain_zap();
    // The grant of the key that sent `m` (null: not authorized now, or an insecure node); that
    // key in `key`, when given and known.
    [[nodiscard]] const auth::grant* grant_of(const zmq::message_t& m, auth::curve_key* key = nullptr) const;
    // What the sender of `env` on --listen may do; empty when the message is dropped (counted).
    std::optional<node::requester> requester_of(const zmq::message_t& m, const wire::envelope& env,
                                                const std::string& identity, mono_time now);
    // A few lines a minute about refused messages and handshakes, whoever causes them.
    void rate_limited_warn(const std::string& what);

    [[nodiscard]] bytes encode(wire::body b, const wire::sender& from) const;
    std::optional<wire::envelope> decode(const zmq::message_t& m, const char* socket);
    // A message from a ROUTER (--listen, --peer-listen): the sender's routing identity, the
    // message's data frame (which carries the sender's authenticated key) and what it sent.
    struct routed {
        std::string identity;
        zmq::message_t frame;
        wire::envelope env;
    };
    // Reads the next message of ROUTER `s`: false when none is left; else `out` holds it, or is
    // empty when it was dropped (badly framed, undecodable, for another cluster: counted).
    bool read_routed(zmq::socket_t& s, const char* socket, std::optional<routed>& out);
    // The same for a socket whose messages are one frame each (a DEALER, the SUB).
    bool read_frame(zmq::socket_t& s, const char* socket, std::optional<wire::envelope>& out);

    void drain_listen(driver& d, mono_time now);
    void drain_peers(driver& d, mono_time now);
    void drain_voter_links(driver& d, mono_time now);
    void drain_sub(driver& d, mono_time now);
    void follow_publisher(std::size_t voter, const wire::status_reply& s);
    void discover_publishers(const wire::sender& from, mono_time now);

    options _o;
    std::shared_ptr<spdlog::logger> _logger;
    metrics& _metrics;
    zmq::context_t _ctx;
    std::chrono::steady_clock::time_point _epoch;
    int _signal_fd = -1;
    std::size_t _signal_place = not_polled; // places in _poll_items (readable())
    std::size_t _zap_place = not_polled;
    std::size_t _listen_place = not_polled;
    std::size_t _peer_place = not_polled;
    std::size_t _sub_place = not_polled;
    std::vector<std::size_t> _voter_dealer_places; // by --join index
    std::vector<zmq_pollitem_t> _poll_items;
    addresses _bound;

    auth::key_table _keys; // empty on an insecure node
    zmq::socket_t _zap;    // the ZAP handler's socket (secured nodes)
    struct monitor {
        zmq::socket_t events; // PAIR connected to the socket's monitor
        std::string socket;   // "listen", "publish", "peer", "voter", "sub"
        std::string peer;     // for a connection this node makes: whom it reaches
        mono_time next_warning{};
        std::size_t place = not_polled; // in _poll_items
    };
    std::vector<monitor> _monitors;

    zmq::socket_t _listen;
    zmq::socket_t _pub;
    route_table _routes; // of --listen
    // Joins and removals each key (an insecure node: each connection) may still send now: 20, refilled at 10 a
    // second (options::join_burst and joins_per_second), so that a flood from one client cannot keep
    // the leader proposing.
    struct join_budget {
        double tokens = 0;
        mono_time updated{};
    };
    std::unordered_map<std::string, join_budget> _join_budgets;
    mono_time _next_budget_sweep{};
    // Voter.
    zmq::socket_t _peer_router;
    std::map<voter_id, zmq::socket_t> _peer_dealers; // every other voter

    // Member.
    std::vector<zmq::socket_t> _voter_dealers; // by --join index
    zmq::socket_t _sub;
    std::vector<std::string> _voter_publish; // learned per voter (empty: not yet)
    mono_time _next_discovery{};

    std::uint64_t _decode_errors_logged = 0;
    mono_time _decode_log_window{};

    std::unique_ptr<commit_trace> _trace; // ROSTER_TRACE_COMMITS (bench/commit); usually null
};

} // namespace roster::daemon
