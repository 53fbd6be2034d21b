#include "wire/codec.hh"

#include <cstring>

#include <fmt/format.h>

#include "roster_generated.h"
#include "wire/codec_detail.hh"
#include "wire/consensus_codec.hh"
#include "wire/membership_codec.hh"
#include "wire/schema_enums.hh"
#include "wire/union_codec.hh"
#include "wire/views_codec.hh"

// Each message's encode and decode sit side by side in a codec<T> (wire/codec_detail.hh), one header
// per layer (views_codec.hh, membership_codec.hh, consensus_codec.hh) and the status messages below.
// This file holds what is about a whole buffer: verifying it, the envelope and its body dispatch,
// and the replicated log's payloads.

// The messages about a process as a whole, which wire/messages.hh adds to the layers' messages.
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
        return fb::CreateStatusReply(b, m.request_id, name, static_cast<fb::Role>(m.role), m.term.value(),
                                     m.commit.value(), m.view.value(), m.voter.value(), m.member.value(),
                                     m.leader.value(), publish);
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
                                  str(in.publish_endpoint())};
    }
};

} // namespace roster::wire::detail

namespace roster::wire {

namespace fb = roster::wire::fb;
using detail::builder;
using detail::codec;
using detail::invalid;

namespace {

// ---- verifying a buffer ------------------------------------------------------------------

// What a buffer must hold: its root table's file identifier, whether a 4-byte size prefix comes
// first (envelopes, so that a cut or padded ZeroMQ frame shows), and its name in error details.
struct buffer_format {
    const char* identifier;
    bool size_prefixed;
    const char* what;
};

// Size limits, the identifier, the size prefix, then the FlatBuffers verifier, in that order, each
// refusal with its own kind. Returns the root table, which may point into `aligned_copy`.
template <typename Table>
result<const Table*, decode_error> verify(bytes_view data, const buffer_format& format,
                                          std::vector<std::uint64_t>& aligned_copy) {
    if (data.empty()) {
        return decode_error{decode_error_kind::empty, fmt::format("{} of 0 bytes", format.what)};
    }
    if (data.size() > max_message_size) {
        return decode_error{
            decode_error_kind::too_large,
            fmt::format("{} of {} bytes, the limit is {}", format.what, data.size(), max_message_size)};
    }
    // FlatBuffers reads scalars in place, through typed pointers, and its verifier checks their
    // alignment only relative to the start of the buffer; a ZeroMQ frame or a stored payload may
    // start anywhere, so an unaligned one is copied to an aligned buffer first.
    const std::uint8_t* buf = data.data();
    if (reinterpret_cast<std::uintptr_t>(buf) % alignof(std::uint64_t) != 0) {
        aligned_copy.resize((data.size() + sizeof(std::uint64_t) - 1) / sizeof(std::uint64_t));
        std::memcpy(aligned_copy.data(), data.data(), data.size());
        buf = reinterpret_cast<const std::uint8_t*>(aligned_copy.data());
    }
    constexpr std::size_t prefix = sizeof(flatbuffers::uoffset_t);
    // Bytes 0..4 (after the size prefix) are the root offset, 4..8 the identifier.
    const std::size_t header =
        (format.size_prefixed ? prefix : 0) + prefix + flatbuffers::kFileIdentifierLength;
    if (data.size() < header ||
        !flatbuffers::BufferHasIdentifier(buf, format.identifier, format.size_prefixed)) {
        return decode_error{decode_error_kind::not_roster,
                            fmt::format("{} of {} bytes without the \"{}\" identifier", format.what,
                                        data.size(), format.identifier)};
    }
    if (format.size_prefixed) {
        // The size of the rest makes any truncation, and any trailing garbage, visible.
        const std::size_t declared = flatbuffers::ReadScalar<flatbuffers::uoffset_t>(buf) + prefix;
        if (declared > data.size()) {
            return decode_error{decode_error_kind::truncated,
                                fmt::format("{} bytes of a {}-byte {}", data.size(), declared, format.what)};
        }
        if (declared < data.size()) {
            return decode_error{decode_error_kind::malformed,
                                fmt::format("{} trailing bytes after a {}-byte {}", data.size() - declared,
                                            declared, format.what)};
        }
    }
    flatbuffers::Verifier::Options options;
    options.max_depth = 32;
    options.max_tables = 4'000'000;
    flatbuffers::Verifier verifier(buf, data.size(), options);
    const bool verified = format.size_prefixed ? verifier.VerifySizePrefixedBuffer<Table>(format.identifier)
                                               : verifier.VerifyBuffer<Table>(format.identifier);
    if (!verified) {
        return decode_error{decode_error_kind::malformed,
                            fmt::format("{} of {} bytes refused by the FlatBuffers verifier (bad offsets or "
                                        "missing required fields)",
                                        format.what, data.size())};
    }
    return format.size_prefixed ? flatbuffers::GetSizePrefixedRoot<Table>(buf)
                                : flatbuffers::GetRoot<Table>(buf);
}

bytes finished_bytes(const builder& b) {
    return bytes(b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize());
}

// ---- the envelope ------------------------------------------------------------------------

using body_codec = detail::union_codec<wire::body, fb::Body>;
static_assert(
    body_codec::decodes_every_tag_once(),
    "every table of the Body union in roster.fbs is decoded by exactly one alternative of wire::body "
    "(codec<T>::tables)");

result<wire::body, decode_error> decode_body(const fb::Envelope& env) {
    // The verifier accepts a union whose type is set but whose table is absent.
    if (env.body_type() != fb::Body::NONE && env.body() == nullptr) {
        return decode_error{decode_error_kind::missing_body,
                            fmt::format("body type {} is set but the body is absent",
                                        static_cast<unsigned>(env.body_type()))};
    }
    if (env.body_type() == fb::Body::NONE) {
        return decode_error{decode_error_kind::missing_body, "the envelope has no body"};
    }
    const auto decode = body_codec::find(env.body_type());
    if (decode == nullptr) {
        return decode_error{decode_error_kind::missing_body,
                            fmt::format("body type {} is not known to protocol version {}",
                                        static_cast<unsigned>(env.body_type()), wire::protocol_version)};
    }
    return decode(env.body());
}

// ---- the replicated log ------------------------------------------------------------------

constexpr buffer_format command_format{"RCMD", false, "membership command"};
constexpr buffer_format snapshot_format{"RSNP", false, "membership snapshot"};

using op_codec = detail::union_codec<membership::op, fb::Op>;
static_assert(
    op_codec::decodes_every_tag_once(),
    "every table of the Op union in roster.fbs is decoded by exactly one alternative of membership::op");

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
    builder b(256);
    // The body first, then the envelope's own fields: the order the bytes have always had.
    const auto written = body_codec::encode(b, message.msg);
    const auto cluster = b.CreateString(message.cluster);
    const auto from = fb::CreateSender(b, message.from.voter.value(), message.from.member.value(),
                                       detail::opt_string(b, message.from.name));
    const auto env = fb::CreateEnvelope(b, message.version, cluster, from, written.type, written.table);
    fb::FinishSizePrefixedEnvelopeBuffer(b, env);
    return finished_bytes(b);
}

result<wire::envelope, decode_error> decode(bytes_view data) {
    std::vector<std::uint64_t> aligned_copy;
    const auto root = verify<fb::Envelope>(data, {fb::EnvelopeIdentifier(), true, "message"}, aligned_copy);
    if (!root) {
        return root.error();
    }
    const fb::Envelope& env = *root.value();
    if (env.protocol_version() != wire::protocol_version) {
        return decode_error{
            decode_error_kind::unsupported_version,
            fmt::format("version {}, this build speaks {}", env.protocol_version(), wire::protocol_version)};
    }
    auto decoded = decode_body(env);
    if (!decoded) {
        return decoded.error();
    }
    wire::envelope out;
    out.version = env.protocol_version();
    out.cluster = env.cluster()->str();
    if (const fb::Sender* s = env.sender()) {
        out.from = {voter_id(s->voter_id()), member_id(s->member_id()), detail::str(s->name())};
    }
    out.msg = std::move(decoded).value();
    return out;
}

bytes encode_command(const membership::command& c) {
    builder b(256);
    const auto changes = detail::encode_each(b, c.ops, [](builder& out, const membership::op& o) {
        const auto op = op_codec::encode(out, o);
        return fb::CreateChange(out, op.type, op.table);
    });
    b.Finish(fb::CreateCommand(b, changes), command_format.identifier);
    return finished_bytes(b);
}

result<membership::command, decode_error> decode_command(bytes_view data) {
    std::vector<std::uint64_t> aligned_copy;
    const auto root = verify<fb::Command>(data, command_format, aligned_copy);
    if (!root) {
        return root.error();
    }
    membership::command out;
    if (const auto* changes = root.value()->changes()) {
        out.ops.reserve(changes->size());
        for (const fb::Change* change : *changes) {
            const auto decode = op_codec::find(change->op_type());
            if (decode == nullptr) {
                return invalid(fmt::format("membership op type {} is not known",
                                           static_cast<unsigned>(change->op_type())));
            }
            // As for bodies, the verifier accepts a type whose table is absent.
            if (change->op() == nullptr) {
                return invalid(fmt::format("membership op type {} without its table",
                                           static_cast<unsigned>(change->op_type())));
            }
            auto op = decode(change->op());
            if (!op) {
                return op.error();
            }
            out.ops.push_back(std::move(op).value());
        }
    }
    return out;
}

bytes encode_snapshot(const membership::membership_snapshot& s) {
    builder b(1024);
    const auto view = codec<views::view>::encode(b, s.view);
    const auto names = detail::encode_each(b, s.incarnations, [](builder& out, const auto& name_incarnation) {
        return fb::CreateNameIncarnation(out, out.CreateString(name_incarnation.first),
                                         name_incarnation.second.value());
    });
    b.Finish(fb::CreateMembershipSnapshot(b, view, s.next_member.value(), names), snapshot_format.identifier);
    return finished_bytes(b);
}

result<membership::membership_snapshot, decode_error> decode_snapshot(bytes_view data) {
    std::vector<std::uint64_t> aligned_copy;
    const auto root = verify<fb::MembershipSnapshot>(data, snapshot_format, aligned_copy);
    if (!root) {
        return root.error();
    }
    auto view = codec<views::view>::decode(*root.value()->view()); // required
    if (!view) {
        return view.error();
    }
    membership::membership_snapshot out{
        std::move(view).value(), member_id(root.value()->next_member_id()), {}};
    if (const auto* names = root.value()->incarnations()) {
        out.incarnations.reserve(names->size());
        for (const fb::NameIncarnation* n : *names) {
            out.incarnations.emplace_back(n->name()->str(), incarnation_number(n->incarnation()));
        }
    }
    return out;
}

} // namespace roster::wire
