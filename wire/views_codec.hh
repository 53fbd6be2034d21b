#pragma once

#include <optional>
#include <vector>

#include "views/messages.hh"
#include "views/view.hh"
#include "wire/codec_detail.hh"

// Private to wire/: the view value and the messages of the view stream (views/).
namespace roster::wire::detail {

struct removals_offsets {
    Offset<flatbuffers::Vector<const fb::Removal*>> removed;
    Offset<flatbuffers::Vector<fb::RemovalReason>> exact; // absent unless a reason needs it
};

inline removals_offsets encode_removals(builder& b, const std::vector<views::removal>& in) {
    std::vector<fb::Removal> out;
    out.reserve(in.size());
    bool exact = false;
    for (const auto& r : in) {
        out.emplace_back(r.id.value(), compat_reason(r.reason));
        exact = exact || needs_exact(r.reason);
    }
    const auto removed = b.CreateVectorOfStructs(out);
    if (!exact) {
        return {removed, {}};
    }
    std::vector<fb::RemovalReason> reasons;
    reasons.reserve(in.size());
    for (const auto& r : in) {
        reasons.push_back(static_cast<fb::RemovalReason>(r.reason));
    }
    return {removed, b.CreateVector(reasons)};
}

// `exact`: the removed_reasons field. One that does not hold one reason per removal is ignored (a
// writer's mistake must not cost the whole view), and so is a reason this build does not know.
inline std::optional<decode_error> decode_removals(const flatbuffers::Vector<const fb::Removal*>* in,
                                                   const flatbuffers::Vector<fb::RemovalReason>* exact,
                                                   std::vector<views::removal>& out) {
    if (in == nullptr) {
        return std::nullopt;
    }
    if (auto error = misaligned<fb::Removal>(in, "removed")) {
        return error;
    }
    if (exact != nullptr && exact->size() != in->size()) {
        exact = nullptr;
    }
    out.reserve(in->size());
    for (flatbuffers::uoffset_t i = 0; i < in->size(); ++i) {
        const fb::Removal* r = in->Get(i);
        if (!known(r->reason())) {
            return invalid(fmt::format("removal reason {} is not known", static_cast<unsigned>(r->reason())));
        }
        const auto compat = static_cast<views::removal_reason>(r->reason());
        out.push_back({member_id(r->id()), exact != nullptr ? exact_or(exact->Get(i), compat) : compat});
    }
    return std::nullopt;
}

template <>
struct codec<views::member> {
    static Offset<fb::Member> encode(builder& b, const views::member& m) {
        const auto f = encode_join_fields(b, m);
        return fb::CreateMember(b, m.id.value(), f.name, f.address, f.publish_endpoint, f.incarnation, f.tags,
                                f.key, f.voter, m.joined_view.value());
    }
    static views::member decode(const fb::Member& in) {
        auto m = decode_join_fields<views::member>(in, member_id(in.id()));
        m.joined_view = view_id(in.joined_view());
        return m;
    }
};

template <>
struct codec<views::view> {
    static Offset<fb::View> encode(builder& b, const views::view& v) {
        const auto members = encode_each(b, v.members);
        std::vector<std::uint64_t> joined;
        joined.reserve(v.joined.size());
        for (auto id : v.joined) {
            joined.push_back(id.value());
        }
        const auto joined_offset = b.CreateVector(joined);
        const auto removed = encode_removals(b, v.removed);
        return fb::CreateView(b, v.id.value(), members, v.leader.value(), v.fencing_token.value(),
                              joined_offset, removed.removed, removed.exact);
    }
    static result<views::view, decode_error> decode(const fb::View& in) {
        views::view out;
        out.id = view_id(in.view_id());
        out.members = decode_each<views::member>(in.members());
        out.leader = member_id(in.leader_id());
        out.fencing_token = view_id(in.fencing_token());
        if (auto error = misaligned<std::uint64_t>(in.joined(), "joined")) {
            return *error;
        }
        if (in.joined() != nullptr) {
            out.joined.reserve(in.joined()->size());
            for (std::uint64_t id : *in.joined()) {
                out.joined.emplace_back(id);
            }
        }
        if (auto error = decode_removals(in.removed(), in.removed_reasons(), out.removed)) {
            return *error;
        }
        return out;
    }
};

template <>
struct codec<views::full_view> {
    using tables = fb_tables<fb::FullView>;
    static Offset<fb::FullView> encode(builder& b, const views::full_view& m) {
        return fb::CreateFullView(b, codec<views::view>::encode(b, m.view));
    }
    static result<views::full_view, decode_error> decode(const fb::FullView& in) {
        auto v = codec<views::view>::decode(*in.view()); // required
        if (!v) {
            return v.error();
        }
        return views::full_view{std::move(v).value()};
    }
};

template <>
struct codec<views::view_change> {
    using tables = fb_tables<fb::ViewChange>;
    static Offset<fb::ViewChange> encode(builder& b, const views::view_change& c) {
        const auto joined = encode_each(b, c.joined);
        const auto removed = encode_removals(b, c.removed);
        return fb::CreateViewChange(b, c.id.value(), joined, removed.removed, c.leader.value(),
                                    c.fencing_token.value(), removed.exact);
    }
    static result<views::view_change, decode_error> decode(const fb::ViewChange& in) {
        views::view_change out;
        out.id = view_id(in.view_id());
        out.joined = decode_each<views::member>(in.joined());
        if (auto error = decode_removals(in.removed(), in.removed_reasons(), out.removed)) {
            return *error;
        }
        out.leader = member_id(in.leader_id());
        out.fencing_token = view_id(in.fencing_token());
        return out;
    }
};

template <>
struct codec<views::sync_request> {
    using tables = fb_tables<fb::SyncRequest>;
    static Offset<fb::SyncRequest> encode(builder& b, const views::sync_request& m) {
        return fb::CreateSyncRequest(b, m.request_id, m.after.value(), m.full);
    }
    static views::sync_request decode(const fb::SyncRequest& in) {
        return {in.request_id(), view_id(in.after_view_id()), in.full()};
    }
};

template <>
struct codec<views::sync_reply> {
    using tables = fb_tables<fb::SyncReply>;
    static Offset<fb::SyncReply> encode(builder& b, const views::sync_reply& m) {
        const auto changes = encode_each(b, m.changes);
        const auto full = m.full ? codec<views::view>::encode(b, *m.full) : Offset<fb::View>();
        return fb::CreateSyncReply(b, m.request_id, m.current.value(), changes, full);
    }
    static result<views::sync_reply, decode_error> decode(const fb::SyncReply& in) {
        views::sync_reply out{in.request_id(), view_id(in.current_view_id()), {}, std::nullopt};
        if (auto error = decode_each(in.changes(), out.changes)) {
            return *error;
        }
        if (in.full() != nullptr) {
            auto v = codec<views::view>::decode(*in.full());
            if (!v) {
                return v.error();
            }
            out.full = std::move(v).value();
        }
        return out;
    }
};

template <>
struct codec<views::node_event> {
    using tables = fb_tables<fb::NodeEvent>;
    static Offset<fb::NodeEvent> encode(builder& b, const views::node_event& m) {
        return fb::CreateNodeEvent(b, static_cast<fb::NodeEventKind>(m.what), m.member.value(),
                                   m.new_member.value(), m.view.value(), compat_reason(m.reason),
                                   needs_exact(m.reason) ? static_cast<fb::RemovalReason>(m.reason)
                                                         : fb::RemovalReason::Suspected);
    }
    static result<views::node_event, decode_error> decode(const fb::NodeEvent& in) {
        if (!known(in.kind()) || !known(in.reason())) {
            return invalid("node event kind or reason is not known");
        }
        return views::node_event{static_cast<views::node_event::kind>(in.kind()), member_id(in.member_id()),
                                 member_id(in.new_member_id()), view_id(in.view_id()),
                                 exact_or(in.exact_reason(), static_cast<views::removal_reason>(in.reason()))};
    }
};

} // namespace roster::wire::detail
