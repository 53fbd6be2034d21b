#include "wire/codec.hh"

#include <cstring>
#include <type_traits>

#include <fmt/format.h>

#include "roster_generated.h"

namespace roster::wire {

namespace fb = roster::wire::fb;
using flatbuffers::FlatBufferBuilder;
using flatbuffers::Offset;

namespace {

// ---- encode ------------------------------------------------------------------------------

template <typename T>
struct always_false : std::false_type {};

Offset<flatbuffers::String> opt_string(FlatBufferBuilder& b, const std::string& s) {
    return s.empty() ? Offset<flatbuffers::String>() : b.CreateString(s);
}

Offset<flatbuffers::Vector<Offset<fb::Tag>>> encode_tags(FlatBufferBuilder& b,
                                                         const std::vector<views::tag>& tags) {
    if (tags.empty()) {
        return {};
    }
    std::vector<Offset<fb::Tag>> out;
    out.reserve(tags.size());
    for (const auto& t : tags) {
        out.push_back(fb::CreateTag(b, b.CreateString(t.key), opt_string(b, t.value)));
    }
    return b.CreateVector(out);
}

Offset<fb::Member> encode_member(FlatBufferBuilder& b, const views::member& m) {
    const auto name = b.CreateString(m.name);
    const auto address = opt_string(b, m.address);
    const auto publish = opt_string(b, m.publish_endpoint);
    const auto tags = encode_tags(b, m.tags);
    return fb::CreateMember(b, m.id.value(), name, address, publish, m.incarnation.value(), tags);
}

Offset<flatbuffers::Vector<Offset<fb::Member>>> encode_members(FlatBufferBuilder& b,
                                                               const std::vector<views::member>& members) {
    std::vector<Offset<fb::Member>> out;
    out.reserve(members.size());
    for (const auto& m : members) {
        out.push_back(encode_member(b, m));
    }
    return b.CreateVector(out);
}

Offset<flatbuffers::Vector<const fb::Removal*>> encode_removals(FlatBufferBuilder& b,
                                                                const std::vector<views::removal>& removed) {
    std::vector<fb::Removal> out;
    out.reserve(removed.size());
    for (const auto& r : removed) {
        out.emplace_back(r.id.value(), static_cast<fb::RemovalReason>(r.reason));
    }
    return b.CreateVectorOfStructs(out);
}

Offset<fb::View> encode_view(FlatBufferBuilder& b, const views::view& v) {
    const auto members = encode_members(b, v.members);
    std::vector<std::uint64_t> joined;
    joined.reserve(v.joined.size());
    for (auto id : v.joined) {
        joined.push_back(id.value());
    }
    const auto joined_off = b.CreateVector(joined);
    const auto removed = encode_removals(b, v.removed);
    return fb::CreateView(b, v.id.value(), members, v.leader.value(), v.fencing_token.value(), joined_off,
                          removed);
}

Offset<fb::ViewChange> encode_view_change(FlatBufferBuilder& b, const views::view_change& c) {
    const auto joined = encode_members(b, c.joined);
    const auto removed = encode_removals(b, c.removed);
    return fb::CreateViewChange(b, c.id.value(), joined, removed, c.leader.value(), c.fencing_token.value());
}

struct body_encoder {
    FlatBufferBuilder& b;

