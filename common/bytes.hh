#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace roster {

// Opaque payloads: Raft entry data, snapshots, encoded messages.
using bytes = std::vector<std::uint8_t>;
using bytes_view = std::span<const std::uint8_t>;

} // namespace roster
