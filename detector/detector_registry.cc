#include "detector/detector_registry.hh"

#include <algorithm>
#include <limits>
#include <utility>

#include "common/invariant.hh"
#include "detector/heartbeat_interval.hh"

namespace roster::detector {

namespace {

constexpr double never_heard = std::numeric_limits<double>::infinity();

} // namespace

std::optional<const char*> registry_config::validate() const {
    if (auto bad = detector.validate()) {
        return bad;
    }
    if (clear_threshold && (!(*clear_threshold >= 0.0) || *clear_threshold > detector.threshold)) {
        return "clear threshold must be between 0 and the phi threshold";
    }
    if (silent_grace < 0ns) {
        return "silent grace period must not be negative";
    }
    return std::nullopt;
}

detector_registry::detector_registry(const registry_config& config)
    : _clear_threshold(config.clear_threshold.value_or(config.detector.threshold / 2))
    , _silent_grace(config.silent_grace) {
    if (auto bad = config.validate()) {
        invariant_broken("detector_registry", "invalid configuration: {}", *bad);
    }
    _model = std::make_unique<phi_model>(config.detector);
}

const phi_model* detector_registry::model_for(duration interval) {
    if (interval < 1ms || interval > 60s) {
        return nullptr;
    }
    if (interval == _model->config().first_heartbeat_estimate) {
        return _model.get();
    }
    for (const auto& m : _models) {
        if (m->config().first_heartbeat_estimate == interval) {
            return m.get();
        }
    }
    // rosterd's adaptive levels are always taken: otherwise one member announcing 15 odd intervals
    // would leave the others' detectors at their old rhythm when the cluster grows.
    const bool level = is_adaptive_level(interval);
    if (!level && _odd_models + 1 >= max_models) {
        return nullptr;
    }
    const auto& base = _model->config();
    const double ratio = std::chrono::duration<double>(interval) / std::chrono::duration<double>(base.first_heartbeat_estimate);
    const auto scaled = [ratio](duration d) {
        return std::chrono::duration_cast<duration>(std::chrono::duration<double, duration::period>(
            static_cast<double>(d.count()) * ratio));
    };
    phi_accrual_config c = base;
    c.min_std_deviation = std::max<duration>(scaled(base.min_std_deviation), 1us);
    c.acceptable_pause = scaled(base.acceptable_pause);
    c.first_heartbeat_estimate = interval;
    if (c.validate()) {
        return nullptr;
    }
    _models.push_back(std::make_unique<phi_model>(c));
    _odd_models += level ? 0 : 1;
    return _models.back().get();
}

std::size_t detector_registry::position(member_id member) const {
    return static_cast<std::size_t>(std::lower_bound(_ids.begin(), _ids.end(), member) - _ids.begin());
}

const detector_registry::peer* detector_registry::lookup(member_id member) const {
    const std::size_t at = position(member);
    return at < _ids.size() && _ids[at] == member ? &_peers[at] : nullptr;
}

detector_registry::peer* detector_registry::lookup(member_id member) {
    return const_cast<peer*>(std::as_const(*this).lookup(member));
}

bool detector_registry::add(member_id member, mono_time now) {
    const std::size_t at = position(member);
    if (at < _ids.size() && _ids[at] == member) {
        return false;
    }
    const auto offset = static_cast<std::ptrdiff_t>(at);
    _ids.insert(_ids.begin() + offset, member);
    _peers.insert(_peers.begin() + offset, peer{member, now, phi_accrual_detector(*_model), false});
    return true;
}

bool detector_registry::forget(member_id member) {
    const std::size_t at = position(member);
    if (at == _ids.size() || _ids[at] != member) {
        return false;
    }
    const auto offset = static_cast<std::ptrdiff_t>(at);
    _ids.erase(_ids.begin() + offset);
    _peers.erase(_peers.begin() + offset);
    return true;
}

void detector_registry::forget(const std::vector<member_id>& members) {
    std::vector<member_id> gone = members;
    std::sort(gone.begin(), gone.end());
    std::size_t out = 0;
    for (std::size_t i = 0; i < _ids.size(); ++i) {
        if (std::binary_search(gone.begin(), gone.end(), _ids[i])) {
            continue;
        }
        if (out != i) {
            _ids[out] = _ids[i];
            _peers[out] = std::move(_peers[i]);
        }
        ++out;
    }
    _ids.resize(out);
    _peers.erase(_peers.begin() + static_cast<std::ptrdiff_t>(out), _peers.end());
}

bool detector_registry::heartbeat(member_id member, mono_time now, duration interval) {
    peer* p = lookup(member);
    if (p == nullptr) {
        return false;
    }
    if (interval > 0ns && interval != p->detector.model().config().first_heartbeat_estimate) {
        if (const phi_model* m = model_for(interval)) {
            p->detector = phi_accrual_detector(*m);
        }
    }
    p->detector.heartbeat(now);
    return true;
}

std::optional<duration> detector_registry::interval_of(member_id member) const {
    const peer* p = lookup(member);
    if (p == nullptr) {
        return std::nullopt;
    }
    return p->detector.model().config().first_heartbeat_estimate;
}

bool detector_registry::contains(member_id member) const { return lookup(member) != nullptr; }

double detector_registry::phi_of(const peer& p, mono_time now) const {
    if (!p.detector.last_heartbeat()) {
        return now - p.added >= _silent_grace ? never_heard : 0.0;
    }
    return p.detector.phi(now);
}

std::optional<double> detector_registry::phi(member_id member, mono_time now) const {
    const peer* p = lookup(member);
    if (p == nullptr) {
        return std::nullopt;
    }
    return phi_of(*p, now);
}

bool detector_registry::is_suspected(member_id member) const {
    const peer* p = lookup(member);
    return p != nullptr && p->suspected;
}

std::vector<member_id> detector_registry::above_threshold(mono_time now) const {
    std::vector<member_id> out;
    for (const peer& p : _peers) {
        const bool above =
            p.detector.last_heartbeat() ? p.detector.above_threshold(now) : now - p.added >= _silent_grace;
        if (above) {
            out.push_back(p.member);
        }
    }
    return out;
}

std::vector<member_id> detector_registry::suspected() const {
    std::vector<member_id> out;
    for (const peer& p : _peers) {
        if (p.suspected) {
            out.push_back(p.member);
        }
    }
    return out;
}

bool detector_registry::passes(const peer& p, mono_time now, const suspicion_gate& gate) const {
    if (now < gate.hold_until) {
        return false;
    }
    if (!(gate.delay_scale > 1.0)) {
        return true;
    }
    const auto scaled = [&](duration d) {
        return std::chrono::duration_cast<duration>(std::chrono::duration<double, duration::period>(d) * gate.delay_scale);
    };
    const auto last = p.detector.last_heartbeat();
    return last ? now - *last >= scaled(p.detector.threshold_delay()) : now - p.added >= scaled(_silent_grace);
}

std::vector<transition> detector_registry::evaluate(mono_time now, std::vector<lateness>* late,
                                                    const suspicion_gate* gate) {
    std::vector<transition> out;
    for (peer& p : _peers) {
        if (!p.suspected) {
            // One comparison for both (no logarithm); phi only for the few that cross.
            using standing = phi_accrual_detector::standing;
            standing s = p.detector.last_heartbeat() ? p.detector.standing_at(now)
                         : now - p.added >= _silent_grace ? standing::above
                                                          : standing::on_time;
            if (s == standing::above && gate != nullptr && !passes(p, now, *gate)) {
                s = standing::late;
            }
            if (s == standing::above) {
                p.suspected = true;
                p.late = false;
                p.troubled = true;
                out.push_back({p.member, true, phi_of(p, now)});
            } else if (late != nullptr) {
                if (const bool is_late = s == standing::late; is_late != p.late) {
                    p.late = is_late;
                    p.troubled = p.troubled || is_late;
                    late->push_back({p.member, is_late, phi_of(p, now)});
                }
            }
        } else {
            const double phi = phi_of(p, now);
            if (phi <= _clear_threshold) {
                p.suspected = false;
                out.push_back({p.member, false, phi});
            }
        }
    }
    return out;
}

std::vector<member_id> detector_registry::late() const {
    std::vector<member_id> out;
    for (const peer& p : _peers) {
        if (p.late && !p.suspected) {
            out.push_back(p.member);
        }
    }
    return out;
}

std::size_t detector_registry::take_troubled() {
    std::size_t n = 0;
    for (peer& p : _peers) {
        n += p.troubled ? 1 : 0;
        p.troubled = p.late || p.suspected;
    }
    return n;
}

const phi_accrual_detector* detector_registry::find(member_id member) const {
    const peer* p = lookup(member);
    return p == nullptr ? nullptr : &p->detector;
}

} // namespace roster::detector
