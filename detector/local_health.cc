#include "detector/local_health.hh"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include <fmt/format.h>

namespace roster::detector {

std::optional<const char*> local_health_config::validate() const {
    if (max_score > 64) {
        return "local health: the maximum score must be at most 64";
    }
    if (period <= duration::zero()) {
        return "local health: the period must be positive";
    }
    if (!(rise_share > 0.0 && rise_share <= 1.0) || !(calm_share >= 0.0 && calm_share < rise_share)) {
        return "local health: need 0 <= calm share < rise share <= 1";
    }
    if (!(rise_over_usual >= 1.0) || !(usual_weight > 0.0 && usual_weight <= 1.0)) {
        return "local health: need rise over usual >= 1 and 0 < usual weight <= 1";
    }
    if (stall <= duration::zero() || max_hold < duration::zero()) {
        return "local health: the stall bound must be positive and the hold not negative";
    }
    return std::nullopt;
}

local_health::local_health(const local_health_config& config)
    : _config(config) {
    if (auto err = config.validate()) {
        std::fprintf(stderr, "local_health: invalid configuration: %s\n", *err);
        std::abort();
    }
}

void local_health::evaluation(mono_time now) {
    if (!_config.enabled) {
        return;
    }
    if (_last_evaluation && now - *_last_evaluation > _config.stall) {
        const duration gap = now - *_last_evaluation;
        _hold_until = std::max(_hold_until, now + std::min(gap, _config.max_hold));
        // The period the voter slept through is no evidence of calm: the next step counts from now.
        _next_step = now + _config.period;
        if (_score < _config.max_score) {
            move_to(_score + 1, fmt::format("this voter stalled for {} ms",
                                            std::chrono::duration_cast<std::chrono::milliseconds>(gap).count()));
        }
    }
    _last_evaluation = now;
}

void local_health::step(mono_time now, std::size_t troubled, std::size_t watched) {
    _next_step = now + _config.period;
    const double share = watched == 0 ? 0.0 : static_cast<double>(troubled) / static_cast<double>(watched);
    const auto in_period = std::chrono::duration_cast<std::chrono::milliseconds>(_config.period).count();
    const double usual = _usual_share;
    _usual_share += (share - _usual_share) * _config.usual_weight;
    if (troubled >= _config.min_late && share >= _config.rise_share && share >= _config.rise_over_usual * usual) {
        if (_score < _config.max_score) {
            move_to(_score + 1, fmt::format("{} of {} members late within {} ms", troubled, watched, in_period));
        }
    } else if (_score > 0 && (share < _config.calm_share || share < _config.rise_over_usual * usual)) {
        move_to(_score - 1, fmt::format("{} of {} members late within {} ms", troubled, watched, in_period));
    }
}

void local_health::move_to(std::uint32_t score, std::string why) {
    if (!_change) {
        _change = change{_score, score, std::move(why)};
    } else {
        _change->to = score;
        _change->why += "; " + why;
    }
    _score = score;
}

std::optional<local_health::change> local_health::take_change() {
    auto c = std::move(_change);
    _change.reset();
    if (c && c->from == c->to) {
        return std::nullopt;
    }
    return c;
}

} // namespace roster::detector
