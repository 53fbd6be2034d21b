#include <vector>

#include <fmt/format.h>

#include "roster_generated.h"
#include "wire/codec.hh"
#include "wire/codec_detail.hh"
#include "wire/membership_codec.hh"
#include "wire/union_codec.hh"
#include "wire/verify.hh"
#include "wire/views_codec.hh"

// The Raft log's payloads: a membership command per entry ("RCMD") and the state machine's snapshot
// ("RSNP"). Apart from wire/codec.cc so that the envelope's hot paths (heartbeats) are compiled in a
// unit of their own: in one unit with these, GCC's inlining budget ran out before the builder's
// helpers on the heartbeat path (3 % more instructions to encode one).
namespace roster::wire {

namespace fb = roster::wire::fb;
using detail::builder;
using detail::codec;
using detail::invalid;

namespace {

using op_codec = detail::union_codec<membership::op, fb::Op>;
static_assert(
    op_codec::decodes_every_tag_once(),
    "every table of the Op union in roster.fbs is decoded by exactly one alternative of membership::op");

} // namespace

bytes encode_command(const membership::command& c) {
    builder b(256);
    const auto changes = detail::encode_each(b, c.ops, [](builder& out, const membership::op& o) {
        const auto op = op_codec::encode(out, o);
        return fb::CreateChange(out, op.type, op.table);
    });
    b.Finish(fb::CreateCommand(b, changes), detail::command_format.identifier);
    return detail::finished_bytes(b);
}

result<membership::command, decode_error> decode_command(bytes_view data) {
    std::vector<std::uint64_t> aligned_copy;
    const auto root = detail::verify<fb::Command, detail::command_format>(data, aligned_copy);
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
    b.Finish(fb::CreateMembershipSnapshot(b, view, s.next_member.value(), names),
             detail::snapshot_format.identifier);
    return detail::finished_bytes(b);
}

result<membership::membership_snapshot, decode_error> decode_snapshot(bytes_view data) {
    std::vector<std::uint64_t> aligned_copy;
    const auto root = detail::verify<fb::MembershipSnapshot, detail::snapshot_format>(data, aligned_copy);
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
