#include "tools/json.hh"

#include <fmt/format.h>

#include "auth/keys.hh"
#include "common/escape.hh"
#include "views/view_ops.hh"

namespace roster::tools {

namespace {

void json_string(std::string& out, const std::string& s) { out += roster::json_quote(s); }

} // namespace

std::string json_quote(const std::string& s) { return roster::json_quote(s); }

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

std::string delivery_json(const views::delivery& d) {
    std::string line = view_json(d.current);
    line.insert(line.size() - 1, d.resync ? ", \"resync\": true" : ", \"resync\": false");
    return line;
}

std::string event_json(const views::node_event& e) {
    return fmt::format("{{\"event\": \"{}\", \"member_id\": {}, \"new_member_id\": {}, \"view_id\": {}}}",
                       e.what == views::node_event::kind::removed ? "removed" : "rejoined", e.member,
                       e.new_member, e.view);
}

} // namespace roster::tools
