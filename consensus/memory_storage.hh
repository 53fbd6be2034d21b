#pragma once

#include <vector>

#include "consensus/storage.hh"

namespace roster::consensus {

// Storage in memory, for the simulation: what it holds plays the part of the disk, which
// survives a simulated crash while the raft object does not.
class memory_storage final : public storage {
public:
    memory_storage() = default;

    [[nodiscard]] persisted_state recovered() const override;
    [[nodiscard]] std::optional<storage_error> save(const ready& r) override;

    [[nodiscard]] const hard_state& hard() const noexcept { return _state.hard; }
    [[nodiscard]] const std::optional<snapshot>& snap() const noexcept { return _state.snap; }
    [[nodiscard]] const std::vector<entry>& entries() const noexcept { return _state.entries; }
    [[nodiscard]] log_index last_index() const noexcept;
    [[nodiscard]] std::uint64_t saves() const noexcept { return _saves; }

private:
    persisted_state _state;
    std::uint64_t _saves = 0;
};

// Applies step 1 of `r` to a persisted_state, the way every storage must (shared by
// memory_storage and the tests that check sqlite_storage against it).
void apply_to(persisted_state& state, const ready& r);

} // namespace roster::consensus
