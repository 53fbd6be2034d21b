#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/prng.hh"
#include "consensus/memory_storage.hh"
#include "node/member_node.hh"
#include "node/voter_node.hh"
#include "tests/sim/event_queue.hh"
#include "tests/sim/sim_network.hh"
#include "views/view_subscriber.hh"

namespace roster::sim {

// What travels between simulated processes.
struct sim_msg {
    enum class channel : std::uint8_t { peer, request, reply, publish };
    channel ch = channel::peer;
    wire::body msg;
    std::uint64_t route = 0; // request: the requester's route; reply: the route answered
};

struct cluster_options {
    std::uint64_t seed = 1;
    std::size_t voters = 3;
    std::size_t members = 50;
    std::size_t clients = 4; // standalone subscribers, on voters and on members
    duration voter_tick = 10ms;
    duration member_tick = 25ms;
    duration heartbeat = 100ms;
    // Not empty: every node's heartbeat interval adapts to its view's size over these levels
    // (rosterd's default, with its own levels); `heartbeat` is then not used, and the voters'
    // detectors start from the shortest level.
    std::vector<detector::adaptive_level> heartbeat_levels{};
    link_profile links;              // every link starts like this
    std::size_t compact_every = 200; // voters snapshot their log this often (entries)
    bool shared_evidence = true;     // node::voter_config::shared_evidence
    bool local_health = true;        // node::voter_config::local_health.enabled
    bool adaptive_election_timeout = true; // as rosterd: 100 ms, adapting up to 2 s (raft_config)
    std::size_t max_command_bytes = node::batcher_config{}.max_command_bytes; // small: views split
    bool verbose = false;
};

// A whole roster cluster in virtual time: voter nodes (with memory storage), member nodes and
// subscriber clients over a simulated network, driven exactly as the daemon drives them
// (persist, then send, then publish). After every event it checks the guarantees of views:
//  - agreement: every view id names the same member list at every voter and every subscriber;
//  - order: each subscriber's deliveries have strictly increasing ids, without a gap unless the
//    delivery says it is a resync;
//  - leader: the leader is the lowest id, its fencing token is the view id at which it became
//    leader, and a subscriber never sees the token go down;
//  - bounded terms: no voter's term passes consensus::max_term, and a consensus message with a
//    larger term (forge_term) is refused and counted without moving the voter's consensus state.
class cluster_sim {
public:
    explicit cluster_sim(const cluster_options& options);
    ~cluster_sim();

    bool run_for(duration d);
    template <typename Pred>
    bool run_until(Pred pred, duration limit) {
        const mono_time end = _events.now() + limit;
        while (!_violation && !pred()) {
            if (_events.empty() || _events.next_time() > end) {
                _events.advance_to(end);
                return false;
            }
            _events.run_next();
        }
        return !_violation;
    }

    [[nodiscard]] mono_time now() const { return _events.now(); }
    [[nodiscard]] const std::optional<std::string>& violation() const { return _violation; }
    [[nodiscard]] prng& random() { return _random; }
    [[nodiscard]] sim_network<sim_msg>& network() { return *_net; }
    [[nodiscard]] const cluster_options& options() const { return _options; }
    [[nodiscard]] std::uint64_t events() const { return _event_count; }
    [[nodiscard]] std::uint64_t trace_hash() const { return _trace; }

    // Endpoint numbers in the network: voters 0..V-1, members V..V+M-1, clients after.
    [[nodiscard]] std::size_t voter_endpoint(std::size_t v) const { return v; }
    [[nodiscard]] std::size_t member_endpoint(std::size_t m) const { return _options.voters + m; }
    [[nodiscard]] std::size_t client_endpoint(std::size_t c) const {
        return _options.voters + _options.members + c;
    }

    // Voters.
    [[nodiscard]] bool voter_up(std::size_t v) const { return _voters[v].node != nullptr; }
    [[nodiscard]] const node::voter_node& voter(std::size_t v) const { return *_voters[v].node; }
    [[nodiscard]] std::optional<std::size_t> leader() const;
    void crash_voter(std::size_t v);
    void restart_voter(std::size_t v);
    // The voter's process gets no CPU for `d` (a starved host, a long GC-like pause): no ticks, and
    // what arrives meanwhile waits. When it runs again it ticks first and then reads what waited,
    // stall_reads messages a tick (as rosterd's loop reads a bounded number a turn), so for a while
    // its detectors see members silent that are not.
    void stall_voter(std::size_t v, duration d);
    // Hands voter `to` (if up), on its peer socket, a consensus message that voter `from` never
    // sent, carrying a term above consensus::max_term (a snapshot's data is replaced by a loadable
    // one, so that the term is what gets it refused). A violation unless the voter refused it:
    // raft's dropped_invalid up by one, and its term, vote, role, leader and commit index as they
    // were. Returns whether it was delivered.
    bool forge_term(std::size_t to, std::size_t from, consensus::message_body body);
    [[nodiscard]] std::uint64_t forged() const { return _forged; }

