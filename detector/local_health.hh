#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "common/time.hh"

namespace roster::detector {

struct local_health_config {
    bool enabled = true;
    std::uint32_t max_score = 8;
    // The score moves by at most one step per period.
    duration period = 500ms;
    // It rises at a step when at least this many of the watched members, and at least rise_share
    // of them, were late or suspected at some moment of the period before (a congested link into
    // this voter makes most members late now and then, not all at the same instant)...
    std::size_t min_late = 3;
    double rise_share = 0.5;
    // ...and that share is at least rise_over_usual times the usual one (an average over the recent
    // steps, weight usual_weight each): on links that are always lossy and jittery, members are
    // late at a steady rate that the detectors have learnt already; that is not this voter's fault.
    double rise_over_usual = 2.0;
    double usual_weight = 1.0 / 16;
    // It falls when fewer than calm_share of them were, or fewer than rise_over_usual times the
    // usual share: trouble that lasts becomes the usual, and the detectors learn it.
    double calm_share = 0.25;
    // A gap longer than this between two evaluations: the watcher itself was stalled (its CPU
    // starved, its process stopped), and what it has not read yet is no evidence against anyone.
    duration stall = 100ms;
    // After a stall, no new suspicion for as long as the stall lasted, at most this long: the
    // heartbeats that arrived meanwhile are read first.
    duration max_hold = 1s;

    // Empty when valid, else what is wrong.
    [[nodiscard]] std::optional<const char*> validate() const;
};

// The health of the watcher itself, as in Lifeguard (Dadgar et al., "Lifeguard: Local Health
// Awareness for More Accurate Failure Detection", 2018): when many of the members it watches look
// late within a short time, more than usually are, the likelier cause is its own network or CPU,
// not theirs. Then the watcher needs more evidence before it suspects anyone: a member is
// suspected only once it has been silent (1 + score) times as long as its detector's threshold
// delay. A real mass failure is still
// detected, only later; a watcher that stalled makes no suspicion until it has read what arrived.
// Deterministic and I/O-free.
class local_health {
public:
    // Pre-condition: config.validate() is empty (checked; violating it aborts).
    explicit local_health(const local_health_config& config);

    // At the start of every evaluation: notices a stall since the previous one.
    void evaluation(mono_time now);
    // Whether a step is due at `now`; then step() with the members late or suspected at some
    // moment since the last step, of those watched.
    [[nodiscard]] bool step_due(mono_time now) const { return _config.enabled && now >= _next_step; }
    void step(mono_time now, std::size_t troubled, std::size_t watched);

    // 0 (healthy) .. max_score.
    [[nodiscard]] std::uint32_t score() const noexcept { return _score; }
    // How many threshold delays a member must be silent before it is suspected (1: as configured).
    [[nodiscard]] double delay_scale() const noexcept { return 1.0 + _score; }
    // Before this, nothing new is suspected (after a stall).
    [[nodiscard]] mono_time hold_until() const noexcept { return _hold_until; }
    // The usual share of members late within a period, as the steps have seen it.
    [[nodiscard]] double usual_share() const noexcept { return _usual_share; }

    // A change of the score, for one log line: the score before and after, and why.
    struct change {
        std::uint32_t from = 0;
        std::uint32_t to = 0;
        std::string why;
    };
    // The changes since the last call, folded into one with every reason (empty: none).
    [[nodiscard]] std::optional<change> take_change();

private:
    void move_to(std::uint32_t score, std::string why);

    local_health_config _config;
    std::uint32_t _score = 0;
    std::optional<mono_time> _last_evaluation;
    mono_time _next_step{};
    mono_time _hold_until{};
    double _usual_share = 0; // of members late or suspected within a period
    std::optional<change> _change;
};

} // namespace roster::detector
