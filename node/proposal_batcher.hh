#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/time.hh"
#include "consensus/raft.hh"
#include "membership/command.hh"
#include "membership/membership_state.hh"
#include "node/origin.hh"
#include "wire/messages.hh"

namespace roster::node {

struct batcher_config {
    duration join_settle = 50ms;            // joins and leaves wait this long to share a view
    duration removal_settle = 10ms;         // a due removal waits this long for correlated ones
    duration removal_settle_max = 150ms;    // ... and at most this long while others look late
    duration proposal_timeout = 2s;         // a proposal not applied by then is proposed again
    // One command (so one view) carries at most this many ops and, by wire::op_bytes_bound, this
    // many bytes (as much as one Raft append message carries), but always at least one op. The
    // count binds for typical joins (2,000 of ~190 bytes: a 10,000-member bootstrap in 5 views),
    // the bytes for large ones (about 80 with 32 tags of the largest size). Not more ops: with
    // 5,600 joins in one view, the answers of a later view were lost in bench/scale's bootstrap
    // (thousands of members on a few sockets; not explained yet).
    std::size_t max_ops_per_command = 2000;
    std::size_t max_command_bytes = consensus::raft_config{}.max_append_bytes;
};

// The leader's bound on the size of the views (--max-members), as the batcher applies it to the joins
// it takes into a command. Joins that would add a member beyond `max_members` are answered
// `rejected` with `reason` instead; a join that replaces the member of its name, retries one or is
// stale adds none. Taken in arrival order, so the earliest joins get the room.
struct member_limit {
    std::size_t max_members = SIZE_MAX;
    // The members the views will hold once everything proposed so far applies (an upper bound);
    // asked only when a join is taken.
    std::function<std::size_t()> members;
    // Whether a join would add a member to the state as it will be (see membership_state::adds_member).
    std::function<bool(const membership::join_op&)> adds;
    std::string reason; // the `error` of the rejection
};

// The consensus leader's side of membership changes: joins, leaves and operators' removals wait here
// with whoever asked for them, removals wait for a short settle window, and all of them leave in batches, one
// command (so one view) at a time. Deterministic and I/O-free: the voter proposes what next()
// returns and reports what was proposed and what was applied.
//
// Guarantees:
//   - at most one command in flight; the next is built only once it applied, or after
//     `proposal_timeout` (then what it carried is queued again, at the front, in order);
//   - a request is answered once: the origins of a join or leave are handed out when an entry
//     carrying it applies (take_origins), or all together when leadership is lost (abandon);
//   - identical requests (a retry) wait as one, with every origin;
//   - order: due removals (suspicions) first, then operators' removals, then leaves, then joins,
//     each in arrival order, as many as fit in one command (max_ops_per_command,
//     max_command_bytes); operators' removals wait like leaves (join_settle);
//   - the views never grow past member_limit::max_members through the joins of the commands it
//     builds: one command at a time, each counted against the members after the one before.
class proposal_batcher {
public:
    explicit proposal_batcher(const batcher_config& config)
        : _config(config) {}

    // Adds `from` to an identical request already waiting (a retry); false when none waits.
    bool add_origin(const membership::join_op& op, const origin& from);
    bool add_origin(const membership::leave_op& op, const origin& from);
    bool add_origin(const membership::remove_op& op, const origin& from); // an operator's removal
    // Queues a new request. Pre-condition: add_origin() returned false for it.
    void queue(membership::join_op op, origin from, mono_time now);
    void queue(membership::leave_op op, origin from, mono_time now);
    void queue(membership::remove_op op, origin from, mono_time now); // an operator's removal

