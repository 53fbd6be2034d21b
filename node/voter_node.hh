#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/log_sink.hh"
#include "common/prng.hh"
#include "consensus/raft.hh"
#include "membership/membership_state.hh"
#include "membership/suspicion_aggregator.hh"
#include "node/health.hh"
#include "node/member_monitor.hh"
#include "node/origin.hh"
#include "node/output.hh"
#include "node/proposal_batcher.hh"
#include "node/replicated_membership.hh"
#include "node/request_forwarder.hh"
#include "node/self_member.hh"
#include "node/voter_config.hh"
#include "views/view_publisher.hh"

namespace roster::node {

// Counters for metrics (only grow).
struct voter_counters {
    std::uint64_t heartbeats = 0;           // from members and voters, accepted
    std::uint64_t heartbeats_unknown = 0;   // from ids this voter does not know (yet)
    std::uint64_t requests_refused = 0;     // heartbeats, joins and leaves from a key that may not send them
    std::uint64_t removals_refused = 0;     // operators' removals from a key that is not an admin's
    std::uint64_t removals_requested = 0;   // operators' removals queued by this leader
    std::uint64_t suspicions_raised = 0;    // by this voter's detectors
    std::uint64_t suspicions_cleared = 0;   // by this voter's detectors
    std::uint64_t removals_proposed = 0;    // remove ops in proposed commands (leader)
    std::uint64_t removals_held = 0;        // removals a majority asked for, held: a voter still hears the member
    std::uint64_t commands_proposed = 0;    // membership commands proposed (leader)
    std::uint64_t commands_undecodable = 0; // committed entries that failed to decode (skipped)
    std::uint64_t commands_invalid = 0;     // committed entries with a join beyond the bounds (skipped)
    std::uint64_t requests_invalid = 0;     // joins and leaves rejected: beyond the bounds of validation.hh
    std::uint64_t joins_over_limit = 0;     // joins rejected by this leader: the views hold max_members
    std::uint64_t snapshots_refused = 0;    // InstallSnapshot messages whose data is not a valid snapshot
    std::uint64_t sync_requests = 0;        // answered
    std::uint64_t views_published = 0;      // views and full views published
};

// Measurements for the driver's histograms, taken since the last take_samples().
struct voter_samples {
    std::vector<duration> intervals;        // between consecutive heartbeats of a member
    std::vector<duration> commit_latencies; // from proposing a command to applying it (leader)
};

// An event a voter's driver may want to log or count.
struct voter_event {
    enum class kind : std::uint8_t {
        view_committed,
        member_joined,
        member_removed,
        suspected,
        cleared,
        removal_proposed,
        removal_held // a majority suspects the member, and a voter that can talk still hears it
    };
    kind what = kind::view_committed; // which event
    view_id view;                     // the view it happened in (or the current one)
    member_id member;                 // the member concerned (0 for a view)
    std::string name;                 // its name, when known
    views::removal_reason reason = views::removal_reason::suspected; // member_removed: why
    double phi = 0;                   // suspected, cleared: phi at that moment
    std::uint32_t samples = 0;        // suspected, cleared: heartbeat intervals the detector holds
    // removed: from this voter's last heartbeat of it to the commit; suspected, cleared: to the
    // judgement. Empty: never heard from here.
    std::optional<duration> since_heartbeat;
    // removal_proposed: what each voter that suspects it reported ("voter 2: phi 9.3 after 41
    // samples, silent 412 ms; voter 3: never heard from"), for one log line at the leader.
    std::string detail;

