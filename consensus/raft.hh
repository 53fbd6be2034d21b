#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <variant>
#include <vector>

#include "common/log_sink.hh"
#include "common/prng.hh"
#include "common/result.hh"
#include "consensus/message.hh"
#include "consensus/raft_log.hh"
#include "consensus/silence_window.hh"
#include "consensus/state.hh"

namespace roster::consensus {

struct raft_config {
    voter_id id;                  // this voter
    std::vector<voter_id> voters; // every voter, this one included: 1, 3 or 5 of them
    // Followers start an election after a random number of ticks in
    // [election_ticks, 2 * election_ticks) without hearing from a leader (Raft §5.2).
    int election_ticks = 10;
    // Above election_ticks, the election timeout adapts to the network, between election_ticks and
    // this: twice the longest silence this voter usually sees from the leader (on the leader: from
    // any follower), where "usually" is silence_window::typical_longest over the last
    // silence_periods periods of silence_period_ticks. Raft §5.6 asks for broadcastTime <<
    // electionTimeout; a fixed timeout tuned for a LAN turns every burst of loss on a slower
    // network into a needless election (and a check-quorum step-down). A silence longer than
    // max_election_ticks is a fault, not the network's usual, and is not counted. 0: fixed.
    int max_election_ticks = 0;
    int silence_period_ticks = 100;
    int silence_periods = 30;
    // The leader sends appends (heartbeats when there is nothing new) every heartbeat_ticks.
    int heartbeat_ticks = 2;
    // Raft thesis §9.6: a candidate first asks whether it would win, without raising its term,
    // so a voter that was cut off cannot disrupt a working leader when it comes back.
    bool pre_vote = true;
    // Raft thesis §6.2: a leader that has not heard from a majority within an election timeout
    // steps down; followers that heard from a leader within the timeout ignore vote requests.
    bool check_quorum = true;
    std::size_t max_append_entries = 64;     // entries per append message
    std::size_t max_append_bytes = 1u << 20; // data bytes per append message (at least one entry)
    std::size_t max_inflight = 64;           // unacknowledged append messages per follower
    // Raft thesis §10.2.1: a leader's appends go out in ready::early_messages, before its own
    // write of the entries they carry; off, every message waits for the write.
    bool early_appends = true;

    // Empty when valid, else what is wrong.
    [[nodiscard]] std::optional<std::string> validate() const;
};

// Plain counters for the daemon's metrics; they only grow.
struct raft_counters {
    std::uint64_t dropped_unknown_voter = 0;  // from a voter not in the configuration (or to another)
    std::uint64_t dropped_stale_term = 0;     // from an older term
    std::uint64_t votes_ignored_in_lease = 0; // vote requests ignored: a leader was heard from recently
    std::uint64_t pre_elections = 0;          // pre-vote rounds started
    std::uint64_t elections = 0;              // real elections started (term raised)
    std::uint64_t leader_changes = 0;         // times the known leader changed to a new voter
    std::uint64_t check_quorum_step_downs = 0; // the leader heard from no majority in an election timeout
    std::uint64_t higher_term_step_downs = 0;  // the leader saw a higher term (logged with whose)
    std::uint64_t proposals = 0;
    std::uint64_t snapshots_sent = 0;
    std::uint64_t snapshots_installed = 0;
    std::uint64_t dropped_invalid = 0; // well-formed bytes that no correct voter sends (see raft::step),
                                       // a term above max_term among them
    std::uint64_t campaigns_at_max_term = 0; // elections not started: the term is at max_term
};

enum class propose_error : std::uint8_t { not_leader };

// Raft as a pure state machine, in the style of etcd-raft: inputs are tick(), step(message),
// propose(bytes) and compact(); outputs accumulate until take_ready() hands them over as one
// batch (see `ready` for the order the driver must follow). No clock, no I/O, no threads; the
// randomness of election timeouts comes from the injected generator. One thread calls it.
//
// Guarantees (checked by tests/sim after every step): at most one leader per term; logs that
// share an (index, term) are identical up to it; a committed entry is in the log of every later
// leader; no two different entries are ever handed out as committed at the same index.
class raft {
public:
    // Pre-condition: config.validate() is empty and recovered.hard.term <= max_term (both checked;
    // violating them aborts: storage refuses such a term when it loads). `recovered` is what
    // storage loaded (empty for a new voter). `log` may be null.
    //
    // The term never passes max_term: a voter whose term is max_term stays a follower (or the
    // leader it is) and counts each election it does not start (campaigns_at_max_term).
    raft(const raft_config& config, prng random, persisted_state recovered, log_sink* log = nullptr);

    // Advances logical time by one tick.
    void tick();
    // Handles a message from another voter. Messages from unknown voters are dropped and counted;
    // so is a message that carries a term above max_term, before it can move this voter's term.
    void step(const message& m);
    // Appends a proposal to the log (leader only). Returns the index it will commit at, if it
    // commits; a leader change may still drop it, so callers watch for it among committed entries.
    result<log_index, propose_error> propose(bytes data);
    // The state machine has a snapshot of everything up to `index`: drop the log up to there.
    // Pre-condition: snapshot_point().index <= index <= applied_index().
    void compact(log_index index, std::shared_ptr<const bytes> data);

    // Hands over everything produced since the last call.
    ready take_ready();
    [[nodiscard]] bool has_ready() const;

