#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/log_sink.hh"
#include "common/prng.hh"
#include "consensus/raft.hh"
#include "detector/detector_registry.hh"
#include "membership/membership_state.hh"
#include "membership/suspicion_aggregator.hh"
#include "node/output.hh"
#include "views/view_publisher.hh"

namespace roster::node {

struct voter_config {
    std::string cluster = "roster";
    std::string name;                          // the voter's member name
    voter_id id;                               //
    std::vector<voter_id> voters;              // all voters, this one included
    std::map<voter_id, std::string> listen_of; // every voter's --listen endpoint (for leader hints)
    std::string address;                       // own --listen endpoint
    std::string publish_endpoint;              // own --publish endpoint
    std::vector<views::tag> tags;              //
    incarnation_number incarnation{1};         // of this process (the driver picks a growing one)

    duration raft_tick = 10ms;              // one raft tick
    consensus::raft_config raft;            // election/heartbeat ticks, limits (id, voters filled in)
    duration heartbeat_interval = 100ms;    // this voter's heartbeats to the other voters
    detector::registry_config detector;     // how members are judged (defaults: for 100 ms)
    duration report_interval = 500ms;       // every current suspicion is repeated this often
    duration suspicion_ttl = 1600ms;        // a suspicion not repeated within this stops counting
    duration removal_settle = 10ms;         // a due removal waits this long for correlated ones
    duration removal_settle_max = 150ms;    // ... and at most this long while others look late
    duration join_settle = 50ms;            // joins and leaves wait this long to share a view
    std::size_t max_ops_per_command = 1000; //
    duration proposal_timeout = 2s;         // a proposal not applied by then is proposed again
    std::size_t compact_every = 1000;       // snapshot once this many entries were applied past the last
    std::size_t publisher_ring = 1024;      // recent view changes kept for catch-up
    duration forward_timeout = 5s;          // a forwarded request unanswered this long is dropped

    // Empty when valid, else what is wrong.
    [[nodiscard]] std::optional<std::string> validate() const;
};

// Counters for metrics (only grow).
struct voter_counters {
    std::uint64_t heartbeats = 0;         // from members and voters, accepted
    std::uint64_t heartbeats_unknown = 0; // from ids this voter does not know (yet)
    std::uint64_t suspicions_raised = 0;  // by this voter's detectors
    std::uint64_t suspicions_cleared = 0;
    std::uint64_t removals_proposed = 0;
    std::uint64_t commands_proposed = 0;
    std::uint64_t commands_undecodable = 0; // committed entries that failed to decode (skipped)
    std::uint64_t joins_forwarded = 0;
    std::uint64_t sync_requests = 0;
    std::uint64_t views_published = 0;
};

// Measurements for the driver's histograms, taken since the last take_samples().
struct voter_samples {
    std::vector<duration> intervals;        // between consecutive heartbeats of a member
    std::vector<duration> commit_latencies; // from proposing a command to applying it (leader)
};

// An event a voter's driver may want to log or count.
struct voter_event {
    enum class kind : std::uint8_t { view_committed, member_joined, member_removed, suspected, cleared };
    kind what;
    view_id view;
    member_id member;
    std::string name;
    views::removal_reason reason = views::removal_reason::suspected;
    double phi = 0;
    duration since_heartbeat{}; // removed as suspected: from the leader-side last heartbeat to the commit
};

// A voter: consensus, the membership state machine, a detector for every member, the
// suspicion aggregator (when leader) and the view publisher, composed as one deterministic
// object. Inputs: tick(now), on_peer (from voters), on_request (from members and clients).
// Output: take_output(), carried out by the driver in the order `output` states. A voter is a
// member of the views as well: it joins itself and heartbeats to the other voters.
class voter_node {
public:
    // Pre-condition: config.validate() is empty. `recovered` is what storage loaded.
    voter_node(const voter_config& config, prng random, consensus::persisted_state recovered, mono_time now,
               log_sink* log = nullptr);
    ~voter_node();

    void tick(mono_time now);
    // Graceful shutdown: this voter's member entry leaves the view (committed as `left`); left()
    // turns true once that view is applied here. The voter keeps voting until the process exits.
    void leave(mono_time now);
    [[nodiscard]] bool left() const noexcept { return _left; }
    void on_peer(voter_id from, const wire::body& msg, mono_time now);
    void on_request(route_id from, const wire::body& msg, mono_time now);
    output take_output();
    std::vector<voter_event> take_events();
    voter_samples take_samples();

