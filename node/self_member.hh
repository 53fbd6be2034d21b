#pragma once

#include <cstdint>
#include <optional>
#include <variant>

#include "common/time.hh"
#include "membership/membership_state.hh"
#include "membership/messages.hh"

namespace roster::node {

// A voter's own entry in the views. A voter is a member too: it joins through itself (decided at
// once when it leads, forwarded like any join when it does not), heartbeats to the other voters
// while it is in the view, joins again under its next incarnation when it was removed, and leaves
// on shutdown. Deterministic and I/O-free: the voter asks it what to send and tells it what the
// views and the replies said.
class self_member {
public:
    enum class phase : std::uint8_t {
        joining, // not (or no longer) in the view
        active,  // in the view
        leaving, // leave() was called while active: its leave is on its way
        left,    // its entry left the view (or was not in it when leave() came); final
        // an operator removed its entry: it stays out (no join, no heartbeat) until the process
        // restarts, which joins under a newer incarnation (docs/membership.md, "Operator removal")
        removed_by_operator,
    };

    // `join`: the join request this voter makes (name, endpoints, tags, first incarnation).
    explicit self_member(membership::join_request join, duration join_retry = 250ms,
                         duration leave_retry = 1s)
        : _join(std::move(join))
        , _join_retry(join_retry)
        , _leave_retry(leave_retry) {}

    // The request to make now, if any: a join while joining (at most every join_retry), a leave
    // while leaving (at most every leave_retry), and also while active but missing from `state`
    // (a join reply ahead of the view). An entry under this name and incarnation in `state` makes it
    // active without asking; its entry departed from `state` (removed in a view that came with a
    // snapshot) counts as removed().
    std::optional<std::variant<membership::join_request, membership::leave_request>>
    next_request(const membership::membership_state& state, mono_time now);

    // Its entry is in the view under `id` (a committed join, a join reply, a restored snapshot).
    void joined(member_id id);
    // The reply to its own join. Whatever it says, the next join may go at once; `rejected` while
    // joining (an incarnation not newer than one seen for its name) moves to the next incarnation.
    void join_answered(const membership::join_reply& r);
    // View `in` removed entry `id` for `why`. True when it was this voter's: then it is `left` if it
    // was leaving, `removed_by_operator` if that was why, else joining again under the next
    // incarnation.
    bool removed(member_id id, views::removal_reason why = views::removal_reason::suspected, view_id in = {});
    // Graceful shutdown: leaving if its entry is in `state`, else left at once.
    void leave(const membership::membership_state& state);
    // The heartbeat to send to the other voters, when in the view.
    std::optional<membership::heartbeat> heartbeat(view_id known);

    [[nodiscard]] phase current_phase() const noexcept { return _phase; }
    // Its member id (0 unless active or leaving).
    [[nodiscard]] member_id id() const noexcept { return _id; }
    [[nodiscard]] incarnation_number incarnation() const noexcept { return _join.incarnation; }
    [[nodiscard]] const std::string& name() const noexcept { return _join.name; }
    // The view that removed it, in phase removed_by_operator.
    [[nodiscard]] view_id removed_in() const noexcept { return _removed_in; }

private:
    membership::join_request _join;
    duration _join_retry;
    duration _leave_retry;
    phase _phase = phase::joining;
    member_id _id;
    view_id _removed_in;
    std::uint64_t _heartbeat_seq = 0;
    std::optional<mono_time> _join_sent;
    std::optional<mono_time> _leave_sent;
};

} // namespace roster::node
