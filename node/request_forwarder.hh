#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>

#include "common/time.hh"
#include "membership/messages.hh"
#include "node/origin.hh"
#include "wire/messages.hh"

namespace roster::node {

// A voter that is not the consensus leader passes joins, leaves and operators' removals on to the
// leader, and the leader's answers back to whoever asked. Deterministic and I/O-free: the voter sends what
// forward() returns and hands over the leader's replies.
//
// Rules (the same for joins and leaves):
//   - no leader known: refused as `unavailable` (retry later);
//   - a request another voter forwarded here: refused as `not_leader` (leadership moved on; a
//     request is forwarded at most once, so two voters can never pass it back and forth);
//   - otherwise forwarded under a new request id of this voter's; the leader's reply is matched
//     by that id and goes back to the origin with the original request id. A forward unanswered
//     after `timeout` is forgotten (the requester retries on its own timeout).
class request_forwarder {
public:
    explicit request_forwarder(duration timeout)
        : _timeout(timeout) {}

    // A reply for whoever asked.
    using answer = std::pair<origin, wire::body>;

    // Pre-condition: this voter is not the leader. `Request` is join_request, leave_request or
    // remove_request.
    // Returns the request to send to `leader` (a copy under this voter's request id), or the
    // refusal to answer `from` with (`view`: this voter's newest view, for the reply).
    template <class Request>
    std::variant<Request, answer> forward(Request q, const origin& from, voter_id leader, view_id view,
                                          mono_time now);

    // Where the leader's reply to a forwarded request goes: to its origin, under the origin's own
    // request id. Forgotten here; nothing when no such request is pending (expired, or not ours).
    template <class Reply>
    std::optional<answer> route_back(Reply r);

    // Forgets forwards unanswered for longer than the timeout.
    void expire(mono_time now);

    [[nodiscard]] std::size_t pending() const noexcept { return _pending.size(); }
    // Requests forwarded so far (only grows).
    [[nodiscard]] std::uint64_t forwarded() const noexcept { return _forwarded; }

private:
    struct waiting {
        origin to;         // from_route or from_self, with the original request id
        mono_time expires; // forgotten from then on
    };

    std::uint64_t remember(const origin& from, mono_time now);
    std::optional<origin> take(std::uint64_t reply_id);

    duration _timeout;
    std::uint64_t _next_id = 1;
    std::uint64_t _forwarded = 0;
    std::map<std::uint64_t, waiting> _pending; // by the id sent to the leader
};

} // namespace roster::node