    static voter_event committed(view_id v) { return {kind::view_committed, v, {}, {}, {}, 0, 0, {}, {}}; }
    static voter_event joined(view_id v, member_id m, std::string name) {
        return {kind::member_joined, v, m, std::move(name), {}, 0, 0, {}, {}};
    }
    static voter_event removed(view_id v, member_id m, views::removal_reason why, std::optional<duration> since) {
        return {kind::member_removed, v, m, {}, why, 0, 0, since, {}};
    }
    static voter_event judged(bool suspected, view_id v, member_id m, std::string name, double phi,
                              std::uint32_t samples, std::optional<duration> since) {
        return {suspected ? kind::suspected : kind::cleared, v, m, std::move(name), {}, phi, samples, since, {}};
    }
    static voter_event held_removal(view_id v, member_id m, std::string name, std::string detail) {
        return {kind::removal_held, v, m, std::move(name), views::removal_reason::suspected, 0, 0, {},
                std::move(detail)};
    }
    static voter_event proposed_removal(view_id v, member_id m, std::string name, std::string detail) {
        return {kind::removal_proposed, v, m, std::move(name), views::removal_reason::suspected, 0, 0, {},
                std::move(detail)};
    }
};

// A voter: consensus, the membership state machine, a detector for every member, the
// suspicion aggregator and the proposal batcher (when leader), the request forwarder (when not)
// and the view publisher, composed as one deterministic object. Inputs: tick(now), on_peer (from
// voters), on_request (from members and clients). Output: take_output(), carried out by the
// driver in the order `output` states. A voter is a member of the views as well: it joins itself
// and heartbeats to the other voters.
class voter_node {
public:
    // Pre-condition: config.validate() is empty. `recovered` is what storage loaded.
    voter_node(const voter_config& config, prng random, consensus::persisted_state recovered, mono_time now,
               log_sink* logger = nullptr);
    ~voter_node();

    void tick(mono_time now);
    // Graceful shutdown: this voter's member entry leaves the view (committed as `left`); left()
    // turns true once that view is applied here. The voter keeps voting until the process exits.
    void leave(mono_time now);
    [[nodiscard]] bool left() const noexcept { return _self.current_phase() == self_member::phase::left; }
    // A message from another voter (its identity established by the driver).
    void on_peer(voter_id from, const wire::body& msg, mono_time now);
    // A request from a member or client on the listen socket; replies go back to `from`. `who`
    // says what the sender may do (the default: anything, on an insecure node).
    void on_request(route_id from, const wire::body& msg, mono_time now, const requester& who = {});
    output take_output();
    std::vector<voter_event> take_events();
    voter_samples take_samples();

    [[nodiscard]] const consensus::raft& consensus() const noexcept { return *_raft; }
    [[nodiscard]] const views::view& view() const noexcept { return state().current(); }
    // The interval this voter heartbeats to the other voters at now (and says so in each).
    [[nodiscard]] duration heartbeat_interval() const noexcept { return _heartbeat_interval; }
    [[nodiscard]] const membership::membership_state& state() const noexcept { return _machine.state(); }
    [[nodiscard]] const detector::detector_registry& detectors() const noexcept {
        return _monitor.detectors();
    }
    // This voter's local health score (detector::local_health): 0 healthy, up to its maximum.
    [[nodiscard]] std::uint32_t local_health_score() const noexcept { return _monitor.health().score(); }
    // The current view and the ring of recent changes every committed view passes through, in
    // order (replayed ones too): what the daemon's HTTP API serves (/v1/views, /v1/watch).
    [[nodiscard]] const views::view_publisher& publisher() const noexcept { return _publisher; }
    // This voter's member id (0 unless active or leaving).
    [[nodiscard]] member_id self() const noexcept { return _self.id(); }
    [[nodiscard]] self_member::phase self_phase() const noexcept { return _self.current_phase(); }
    [[nodiscard]] const voter_counters& counters() const noexcept { return _counters; }
    // When each other voter was last heard from (any message on the peer socket).
    [[nodiscard]] const std::map<voter_id, mono_time>& voters_heard() const noexcept { return _voter_heard; }
    // Joins and leaves passed on to the leader so far (only grows).
    [[nodiscard]] std::uint64_t requests_forwarded() const noexcept { return _forwarder.forwarded(); }
    [[nodiscard]] const voter_config& config() const noexcept { return _config; }
    [[nodiscard]] wire::status_reply status(std::uint64_t request_id) const;
    // GET /health and GET /ready (node/health.hh), as of the last input.
    [[nodiscard]] node::health health() const;

private:
    bool is_leader() const;
    wire::status_reply basic_status(std::uint64_t request_id) const;
    void drain(); // raft ready -> output, apply committed
    void apply_entry(const consensus::entry& e, bool replay);
    void restore(const consensus::snapshot& s);
    void on_view_change(const views::view_change& c, bool replay);
    // Whether `msg` is a snapshot the state machine could not load (checked before raft takes it).
    bool refuse_snapshot(voter_id from, const consensus::message_body& msg);

