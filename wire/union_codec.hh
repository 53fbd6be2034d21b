#pragma once

#include <array>
#include <cstddef>
#include <type_traits>
#include <utility>
#include <variant>

#include "wire/codec_detail.hh"

// Private to wire/: a std::variant written as a FlatBuffers union (the envelope's Body, a
// command's Op).
namespace roster::wire::detail {

template <typename Variant, typename Union>
using union_decoder = result<Variant, decode_error> (*)(const void* table);

template <typename Union>
inline constexpr std::size_t union_tag_count = static_cast<std::size_t>(Union::MAX) + 1;

template <typename>
struct offset_table;
template <typename Table>
struct offset_table<Offset<Table>> {
    using type = Table;
};

template <typename Union, typename T>
union_offset<Union> encode_alternative(builder& b, const T& m) {
    const auto written = codec<T>::encode(b, m);
    using written_type = std::remove_cv_t<decltype(written)>;
    if constexpr (std::is_same_v<written_type, union_offset<Union>>) {
        return written;
    } else {
        static_assert(
            std::is_same_v<fb_tables<typename offset_table<written_type>::type>, typename codec<T>::tables>,
            "codec<T>::encode writes a table that codec<T>::tables does not list");
        return as_union<Union>(written);
    }
}

template <typename Variant, typename T, typename Table>
result<Variant, decode_error> decode_alternative(const void* table) {
    const Table& in = *static_cast<const Table*>(table);
    using decoded_type = decltype(codec<T>::decode(in));
    if constexpr (std::is_same_v<decoded_type, T>) {
        return Variant(std::in_place_type<T>, codec<T>::decode(in));
    } else {
        static_assert(std::is_same_v<decoded_type, result<T, decode_error>>,
                      "codec<T>::decode returns T or result<T, decode_error>");
        auto decoded = codec<T>::decode(in);
        if (!decoded) {
            return decoded.error();
        }
        return Variant(std::in_place_type<T>, std::move(decoded).value());
    }
}

template <typename Variant, typename Union, typename T, typename... Tables>
constexpr void add_decoders(std::array<union_decoder<Variant, Union>, union_tag_count<Union>>& out,
                            fb_tables<Tables...>) {
    static_assert(sizeof...(Tables) > 0, "an alternative without a table could not be decoded");
    ((out[static_cast<std::size_t>(union_tag<Union, Tables>())] = &decode_alternative<Variant, T, Tables>),
     ...);
}

template <typename Variant, typename Union, std::size_t... I>
constexpr auto make_decoders(std::index_sequence<I...>) {
    std::array<union_decoder<Variant, Union>, union_tag_count<Union>> out{};
    (add_decoders<Variant, Union, std::variant_alternative_t<I, Variant>>(
         out, typename codec<std::variant_alternative_t<I, Variant>>::tables{}),
     ...);
    return out;
}

template <typename Union, typename... Tables>
constexpr void add_claims(std::array<int, union_tag_count<Union>>& out, fb_tables<Tables...>) {
    (++out[static_cast<std::size_t>(union_tag<Union, Tables>())], ...);
}

// How many alternatives' tables carry each tag of the union.
template <typename Variant, typename Union, std::size_t... I>
constexpr auto count_claims(std::index_sequence<I...>) {
    std::array<int, union_tag_count<Union>> out{};
    (add_claims<Union>(out, typename codec<std::variant_alternative_t<I, Variant>>::tables{}), ...);
    return out;
}

// The alternatives of `Variant` (wire::body, membership::op) as the tables of the FlatBuffers union
// `Union` (fb::Body, fb::Op). Encoding visits the variant; decoding looks the type tag up in an array
// of decoders built at compile time from each alternative's codec<T>::tables, so the pairing of
// structs and tables is written once, in the codecs, and a table nobody decodes (or two decode)
// fails decodes_every_tag_once() at compile time.
template <typename Variant, typename Union>
class union_codec {
public:
    using decoder = union_decoder<Variant, Union>;

    static union_offset<Union> encode(builder& b, const Variant& value) {
        return std::visit([&b](const auto& m) { return encode_alternative<Union>(b, m); }, value);
    }

    // The decoder for `type`; nullptr for NONE and for tags this build does not know.
    static decoder find(Union type) {
        const auto i = static_cast<std::size_t>(type);
        return i < _decoders.size() ? _decoders[i] : nullptr;
    }

    // Every tag of the union but NONE is decoded by exactly one alternative (and no alternative
    // lists a table outside the union, which would say NONE).
    static constexpr bool decodes_every_tag_once() {
        const auto claims = count_claims<Variant, Union>(alternatives{});
        for (std::size_t i = 0; i < claims.size(); ++i) {
            if (claims[i] != (i == 0 ? 0 : 1)) {
                return false;
            }
        }
        return true;
    }

private:
    using alternatives = std::make_index_sequence<std::variant_size_v<Variant>>;

    static constexpr std::array<decoder, union_tag_count<Union>> _decoders =
        make_decoders<Variant, Union>(alternatives{});
};

} // namespace roster::wire::detail
