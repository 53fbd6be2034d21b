#include "wire/codec.hh"

#include <utility>

#include <fmt/format.h>

#include "roster_generated.h"
#include "wire/buffer_codec.hh"
#include "wire/codec_detail.hh"
#include "wire/consensus_codec.hh"
#include "wire/membership_codec.hh"
#include "wire/union_codec.hh"
#include "wire/views_codec.hh"

// Each message's encode and decode sit side by side in a codec<T> (wire/codec_detail.hh), one header
// per layer (views_codec.hh, membership_codec.hh, consensus_codec.hh) and, here, the status messages
// that wire/messages.hh adds to the layers' messages, and the envelope with its body dispatch.
// wire/log_codec.cc holds the replicated log's payloads.
namespace roster::wire::detail {

template <>
struct codec<wire::status_request> {
    using tables = fb_tables<fb::StatusRequest>;
    static Offset<fb::StatusRequest> encode(builder& b, const wire::status_request& m) {
        return fb::CreateStatusRequest(b, m.request_id);
    }
    static wire::status_request decode(const fb::StatusRequest& in) { return {in.request_id()}; }
};

template <>
struct codec<wire::status_reply> {
    using tables = fb_tables<fb::StatusReply>;
    static Offset<fb::StatusReply> encode(builder& b, const wire::status_reply& m) {
        const auto name = opt_string(b, m.name);
        const auto publish = opt_string(b, m.publish_endpoint);
        const auto health_reason = opt_string(b, m.health_reason);
        const auto ready_reason = opt_string(b, m.ready_reason);
        return fb::CreateStatusReply(b, m.request_id, name, static_cast<fb::Role>(m.role), m.term.value(),
                                     m.commit.value(), m.view.value(), m.voter.value(), m.member.value(),
                                     m.leader.value(), publish, m.healthy, health_reason, m.ready,
                                     ready_reason);
    }
    static result<wire::status_reply, decode_error> decode(const fb::StatusReply& in) {
        if (!known(in.role())) {
            return invalid(fmt::format("role {} is not known", static_cast<unsigned>(in.role())));
        }
        return wire::status_reply{in.request_id(),
                                  str(in.name()),
                                  static_cast<node_role>(in.role()),
                                  raft_term(in.term()),
                                  log_index(in.commit_index()),
                                  view_id(in.view_id()),
                                  voter_id(in.voter_id()),
                                  member_id(in.member_id()),
                                  voter_id(in.leader_voter_id()),
                                  str(in.publish_endpoint()),
                                  in.healthy(),
                                  str(in.health_reason()),
                                  in.ready(),
                                  str(in.ready_reason())};
    }
};

using body_codec = union_codec<wire::body, fb::Body>;
static_assert(
    body_codec::decodes_every_tag_once(),
    "every table of the Body union in roster.fbs is decoded by exactly one alternative of wire::body "
    "(codec<T>::tables)");

template <>
struct codec<wire::envelope> {
    using table = fb::Envelope;
    static Offset<fb::Envelope> encode(builder& b, const wire::envelope& m) {
        // The body first, then the envelope's own fields: the order the bytes have always had.
        const auto body = body_codec::encode(b, m.msg);
        const auto cluster = b.CreateString(m.cluster);
        const auto from =
            fb::CreateSender(b, m.from.voter.value(), m.from.member.value(), opt_string(b, m.from.name));
        return fb::CreateEnvelope(b, m.version, cluster, from, body.type, body.table);
    }
    static result<wire::envelope, decode_error> decode(const fb::Envelope& in) {
        if (in.protocol_version() != wire::protocol_version) {
            return decode_error{decode_error_kind::unsupported_version,
                                fmt::format("version {}, this build speaks {}", in.protocol_version(),
                                            wire::protocol_version)};
        }
        auto body = decode_body(in);
        if (!body) {
            return body.error();
        }
        const fb::Sender* s = in.sender();
        return wire::envelope{
            in.protocol_version(), in.cluster()->str(), // required
            s == nullptr ? wire::sender{}
                         : wire::sender{voter_id(s->voter_id()), member_id(s->member_id()), str(s->name())},
            std::move(body).value()};
    }

private:
    static result<wire::body, decode_error> decode_body(const fb::Envelope& in) {
        // The verifier accepts a union whose type is set but whose table is absent.
        if (in.body_type() != fb::Body::NONE && in.body() == nullptr) {
            return decode_error{decode_error_kind::missing_body,
                                fmt::format("body type {} is set but the body is absent",
                                            static_cast<unsigned>(in.body_type()))};
        }
        if (in.body_type() == fb::Body::NONE) {
            return decode_error{decode_error_kind::missing_body, "the envelope has no body"};
        }
        const auto decode = body_codec::find(in.body_type());
        if (decode == nullptr) {
            return decode_error{decode_error_kind::missing_body,
                                fmt::format("body type {} is not known to protocol version {}",
                                            static_cast<unsigned>(in.body_type()), wire::protocol_version)};
        }
        return decode(in.body());
    }
};

} // namespace roster::wire::detail

namespace roster::wire {

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
    return detail::encode_buffer<wire::envelope, detail::envelope_format>(message);
}

result<wire::envelope, decode_error> decode(bytes_view data) {
    return detail::decode_buffer<wire::envelope, detail::envelope_format>(data);
}

} // namespace roster::wire
