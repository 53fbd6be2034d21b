#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <flatbuffers/flatbuffers.h>
#include <fmt/format.h>

#include "common/bytes.hh"
#include "common/result.hh"
#include "roster_generated.h"
#include "views/view.hh"
#include "wire/codec.hh"
#include "wire/schema_enums.hh"

// Private to wire/ (it includes the generated header, which only roster_wire sees): the
// pieces every message codec is written with. The per-layer headers (views_codec.hh,
// membership_codec.hh, consensus_codec.hh), wire/codec.cc and wire/log_codec.cc specialise `codec<T>`
// for their structs.
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
//   using tables = fb_tables<fb::X>;                   for the alternatives of a union;
//   using table = fb::X;                               for the root of a buffer (buffer_codec.hh).
// decode reads only a verified buffer, so it may follow offsets and read required fields without
// checks; it checks ranges the verifier cannot know (enums, NaN) and never throws.
template <typename T>
struct codec;

// The verifier checks that a vector's length is aligned, not its elements: a forged buffer can
// put a vector of 8-byte numbers or structs at a 4-byte boundary, and reading it would be a
// misaligned access (undefined behaviour). FlatBuffers' builder aligns every vector that has
// elements (an empty one only to 4 bytes, which is harmless: nothing is read), so a non-empty one
// that is not aligned is refused. `Element` is the element type as stored (a scalar or an fb::
// struct).
template <typename Element, typename Vector>
std::optional<decode_error> misaligned(const Vector* v, const char* what) {
    if (v == nullptr || v->size() == 0 ||
        reinterpret_cast<std::uintptr_t>(v->Data()) % alignof(Element) == 0) {
        return std::nullopt;
    }
    return decode_error{
        decode_error_kind::malformed,
        fmt::format("the {} vector is not aligned for its {}-byte elements", what, alignof(Element))};
}

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

// The finished buffer, as the bytes a caller keeps.
inline bytes finished_bytes(const builder& b) {
    return bytes(b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize());
}

// Optional strings are left out of the buffer when empty, and read back as empty when absent.
inline Offset<flatbuffers::String> opt_string(builder& b, const std::string& s) {
    return s.empty() ? Offset<flatbuffers::String>() : b.CreateString(s);
}

inline std::string str(const flatbuffers::String* s) { return s == nullptr ? std::string() : s->str(); }

inline decode_error invalid(std::string detail) {
    return {decode_error_kind::invalid_field, std::move(detail)};
}

// A schema enum value read off the wire is a raw integer until checked. The codecs cast between the
// C++ and the schema enums, which is right because wire/schema_enums.hh proves them equal.
template <typename Fb>
bool known(Fb value) {
    return static_cast<unsigned>(value) <= static_cast<unsigned>(Fb::MAX);
}

// Removal reasons and older readers (RemovalReason in roster.fbs): a reader of an older version
// refuses a whole view, change or event whose reason it does not know, so a reason after the first
// three is written as `left` where those readers look (the compat reason), and exactly in a field
// of its own that they skip.
inline bool needs_exact(views::removal_reason r) { return r > views::removal_reason::replaced; }
inline fb::RemovalReason compat_reason(views::removal_reason r) {
    return needs_exact(r) ? fb::RemovalReason::Left : static_cast<fb::RemovalReason>(r);
}
// The reason to read: `exact` when it names a reason this build knows beyond the first three (an
// absent field reads 0), else `compat`, the one in the old place (already checked).
inline views::removal_reason exact_or(fb::RemovalReason exact, views::removal_reason compat) {
    const auto r = static_cast<views::removal_reason>(exact);
    return known(exact) && needs_exact(r) ? r : compat;
}

// ---- vectors -----------------------------------------------------------------------------

// Writes a vector of tables, one `encode(b, item)` each (by default codec<Item>::encode), in order.
template <typename Item, typename Encode>
auto encode_each(builder& b, const std::vector<Item>& in, Encode&& encode) {
    std::vector<std::invoke_result_t<Encode&, builder&, const Item&>> out;
    out.reserve(in.size());
    for (const auto& item : in) {
        out.push_back(encode(b, item));
    }
    return b.CreateVector(out);
}

template <typename Item>
auto encode_each(builder& b, const std::vector<Item>& in) {
    return encode_each(b, in, [](builder& out, const Item& item) { return codec<Item>::encode(out, item); });
}

