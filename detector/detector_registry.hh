#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <vector>

#include "common/strong_value.hh"
#include "common/time.hh"
#include "detector/phi_accrual_detector.hh"

namespace roster::detector {

struct registry_config {
    phi_accrual_config detector;
    // Hysteresis: a suspected peer counts as alive again only once phi has fallen to this
    // level or below (a fresh heartbeat takes phi to about 0). Empty: half the threshold.
    std::optional<double> clear_threshold;
    // A peer that has never been heard from since it was added is suspected after this long.
    duration silent_grace = 2s;

    // Empty when valid, else what is wrong.
    [[nodiscard]] std::optional<const char*> validate() const;
};

// A change of one peer's suspicion state, as found by detector_registry::evaluate.
struct transition {
    member_id member;
    bool suspected = false; // true: alive -> suspected; false: suspected -> alive again
    double phi = 0;         // phi at the evaluation (+infinity for a peer never heard from)
};

// A change of one peer's lateness (phi_accrual_detector::late) while it is not suspected.
struct lateness {
    member_id member;
    bool late = false; // true: on time -> late; false: late -> on time (a heartbeat came)
    double phi = 0;
};

// Makes suspicion harder for a while (detector::local_health): a peer is suspected only once it
// has been silent delay_scale times its threshold delay (never heard from: the grace period), and
// none before hold_until. Until then a peer past its threshold counts as late.
struct suspicion_gate {
    double delay_scale = 1.0;
    mono_time hold_until{};
};

// The detectors of every monitored peer, and their suspicion state with hysteresis.
//
// Peers are kept in a vector sorted by member id, so that every list the registry returns is
// in id order (deterministic output) and a full evaluation walks memory linearly. Member ids
// are assigned in increasing order, so adding is usually an append; forgetting is O(n).
class detector_registry {
public:
    // Pre-condition: config.validate() is empty (checked; violating it aborts).
    explicit detector_registry(const registry_config& config);

    // Starts monitoring `member` at `now`. Returns false if it was already monitored.
    bool add(member_id member, mono_time now);
    // Stops monitoring. Returns false if it was not monitored.
    bool forget(member_id member);
    // Stops monitoring all of these, in one pass (a view that removes thousands at once).
    void forget(const std::vector<member_id>& members);
    // Records a heartbeat. Returns false (and records nothing) if the member is not monitored.
    // `interval`, when not zero, is the interval the member says it heartbeats at now: when it
    // differs from the one its detector expects, the detector starts over (as for a member just
    // added, with the warm-up's caution) with the configuration scaled to it (the deviation floor
    // and the acceptable pause in proportion, the first estimate the interval itself), so that a
    // member that slows down as the cluster grows is not suspected for it. Intervals outside
    // [1 ms, 60 s], and new ones beyond max_models distinct intervals other than the adaptive
    // levels (detector/heartbeat_interval.hh, always taken), keep the current detector.
    bool heartbeat(member_id member, mono_time now, duration interval = {});
    // The interval a member's detector expects (the configuration's first estimate, or the
    // interval it last announced); empty when it is not monitored.
    [[nodiscard]] std::optional<duration> interval_of(member_id member) const;
    static constexpr std::size_t max_models = 16;
    // The configurations in use: the base one and one per other announced interval.
    [[nodiscard]] std::size_t models() const noexcept { return _models.size() + 1; }

    [[nodiscard]] bool contains(member_id member) const;
    [[nodiscard]] std::size_t size() const noexcept { return _peers.size(); }
    // phi of the member at `now`; +infinity for one never heard from past the grace period;
    // empty when it is not monitored.
    [[nodiscard]] std::optional<double> phi(member_id member, mono_time now) const;
    // The suspicion state as of the last evaluate().
    [[nodiscard]] bool is_suspected(member_id member) const;
    // Members whose phi is at or above the threshold at `now` (no hysteresis), by id.
    [[nodiscard]] std::vector<member_id> above_threshold(mono_time now) const;
    // Members suspected as of the last evaluate(), by id.
    [[nodiscard]] std::vector<member_id> suspected() const;

    // Updates every member's suspicion state at `now` and returns the changes, by id:
    // alive -> suspected when phi >= threshold (or silent past the grace period);
    // suspected -> alive when phi <= the clear threshold.
    // With `late`, also the changes of lateness of the members not suspected, in the same pass
    // (a member that becomes suspected stops being late without an entry there).
    // With `gate`, a peer becomes suspected only if it passes the gate as well.
    std::vector<transition> evaluate(mono_time now, std::vector<lateness>* late = nullptr,
                                     const suspicion_gate* gate = nullptr);
    // Members late and not suspected as of the last evaluate() with lateness, by id.
    [[nodiscard]] std::vector<member_id> late() const;
    // How many were late or suspected at some evaluate() with lateness since the last call (or
    // are now); starts the next count.
    [[nodiscard]] std::size_t take_troubled();

    [[nodiscard]] const phi_model& model() const noexcept { return *_model; }
    [[nodiscard]] const phi_accrual_detector* find(member_id member) const;

    // Calls fn(member_id, const phi_accrual_detector&, bool suspected) for every member, by id.
    template <typename Fn>
    void for_each(Fn&& fn) const {
        for (const peer& p : _peers) {
            fn(p.member, p.detector, p.suspected);
        }
    }

private:
    struct peer {
        member_id member;
        mono_time added;
        phi_accrual_detector detector;
        bool suspected = false;
        bool late = false;
        bool troubled = false; // late or suspected since the last take_troubled()
    };

    // Position of `member` in _ids/_peers, or where it would be inserted.
    [[nodiscard]] std::size_t position(member_id member) const;
    [[nodiscard]] const peer* lookup(member_id member) const;
    [[nodiscard]] peer* lookup(member_id member);
    [[nodiscard]] double phi_of(const peer& p, mono_time now) const;
    // Whether a peer past its threshold may be suspected through `gate` at `now`.
    [[nodiscard]] bool passes(const peer& p, mono_time now, const suspicion_gate& gate) const;
    // The model for heartbeats every `interval` (created, scaled from the base, on first use);
    // null when the interval is out of bounds or max_models are taken.
    [[nodiscard]] const phi_model* model_for(duration interval);

    std::unique_ptr<phi_model> _model; // stable address: detectors point to it
    // One per announced interval other than the base's (stable addresses too).
    std::vector<std::unique_ptr<phi_model>> _models;
    std::size_t _odd_models = 0; // of _models, those not for an adaptive level (max_models bounds them)
    double _clear_threshold;
    duration _silent_grace;
    // Parallel vectors, sorted by member id: the ids alone are searched (80 KB for 10,000
    // members, cache-resident), then one access reaches the peer.
    std::vector<member_id> _ids;
    std::vector<peer> _peers;
};

} // namespace roster::detector
