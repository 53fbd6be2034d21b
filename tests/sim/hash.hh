#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

#include "common/bytes.hh"

namespace roster::sim {

// 64-bit mixing (splitmix64 finalizer), for chain hashes and trace hashes. Deterministic on
// every platform; collisions are negligible at simulation sizes.
constexpr std::uint64_t mix(std::uint64_t h, std::uint64_t v) noexcept {
    std::uint64_t z = h ^ (v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2));
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

inline std::uint64_t hash_bytes(bytes_view b, std::uint64_t h = 0) noexcept {
    h = mix(h, b.size());
    std::size_t i = 0;
    for (; i + 8 <= b.size(); i += 8) {
        std::uint64_t w;
        std::memcpy(&w, b.data() + i, 8);
        h = mix(h, w);
    }
    std::uint64_t tail = 0;
    if (i < b.size()) { // (an empty span may have a null data pointer)
        std::memcpy(&tail, b.data() + i, b.size() - i);
    }
    return mix(h, tail);
}

} // namespace roster::sim
