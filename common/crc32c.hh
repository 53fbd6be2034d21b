#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace roster {

// CRC-32C (Castagnoli), table-driven. Guards stored log entries against bit rot that the
// database would not notice.
namespace detail {
constexpr std::array<std::uint32_t, 256> make_crc32c_table() {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
        std::uint32_t c = i;
        for (int k = 0; k < 8; ++k) {
            c = (c & 1) ? (c >> 1) ^ 0x82f63b78u : c >> 1;
        }
        t[i] = c;
    }
    return t;
}
inline constexpr auto crc32c_table = make_crc32c_table();
} // namespace detail

// Extends `crc` (start with 0) over `size` bytes.
inline std::uint32_t crc32c(const void* data, std::size_t size, std::uint32_t crc = 0) noexcept {
    const auto* p = static_cast<const unsigned char*>(data);
    crc = ~crc;
    for (std::size_t i = 0; i < size; ++i) {
        crc = detail::crc32c_table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
    }
    return ~crc;
}

} // namespace roster
