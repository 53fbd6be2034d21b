#include "client/json.hh"

#include <fmt/format.h>

#include "auth/keys.hh"
#include "common/escape.hh"
#include "views/view_ops.hh"

namespace roster::client {

namespace {

void json_string(std::string& out, const std::string& s) { out += roster::json_quote(s); }

} // namespace

std::string view_json(const views::view& v) {
    std::string out = fmt::format("{{\"view_id\": {}, \"leader\": ", v.id);
    const views::member* leader = nullptr;
    for (const auto& m : v.members) {
        if (m.id == v.leader) {
            leader = &m;
        }
    }
    if (leader != nullptr) {
        out += fmt::format("{{\"id\": {}, \"name\": ", leader->id);
        json_string(out, leader->name);
        out += fmt::format(", \"fencing_token\": {}}}", v.fencing_token);
    } else {
        out += "null";
    }
    out += ", \"members\": [";
    for (std::size_t i = 0; i < v.members.size(); ++i) {
        const auto& m = v.members[i];
        out += fmt::format("{}{{\"id\": {}, \"name\": ", i ? ", " : "", m.id);
        json_string(out, m.name);
        out += ", \"address\": ";
        json_string(out, m.address);
        out += fmt::format(", \"incarnation\": {}, \"tags\": {{", m.incarnation);
        for (std::size_t t = 0; t < m.tags.size(); ++t) {
            out += t ? ", " : "";
            json_string(out, m.tags[t].key);
            out += ": ";
            json_string(out, m.tags[t].value);
        }
        out += "}";
        // Since 0.2: the view it joined in (0: unknown) and, for a voter's own entry, the voter.
        out += fmt::format(", \"joined_view\": {}, \"voter_id\": {}", m.joined_view, m.voter);
        // The member's CURVE public key, in Z85: what a client gives as --server-key to reach it.
        if (auto k = auth::curve_key::from_raw(m.key)) {
            out += fmt::format(", \"key\": \"{}\"", k->z85()); // Z85 needs no JSON escaping
        }
        out += "}";
    }
    out += "], \"joined\": [";
    for (std::size_t i = 0; i < v.joined.size(); ++i) {
        out += fmt::format("{}{}", i ? ", " : "", v.joined[i]);
    }
    out += "], \"removed\": [";
    for (std::size_t i = 0; i < v.removed.size(); ++i) {
        out += fmt::format("{}{{\"id\": {}, \"reason\": \"{}\"}}", i ? ", " : "", v.removed[i].id,
                           views::to_string(v.removed[i].reason));
    }
    out += "]}";
    return out;
}

std::string delivery_json(const views::delivery& d) { return delivery_json(view_json(d.current), d.resync); }

std::string delivery_json(const std::string& view, bool resync) {
    std::string line;
    line.reserve(view.size() + 16);
    line.append(view, 0, view.empty() ? 0 : view.size() - 1);
    line += resync ? ", \"resync\": true}" : ", \"resync\": false}";
    return line;
}

std::string event_json(const views::node_event& e) {
    return fmt::format("{{\"event\": \"{}\", \"member_id\": {}, \"new_member_id\": {}, \"view_id\": {}}}",
                       e.what == views::node_event::kind::removed ? "removed" : "rejoined", e.member,
                       e.new_member, e.view);
}

const char* role_name(wire::node_role r) {
    switch (r) {
    case wire::node_role::leader:
        return "leader";
    case wire::node_role::follower:
        return "follower";
    case wire::node_role::pre_candidate:
    case wire::node_role::candidate:
        return "candidate";
    case wire::node_role::member:
        return "member";
    }
    return "member";
}

std::string status_json(const wire::status_reply& s) {
    return fmt::format("{{\"name\": {}, \"role\": \"{}\", \"term\": {}, \"commit_index\": {}, \"view_id\": {}, "
                       "\"voter_id\": {}, \"member_id\": {}, \"leader_voter_id\": {}}}",
                       roster::json_quote(s.name), role_name(s.role), s.term, s.commit, s.view, s.voter, s.member,
                       s.leader);
}

} // namespace roster::client