    // The next command to propose, if one is due: the removals in `due` (members a majority of
    // voters suspects, sorted by id) once they settled — removal_settle after they first showed,
    // longer while `others_late()` says more members look late (likely the same failure), but no
    // longer than removal_settle_max — and the queued joins and leaves once join_settle passed.
    // Nothing while a command is in flight. Joins beyond `limit` are not taken: each is answered
    // `rejected` through take_refused() and forgotten. Pre-condition: proposed() or unproposed()
    // follows a returned command before the next call.
    std::optional<membership::command> next(mono_time now, const std::vector<membership::remove_op>& due,
                                            const std::function<bool()>& others_late,
                                            const member_limit& limit = {});
    // The command from next() was proposed at `index`.
    void proposed(log_index index, mono_time now);
    // The command from next() could not be proposed (leadership lost): its requests wait again.
    void unproposed(mono_time now);

    // The entry at `index` was applied. When it is at or past the one in flight, the slot frees (what
    // the entry did not carry waits again) and the time from proposing to applying is returned.
    std::optional<duration> applied(log_index index, mono_time now);
    // A command in flight longer than proposal_timeout is given up: its requests wait again.
    void tick(mono_time now);

    // A reply owed to whoever asked.
    using answer = std::pair<origin, wire::body>;

    // An applied command: the replies to the requests it carried that this leader was asked for,
    // one per origin, forgotten here. `outcomes` are the state machine's, one per op; `view` is the
    // view after it and `leader_hint` the leader's listen endpoint.
    std::vector<answer> answers(const membership::command& cmd,
                                const std::vector<membership::op_outcome>& outcomes, view_id view,
                                const std::string& leader_hint);

    // The `rejected` replies to the joins next() refused for lack of room since the last call,
    // one per origin, in arrival order. `view` and `leader_hint` as in answers().
    std::vector<answer> take_refused(view_id view, const std::string& leader_hint);

    // Leadership lost: a `not_leader` reply for every origin of every waiting request (joins, then
    // leaves, then operators' removals, by key); the batcher is empty afterwards.
    std::vector<answer> abandon(view_id view, const std::string& leader_hint);

    [[nodiscard]] bool in_flight() const noexcept { return _in_flight.has_value(); }
    [[nodiscard]] std::size_t queued() const noexcept {
        return _join_queue.size() + _leave_queue.size() + _remove_queue.size();
    }

private:
    using join_key = std::pair<std::string, std::uint64_t>;    // name, incarnation
    using leave_key = std::pair<std::uint64_t, std::uint64_t>; // member id, incarnation
    struct pending {
        membership::op change;
        std::vector<origin> origins;
    };
    struct flight {
        log_index index;
        mono_time proposed;
        std::vector<join_key> joins;
        std::vector<leave_key> leaves;
        std::vector<leave_key> removes;
    };

    static join_key key_of(const membership::join_op& op) { return {op.name, op.incarnation.value()}; }
    static leave_key key_of(const membership::leave_op& op) {
        return {op.member.value(), op.incarnation.value()};
    }
    static leave_key key_of(const membership::remove_op& op) {
        return {op.member.value(), op.incarnation.value()};
    }
    [[nodiscard]] bool nothing_queued() const {
        return _join_queue.empty() && _leave_queue.empty() && _remove_queue.empty();
    }
    void requeue(mono_time now);
    void open_join_window(mono_time now);
    struct filling;
    void take_joins(const member_limit& limit, filling& fill, std::vector<join_key>& taken);

    batcher_config _config;
    // Pending requests by key (O(log n) per request whatever the backlog) and the order in which
    // they are proposed.
    std::map<join_key, pending> _joins;
    std::map<leave_key, pending> _leaves;
    std::map<leave_key, pending> _removes; // operators' removals
    std::deque<join_key> _join_queue;
    std::deque<leave_key> _leave_queue;
    std::deque<leave_key> _remove_queue;
    std::optional<mono_time> _join_open;    // when the oldest queued join, leave or removal arrived
    std::optional<mono_time> _removal_open; // since when removals have been due
    std::optional<flight> _building;        // returned by next(), not yet proposed
    std::optional<flight> _in_flight;
    struct refused_join {
        membership::join_op op;
        std::vector<origin> origins;
        std::string reason;
    };
    std::vector<refused_join> _refused; // joins beyond the member limit, not answered yet
};

} // namespace roster::node