// Reads a vector of tables none of which can be refused, with codec<T>::decode; absent: empty.
template <typename T, typename Table>
std::vector<T> decode_each(const flatbuffers::Vector<Offset<Table>>* in) {
    std::vector<T> out;
    if (in == nullptr) {
        return out;
    }
    out.reserve(in->size());
    for (const Table* t : *in) {
        out.push_back(codec<T>::decode(*t));
    }
    return out;
}

// The same for tables that can be refused (codec<T>::decode returns a result): the first refusal
// is returned, and `out` is then incomplete.
template <typename T, typename Table>
std::optional<decode_error> decode_each(const flatbuffers::Vector<Offset<Table>>* in, std::vector<T>& out) {
    if (in == nullptr) {
        return std::nullopt;
    }
    out.reserve(in->size());
    for (const Table* t : *in) {
        auto decoded = codec<T>::decode(*t);
        if (!decoded) {
            return decoded.error();
        }
        out.push_back(std::move(decoded).value());
    }
    return std::nullopt;
}

// ---- the fields of a join ----------------------------------------------------------------

template <>
struct codec<views::tag> {
    static Offset<fb::Tag> encode(builder& b, const views::tag& t) {
        // The value before the key: both used to be written inside one CreateTag call, whose
        // arguments GCC evaluates right to left. Tagged messages on the wire have that order (the
        // golden test pins it); written out, it no longer depends on the compiler.
        const auto value = opt_string(b, t.value);
        const auto key = b.CreateString(t.key);
        return fb::CreateTag(b, key, value);
    }
    static views::tag decode(const fb::Tag& in) { return {in.key()->str(), str(in.value())}; }
};

// A CURVE key field (32 bytes, or absent on an insecure cluster) and back.
inline Offset<flatbuffers::Vector<std::uint8_t>> key_vector(builder& b, const std::string& key) {
    return key.empty() ? Offset<flatbuffers::Vector<std::uint8_t>>()
                       : b.CreateVector(reinterpret_cast<const std::uint8_t*>(key.data()), key.size());
}
inline std::string key_string(const flatbuffers::Vector<std::uint8_t>* key) {
    return key != nullptr ? std::string(reinterpret_cast<const char*>(key->data()), key->size())
                          : std::string();
}

// A join request, the join op it becomes in the log and the member it makes in a view carry the same
// fields under the same names and in the same order (JoinRequest, JoinOp and Member in roster.fbs;
// join_request, join_op and views::member here), written and read by this one pair.
struct join_fields {
    Offset<flatbuffers::String> name;
    Offset<flatbuffers::String> address;
    Offset<flatbuffers::String> publish_endpoint;
    std::uint64_t incarnation;
    Offset<flatbuffers::Vector<Offset<fb::Tag>>> tags; // absent when there are none
    Offset<flatbuffers::Vector<std::uint8_t>> key;     // absent on an insecure cluster
    std::uint32_t voter;                               // 0: not a voter's own entry
};

// Writes the strings and tags, in the order the bytes have always had, before the caller's table.
template <typename Join>
join_fields encode_join_fields(builder& b, const Join& in) {
    const auto name = b.CreateString(in.name);
    const auto address = opt_string(b, in.address);
    const auto publish_endpoint = opt_string(b, in.publish_endpoint);
    const auto tags =
        in.tags.empty() ? Offset<flatbuffers::Vector<Offset<fb::Tag>>>() : encode_each(b, in.tags);
    const auto key = key_vector(b, in.key);
    return {name, address, publish_endpoint, in.incarnation.value(), tags, key, in.voter.value()};
}

// Builds the Join in place from `first` (the one field the three do not share: the member's id, the
// request's id, nothing for the op) and the join fields, which follow it in each struct. Always
// inlined: GCC kept it out of line, and a 1,000-member view then decoded 5 % slower (codec_bench).
template <typename Join, typename Table, typename... First>
[[gnu::always_inline]] inline Join decode_join_fields(const Table& in, First... first) {
    return Join{first...,
                in.name()->str(), // required: the verifier refuses a table without it
                str(in.address()),
                str(in.publish_endpoint()),
                incarnation_number(in.incarnation()),
                decode_each<views::tag>(in.tags()),
                key_string(in.key()),
                voter_id(in.voter_id())};
}

} // namespace roster::wire::detail
