#pragma once

#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <flatbuffers/flatbuffers.h>
#include <fmt/format.h>

#include "common/result.hh"
#include "roster_generated.h"
#include "views/view.hh"
#include "wire/codec.hh"

// Private to wire/codec.cc (it includes the generated header, which only roster_wire sees): the
// pieces every message codec is written with. The per-layer headers (views_codec.hh,
// membership_codec.hh, consensus_codec.hh) and wire/codec.cc specialise `codec<T>` for their structs.
namespace roster::wire::detail {

namespace fb = roster::wire::fb;
using builder = flatbuffers::FlatBufferBuilder;
using flatbuffers::Offset;

// The FlatBuffers tables a struct is written as: one for most, two for the vote messages (the
// pre-vote form is its own table). Listed once, in the codec; the union dispatch is built from it.
template <typename... Tables>
struct fb_tables {};

// A struct's conversion to and from FlatBuffers, encode next to decode. Each specialisation has
//   static Offset<fb::X> encode(builder&, const T&);   (or union_offset, when T has two tables)
//   static T decode(const fb::X&);                     when no field of fb::X can be refused, or
//   static result<T, decode_error> decode(const fb::X&);  when one can (an enum, a nested view);
//   using tables = fb_tables<fb::X>;                   for the alternatives of a union.
// decode reads only a verified buffer, so it may follow offsets and read required fields without
// checks; it checks ranges the verifier cannot know (enums, NaN) and never throws.
template <typename T>
struct codec;

// A table written as one alternative of a FlatBuffers union (fb::Body, fb::Op), with its tag.
template <typename Union>
struct union_offset {
    Union type;
    Offset<void> table;
};

// The tag of table `Table` in union `Union`, as flatc generates it (NONE: not in the union).
template <typename Union, typename Table>
constexpr Union union_tag() {
    if constexpr (std::is_same_v<Union, fb::Body>) {
        return fb::BodyTraits<Table>::enum_value;
    } else {
        static_assert(std::is_same_v<Union, fb::Op>, "a union the codec does not know");
        return fb::OpTraits<Table>::enum_value;
    }
}

template <typename Union, typename Table>
union_offset<Union> as_union(Offset<Table> table) {
    return {union_tag<Union, Table>(), table.Union()};
}

// ---- small conversions -------------------------------------------------------------------

// Optional strings are left out of the buffer when empty, and read back as empty when absent.
inline Offset<flatbuffers::String> opt_string(builder& b, const std::string& s) {
    return s.empty() ? Offset<flatbuffers::String>() : b.CreateString(s);
}

inline std::string str(const flatbuffers::String* s) { return s == nullptr ? std::string() : s->str(); }

inline decode_error invalid(std::string detail) {
    return {decode_error_kind::invalid_field, std::move(detail)};
}

// A schema enum value read off the wire is a raw integer until checked. The casts between the C++
// and the schema enums are right because wire/schema_enums.hh proves them at compile time.
template <typename Fb>
bool known(Fb value) {
    return static_cast<unsigned>(value) <= static_cast<unsigned>(Fb::MAX);
}

// ---- vectors -----------------------------------------------------------------------------

// Writes a vector of tables, one `encode(b, item)` each, in order.
template <typename Item, typename Encode>
auto encode_each(builder& b, const std::vector<Item>& in, Encode&& encode) {
    std::vector<std::invoke_result_t<Encode&, builder&, const Item&>> out;
    out.reserve(in.size());
    for (const auto& item : in) {
        out.push_back(encode(b, item));
    }
    return b.CreateVector(out);
}

// Reads a vector of tables none of which can be refused, one `decode(table)` each; absent: empty.
template <typename Table, typename Decode>
auto decode_each(const flatbuffers::Vector<Offset<Table>>* in, Decode&& decode) {
    std::vector<std::invoke_result_t<Decode&, const Table&>> out;
    if (in == nullptr) {
        return out;
    }
    out.reserve(in->size());
    for (const Table* t : *in) {
        out.push_back(decode(*t));
    }
    return out;
}

// ---- the fields of a join ----------------------------------------------------------------

inline Offset<flatbuffers::Vector<Offset<fb::Tag>>> encode_tags(builder& b,
                                                                const std::vector<views::tag>& tags) {
    if (tags.empty()) {
        return {};
    }
    return encode_each(b, tags, [](builder& out, const views::tag& t) {
        // The value before the key: both used to be written inside one CreateTag call, whose
        // arguments GCC evaluates right to left. Tagged messages on the wire have that order (the
        // golden test pins it); written out, it no longer depends on the compiler.
        const auto value = opt_string(out, t.value);
        const auto key = out.CreateString(t.key);
        return fb::CreateTag(out, key, value);
    });
}

inline std::vector<views::tag> decode_tags(const flatbuffers::Vector<Offset<fb::Tag>>* tags) {
    return decode_each(tags, [](const fb::Tag& t) { return views::tag{t.key()->str(), str(t.value())}; });
}

// A join request, the join op it becomes in the log and the member it makes in a view carry the same
// fields under the same names (JoinRequest, JoinOp and Member in roster.fbs; join_request, join_op
// and views::member here), written and read by this one pair.
struct join_fields {
    Offset<flatbuffers::String> name;
    Offset<flatbuffers::String> address;
    Offset<flatbuffers::String> publish_endpoint;
    std::uint64_t incarnation;
    Offset<flatbuffers::Vector<Offset<fb::Tag>>> tags;
};

// Writes the strings and tags, in the order the bytes have always had, before the caller's table.
template <typename Join>
join_fields encode_join_fields(builder& b, const Join& in) {
    const auto name = b.CreateString(in.name);
    const auto address = opt_string(b, in.address);
    const auto publish_endpoint = opt_string(b, in.publish_endpoint);
    const auto tags = encode_tags(b, in.tags);
    return {name, address, publish_endpoint, in.incarnation.value(), tags};
}

template <typename Join, typename Table>
Join decode_join_fields(const Table& in) {
    Join out;
    out.name = in.name()->str(); // required: the verifier refuses a table without it
    out.address = str(in.address());
    out.publish_endpoint = str(in.publish_endpoint());
    out.incarnation = incarnation_number(in.incarnation());
    out.tags = decode_tags(in.tags());
    return out;
}

} // namespace roster::wire::detail
