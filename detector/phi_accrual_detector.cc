#include "detector/phi_accrual_detector.hh"

#include <algorithm>
#include <cmath>
#include <limits>

#include "common/invariant.hh"
#include "detector/normal_tail.hh"

namespace roster::detector {

namespace {

constexpr double us_per_ns = 1e-3;

double to_us(duration d) noexcept { return static_cast<double>(d.count()) * us_per_ns; }

duration from_us(double us) noexcept {
    return duration(static_cast<duration::rep>(std::llround(us / us_per_ns)));
}

} // namespace

phi_accrual_config phi_accrual_config::for_heartbeat_interval(duration interval) {
    phi_accrual_config c;
    c.min_std_deviation = std::max<duration>(interval / 20, 1ms);
    c.acceptable_pause = interval;
    c.first_heartbeat_estimate = interval;
    return c;
}

std::optional<const char*> phi_accrual_config::validate() const {
    if (window_size < 1 || window_size > max_window_size) {
        return "window size must be between 1 and 10000 intervals";
    }
    if (min_std_deviation < 1us) {
        return "minimum standard deviation must be at least 1 microsecond";
    }
    if (acceptable_pause < 0ns) {
        return "acceptable pause must not be negative";
    }
    if (warmup_samples > max_window_size) {
        return "warm-up must be at most 10000 intervals";
    }
    if (first_heartbeat_estimate < 1ms) {
        return "first heartbeat estimate must be at least 1 millisecond";
    }
    if (!(threshold > 0.0) || !(threshold < 300.0)) {
        return "phi threshold must be greater than 0 and less than 300";
    }
    return std::nullopt;
}

phi_model::phi_model(const phi_accrual_config& config)
    : _config(config)
    , _threshold_z(0) {
    if (auto bad = config.validate()) {
        invariant_broken("phi_model", "invalid configuration: {}", *bad);
    }
    _threshold_z = z_of_phi(config.threshold);
}

duration phi_model::threshold_delay(duration mean, duration std_deviation) const {
    const double sd = std::max(to_us(std_deviation), to_us(_config.min_std_deviation));
    return from_us(to_us(mean) + to_us(_config.acceptable_pause) + sd * _threshold_z);
}

phi_accrual_detector::phi_accrual_detector(const phi_model& model)
    : _model(&model) {
    _ring.reserve(model.config().window_size);
}

void phi_accrual_detector::push_interval(std::uint32_t us) {
    const std::size_t capacity = _model->config().window_size;
    if (_count == capacity) {
        const std::uint32_t old = _ring[_head];
        _sum -= old;
        _sum_squares -= static_cast<unsigned __int128>(old) * old;
        _ring[_head] = us;
        _head = (_head + 1) % capacity;
    } else {
        _ring.push_back(us);
        ++_count;
    }
    _sum += us;
    _sum_squares += static_cast<unsigned __int128>(us) * us;
}

void phi_accrual_detector::heartbeat(mono_time now) {
    if (!_last) {
        // Seed the window with estimate +- estimate/4: mean = estimate, deviation = estimate/4.
        const double estimate = to_us(_model->config().first_heartbeat_estimate);
        push_interval(static_cast<std::uint32_t>(std::llround(estimate * 0.75)));
        push_interval(static_cast<std::uint32_t>(std::llround(estimate * 1.25)));
        _last = now;
        return;
    }
    const mono_time at = std::max(now, *_last);
    const bool late = above_threshold(at);
    const auto elapsed_us = std::chrono::duration_cast<std::chrono::microseconds>(at - *_last).count();
    _last = at;
    if (late && !_last_skipped) {
        _last_skipped = true;
        ++_skipped;
        return;
    }
    _last_skipped = false;
    constexpr auto max_us = static_cast<std::int64_t>(std::numeric_limits<std::uint32_t>::max());
    push_interval(static_cast<std::uint32_t>(std::min<std::int64_t>(elapsed_us, max_us)));
}

double phi_accrual_detector::mean_us() const noexcept {
    return _count == 0 ? 0.0 : static_cast<double>(_sum) / static_cast<double>(_count);
}

double phi_accrual_detector::std_deviation_us() const noexcept {
    if (_count == 0) {
        return 0.0;
    }
    // n * sum(x^2) - (sum x)^2 is exact in 128 bits and never negative (Cauchy-Schwarz):
    // intervals < 2^32 us, n <= 10^4, so n * sum(x^2) < 2^64 * 10^8 < 2^128.
    const auto n = static_cast<unsigned __int128>(_count);
    const unsigned __int128 numerator = n * _sum_squares - static_cast<unsigned __int128>(_sum) * _sum;
    const double variance = static_cast<double>(numerator) / (static_cast<double>(_count) * _count);
    return std::sqrt(variance);
}

double phi_accrual_detector::adjusted_mean_us() const noexcept {
    return mean_us() + to_us(_model->config().acceptable_pause);
}

double phi_accrual_detector::adjusted_std_us() const noexcept {
    const auto& c = _model->config();
    double floor = to_us(c.min_std_deviation);
    const std::size_t warmup = std::min(c.warmup_samples, c.window_size); // a full window is warm
    if (_count < warmup) {
        const double left = static_cast<double>(warmup - _count) / static_cast<double>(warmup);
        floor = std::max(floor, to_us(c.first_heartbeat_estimate) / 2 * left);
    }
    return std::max(std_deviation_us(), floor);
}

double phi_accrual_detector::phi(mono_time now) const {
    if (!_last) {
        return 0.0;
    }
    const double elapsed = std::max(0.0, to_us(now - *_last));
    return phi_of_z((elapsed - adjusted_mean_us()) / adjusted_std_us());
}

phi_accrual_detector::standing phi_accrual_detector::standing_at(mono_time now) const {
    if (!_last) {
        return standing::on_time;
    }
    const double excess = std::max(0.0, to_us(now - *_last)) - adjusted_mean_us();
    const double threshold = adjusted_std_us() * _model->threshold_z();
    return excess >= threshold ? standing::above : excess >= threshold / 2 ? standing::late : standing::on_time;
}

duration phi_accrual_detector::threshold_delay() const {
    if (_count == 0) {
        // What the first heartbeat will seed: mean = estimate, deviation estimate/4 (raised by the
        // warm-up floor, which adjusted_std_us() gives for an empty window).
        const duration estimate = _model->config().first_heartbeat_estimate;
        return _model->threshold_delay(estimate, std::max(estimate / 4, from_us(adjusted_std_us())));
    }
    return _model->threshold_delay(from_us(mean_us()), from_us(adjusted_std_us()));
}

} // namespace roster::detector
