#include "node/member_monitor.hh"

#include <algorithm>
#include <cmath>

namespace roster::node {

member_monitor::member_monitor(const detector::registry_config& config, duration report_interval,
                               mono_time now, const detector::local_health_config& health)
    : _registry(config)
    , _health(health)
    , _report_interval(report_interval)
    , _next_report(now + report_interval) {}

void member_monitor::watch(member_id m, mono_time now) { _registry.add(m, now); }

void member_monitor::forget(const std::vector<member_id>& gone) { _registry.forget(gone); }

void member_monitor::watch_exactly(const views::view& v, const std::string& self_name, mono_time now) {
    std::vector<member_id> gone;
    _registry.for_each([&](member_id m, const auto&, bool) {
        const auto it = std::lower_bound(v.members.begin(), v.members.end(), m,
                                         [](const views::member& x, member_id id) { return x.id < id; });
        if (it == v.members.end() || it->id != m) {
            gone.push_back(m);
        }
    });
    _registry.forget(gone);
    for (const auto& m : v.members) {
        if (m.name != self_name) {
            _registry.add(m.id, now);
        }
    }
}

std::optional<duration> member_monitor::silence(member_id m, mono_time now) const {
    if (const auto* d = _registry.find(m); d && d->last_heartbeat()) {
        return now - *d->last_heartbeat();
    }
    return std::nullopt;
}

member_monitor::verdict member_monitor::judgement(member_id m, std::string name, double phi, bool suspected,
                                                   mono_time now) const {
    verdict v{m, std::move(name), phi, suspected, 0, std::nullopt};
    if (const auto* d = _registry.find(m)) {
        v.samples = static_cast<std::uint32_t>(std::min<std::size_t>(d->sample_count(), 0xFFFF'FFFEu));
        if (d->last_heartbeat()) {
            v.silence = now - *d->last_heartbeat();
        }
    }
    return v;
}

membership::suspicion member_monitor::reported(const verdict& v, incarnation_number incarnation) {
    membership::suspicion s{v.member, incarnation, std::isinf(v.phi) ? never_heard_phi : v.phi, v.suspected,
                            v.samples};
    if (v.silence) {
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(*v.silence).count();
        s.silence_ms = static_cast<std::uint32_t>(std::clamp<std::int64_t>(ms, 0, 0xFFFF'FFFEll));
    }
    return s;
}

bool member_monitor::heartbeat(member_id m, mono_time now, std::optional<duration>& interval, duration announced) {
    interval = silence(m, now);
    return _registry.heartbeat(m, now, announced);
}

std::vector<member_monitor::verdict> member_monitor::evaluate(mono_time now,
                                                              const membership::membership_state& state,
                                                              membership::suspicion_report& report) {
    std::vector<verdict> out;
    report = {false, {}, {}};
    std::vector<detector::lateness> late;
    _health.evaluation(now);
    const detector::suspicion_gate gate{_health.delay_scale(), _health.hold_until()};
    for (const auto& t : _registry.evaluate(now, &late, &gate)) {
        const views::member* m = state.find(t.member);
        if (m == nullptr) {
            continue;
        }
        out.push_back(judgement(t.member, m->name, t.phi, t.suspected, now));
        report.suspicions.push_back(reported(out.back(), m->incarnation));
    }
    // Lateness goes to the leader only (no verdict, no log line): late, or heard from again.
    for (const auto& l : late) {
        if (const views::member* m = state.find(l.member)) {
            auto s = reported(judgement(l.member, {}, l.phi, false, now), m->incarnation);
            (l.late ? report.late : report.suspicions).push_back(s);
        }
    }
    if (!late.empty()) {
        const auto by_id = [](const membership::suspicion& a, const membership::suspicion& b) {
            return a.member < b.member;
        };
        std::sort(report.suspicions.begin(), report.suspicions.end(), by_id);
    }
    if (_health.step_due(now)) {
        _health.step(now, _registry.take_troubled(), _registry.size());
    }
    return out;
}

std::optional<membership::suspicion_report>
member_monitor::full_report(mono_time now, voter_id leader, const membership::membership_state& state) {
    if (leader != _reported_to && leader != voter_id()) {
        _reported_to = leader;
        _next_report = now;
    }
    if (now < _next_report) {
        return std::nullopt;
    }
    _next_report = now + _report_interval;
    membership::suspicion_report full{true, {}, {}};
    for (member_id m : _registry.suspected()) {
        if (const auto* member = state.find(m)) {
            full.suspicions.push_back(reported(judgement(m, {}, *_registry.phi(m, now), true, now), member->incarnation));
        }
    }
    for (member_id m : _registry.late()) {
        if (const auto* member = state.find(m)) {
            full.late.push_back(reported(judgement(m, {}, *_registry.phi(m, now), false, now), member->incarnation));
        }
    }
    return full;
}

bool member_monitor::others_late(const std::vector<membership::remove_op>& due, mono_time now) const {
    bool late = false;
    _registry.for_each([&](member_id m, const detector::phi_accrual_detector& d, bool suspected) {
        const auto is_due = [&] {
            auto it =
                std::lower_bound(due.begin(), due.end(), m,
                                 [](const membership::remove_op& r, member_id id) { return r.member < id; });
            return it != due.end() && it->member == m;
        };
        if (late || is_due()) {
            return;
        }
        if (suspected) {
            late = true; // suspected here, not (yet) by a majority: reports may be on their way
            return;
        }
        const auto last = d.last_heartbeat();
        if (!last) {
            return;
        }
        const double elapsed_us = std::chrono::duration<double, std::micro>(now - *last).count();
        const double mean = d.mean_us();
        if (elapsed_us > mean + std::max(4 * d.std_deviation_us(), 0.2 * mean)) {
            late = true; // stopped heartbeating too: likely the same failure
        }
    });
    return late;
}

} // namespace roster::node
