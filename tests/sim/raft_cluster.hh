#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/prng.hh"
#include "consensus/memory_storage.hh"
#include "consensus/raft.hh"
#include "tests/sim/event_queue.hh"
#include "tests/sim/sim_network.hh"

namespace roster::sim {

struct raft_cluster_options {
    std::uint64_t seed = 1;
    std::size_t voters = 3;
    duration tick = 10ms;           // nominal tick interval; each voter's clock runs at its own speed
    consensus::raft_config base;    // id and voters are filled in per voter
    std::size_t compact_every = 40; // a voter compacts once it applied this many entries past its snapshot
    double crash_between_persist_and_send = 0; // chance, per ready with messages, of a crash there
    // Chance, per ready with early messages (a leader's appends, sent before its own write), of a
    // crash after sending them and before the write: followers hold entries the leader lost.
    double crash_between_send_and_persist = 0;
    double crash_leader_after_commit = 0;      // chance, each time a leader's commit index moves, that
                                               // it crashes right after sending (Figure 8 of the paper)
    bool verbose = false;                      // print every event (for replaying a seed)
};

// Voters over a simulated network, with the invariants of Raft checked after every event.
//
// Checked (the first violation stops the run and is kept in violation()):
//  - election safety: at most one leader per term, ever;
//  - log matching: two logs that hold an entry with the same index and term hold the same
//    entries up to it (tracked with chain hashes over every persisted log);
//  - leader completeness: a leader of term T holds every entry committed in a term below T;
//  - state machine safety: no two voters (nor one voter across restarts) ever commit or apply
//    different entries at one index, and each applies indices in order without gaps;
//  - durability: every committed entry is on the durable storage of a majority of voters;
//  - bounded terms: no voter's term ever passes consensus::max_term, and a message carrying a
//    larger one (forge_term) is refused and counted without moving anything of the voter.
class raft_cluster {
public:
    explicit raft_cluster(const raft_cluster_options& options);
    ~raft_cluster();

    // Runs events up to now + d (stops early on a violation). Returns false on a violation.
    bool run_for(duration d);
    // Runs until pred() holds (checked after every event) or `limit` passes. Returns whether it held.
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
    [[nodiscard]] std::size_t size() const { return _voters.size(); }
    [[nodiscard]] const std::optional<std::string>& violation() const { return _violation; }
    [[nodiscard]] std::uint64_t trace_hash() const { return _trace; }
    [[nodiscard]] std::uint64_t events() const { return _event_count; }
    [[nodiscard]] sim_network<consensus::message>& network() { return *_network; }
    [[nodiscard]] prng& random() { return _random; }

    [[nodiscard]] bool up(std::size_t i) const { return _voters[i].r != nullptr; }
    [[nodiscard]] const consensus::raft& node(std::size_t i) const { return *_voters[i].r; }
    [[nodiscard]] log_index applied(std::size_t i) const { return _voters[i].applied; }
    // The up voter that is leader with the highest term, if any.
    [[nodiscard]] std::optional<std::size_t> leader() const;
    // Leadership changes seen: how many times the highest-term leader became another voter.
    [[nodiscard]] std::uint64_t leader_changes() const { return _leader_changes; }
    [[nodiscard]] log_index max_committed() const { return log_index(_committed.size()); }

    void crash(std::size_t i);
    void restart(std::size_t i);
    // Switches the crash-between-persist-and-send fault point off (or to another chance).
    void set_crash_between_persist_and_send(double chance) {
        _options.crash_between_persist_and_send = chance;
        _options.crash_between_send_and_persist = chance;
    }
    void set_crash_leader_after_commit(double chance) { _options.crash_leader_after_commit = chance; }
    // Tick speed factor of one voter's clock (1.0 = nominal).
    void set_speed(std::size_t i, double factor) { _voters[i].speed = factor; }
    // Proposes on voter i (if it is up and leader). Returns the index it was appended at.
    std::optional<log_index> propose(std::size_t i, bytes data);
    // Hands voter `to` (if up) a message that voter `from` never sent, carrying a term above
    // consensus::max_term (`body`), outside the network: a forger's. A violation unless the voter
    // refused it: dropped_invalid up by one, and its term, vote, role, leader, commit index and
    // log as they were, with nothing to persist or send. Returns whether it was delivered.
    bool forge_term(std::size_t to, std::size_t from, consensus::message_body body);
    [[nodiscard]] std::uint64_t forged() const { return _forged; }

private:
    struct voter {
        consensus::raft_config config;
        std::unique_ptr<consensus::raft> r;
        consensus::memory_storage disk;
        double speed = 1.0;
        std::uint64_t generation = 0; // bumps on crash and restart, retiring stale tick events
        // The state machine: how far it applied, and the chain hash of what it applied.
        log_index applied;
        std::uint64_t applied_chain = 0;
        // Chain hashes of the persisted log: chain[k] covers every entry up to base + k.
        log_index base;
        std::vector<std::uint64_t> chain{0};
        // Highest commit index checked against the committed record.
        log_index checked_commit;
    };

    void schedule_tick(std::size_t i);
    void deliver(std::size_t from, std::size_t to, consensus::message m);
    void after_input(std::size_t i);
    void persist(std::size_t i, const consensus::ready& rd);
    void apply(std::size_t i, const consensus::ready& rd);
    void check();
    void fail(std::string what);
    [[nodiscard]] std::optional<std::uint64_t> chain_at(const voter& v, log_index i) const;
    void trace(std::uint64_t kind, std::uint64_t a, std::uint64_t b, std::uint64_t c);

    raft_cluster_options _options;
    prng _random;
    event_queue _events;
    std::unique_ptr<sim_network<consensus::message>> _network;
    std::vector<voter> _voters;
    std::optional<std::string> _violation;
    std::uint64_t _trace = 0;
    std::uint64_t _event_count = 0;

    // The record the invariants are checked against; it survives every crash.
    std::map<raft_term, std::size_t> _leader_of_term;
    std::map<std::pair<std::uint64_t, std::uint64_t>, std::uint64_t> _entry_chain; // (index, term) -> chain
    std::vector<std::uint64_t> _committed;     // chain hash at index i + 1
    std::vector<raft_term> _committed_in_term; // term of the voter that first saw index i + 1 committed
    std::map<raft_term, log_index> _max_committed_by_term;
    std::optional<std::size_t> _last_leader;
    std::uint64_t _leader_changes = 0;
    std::uint64_t _forged = 0; // messages with a term above max_term delivered, all refused
};

} // namespace roster::sim
