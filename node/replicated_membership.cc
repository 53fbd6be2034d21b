#include "node/replicated_membership.hh"

#include <algorithm>

#include "common/invariant.hh"
#include "membership/validation.hh"
#include "wire/codec.hh"

namespace roster::node {

result<std::optional<replicated_membership::applied>, replicated_membership::refusal>
replicated_membership::apply(const consensus::entry& e) {
    if (e.kind != consensus::entry_kind::normal) {
        return std::optional<applied>();
    }
    auto decoded = wire::decode_command(e.data);
    if (!decoded) {
        return refusal{refusal::kind::undecodable, decoded.error().describe()};
    }
    if (auto bad = membership::validate(decoded.value())) {
        // The leader checks every join it takes; an entry that still breaks a bound was forged,
        // or proposed by a build with other rules. Applying part of it would be as deterministic,
        // but refusing all of it is simpler to reason about.
        return refusal{refusal::kind::invalid, std::move(*bad)};
    }
    applied out{std::move(decoded).value(), {}};
    out.result = _state.apply(out.command);
    return std::optional<applied>(std::move(out));
}

void replicated_membership::restore(const consensus::snapshot& s) {
    auto decoded = wire::decode_snapshot(*s.data);
    if (!decoded) {
        invariant_broken("replicated_membership", "cannot read the membership snapshot at index {}: {}",
                         s.meta.index, decoded.error().describe());
    }
    _state = membership::membership_state(std::move(decoded).value());
    _last_snapshot = std::max(_last_snapshot, s.meta.index);
}

std::optional<std::string> replicated_membership::check(bytes_view snapshot_data) {
    auto decoded = wire::decode_snapshot(snapshot_data);
    if (!decoded) {
        return decoded.error().describe();
    }
    return membership::check_snapshot(decoded.value());
}

std::shared_ptr<const bytes> replicated_membership::compaction_due(log_index applied_index) {
    if (applied_index - _last_snapshot < _compact_every) {
        return nullptr;
    }
    _last_snapshot = applied_index;
    return std::make_shared<const bytes>(wire::encode_snapshot(_state.snapshot()));
}

} // namespace roster::node