    [[nodiscard]] voter_id id() const noexcept { return _config.id; }
    [[nodiscard]] consensus::role role() const noexcept { return _role; }
    [[nodiscard]] voter_id leader() const noexcept { return _leader; }
    [[nodiscard]] raft_term term() const noexcept { return _term; }
    [[nodiscard]] voter_id vote() const noexcept { return _vote; }
    [[nodiscard]] log_index commit_index() const noexcept { return _commit; }
    [[nodiscard]] log_index applied_index() const noexcept { return _applied; }
    [[nodiscard]] const raft_log& log() const noexcept { return _log; }
    [[nodiscard]] const raft_counters& counters() const noexcept { return _counters; }
    [[nodiscard]] const raft_config& config() const noexcept { return _config; }
    [[nodiscard]] std::size_t quorum() const noexcept { return _config.voters.size() / 2 + 1; }
    // The election timeout in force (config.election_ticks unless it adapts); elections start
    // after a random number of ticks in [election_ticks(), 2 * election_ticks()).
    [[nodiscard]] int election_ticks() const noexcept { return _election_ticks; }

    // What the leader knows of a follower's log (for tests and status). Leader only.
    struct follower_progress {
        enum class state : std::uint8_t { probe, replicate, snapshot };
        log_index match;                // highest index known replicated there
        log_index next;                 // next index to send
        state mode = state::probe;      // how appends go to it now
        bool probe_sent = false;        // probe: one append is out, wait for its answer
        bool recent_active = false;     // heard from since the last check-quorum
        std::deque<log_index> inflight; // replicate: last index of each unacknowledged append
        log_index pending_snapshot;     // snapshot: the index of the snapshot sent
        int snapshot_ticks = 0;         // snapshot: ticks since it was sent
    };
    [[nodiscard]] const std::map<voter_id, follower_progress>* progress() const noexcept {
        return _role == role::leader ? &_progress : nullptr;
    }

private:
    bool is_voter(voter_id v) const;
    // Why no correct voter could have sent `body` (entries out of sequence, a reply for entries
    // this log never held...), or nothing. Such a message is refused before it can reach an
    // invariant of the log.
    [[nodiscard]] std::optional<std::string> invalid(const message_body& body) const;
    // Why `body` carries a term this voter could not take safely (above max_term), or nothing.
    [[nodiscard]] static std::optional<std::string> term_out_of_range(const message_body& body);
    void reset_election_timer();
    void become_follower(raft_term term, voter_id leader);
    void become_pre_candidate();
    void become_candidate();
    void become_leader();
    void campaign(bool pre);
    void set_leader(voter_id leader);
    void tick_leader();
    void send(voter_id to, message_body body);

    void handle_vote_request(voter_id from, const vote_request& m);
    void handle_vote_reply(voter_id from, const vote_reply& m);
    void handle_append(voter_id from, const append_request& m);
    void handle_append_reply(voter_id from, const append_reply& m);
    void handle_snapshot(voter_id from, const snapshot_request& m);
    void handle_snapshot_reply(voter_id from, const snapshot_reply& m);

    // Sends what the follower is missing, as long as its flow control allows; with
    // `heartbeat`, sends an (empty) append even when there is nothing new.
    void send_append(voter_id to, bool heartbeat);
    void broadcast_append(bool heartbeat);
    bool maybe_commit();
    bool quorum_active() const;
    void mark_unstable(log_index from);
    // Adaptive election timeout (raft_config::max_election_ticks): a message at the current term
    // arrived from `from`.
    [[nodiscard]] bool adaptive() const noexcept { return _config.max_election_ticks > _config.election_ticks; }
    void note_heard(voter_id from, const message_body& body);
    void adapt_election_timeout();

    raft_config _config;
    prng _random;
    log_sink* _logger;
    raft_counters _counters;

    // Persistent state (Raft Figure 2) and the log.
    raft_term _term;
    voter_id _vote;
    raft_log _log;
    std::optional<snapshot> _snapshot; // the latest snapshot (sent to followers behind the log)

    // Volatile state.
    log_index _commit;
    log_index _applied; // highest index handed out in ready.committed (or in a snapshot)
    consensus::role _role = role::follower;
    voter_id _leader;
    voter_id _last_known_leader; // for counting leader changes
    int _election_elapsed = 0;
    int _randomized_timeout = 0;
    int _election_ticks = 0;        // the timeout in force (see raft_config::max_election_ticks)
    int _logged_election_ticks = 0; // the last one logged
    std::int64_t _ticks = 0;        // ticks since this instance started
    silence_window _silences;
    // Per other voter: when the last message at the current term came from it, and whether it
    // was leader-follower traffic (appends and snapshots from the leader, replies to the leader).
    struct last_heard {
        std::int64_t at = 0;
        raft_term term;
        bool steady = false;
    };
    std::map<voter_id, last_heard> _heard;
    int _heartbeat_elapsed = 0;
    std::map<voter_id, bool> _votes;                 // candidate and pre-candidate: answers so far
    std::map<voter_id, follower_progress> _progress; // leader only
    bool _broadcast_pending = false;                 // leader: new entries not yet sent

    // Output not yet handed over.
    log_index _unstable_from;   // lowest log index changed since the last ready
    hard_state _persisted_hard; // hard state as of the last ready
    std::optional<snapshot> _pending_persist_snapshot;
    bool _pending_snapshot_replaces_log = false;
    std::optional<snapshot> _pending_apply_snapshot;
    std::vector<message> _outbox;
    soft_state _reported_soft;
};

} // namespace roster::consensus
