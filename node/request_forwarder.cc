#include "node/request_forwarder.hh"

namespace roster::node {

using membership::join_reply;
using membership::join_request;
using membership::leave_reply;
using membership::leave_request;
using membership::remove_reply;
using membership::remove_request;
using membership::request_status;

namespace {

// The refusal of request `q` of `from`, with `status` and `why`.
wire::body refusal(const join_request& q, const origin& from, request_status status, view_id view,
                   std::string why) {
    return join_reply{request_id_of(from), status, member_id(), q.incarnation, view, "", std::move(why)};
}
wire::body refusal(const leave_request&, const origin& from, request_status status, view_id view,
                   std::string why) {
    return leave_reply{request_id_of(from), status, view, std::move(why)};
}
wire::body refusal(const remove_request&, const origin& from, request_status status, view_id view,
                   std::string why) {
    return remove_reply{request_id_of(from), status, view, member_id(), std::move(why)};
}

} // namespace

template <class Request>
std::variant<Request, request_forwarder::answer>
request_forwarder::forward(Request q, const origin& from, voter_id leader, view_id view, mono_time now) {
    std::optional<request_status> refused;
    std::string why;
    if (leader == voter_id()) {
        refused = request_status::unavailable;
        why = "no consensus leader right now";
    } else if (std::holds_alternative<from_voter>(from)) {
        refused = request_status::not_leader;
        why = "forwarded to a voter that is not the leader";
    }
    if (refused) {
        return answer{from, refusal(q, from, *refused, view, std::move(why))};
    }
    q.request_id = remember(from, now);
    return q;
}

template <class Reply>
std::optional<request_forwarder::answer> request_forwarder::route_back(Reply r) {
    auto to = take(r.request_id);
    if (!to) {
        return std::nullopt;
    }
    r.request_id = request_id_of(*to);
    return answer{std::move(*to), std::move(r)};
}

template std::variant<join_request, request_forwarder::answer>
request_forwarder::forward(join_request, const origin&, voter_id, view_id, mono_time);
template std::variant<leave_request, request_forwarder::answer>
request_forwarder::forward(leave_request, const origin&, voter_id, view_id, mono_time);
template std::optional<request_forwarder::answer> request_forwarder::route_back(join_reply);
template std::optional<request_forwarder::answer> request_forwarder::route_back(leave_reply);
template std::variant<remove_request, request_forwarder::answer>
request_forwarder::forward(remove_request, const origin&, voter_id, view_id, mono_time);
template std::optional<request_forwarder::answer> request_forwarder::route_back(remove_reply);

std::uint64_t request_forwarder::remember(const origin& from, mono_time now) {
    const std::uint64_t id = _next_id++;
    _pending.emplace(id, waiting{from, now + _timeout});
    ++_forwarded;
    return id;
}

std::optional<origin> request_forwarder::take(std::uint64_t reply_id) {
    auto it = _pending.find(reply_id);
    if (it == _pending.end()) {
        return std::nullopt;
    }
    origin to = it->second.to;
    _pending.erase(it);
    return to;
}

void request_forwarder::expire(mono_time now) {
    std::erase_if(_pending, [&](const auto& p) { return now >= p.second.expires; });
}

} // namespace roster::node