    // Members: crash (the process dies), restart (a new process, new incarnation), pause (a stalled
    // process: nothing read or sent until resumed), resume.
    [[nodiscard]] bool member_up(std::size_t m) const { return _members[m].node != nullptr; }
    [[nodiscard]] bool member_paused(std::size_t m) const { return _members[m].paused; }
    [[nodiscard]] const node::member_node& member(std::size_t m) const { return *_members[m].node; }
    [[nodiscard]] std::string member_name(std::size_t m) const { return "m" + std::to_string(m); }
    void crash_member(std::size_t m);
    void restart_member(std::size_t m);
    void pause_member(std::size_t m);
    void resume_member(std::size_t m);
    void leave_member(std::size_t m);
    // An operator asks voter `via` to remove member m by name (the reply goes to client 0, which
    // ignores it). Pre-condition: the simulation has a client.
    void operator_remove(std::size_t m, std::size_t via);

    // A client subscribed to `nodes` (endpoints): deliveries so far.
    struct client_state {
        std::vector<std::size_t> nodes;
        std::unique_ptr<views::view_subscriber> sub;
        std::vector<views::delivery> deliveries;
        std::vector<views::node_event> events;
        std::uint64_t generation = 0;
        bool deaf = false;
    };
    [[nodiscard]] const client_state& client(std::size_t c) const { return _clients[c]; }
    [[nodiscard]] std::size_t clients() const { return _clients.size(); }
    // Called with every event a voter reports (suspicions, views, joins, removals).
    std::function<void(std::size_t voter, const node::voter_event&)> on_voter_event;

    // While on, a client receives nothing on its PUB subscriptions (a slow subscriber whose
    // messages ZeroMQ drops); its sync requests still work.
    void drop_publications_to(std::size_t c, bool on) { _clients[c].deaf = on; }
    // Events (removed/rejoined) a member published to its local subscribers.
    [[nodiscard]] const std::vector<views::node_event>& member_events(std::size_t m) const {
        return _members[m].published_events;
    }

    // The newest view any voter holds, and whether every up voter and every member (not crashed,
    // not paused, not leaving) agrees on it.
    [[nodiscard]] const views::view& newest_view() const;
    // The member id under which member m currently appears in the newest view (0: absent).
    [[nodiscard]] member_id id_in_view(std::size_t m) const;
    // Every removal committed so far: (view id, member name, reason), in order.
    struct removal_record {
        view_id view;
        std::string name;
        member_id id;
        views::removal_reason reason;
        mono_time at;
    };
    [[nodiscard]] const std::vector<removal_record>& removals() const { return _removals; }
    [[nodiscard]] std::uint64_t view_changes() const { return _view_changes; }

private:
    struct voter_slot {
        node::voter_config config;
        std::unique_ptr<node::voter_node> node;
        consensus::memory_storage disk;
        std::uint64_t generation = 1;
        std::uint64_t incarnation = 1;
        mono_time stalled_until{};
        std::vector<std::pair<std::size_t, sim_msg>> held; // arrived while stalled
    };
    struct member_slot {
        node::member_config config;
        std::unique_ptr<node::member_node> node;
        std::uint64_t generation = 1;
        std::uint64_t incarnation = 1;
        bool paused = false;
        std::vector<std::pair<std::size_t, sim_msg>> held; // arrived while paused
        std::vector<views::node_event> published_events;
    };

    void schedule_voter_tick(std::size_t v);
    void voter_tick(std::size_t v, std::uint64_t generation);
    void schedule_member_tick(std::size_t m);
    void member_tick(std::size_t m, std::uint64_t generation);
    void schedule_client_tick(std::size_t c);
    void client_tick(std::size_t c);
    void deliver(std::size_t from, std::size_t to, sim_msg m);
    void deliver_to_member(std::size_t m, std::size_t from, const sim_msg& msg);
    void deliver_to_voter(std::size_t from, std::size_t v, sim_msg msg);
    static constexpr std::size_t stall_reads = 64; // held messages a voter reads per tick after a stall
    void drive_voter(std::size_t v);
    void drive_member(std::size_t m);
    void drive_client(std::size_t c);
    void publish(std::size_t from_endpoint, const wire::body& b);
    void check_voter_view(std::size_t v);
    void check_delivery(std::size_t c, const views::delivery& d);
    void record_view(const views::view& v, const std::string& who);
    void fail(std::string what);
    void trace(std::uint64_t a, std::uint64_t b, std::uint64_t c);
    std::uint64_t route_of(std::size_t endpoint) const;
    bool route_alive(std::uint64_t route) const;

    cluster_options _options;
    prng _random;
    event_queue _events;
    std::unique_ptr<sim_network<sim_msg>> _net;
    std::vector<voter_slot> _voters;
    std::vector<member_slot> _members;
    std::vector<client_state> _clients;
    std::vector<std::vector<std::size_t>> _subscribers_of; // endpoint -> endpoints receiving its PUB
    std::optional<std::string> _violation;
    std::uint64_t _trace = 0;
    std::uint64_t _event_count = 0;

    // The record views are checked against.
    std::map<view_id, std::uint64_t> _view_hash;
    std::map<view_id, std::pair<member_id, view_id>> _view_leader; // leader, token
    views::view _newest;
    std::vector<removal_record> _removals;
    std::uint64_t _view_changes = 0;
    std::uint64_t _forged = 0; // consensus messages with a term above max_term delivered (all refused)
    std::map<std::size_t, std::optional<views::view>> _voter_view; // last view checked per voter
};

} // namespace roster::sim
