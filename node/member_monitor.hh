#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/time.hh"
#include "detector/detector_registry.hh"
#include "detector/local_health.hh"
#include "membership/command.hh"
#include "membership/membership_state.hh"
#include "membership/messages.hh"

namespace roster::node {

// One voter's judgement of the members: a phi-accrual detector for each member of the view but
// the voter itself (Hayashibara et al.), fed by heartbeats, and the suspicion reports that carry
// its judgement to the consensus leader — every change as it happens, and the whole set every
// report_interval and at once to a new leader (which starts from nothing). A removal needs a
// majority of voters' reports (DESIGN guarantee 4). The voter's own health (detector::local_health)
// gates its suspicions: while many members look late here within half a second, more than usually,
// or after this voter stalled, it needs more evidence. Deterministic and I/O-free.
class member_monitor {
public:
    member_monitor(const detector::registry_config& config, duration report_interval, mono_time now,
                   const detector::local_health_config& health = {});

    // ---- following the view
    void watch(member_id m, mono_time now);
    void forget(const std::vector<member_id>& gone);
    // After a snapshot: watches exactly the members of `v` not named `self_name`.
    void watch_exactly(const views::view& v, const std::string& self_name, mono_time now);
    // Time since the member's last heartbeat (empty: not watched, or never heard from).
    [[nodiscard]] std::optional<duration> silence(member_id m, mono_time now) const;

    // A heartbeat of a watched member, which says it heartbeats every `announced` from now on (zero:
    // not said; detector_registry::heartbeat). Returns false for a member not watched; `interval`
    // is set to the time since its previous heartbeat, when there was one.
    bool heartbeat(member_id m, mono_time now, std::optional<duration>& interval, duration announced = {});

    // One changed judgement.
    struct verdict {
        member_id member;
        std::string name;
        double phi = 0;
        bool suspected = false;
        std::uint32_t samples = 0;       // heartbeat intervals the detector holds
        std::optional<duration> silence; // since the last heartbeat; empty: never heard from
    };
    // Re-judges every member at `now`: the judgements that changed (members of `state` only), by
    // id, and the report that tells the leader about them (empty when nothing changed).
    std::vector<verdict> evaluate(mono_time now, const membership::membership_state& state,
                                  membership::suspicion_report& report);
    // The periodic full report, when due (every report_interval, and at once when `leader`
    // changed to a known voter).
    std::optional<membership::suspicion_report> full_report(mono_time now, voter_id leader,
                                                            const membership::membership_state& state);

    // Whether members other than those `due` for removal (sorted by id) look late: suspected here, or silent
    // for clearly longer than their usual interval. A removal waits a little for theirs: one failure that
    // takes several members should make one view.
    [[nodiscard]] bool others_late(const std::vector<membership::remove_op>& due, mono_time now) const;

    [[nodiscard]] const detector::detector_registry& detectors() const noexcept { return _registry; }
    [[nodiscard]] const detector::local_health& health() const noexcept { return _health; }
    // The change of this voter's health score since the last call (empty: none).
    [[nodiscard]] std::optional<detector::local_health::change> take_health_change() { return _health.take_change(); }

private:
    // The wire carries a finite phi: "never heard from" (phi +infinity) goes as this.
    static constexpr double never_heard_phi = 1e9;

    // The judgement of `m` at `now` (phi, suspected) with what the detector knew.
    [[nodiscard]] verdict judgement(member_id m, std::string name, double phi, bool suspected, mono_time now) const;
    // The same as the wire carries it to the leader.
    [[nodiscard]] static membership::suspicion reported(const verdict& v, incarnation_number incarnation);

    detector::detector_registry _registry;
    detector::local_health _health;
    duration _report_interval;
    mono_time _next_report;
    voter_id _reported_to; // the leader the last full report went to
};

} // namespace roster::node