    [[nodiscard]] const consensus::raft& consensus() const noexcept { return *_raft; }
    [[nodiscard]] const views::view& view() const noexcept { return _state.current(); }
    [[nodiscard]] const membership::membership_state& state() const noexcept { return _state; }
    [[nodiscard]] const detector::detector_registry& detectors() const noexcept { return _registry; }
    [[nodiscard]] member_id self() const noexcept { return _self; }
    [[nodiscard]] const voter_counters& counters() const noexcept { return _counters; }
    [[nodiscard]] const voter_config& config() const noexcept { return _config; }
    [[nodiscard]] wire::status_reply status(std::uint64_t request_id) const;

private:
    // Who asked for a pending join or leave, to answer when it commits.
    struct origin {
        std::variant<route_id, std::pair<voter_id, std::uint64_t>, std::monostate>
            to; // route, forwarded, self
        std::uint64_t request_id = 0;
    };
    // A join or leave waiting to commit, with whoever asked for it.
    struct pending {
        membership::op change;
        std::vector<origin> origins;
    };
    using join_key = std::pair<std::string, std::uint64_t>;     // name, incarnation
    using leave_key = std::pair<std::uint64_t, std::uint64_t>;  // member id, incarnation
    struct forwarded {
        std::variant<route_id, std::monostate> to; // route, or this voter's own join
        std::uint64_t request_id;
        mono_time expires;
    };

    bool is_leader() const;
    void drain(); // raft ready -> output, apply committed
    void apply_entry(const consensus::entry& e, bool replay);
    void restore(const consensus::snapshot& s);
    void on_view_change(const views::view_change& c, bool replay);

    void handle_heartbeat(const membership::heartbeat& hb, std::optional<route_id> route, std::optional<voter_id> voter);
    void handle_join(const membership::join_request& q, origin from);
    void handle_leave(const membership::leave_request& q, origin from);
    void answer(const origin& o, wire::body reply);
    void answer_join(const origin& o, membership::request_status status, member_id id, incarnation_number inc,
                     view_id view, std::string error);
    void answer_leave(const origin& o, membership::request_status status, view_id view, std::string error);

    void evaluate_detectors();
    void send_report(membership::suspicion_report r);
    void leader_decide();
    bool late_members_besides(const std::vector<member_id>& due) const;
    void lost_leadership();
    void requeue_in_flight();
    void self_membership();
    void send_self_leave();
    void voter_heartbeats();

    voter_config _config;
    log_sink* _log;
    std::unique_ptr<consensus::raft> _raft;
    membership::membership_state _state;
    detector::detector_registry _registry;
    membership::suspicion_aggregator _aggregator;
    views::view_publisher _publisher;
    mono_time _now;
    output _out;
    std::vector<voter_event> _events;
    voter_counters _counters;
    static constexpr std::size_t max_samples = 100'000; // per take_samples(); beyond, samples are dropped
    voter_samples _samples;

    mono_time _next_raft_tick;
    mono_time _next_report;
    voter_id _reported_to; // the leader the last full report went to
    mono_time _next_heartbeat;
    log_index _replay_until; // committed at startup: re-applied without publishing
    log_index _last_snapshot;
    bool _was_leader = false;

    // This voter as a member.
    member_id _self;
    incarnation_number _self_incarnation;
    std::uint64_t _heartbeat_seq = 0;
    std::optional<mono_time> _self_join_sent;
    bool _leaving = false;
    bool _left = false;
    std::optional<mono_time> _leave_sent;

    // Leader side: pending changes by key (O(log n) per request, whatever the backlog), and the
    // order in which they are proposed.
    std::map<join_key, pending> _pending_joins;
    std::map<leave_key, pending> _pending_leaves;
    std::deque<join_key> _join_queue;
    std::deque<leave_key> _leave_queue;
    std::optional<mono_time> _join_open;
    std::optional<mono_time> _removal_open;
    struct in_flight {
        log_index index;
        mono_time proposed;
        std::vector<join_key> joins;
        std::vector<leave_key> leaves;
    };
    std::optional<in_flight> _in_flight;
    std::uint64_t _next_forward = 1;
    std::map<std::uint64_t, forwarded> _forwards;
};

} // namespace roster::node
