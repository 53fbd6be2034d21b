#include <utility>
#include <variant>
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

std::size_t op_bytes_bound(const membership::op& o) noexcept {
    // FlatBuffers, built back to front: a string or byte vector takes its bytes, a 4-byte length,
    // a terminating zero and padding to 4 (8 at a table with 64-bit fields): at most 16 more. A
    // table takes its vtable (4 + 2 per field, unless shared with an identical one), a 4-byte
    // offset to it, its fields and padding. Every op is also a Change table (a type and an offset,
    // 24 bytes with its vtable) and a 4-byte slot in the command's vector.
    constexpr std::size_t change = 32;
    constexpr std::size_t per_string = 16;
    if (const auto* j = std::get_if<membership::join_op>(&o)) {
        constexpr std::size_t join_table = 20 + 4 + 5 * 4 + 8 + 4 + 8; // vtable, offset, fields, padding
        constexpr std::size_t tag_table = 8 + 4 + 2 * 4 + 4;          // ... and its slot in the vector
        std::size_t n = change + join_table + 4 * per_string + j->name.size() + j->address.size() +
                        j->publish_endpoint.size() + j->key.size() + per_string; // the tags vector
        for (const auto& t : j->tags) {
            n += tag_table + 2 * per_string + t.key.size() + t.value.size();
        }
        return n;
    }
    constexpr std::size_t leave_or_remove_table = 12 + 4 + 2 * 8 + 2 + 14; // padding to 8 both sides
    return change + leave_or_remove_table;
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
