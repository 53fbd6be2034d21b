#include "daemon/http_documents.hh"

#include <cmath>

#include <fmt/format.h>

#include "client/json.hh"
#include "common/escape.hh"

namespace roster::daemon {

namespace {

template <typename T>
std::string or_null(const std::optional<T>& v) {
    return v ? fmt::format("{}", *v) : std::string("null");
}

std::string or_null(const std::optional<std::string>& v) { return v ? json_quote(*v) : std::string("null"); }

// A finite number for JSON (NaN and infinity have no JSON form: null).
std::string number(double v) { return std::isfinite(v) ? fmt::format("{:.3f}", v) : std::string("null"); }

const char* role_text(consensus::role r) {
    switch (r) {
    case consensus::role::leader:
        return "leader";
    case consensus::role::follower:
        return "follower";
    case consensus::role::candidate:
        return "candidate";
    case consensus::role::pre_candidate:
        return "pre_candidate";
    }
    return "unknown";
}

std::optional<std::string> voter_name(const views::view& v, voter_id id) {
    for (const auto& m : v.members) {
        if (m.voter == id) {
            return m.name;
        }
    }
    return std::nullopt;
}

std::uint64_t ms_between(mono_time earlier, mono_time later) {
    return later > earlier
               ? static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(later - earlier).count())
               : 0;
}

} // namespace

std::string status_document(const wire::status_reply& s, double phi_threshold, int heartbeat_interval_ms,
                            const std::vector<known_voter>& voters) {
    std::string out = client::status_json(s);
    out.pop_back(); // the closing brace
    out += fmt::format(", \"healthy\": {}, \"health_reason\": {}, \"ready\": {}, \"ready_reason\": {}, "
                       "\"phi_threshold\": {}, \"heartbeat_interval_ms\": {}, \"voters\": [",
                       s.healthy, json_quote(s.health_reason), s.ready, json_quote(s.ready_reason), phi_threshold,
                       heartbeat_interval_ms);
    for (std::size_t i = 0; i < voters.size(); ++i) {
        const auto& v = voters[i];
        out += fmt::format("{}{{\"voter_id\": {}, \"name\": {}, \"role\": \"{}\", \"term\": {}, \"commit_index\": {}, "
                           "\"match_index\": {}, \"heard_ms_ago\": {}, \"self\": {}",
                           i ? ", " : "", or_null(v.id), or_null(v.name), v.role, or_null(v.term),
                           or_null(v.commit_index), or_null(v.match_index), or_null(v.heard_ms_ago), v.self);
        if (v.endpoint) {
            out += ", \"endpoint\": " + json_quote(*v.endpoint);
        }
        out += "}";
    }
    out += "]}";
    return out;
}

std::vector<known_voter> voters_known(const node::voter_node& v, const std::map<voter_id, mono_time>& heard,
                                      mono_time now) {
    const auto& raft = v.consensus();
    const auto* progress = raft.progress();
    std::vector<known_voter> out;
    for (const voter_id id : v.config().voters) {
        known_voter k;
        k.id = id;
        k.name = voter_name(v.view(), id);
        if (auto it = heard.find(id); it != heard.end()) {
            k.heard_ms_ago = ms_between(it->second, now);
        }
        if (id == v.config().id) {
            k.self = true;
            k.role = role_text(raft.role());
            k.term = raft.term().value();
            k.commit_index = raft.commit_index().value();
            k.heard_ms_ago.reset();
        } else if (id == raft.leader()) {
            k.role = "leader"; // the leader of this voter's term
            k.term = raft.term().value();
        } else if (progress != nullptr) {
            if (auto p = progress->find(id); p != progress->end()) {
                k.role = "follower"; // of this leader, in its term
                k.term = raft.term().value();
                k.match_index = p->second.match.value();
            }
        }
        out.push_back(std::move(k));
    }
    return out;
}

std::vector<known_voter> voters_known(const node::member_node& m, const std::vector<endpoint>& join,
                                      const std::vector<voter_id>& join_voters) {
    std::vector<known_voter> out;
    for (std::size_t i = 0; i < join.size(); ++i) {
        known_voter k;
        k.endpoint = join[i].text();
        if (i < join_voters.size() && join_voters[i] != voter_id()) {
            k.id = join_voters[i];
        }
        for (const auto& member : m.view().members) {
            if (member.voter != voter_id() && (member.address == *k.endpoint || (k.id && member.voter == *k.id))) {
                k.id = member.voter;
                k.name = member.name;
                break;
            }
        }
        out.push_back(std::move(k));
    }
    return out;
}

std::string detector_document(const node::voter_node& v, mono_time now) {
    const auto& registry = v.detectors();
    const auto& cfg = v.config();
    std::string out = fmt::format("{{\"voter_id\": {}, \"phi_threshold\": {}, \"heartbeat_interval_ms\": {}, "
                                  "\"members\": [",
                                  cfg.id, cfg.detector.detector.threshold,
                                  membership::interval_ms(v.heartbeat_interval()));
    out.reserve(registry.size() * 200 + out.size());
    bool first = true;
    registry.for_each([&](member_id id, const detector::phi_accrual_detector& d, bool suspected) {
        const auto* member = v.state().find(id);
        const auto last = d.last_heartbeat();
        out += first ? "" : ", ";
        first = false;
        out += fmt::format("{{\"id\": {}, \"name\": {}, \"heartbeat_age_ms\": {}, \"phi\": {}, "
                           "\"interval_ms\": {}, \"interval_mean_ms\": {}, \"interval_stddev_ms\": {}, \"samples\": {}, "
                           "\"suspected\": {}}}",
                           id, member ? json_quote(member->name) : std::string("null"),
                           last ? std::to_string(ms_between(*last, now)) : std::string("null"),
                           number(registry.phi(id, now).value_or(0)),
                           membership::interval_ms(d.model().config().first_heartbeat_estimate),
                           number(d.mean_us() / 1000.0),
                           number(d.std_deviation_us() / 1000.0), d.sample_count(), suspected);
    });
    out += "]}";
    return out;
}

} // namespace roster::daemon