    std::pair<fb::Body, Offset<void>> operator()(const membership::heartbeat& m) const {
        return {fb::Body::Heartbeat, fb::CreateHeartbeat(b, m.member.value(), m.incarnation.value(),
                                                         m.sequence, m.known_view.value())
                                         .Union()};
    }
    std::pair<fb::Body, Offset<void>> operator()(const membership::heartbeat_reply& m) const {
        return {fb::Body::HeartbeatReply,
                fb::CreateHeartbeatReply(b, m.member.value(), m.incarnation.value(),
                                         static_cast<fb::MemberStatus>(m.status), m.current_view.value())
                    .Union()};
    }
    std::pair<fb::Body, Offset<void>> operator()(const membership::join_request& m) const {
        const auto name = b.CreateString(m.name);
        const auto address = opt_string(b, m.address);
        const auto publish = opt_string(b, m.publish_endpoint);
        const auto tags = encode_tags(b, m.tags);
        return {fb::Body::JoinRequest,
                fb::CreateJoinRequest(b, m.request_id, name, address, publish, m.incarnation.value(), tags)
                    .Union()};
    }
    std::pair<fb::Body, Offset<void>> operator()(const membership::join_reply& m) const {
        const auto hint = opt_string(b, m.leader_hint);
        const auto error = opt_string(b, m.error);
        return {fb::Body::JoinReply,
                fb::CreateJoinReply(b, m.request_id, static_cast<fb::RequestStatus>(m.status),
                                    m.member.value(), m.incarnation.value(), m.view.value(), hint, error)
                    .Union()};
    }
    std::pair<fb::Body, Offset<void>> operator()(const membership::leave_request& m) const {
        return {fb::Body::Leave,
                fb::CreateLeave(b, m.request_id, m.member.value(), m.incarnation.value()).Union()};
    }
    std::pair<fb::Body, Offset<void>> operator()(const membership::leave_reply& m) const {
        const auto error = opt_string(b, m.error);
        return {fb::Body::LeaveReply,
                fb::CreateLeaveReply(b, m.request_id, static_cast<fb::RequestStatus>(m.status),
                                     m.view.value(), error)
                    .Union()};
    }
    std::pair<fb::Body, Offset<void>> operator()(const membership::suspicion_report& m) const {
        std::vector<fb::Suspicion> items;
        items.reserve(m.suspicions.size());
        for (const auto& s : m.suspicions) {
            items.emplace_back(s.member.value(), s.incarnation.value(), s.phi, s.suspected);
        }
        const auto vec = b.CreateVectorOfStructs(items);
        return {fb::Body::SuspicionReport, fb::CreateSuspicionReport(b, m.full, vec).Union()};
    }
    std::pair<fb::Body, Offset<void>> operator()(const consensus::vote_request& m) const {
        if (m.pre_vote) {
            return {fb::Body::PreVoteRequest,
                    fb::CreatePreVoteRequest(b, m.term.value(), m.last_index.value(), m.last_term.value())
                        .Union()};
        }
        return {fb::Body::VoteRequest,
                fb::CreateVoteRequest(b, m.term.value(), m.last_index.value(), m.last_term.value()).Union()};
    }
    std::pair<fb::Body, Offset<void>> operator()(const consensus::vote_reply& m) const {
        if (m.pre_vote) {
            return {fb::Body::PreVoteReply, fb::CreatePreVoteReply(b, m.term.value(), m.granted).Union()};
        }
        return {fb::Body::VoteReply, fb::CreateVoteReply(b, m.term.value(), m.granted).Union()};
    }
    std::pair<fb::Body, Offset<void>> operator()(const consensus::append_request& m) const {
        std::vector<Offset<fb::Entry>> entries;
        entries.reserve(m.entries.size());
        for (const auto& e : m.entries) {
            entries.push_back(fb::CreateEntry(b, e.index.value(), e.term.value(),
                                              static_cast<fb::EntryKind>(e.kind), b.CreateVector(e.data)));
        }
        const auto vec = b.CreateVector(entries);
        return {fb::Body::AppendEntries, fb::CreateAppendEntries(b, m.term.value(), m.prev_index.value(),
                                                                 m.prev_term.value(), vec, m.commit.value())
                                             .Union()};
    }
    std::pair<fb::Body, Offset<void>> operator()(const consensus::append_reply& m) const {
        return {fb::Body::AppendEntriesReply,
                fb::CreateAppendEntriesReply(b, m.term.value(), m.success, m.index.value(),
                                             m.hint_index.value(), m.hint_term.value())
                    .Union()};
    }
    std::pair<fb::Body, Offset<void>> operator()(const consensus::snapshot_request& m) const {
        const auto data = b.CreateVector(m.data);
        return {fb::Body::InstallSnapshot,
                fb::CreateInstallSnapshot(b, m.term.value(), m.last_index.value(), m.last_term.value(), data)
                    .Union()};
    }
    std::pair<fb::Body, Offset<void>> operator()(const consensus::snapshot_reply& m) const {
        return {fb::Body::InstallSnapshotReply,
                fb::CreateInstallSnapshotReply(b, m.term.value(), m.accepted, m.match_index.value()).Union()};
    }
    std::pair<fb::Body, Offset<void>> operator()(const views::full_view& m) const {
        return {fb::Body::FullView, fb::CreateFullView(b, encode_view(b, m.view)).Union()};
    }
    std::pair<fb::Body, Offset<void>> operator()(const views::view_change& m) const {
        return {fb::Body::ViewChange, encode_view_change(b, m).Union()};
    }
    std::pair<fb::Body, Offset<void>> operator()(const views::sync_request& m) const {
        return {fb::Body::SyncRequest,
                fb::CreateSyncRequest(b, m.request_id, m.after.value(), m.full).Union()};
    }
    std::pair<fb::Body, Offset<void>> operator()(const views::sync_reply& m) const {
        std::vector<Offset<fb::ViewChange>> changes;
        changes.reserve(m.changes.size());
        for (const auto& c : m.changes) {
            changes.push_back(encode_view_change(b, c));
        }
        const auto changes_off = b.CreateVector(changes);
        const auto full = m.full ? encode_view(b, *m.full) : Offset<fb::View>();
        return {fb::Body::SyncReply,
                fb::CreateSyncReply(b, m.request_id, m.current.value(), changes_off, full).Union()};
    }
    std::pair<fb::Body, Offset<void>> operator()(const wire::status_request& m) const {
        return {fb::Body::StatusRequest, fb::CreateStatusRequest(b, m.request_id).Union()};
    }
    std::pair<fb::Body, Offset<void>> operator()(const views::node_event& m) const {
        return {fb::Body::NodeEvent,
                fb::CreateNodeEvent(b, static_cast<fb::NodeEventKind>(m.what), m.member.value(),
                                    m.new_member.value(), m.view.value(),
                                    static_cast<fb::RemovalReason>(m.reason))
                    .Union()};
    }
    std::pair<fb::Body, Offset<void>> operator()(const wire::status_reply& m) const {
        const auto name = opt_string(b, m.name);
        const auto publish = opt_string(b, m.publish_endpoint);
        return {fb::Body::StatusReply,
                fb::CreateStatusReply(b, m.request_id, name, static_cast<fb::Role>(m.role), m.term.value(),
                                      m.commit.value(), m.view.value(), m.voter.value(), m.member.value(),
                                      m.leader.value(), publish)
                    .Union()};
    }
};

// ---- decode ------------------------------------------------------------------------------

decode_error invalid(std::string detail) { return {decode_error_kind::invalid_field, std::move(detail)}; }

std::string str(const flatbuffers::String* s) { return s == nullptr ? std::string() : s->str(); }

// Enum values come off the wire as raw integers; every one is range-checked before the cast.
template <typename Out, typename In>
bool enum_in_range(In value, Out max) {
    return static_cast<unsigned>(value) <= static_cast<unsigned>(max);
}

std::vector<views::tag> decode_tags(const flatbuffers::Vector<Offset<fb::Tag>>* tags) {
    std::vector<views::tag> out;
    if (tags == nullptr) {
        return out;
    }
    out.reserve(tags->size());
    for (const fb::Tag* t : *tags) {
        out.push_back({t->key()->str(), str(t->value())});
    }
    return out;
}

views::member decode_member(const fb::Member& m) {
    return {member_id(m.id()),
            m.name()->str(),
            str(m.address()),
            str(m.publish_endpoint()),
            incarnation_number(m.incarnation()),
            decode_tags(m.tags())};
}

std::optional<decode_error> decode_removals(const flatbuffers::Vector<const fb::Removal*>* in,
                                            std::vector<views::removal>& out) {
    if (in == nullptr) {
        return std::nullopt;
    }
    out.reserve(in->size());
    for (const fb::Removal* r : *in) {
        if (!enum_in_range(r->reason(), fb::RemovalReason::MAX)) {
            return invalid(fmt::format("removal reason {} is not known", static_cast<unsigned>(r->reason())));
        }
        out.push_back({member_id(r->id()), static_cast<views::removal_reason>(r->reason())});
    }
    return std::nullopt;
}

std::vector<views::member> decode_members(const flatbuffers::Vector<Offset<fb::Member>>* in) {
    std::vector<views::member> out;
    if (in == nullptr) {
        return out;
    }
    out.reserve(in->size());
    for (const fb::Member* m : *in) {
        out.push_back(decode_member(*m));
    }
    return out;
}

result<views::view, decode_error> decode_view(const fb::View& v) {
    views::view out;
    out.id = view_id(v.view_id());
    out.members = decode_members(v.members());
    out.leader = member_id(v.leader_id());
    out.fencing_token = view_id(v.fencing_token());
    if (v.joined() != nullptr) {
        out.joined.reserve(v.joined()->size());
        for (std::uint64_t id : *v.joined()) {
            out.joined.emplace_back(id);
        }
    }
    if (auto err = decode_removals(v.removed(), out.removed)) {
        return *err;
    }
    return out;
}

result<views::view_change, decode_error> decode_view_change(const fb::ViewChange& c) {
    views::view_change out;
    out.id = view_id(c.view_id());
    out.joined = decode_members(c.joined());
    if (auto err = decode_removals(c.removed(), out.removed)) {
        return *err;
    }
    out.leader = member_id(c.leader_id());
    out.fencing_token = view_id(c.fencing_token());
    return out;
}

result<wire::body, decode_error> decode_body(const fb::Envelope& env) {
    using namespace roster::membership;
    using namespace roster::views;
    // The verifier accepts a union whose type is set but whose table is absent.
    if (env.body_type() != fb::Body::NONE && env.body() == nullptr) {
        return decode_error{decode_error_kind::missing_body,
                            fmt::format("body type {} is set but the body is absent",
                                        static_cast<unsigned>(env.body_type()))};
    }
    switch (env.body_type()) {
    case fb::Body::Heartbeat: {
        const auto* m = env.body_as_Heartbeat();
        return body(heartbeat{member_id(m->member_id()), incarnation_number(m->incarnation()), m->sequence(),
                              view_id(m->known_view_id())});
    }
    case fb::Body::HeartbeatReply: {
        const auto* m = env.body_as_HeartbeatReply();
        if (!enum_in_range(m->status(), fb::MemberStatus::MAX)) {
            return invalid(
                fmt::format("heartbeat reply status {} is not known", static_cast<unsigned>(m->status())));
        }
        return body(heartbeat_reply{member_id(m->member_id()), incarnation_number(m->incarnation()),
                                    static_cast<member_status>(m->status()), view_id(m->view_id())});
    }
    case fb::Body::JoinRequest: {
        const auto* m = env.body_as_JoinRequest();
        return body(join_request{m->request_id(), m->name()->str(), str(m->address()),
                                 str(m->publish_endpoint()), incarnation_number(m->incarnation()),
                                 decode_tags(m->tags())});
    }
    case fb::Body::JoinReply: {
        const auto* m = env.body_as_JoinReply();
        if (!enum_in_range(m->status(), fb::RequestStatus::MAX)) {
            return invalid(
                fmt::format("join reply status {} is not known", static_cast<unsigned>(m->status())));
        }
        return body(join_reply{m->request_id(), static_cast<request_status>(m->status()),
                               member_id(m->member_id()), incarnation_number(m->incarnation()),
                               view_id(m->view_id()), str(m->leader_hint()), str(m->error())});
    }
    case fb::Body::Leave: {
        const auto* m = env.body_as_Leave();
        return body(
            leave_request{m->request_id(), member_id(m->member_id()), incarnation_number(m->incarnation())});
    }
    case fb::Body::LeaveReply: {
        const auto* m = env.body_as_LeaveReply();
        if (!enum_in_range(m->status(), fb::RequestStatus::MAX)) {
            return invalid(
                fmt::format("leave reply status {} is not known", static_cast<unsigned>(m->status())));
        }
        return body(leave_reply{m->request_id(), static_cast<request_status>(m->status()),
                                view_id(m->view_id()), str(m->error())});
    }
    case fb::Body::SuspicionReport: {
        const auto* m = env.body_as_SuspicionReport();
        suspicion_report out{m->full(), {}};
        if (m->suspicions() != nullptr) {
            out.suspicions.reserve(m->suspicions()->size());
            for (const fb::Suspicion* s : *m->suspicions()) {
                if (!(s->phi() >= 0.0)) { // also refuses NaN
                    return invalid(
                        fmt::format("suspicion of member {} has phi {}", s->member_id(), s->phi()));
                }
                out.suspicions.push_back({member_id(s->member_id()), incarnation_number(s->incarnation()),
                                          s->phi(), s->suspected()});
            }
        }
        return body(std::move(out));
    }
    case fb::Body::PreVoteRequest: {
        const auto* m = env.body_as_PreVoteRequest();
        return body(consensus::vote_request{raft_term(m->term()), log_index(m->last_log_index()),
                                            raft_term(m->last_log_term()), true});
    }
    case fb::Body::PreVoteReply: {
        const auto* m = env.body_as_PreVoteReply();
        return body(consensus::vote_reply{raft_term(m->term()), m->granted(), true});
    }
    case fb::Body::VoteRequest: {
        const auto* m = env.body_as_VoteRequest();
        return body(consensus::vote_request{raft_term(m->term()), log_index(m->last_log_index()),
                                            raft_term(m->last_log_term()), false});
    }
    case fb::Body::VoteReply: {
        const auto* m = env.body_as_VoteReply();
        return body(consensus::vote_reply{raft_term(m->term()), m->granted(), false});
    }
    case fb::Body::AppendEntries: {
        const auto* m = env.body_as_AppendEntries();
        consensus::append_request out{raft_term(m->term()),
                                      log_index(m->prev_log_index()),
                                      raft_term(m->prev_log_term()),
                                      {},
                                      log_index(m->leader_commit())};
        if (m->entries() != nullptr) {
            out.entries.reserve(m->entries()->size());
            for (const fb::Entry* e : *m->entries()) {
                if (!enum_in_range(e->kind(), fb::EntryKind::MAX)) {
                    return invalid(
                        fmt::format("entry kind {} is not known", static_cast<unsigned>(e->kind())));
                }
                bytes data;
                if (e->data() != nullptr) {
                    data.assign(e->data()->begin(), e->data()->end());
                }
                out.entries.push_back({log_index(e->index()), raft_term(e->term()),
                                       static_cast<consensus::entry_kind>(e->kind()), std::move(data)});
            }
        }
        return body(std::move(out));
    }
    case fb::Body::AppendEntriesReply: {
        const auto* m = env.body_as_AppendEntriesReply();
        return body(consensus::append_reply{raft_term(m->term()), m->success(), log_index(m->index()),
                                            log_index(m->hint_index()), raft_term(m->hint_term())});
    }
    case fb::Body::InstallSnapshot: {
        const auto* m = env.body_as_InstallSnapshot();
        bytes data;
        if (m->data() != nullptr) {
            data.assign(m->data()->begin(), m->data()->end());
        }
        return body(consensus::snapshot_request{raft_term(m->term()), log_index(m->last_included_index()),
                                                raft_term(m->last_included_term()), std::move(data)});
    }
    case fb::Body::InstallSnapshotReply: {
        const auto* m = env.body_as_InstallSnapshotReply();
        return body(
            consensus::snapshot_reply{raft_term(m->term()), m->accepted(), log_index(m->match_index())});
    }
    case fb::Body::FullView: {
        auto v = decode_view(*env.body_as_FullView()->view());
        if (!v) {
            return v.error();
        }
        return body(full_view{std::move(v).value()});
    }
    case fb::Body::ViewChange: {
        auto c = decode_view_change(*env.body_as_ViewChange());
        if (!c) {
            return c.error();
        }
        return body(std::move(c).value());
    }
    case fb::Body::SyncRequest: {
        const auto* m = env.body_as_SyncRequest();
        return body(sync_request{m->request_id(), view_id(m->after_view_id()), m->full()});
    }
    case fb::Body::SyncReply: {
        const auto* m = env.body_as_SyncReply();
        sync_reply out{m->request_id(), view_id(m->current_view_id()), {}, std::nullopt};
        if (m->changes() != nullptr) {
            out.changes.reserve(m->changes()->size());
            for (const fb::ViewChange* c : *m->changes()) {
                auto decoded = decode_view_change(*c);
                if (!decoded) {
                    return decoded.error();
                }
                out.changes.push_back(std::move(decoded).value());
            }
        }
        if (m->full() != nullptr) {
            auto v = decode_view(*m->full());
            if (!v) {
                return v.error();
            }
            out.full = std::move(v).value();
        }
        return body(std::move(out));
    }
    case fb::Body::StatusRequest:
        return body(status_request{env.body_as_StatusRequest()->request_id()});
    case fb::Body::StatusReply: {
        const auto* m = env.body_as_StatusReply();
        if (!enum_in_range(m->role(), fb::Role::MAX)) {
            return invalid(fmt::format("role {} is not known", static_cast<unsigned>(m->role())));
        }
        return body(status_reply{m->request_id(), str(m->name()), static_cast<node_role>(m->role()),
                                 raft_term(m->term()), log_index(m->commit_index()), view_id(m->view_id()),
                                 voter_id(m->voter_id()), member_id(m->member_id()),
                                 voter_id(m->leader_voter_id()), str(m->publish_endpoint())});
    }
    case fb::Body::NodeEvent: {
        const auto* m = env.body_as_NodeEvent();
        if (!enum_in_range(m->kind(), fb::NodeEventKind::MAX) ||
            !enum_in_range(m->reason(), fb::RemovalReason::MAX)) {
            return invalid("node event kind or reason is not known");
        }
        return body(node_event{static_cast<node_event::kind>(m->kind()), member_id(m->member_id()),
                               member_id(m->new_member_id()), view_id(m->view_id()),
                               static_cast<views::removal_reason>(m->reason())});
    }
    case fb::Body::NONE:
        return decode_error{decode_error_kind::missing_body, "the envelope has no body"};
    }
    return decode_error{decode_error_kind::missing_body,
                        fmt::format("body type {} is not known to protocol version {}",
                                    static_cast<unsigned>(env.body_type()), wire::protocol_version)};
}

} // namespace

const char* to_string(decode_error_kind kind) noexcept {
    switch (kind) {
    case decode_error_kind::empty:
        return "empty message";
    case decode_error_kind::too_large:
        return "message too large";
    case decode_error_kind::not_roster:
        return "not a roster message";
    case decode_error_kind::truncated:
        return "truncated message";
    case decode_error_kind::malformed:
        return "malformed message";
    case decode_error_kind::unsupported_version:
        return "unsupported protocol version";
    case decode_error_kind::missing_body:
        return "missing or unknown body";
    case decode_error_kind::invalid_field:
        return "invalid field";
    }
    return "unknown decode error";
}

std::string decode_error::describe() const { return fmt::format("{}: {}", to_string(kind), detail); }

bytes encode(const wire::envelope& message) {
    FlatBufferBuilder b(256);
    const auto [type, body_offset] = std::visit(body_encoder{b}, message.msg);
    const auto cluster = b.CreateString(message.cluster);
    const auto from = fb::CreateSender(b, message.from.voter.value(), message.from.member.value(),
                                         opt_string(b, message.from.name));
    const auto env = fb::CreateEnvelope(b, message.version, cluster, from, type, body_offset);
    fb::FinishSizePrefixedEnvelopeBuffer(b, env);
    return bytes(b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize());
}

result<wire::envelope, decode_error> decode(bytes_view data) {
    if (data.empty()) {
        return decode_error{decode_error_kind::empty, "0 bytes"};
    }
    if (data.size() > max_message_size) {
        return decode_error{decode_error_kind::too_large,
                            fmt::format("{} bytes, the limit is {}", data.size(), max_message_size)};
    }
    // The verifier checks the alignment of every scalar relative to the buffer's address; a
    // ZeroMQ frame may start anywhere, so an unaligned one is copied first.
    std::vector<std::uint64_t> aligned;
    const std::uint8_t* buf = data.data();
    if (reinterpret_cast<std::uintptr_t>(buf) % alignof(std::uint64_t) != 0) {
        aligned.resize((data.size() + sizeof(std::uint64_t) - 1) / sizeof(std::uint64_t));
        std::memcpy(aligned.data(), data.data(), data.size());
        buf = reinterpret_cast<const std::uint8_t*>(aligned.data());
    }
    // Layout: a 4-byte little-endian size of the rest, then the FlatBuffer, whose bytes 4..8
    // hold the identifier. The size makes any truncation, and any trailing garbage, visible.
    if (data.size() < 12 || !fb::SizePrefixedEnvelopeBufferHasIdentifier(buf)) {
        return decode_error{
            decode_error_kind::not_roster,
            fmt::format("{} bytes without the \"{}\" identifier", data.size(), fb::EnvelopeIdentifier())};
    }
    const std::size_t declared = flatbuffers::ReadScalar<flatbuffers::uoffset_t>(buf);
    if (declared + sizeof(flatbuffers::uoffset_t) > data.size()) {
        return decode_error{decode_error_kind::truncated,
                            fmt::format("{} bytes of a {}-byte message", data.size(),
                                        declared + sizeof(flatbuffers::uoffset_t))};
    }
    if (declared + sizeof(flatbuffers::uoffset_t) < data.size()) {
        return decode_error{decode_error_kind::malformed,
                            fmt::format("{} trailing bytes after a {}-byte message",
                                        data.size() - declared - sizeof(flatbuffers::uoffset_t),
                                        declared + sizeof(flatbuffers::uoffset_t))};
    }
    flatbuffers::Verifier::Options options;
    options.max_depth = 32;
    options.max_tables = 4'000'000;
    flatbuffers::Verifier verifier(buf, data.size(), options);
    if (!fb::VerifySizePrefixedEnvelopeBuffer(verifier)) {
        return decode_error{
            decode_error_kind::malformed,
            fmt::format("{} bytes refused by the FlatBuffers verifier (bad offsets or missing "
                        "required fields)",
                        data.size())};
    }
    const fb::Envelope* env = fb::GetSizePrefixedEnvelope(buf);
    if (env->protocol_version() != wire::protocol_version) {
        return decode_error{
            decode_error_kind::unsupported_version,
            fmt::format("version {}, this build speaks {}", env->protocol_version(), wire::protocol_version)};
    }
    auto decoded = decode_body(*env);
    if (!decoded) {
        return decoded.error();
    }
    wire::envelope out;
    out.version = env->protocol_version();
    out.cluster = env->cluster()->str();
    if (const fb::Sender* s = env->sender()) {
        out.from = {voter_id(s->voter_id()), member_id(s->member_id()), str(s->name())};
    }
    out.msg = std::move(decoded).value();
    return out;
}

// ---- the replicated log -------------------------------------------------------------------

namespace {

constexpr const char* command_identifier = "RCMD";
constexpr const char* snapshot_identifier = "RSNP";

// Verification common to log payloads: aligned copy, size, identifier, verifier.
template <typename Table>
result<const Table*, decode_error> verify_payload(bytes_view data, const char* identifier,
                                                  std::vector<std::uint64_t>& aligned, const char* what) {
    if (data.empty()) {
        return decode_error{decode_error_kind::empty, fmt::format("empty {}", what)};
    }
    if (data.size() > max_message_size) {
        return decode_error{decode_error_kind::too_large, fmt::format("{} of {} bytes", what, data.size())};
    }
    aligned.resize((data.size() + 7) / 8);
    std::memcpy(aligned.data(), data.data(), data.size());
    const auto* buf = reinterpret_cast<const std::uint8_t*>(aligned.data());
    if (data.size() < 8 || !flatbuffers::BufferHasIdentifier(buf, identifier)) {
        return decode_error{decode_error_kind::not_roster,
                            fmt::format("{} without the \"{}\" identifier", what, identifier)};
    }
    flatbuffers::Verifier::Options options;
    options.max_depth = 32;
    options.max_tables = 4'000'000;
    flatbuffers::Verifier verifier(buf, data.size(), options);
    if (!verifier.VerifyBuffer<Table>(identifier)) {
        return decode_error{decode_error_kind::malformed,
                            fmt::format("{} refused by the FlatBuffers verifier", what)};
    }
    return flatbuffers::GetRoot<Table>(buf);
}

} // namespace

bytes encode_command(const membership::command& c) {
    FlatBufferBuilder b(256);
    std::vector<Offset<fb::Change>> changes;
    for (const auto& o : c.ops) {
        if (const auto* j = std::get_if<membership::join_op>(&o)) {
            const auto name = b.CreateString(j->name);
            const auto address = opt_string(b, j->address);
            const auto publish = opt_string(b, j->publish_endpoint);
            const auto tags = encode_tags(b, j->tags);
            const auto op = fb::CreateJoinOp(b, name, address, publish, j->incarnation.value(), tags);
            changes.push_back(fb::CreateChange(b, fb::Op::JoinOp, op.Union()));
        } else if (const auto* l = std::get_if<membership::leave_op>(&o)) {
            const auto op = fb::CreateLeaveOp(b, l->member.value(), l->incarnation.value());
            changes.push_back(fb::CreateChange(b, fb::Op::LeaveOp, op.Union()));
        } else {
            const auto& r = std::get<membership::remove_op>(o);
            const auto op = fb::CreateRemoveOp(b, r.member.value(), r.incarnation.value(),
                                               static_cast<fb::RemovalReason>(r.reason));
            changes.push_back(fb::CreateChange(b, fb::Op::RemoveOp, op.Union()));
        }
    }
    const auto vec = b.CreateVector(changes);
    b.Finish(fb::CreateCommand(b, vec), command_identifier);
    return bytes(b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize());
}

result<membership::command, decode_error> decode_command(bytes_view data) {
    std::vector<std::uint64_t> aligned;
    auto root = verify_payload<fb::Command>(data, command_identifier, aligned, "membership command");
    if (!root) {
        return root.error();
    }
    membership::command out;
    if (const auto* changes = root.value()->changes()) {
        for (const fb::Change* ch : *changes) {
            switch (ch->op_type()) {
            case fb::Op::JoinOp: {
                const auto* j = ch->op_as_JoinOp();
                if (j == nullptr) {
                    return invalid("join without its table");
                }
                out.ops.push_back(
                    membership::join_op{j->name()->str(), str(j->address()), str(j->publish_endpoint()),
                                        incarnation_number(j->incarnation()), decode_tags(j->tags())});
                break;
            }
            case fb::Op::LeaveOp: {
                const auto* l = ch->op_as_LeaveOp();
                if (l == nullptr) {
                    return invalid("leave without its table");
                }
                out.ops.push_back(
                    membership::leave_op{member_id(l->member_id()), incarnation_number(l->incarnation())});
                break;
            }
            case fb::Op::RemoveOp: {
                const auto* r = ch->op_as_RemoveOp();
                if (r == nullptr || !enum_in_range(r->reason(), fb::RemovalReason::MAX)) {
                    return invalid("remove without its table, or with an unknown reason");
                }
                out.ops.push_back(membership::remove_op{member_id(r->member_id()),
                                                        incarnation_number(r->incarnation()),
                                                        static_cast<views::removal_reason>(r->reason())});
                break;
            }
            default:
                return invalid(
                    fmt::format("membership op type {} is not known", static_cast<unsigned>(ch->op_type())));
            }
        }
    }
    return out;
}

bytes encode_snapshot(const membership::membership_snapshot& s) {
    FlatBufferBuilder b(1024);
    const auto view = encode_view(b, s.view);
    std::vector<Offset<fb::NameIncarnation>> names;
    names.reserve(s.incarnations.size());
    for (const auto& [name, inc] : s.incarnations) {
        names.push_back(fb::CreateNameIncarnation(b, b.CreateString(name), inc.value()));
    }
    const auto names_off = b.CreateVector(names);
    b.Finish(fb::CreateMembershipSnapshot(b, view, s.next_member.value(), names_off), snapshot_identifier);
    return bytes(b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize());
}

result<membership::membership_snapshot, decode_error> decode_snapshot(bytes_view data) {
    std::vector<std::uint64_t> aligned;
    auto root =
        verify_payload<fb::MembershipSnapshot>(data, snapshot_identifier, aligned, "membership snapshot");
    if (!root) {
        return root.error();
    }
    auto view = decode_view(*root.value()->view());
    if (!view) {
        return view.error();
    }
    membership::membership_snapshot out{
        std::move(view).value(), member_id(root.value()->next_member_id()), {}};
    if (const auto* names = root.value()->incarnations()) {
        for (const fb::NameIncarnation* n : *names) {
            out.incarnations.emplace_back(n->name()->str(), incarnation_number(n->incarnation()));
        }
    }
    return out;
}

} // namespace roster::wire
