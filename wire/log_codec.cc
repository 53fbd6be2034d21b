#include <utility>
#include <vector>

#include <fmt/format.h>

#include "roster_generated.h"
#include "wire/buffer_codec.hh"
#include "wire/codec.hh"
#include "wire/codec_detail.hh"
#include "wire/membership_codec.hh"
#include "wire/union_codec.hh"
#include "wire/views_codec.hh"

// The Raft log's payloads: a membership command per entry ("RCMD") and the state machine's snapshot
// ("RSNP"). Apart from wire/codec.cc so that the envelope's hot paths (heartbeats) are compiled in a
// unit of their own: in one unit with these, GCC's inlining budget ran out before the builder's
// helpers on the heartbeat path (3 % more instructions to encode one).
namespace roster::wire::detail {

using op_codec = union_codec<membership::op, fb::Op>;
static_assert(
    op_codec::decodes_every_tag_once(),
    "every table of the Op union in roster.fbs is decoded by exactly one alternative of membership::op");

template <>
struct codec<membership::command> {
    using table = fb::Command;
    static Offset<fb::Command> encode(builder& b, const membership::command& c) {
        const auto changes = encode_each(b, c.ops, [](builder& out, const membership::op& o) {
            const auto op = op_codec::encode(out, o);
            return fb::CreateChange(out, op.type, op.table);
        });
        return fb::CreateCommand(b, changes);
    }
    static result<membership::command, decode_error> decode(const fb::Command& in) {
        membership::command out;
        if (in.changes() == nullptr) {
            return out;
        }
        out.ops.reserve(in.changes()->size());
        for (const fb::Change* change : *in.changes()) {
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
        return out;
    }
};

template <>
struct codec<membership::membership_snapshot> {
    using table = fb::MembershipSnapshot;
    static Offset<fb::MembershipSnapshot> encode(builder& b, const membership::membership_snapshot& s) {
        const auto view = codec<views::view>::encode(b, s.view);
        const auto names = encode_each(b, s.incarnations, [](builder& out, const auto& name_incarnation) {
            return fb::CreateNameIncarnation(out, out.CreateString(name_incarnation.first),
                                             name_incarnation.second.value());
        });
        return fb::CreateMembershipSnapshot(b, view, s.next_member.value(), names);
    }
    static result<membership::membership_snapshot, decode_error> decode(const fb::MembershipSnapshot& in) {
        auto view = codec<views::view>::decode(*in.view()); // required
        if (!view) {
            return view.error();
        }
        membership::membership_snapshot out{std::move(view).value(), member_id(in.next_member_id()), {}};
        if (const auto* names = in.incarnations()) {
            out.incarnations.reserve(names->size());
            for (const fb::NameIncarnation* n : *names) {
                out.incarnations.emplace_back(n->name()->str(), incarnation_number(n->incarnation()));
            }
        }
        return out;
    }
};

} // namespace roster::wire::detail

namespace roster::wire {

bytes encode_command(const membership::command& c) {
    return detail::encode_buffer<membership::command, detail::command_format>(c);
}

result<membership::command, decode_error> decode_command(bytes_view data) {
    return detail::decode_buffer<membership::command, detail::command_format>(data);
}

bytes encode_snapshot(const membership::membership_snapshot& s) {
    return detail::encode_buffer<membership::membership_snapshot, detail::snapshot_format>(s);
}

result<membership::membership_snapshot, decode_error> decode_snapshot(bytes_view data) {
    return detail::decode_buffer<membership::membership_snapshot, detail::snapshot_format>(data);
}

} // namespace roster::wire
