#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "common/time.hh"

namespace roster::detector {

// Parameters of the phi-accrual detector (Hayashibara et al., "The phi accrual failure
// detector", SRDS 2004, with the acceptable pause and deviation floor of Akka's variant).
struct phi_accrual_config {
    // Number of recent inter-arrival intervals the estimate is taken over (1 .. max_window_size).
    std::size_t window_size = 100;
    // Floor on the standard deviation, so that a perfectly regular stream (loopback) does not
    // make phi explode at the first slightly late heartbeat.
    duration min_std_deviation = 5ms;
    // Added to the mean: a pause this long beyond the usual interval is not suspicious. One
    // heartbeat interval tolerates one lost heartbeat.
    duration acceptable_pause = 100ms;
    // Mean interval assumed at the first heartbeat, before any interval was seen; the window
    // starts as if two intervals of estimate +- estimate/4 had been observed.
    duration first_heartbeat_estimate = 100ms;
    // phi at or above which a peer is suspected.
    double threshold = 8.0;
    // A conservative first estimate: until the detector holds this many intervals, the floor on
    // the deviation is raised to first_heartbeat_estimate/2, shrinking linearly to the normal
    // floor as the intervals come in. A few regular heartbeats say little about how late the
    // next one may be (a process just started, a loaded machine), so a member that has just
    // joined is not suspected for one late heartbeat. 0: no warm-up.
    std::size_t warmup_samples = 50;

    static constexpr std::size_t max_window_size = 10'000;

    // Settings for heartbeats every `interval` on a LAN (docs/detector.md explains the choice):
    // deviation floor interval/20, pause one interval, estimate one interval, threshold 8.
    [[nodiscard]] static phi_accrual_config for_heartbeat_interval(duration interval);

    // Empty when valid, else what is wrong, for a config or flag error message.
    [[nodiscard]] std::optional<const char*> validate() const;
};

// A validated configuration with the values derived from it, shared by every detector that
// uses it. Immutable.
class phi_model {
public:
    // Pre-condition: config.validate() is empty (checked; violating it aborts).
    explicit phi_model(const phi_accrual_config& config);

    [[nodiscard]] const phi_accrual_config& config() const noexcept { return _config; }
    // The z-score at which phi equals the threshold.
    [[nodiscard]] double threshold_z() const noexcept { return _threshold_z; }
    // Time after the last heartbeat at which phi reaches the threshold, for a stream with this
    // mean and deviation: mean + acceptable_pause + max(deviation, floor) * threshold_z. It is
    // the detection delay of a peer that stops right after a heartbeat.
    [[nodiscard]] duration threshold_delay(duration mean, duration std_deviation) const;

private:
    phi_accrual_config _config;
    double _threshold_z;
};

// Phi-accrual detector for one monitored peer. Pure: every time is a parameter.
//
// Intervals are kept in a ring of the last window_size samples, in whole microseconds, with
// their sum and sum of squares held exactly in integers: an update is O(1), and the mean and
// variance never drift however long the stream runs.
//
// An interval long enough to have taken phi to the threshold is not recorded, unless the
// previous interval was skipped too: the peer was failed or paused in it, and letting it into
// the window would blunt detection for the next window_size heartbeats. Two such intervals
// in a row mean the rhythm itself changed, and the window has to learn it.
class phi_accrual_detector {
public:
    // `model` must outlive the detector.
    explicit phi_accrual_detector(const phi_model& model);

    // Records a heartbeat that arrived at `now`. Times must not go backwards; an arrival
    // earlier than the previous one counts as simultaneous with it.
    void heartbeat(mono_time now);

    // Suspicion level at `now`: 0 before the first heartbeat, then -log10 of the probability
    // that the next heartbeat arrives later than `now`, given the recent intervals. Between
    // heartbeats it grows monotonically with `now`.
    [[nodiscard]] double phi(mono_time now) const;

    // Where the silence since the last heartbeat stands, in standard deviations past the mean,
    // without the logarithm: `above` the threshold (phi(now) >= threshold), or `late`, half way
    // to it (for the default threshold, about 1 heartbeat in 400 of a healthy member: the
    // evidence a voter gives before a removal), or `on_time`. on_time before any heartbeat.
    enum class standing : std::uint8_t { on_time, late, above };
    [[nodiscard]] standing standing_at(mono_time now) const;
    [[nodiscard]] bool above_threshold(mono_time now) const { return standing_at(now) == standing::above; }
    [[nodiscard]] bool late(mono_time now) const { return standing_at(now) != standing::on_time; }

    // model.threshold_delay with the current window: when, after the last heartbeat, phi
    // reaches the threshold. Before the first heartbeat: the delay of the initial estimate.
    [[nodiscard]] duration threshold_delay() const;

    [[nodiscard]] std::optional<mono_time> last_heartbeat() const noexcept { return _last; }
    [[nodiscard]] const phi_model& model() const noexcept { return *_model; }
    [[nodiscard]] std::size_t sample_count() const noexcept { return _count; }
    // Intervals left out of the window because phi had reached the threshold in them.
    [[nodiscard]] std::uint64_t skipped_intervals() const noexcept { return _skipped; }
    // Mean and population standard deviation of the window, before the floor and the pause.
    [[nodiscard]] double mean_us() const noexcept;
    [[nodiscard]] double std_deviation_us() const noexcept;

private:
    void push_interval(std::uint32_t us);
    [[nodiscard]] double adjusted_mean_us() const noexcept;
    [[nodiscard]] double adjusted_std_us() const noexcept;

    const phi_model* _model;
    std::vector<std::uint32_t> _ring; // the last window_size intervals, microseconds
    std::size_t _head = 0;            // next slot to overwrite once the ring is full
    std::size_t _count = 0;
    std::uint64_t _sum = 0;
    unsigned __int128 _sum_squares = 0;
    std::optional<mono_time> _last;
    bool _last_skipped = false;
    std::uint64_t _skipped = 0;
};

} // namespace roster::detector