    // `key`: the sender's CURVE key, which must be the member entry's.
    void handle_heartbeat(const membership::heartbeat& hb, const origin& from, const std::string& key);
    void handle_request(membership::join_request q, const origin& from);
    void handle_request(membership::leave_request q, const origin& from);
    void handle_request(membership::remove_request q, const origin& from);
    // Whether `who` may join under `q.name` (answered and counted when not).
    bool permitted(const membership::join_request& q, const requester& who, const origin& from);
    // A follower forwards (or refuses) a request: false when this voter leads and decides it.
    template <class Request>
    bool pass_on(const Request& q, const origin& from);
    void answer(const origin& o, wire::body reply);
    // The consensus leader's listen endpoint, when known (for join replies).
    std::string leader_hint() const;
    void answer_join(const origin& o, membership::request_status status, member_id id, incarnation_number inc,
                     std::string error);
    void answer_leave(const origin& o, membership::request_status status, std::string error);
    void answer_remove(const origin& o, membership::request_status status, std::string error);
    // Keeps _leaderless_since up to date (after every change of raft's state).
    void track_leader();

    void evaluate_detectors();
    void send_report(membership::suspicion_report r);
    void leader_decide();
    // The voters this voter can talk to now (itself, and those heard from within voter_contact).
    std::vector<voter_id> talking() const;
    // Leader: the members the views will hold once every entry in this voter's log applies (an
    // upper bound: each join in an entry not applied yet counts unless its name is a member).
    std::size_t members_after_log() const;
    // What the voters that suspect the member reported, as one line.
    std::string describe_suspicion(member_id m, incarnation_number incarnation) const;
    void lost_leadership();
    void self_membership();
    void voter_heartbeats();

    voter_config _config;
    log_sink* _logger;
    std::unique_ptr<consensus::raft> _raft;
    replicated_membership _machine;
    member_monitor _monitor;
    membership::suspicion_aggregator _aggregator; // leader only
    proposal_batcher _batcher;                    // leader only
    request_forwarder _forwarder;                 // followers
    self_member _self;
    views::view_publisher _publisher;
    mono_time _now;
    std::string _views_full; // why a join beyond config.max_members is rejected
    output _out;
    std::vector<voter_event> _events;
    voter_counters _counters;
    static constexpr std::size_t max_samples = 100'000; // per take_samples(); beyond, samples are dropped
    voter_samples _samples;

    mono_time _next_raft_tick;
    mono_time _next_heartbeat;
    duration _heartbeat_interval;
    log_index _replay_until; // committed at startup: re-applied without publishing
    bool _was_leader = false;
    std::map<voter_id, mono_time> _voter_heard; // when each other voter was last heard from
    std::map<member_id, voter_id> _held;        // leader: removals held, and by whom (logged once)
    std::optional<mono_time> _leaderless_since; // since when no consensus leader is known
    // Members recently removed by an operator, so that a heartbeat of one is answered with why
    // (it then stays out). Bounded: the oldest go first.
    static constexpr std::size_t max_operator_removed = 4096;
    std::map<member_id, view_id> _operator_removed;
    std::deque<member_id> _operator_removed_order;
};

} // namespace roster::node
