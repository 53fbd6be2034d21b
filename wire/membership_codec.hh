#pragma once

#include <vector>

#include "membership/command.hh"
#include "membership/messages.hh"
#include "wire/codec_detail.hh"

// Private to wire/: the membership protocol (membership/messages.hh) and the ops of the
// replicated log's commands (membership/command.hh).
namespace roster::wire::detail {

// ---- members and voters ------------------------------------------------------------------

template <>
struct codec<membership::heartbeat> {
    using tables = fb_tables<fb::Heartbeat>;
    static Offset<fb::Heartbeat> encode(builder& b, const membership::heartbeat& m) {
        return fb::CreateHeartbeat(b, m.member.value(), m.incarnation.value(), m.sequence,
                                   m.known_view.value(), m.interval_ms);
    }
    static membership::heartbeat decode(const fb::Heartbeat& in) {
        return {member_id(in.member_id()), incarnation_number(in.incarnation()), in.sequence(),
                view_id(in.known_view_id()), in.interval_ms()};
    }
};

template <>
struct codec<membership::heartbeat_reply> {
    using tables = fb_tables<fb::HeartbeatReply>;
    static Offset<fb::HeartbeatReply> encode(builder& b, const membership::heartbeat_reply& m) {
        // `reason` is a field older readers skip: any known reason may go there as it is.
        return fb::CreateHeartbeatReply(b, m.member.value(), m.incarnation.value(),
                                        static_cast<fb::MemberStatus>(m.status), m.current_view.value(),
                                        static_cast<fb::RemovalReason>(m.reason));
    }
    static result<membership::heartbeat_reply, decode_error> decode(const fb::HeartbeatReply& in) {
        if (!known(in.status())) {
            return invalid(
                fmt::format("heartbeat reply status {} is not known", static_cast<unsigned>(in.status())));
        }
        // A reason this build does not know (a newer writer's) reads as the default: suspected.
        return membership::heartbeat_reply{
            member_id(in.member_id()), incarnation_number(in.incarnation()),
            static_cast<membership::member_status>(in.status()), view_id(in.view_id()),
            known(in.reason()) ? static_cast<views::removal_reason>(in.reason()) : views::removal_reason::suspected};
    }
};

template <>
struct codec<membership::join_request> {
    using tables = fb_tables<fb::JoinRequest>;
    static Offset<fb::JoinRequest> encode(builder& b, const membership::join_request& m) {
        const auto f = encode_join_fields(b, m);
        return fb::CreateJoinRequest(b, m.request_id, f.name, f.address, f.publish_endpoint, f.incarnation,
                                     f.tags, f.key, f.voter);
    }
    static membership::join_request decode(const fb::JoinRequest& in) {
        return decode_join_fields<membership::join_request>(in, in.request_id());
    }
};

template <>
struct codec<membership::join_reply> {
    using tables = fb_tables<fb::JoinReply>;
    static Offset<fb::JoinReply> encode(builder& b, const membership::join_reply& m) {
        const auto hint = opt_string(b, m.leader_hint);
        const auto error = opt_string(b, m.error);
        return fb::CreateJoinReply(b, m.request_id, static_cast<fb::RequestStatus>(m.status),
                                   m.member.value(), m.incarnation.value(), m.view.value(), hint, error);
    }
    static result<membership::join_reply, decode_error> decode(const fb::JoinReply& in) {
        if (!known(in.status())) {
            return invalid(
                fmt::format("join reply status {} is not known", static_cast<unsigned>(in.status())));
        }
        return membership::join_reply{in.request_id(),
                                      static_cast<membership::request_status>(in.status()),
                                      member_id(in.member_id()),
                                      incarnation_number(in.incarnation()),
                                      view_id(in.view_id()),
                                      str(in.leader_hint()),
                                      str(in.error())};
    }
};

template <>
struct codec<membership::leave_request> {
    using tables = fb_tables<fb::Leave>;
    static Offset<fb::Leave> encode(builder& b, const membership::leave_request& m) {
        return fb::CreateLeave(b, m.request_id, m.member.value(), m.incarnation.value(),
                               key_vector(b, m.key));
    }
    static membership::leave_request decode(const fb::Leave& in) {
        return {in.request_id(), member_id(in.member_id()), incarnation_number(in.incarnation()),
                key_string(in.key())};
    }
};

template <>
struct codec<membership::leave_reply> {
    using tables = fb_tables<fb::LeaveReply>;
    static Offset<fb::LeaveReply> encode(builder& b, const membership::leave_reply& m) {
        const auto error = opt_string(b, m.error);
        return fb::CreateLeaveReply(b, m.request_id, static_cast<fb::RequestStatus>(m.status), m.view.value(),
                                    error);
    }
    static result<membership::leave_reply, decode_error> decode(const fb::LeaveReply& in) {
        if (!known(in.status())) {
            return invalid(
                fmt::format("leave reply status {} is not known", static_cast<unsigned>(in.status())));
        }
        return membership::leave_reply{in.request_id(), static_cast<membership::request_status>(in.status()),
                                       view_id(in.view_id()), str(in.error())};
    }
};

template <>
struct codec<membership::suspicion_report> {
    using tables = fb_tables<fb::SuspicionReport>;
    static Offset<fb::SuspicionReport> encode(builder& b, const membership::suspicion_report& m) {
        std::vector<fb::Suspicion> items;
        std::vector<fb::SuspicionDetail> details;
        items.reserve(m.suspicions.size());
        details.reserve(m.suspicions.size());
        for (const auto& s : m.suspicions) {
            items.emplace_back(s.member.value(), s.incarnation.value(), s.phi, s.suspected);
            details.emplace_back(s.samples, s.silence_ms);
        }
        const auto suspicions = b.CreateVectorOfStructs(items);
        const auto detail = b.CreateVectorOfStructs(details);
        flatbuffers::Offset<flatbuffers::Vector<const fb::Suspicion*>> late;
        if (!m.late.empty()) {
            std::vector<fb::Suspicion> late_items;
            late_items.reserve(m.late.size());
            for (const auto& s : m.late) {
                late_items.emplace_back(s.member.value(), s.incarnation.value(), s.phi, false);
            }
            late = b.CreateVectorOfStructs(late_items);
        }
        return fb::CreateSuspicionReport(b, m.full, suspicions, detail, late);
    }
    static result<membership::suspicion_report, decode_error> decode(const fb::SuspicionReport& in) {
        membership::suspicion_report out{in.full(), {}, {}};
        if (auto error = misaligned<fb::Suspicion>(in.suspicions(), "suspicions")) {
            return *error;
        }
        const auto* details = in.details();
        const std::size_t count = in.suspicions() != nullptr ? in.suspicions()->size() : 0;
        if (details != nullptr && details->size() != count) {
            return invalid(fmt::format("suspicion report has {} details for {} suspicions", details->size(), count));
        }
        if (in.suspicions() != nullptr) {
            out.suspicions.reserve(in.suspicions()->size());
            for (flatbuffers::uoffset_t i = 0; i < count; ++i) {
                const fb::Suspicion* s = in.suspicions()->Get(i);
                if (!(s->phi() >= 0.0)) { // also refuses NaN
                    return invalid(
                        fmt::format("suspicion of member {} has phi {}", s->member_id(), s->phi()));
                }
                membership::suspicion one{member_id(s->member_id()), incarnation_number(s->incarnation()), s->phi(),
                                          s->suspected()};
                if (details != nullptr) {
                    one.samples = details->Get(i)->samples();
                    one.silence_ms = details->Get(i)->silence_ms();
                }
                out.suspicions.push_back(one);
            }
        }
        if (auto error = misaligned<fb::Suspicion>(in.late(), "late")) {
            return *error;
        }
        if (const auto* late = in.late(); late != nullptr) {
            out.late.reserve(late->size());
            for (const fb::Suspicion* s : *late) {
                if (!(s->phi() >= 0.0)) {
                    return invalid(fmt::format("late member {} has phi {}", s->member_id(), s->phi()));
                }
                out.late.push_back({member_id(s->member_id()), incarnation_number(s->incarnation()), s->phi(), false});
            }
        }
        return out;
    }
};

template <>
struct codec<membership::remove_request> {
    using tables = fb_tables<fb::RemoveRequest>;
    static Offset<fb::RemoveRequest> encode(builder& b, const membership::remove_request& m) {
        const auto name = opt_string(b, m.name);
        return fb::CreateRemoveRequest(b, m.request_id, m.member.value(), name);
    }
    static membership::remove_request decode(const fb::RemoveRequest& in) {
        return {in.request_id(), member_id(in.member_id()), str(in.name())};
    }
};

template <>
struct codec<membership::remove_reply> {
    using tables = fb_tables<fb::RemoveReply>;
    static Offset<fb::RemoveReply> encode(builder& b, const membership::remove_reply& m) {
        const auto error = opt_string(b, m.error);
        return fb::CreateRemoveReply(b, m.request_id, static_cast<fb::RequestStatus>(m.status), m.view.value(),
                                     m.member.value(), error);
    }
    static result<membership::remove_reply, decode_error> decode(const fb::RemoveReply& in) {
        if (!known(in.status())) {
            return invalid(
                fmt::format("remove reply status {} is not known", static_cast<unsigned>(in.status())));
        }
        return membership::remove_reply{in.request_id(), static_cast<membership::request_status>(in.status()),
                                        view_id(in.view_id()), member_id(in.member_id()), str(in.error())};
    }
};

// ---- the ops of a command (the replicated log) -------------------------------------------

template <>
struct codec<membership::join_op> {
    using tables = fb_tables<fb::JoinOp>;
    static Offset<fb::JoinOp> encode(builder& b, const membership::join_op& o) {
        const auto f = encode_join_fields(b, o);
        return fb::CreateJoinOp(b, f.name, f.address, f.publish_endpoint, f.incarnation, f.tags, f.key, f.voter);
    }
    static membership::join_op decode(const fb::JoinOp& in) {
        return decode_join_fields<membership::join_op>(in);
    }
};

template <>
struct codec<membership::leave_op> {
    using tables = fb_tables<fb::LeaveOp>;
    static Offset<fb::LeaveOp> encode(builder& b, const membership::leave_op& o) {
        return fb::CreateLeaveOp(b, o.member.value(), o.incarnation.value());
    }
    static membership::leave_op decode(const fb::LeaveOp& in) {
        return {member_id(in.member_id()), incarnation_number(in.incarnation())};
    }
};

template <>
struct codec<membership::remove_op> {
    using tables = fb_tables<fb::RemoveOp>;
    static Offset<fb::RemoveOp> encode(builder& b, const membership::remove_op& o) {
        return fb::CreateRemoveOp(b, o.member.value(), o.incarnation.value(), compat_reason(o.reason),
                                  needs_exact(o.reason) ? static_cast<fb::RemovalReason>(o.reason)
                                                        : fb::RemovalReason::Suspected);
    }
    static result<membership::remove_op, decode_error> decode(const fb::RemoveOp& in) {
        if (!known(in.reason())) {
            return invalid(
                fmt::format("remove with reason {}, which is not known", static_cast<unsigned>(in.reason())));
        }
        return membership::remove_op{member_id(in.member_id()), incarnation_number(in.incarnation()),
                                     exact_or(in.exact_reason(), static_cast<views::removal_reason>(in.reason()))};
    }
};

} // namespace roster::wire::detail
