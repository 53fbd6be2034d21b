#include "tools/text.hh"

#include <algorithm>
#include <vector>

#include <fmt/format.h>

#include "client/json.hh"
#include "common/escape.hh"
#include "views/view_ops.hh"

namespace roster::tools {

namespace {

std::string shown(const std::string& s) { return escape_for_terminal(s); }

const views::member* find(const views::view& v, member_id id) {
    const auto it = std::find_if(v.members.begin(), v.members.end(), [&](const auto& m) { return m.id == id; });
    return it == v.members.end() ? nullptr : &*it;
}

// Columns on a terminal: one per UTF-8 code point (escaped text has no control characters).
std::size_t columns(const std::string& s) {
    return static_cast<std::size_t>(
        std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

// Rows of cells (the first is the header) as aligned text, each line indented by `indent`.
std::string table(const std::vector<std::vector<std::string>>& rows, const std::string& indent) {
    std::vector<std::size_t> width;
    for (const auto& row : rows) {
        width.resize(std::max(width.size(), row.size()), 0);
        for (std::size_t i = 0; i < row.size(); ++i) {
            width[i] = std::max(width[i], columns(row[i]));
        }
    }
    std::string out;
    for (const auto& row : rows) {
        std::string line = indent;
        for (std::size_t i = 0; i < row.size(); ++i) {
            line += row[i];
            if (i + 1 < row.size()) {
                line += std::string(width[i] - columns(row[i]) + 2, ' ');
            }
        }
        out += line + "\n";
    }
    return out;
}

std::string tags_text(const std::vector<views::tag>& tags) {
    std::string out;
    for (const auto& t : tags) {
        out += (out.empty() ? "" : ",") + shown(t.key) + "=" + shown(t.value);
    }
    return out.empty() ? "-" : out;
}

} // namespace

const char* role_name(wire::node_role r) { return client::role_name(r); }

std::string view_headline(const views::view& v) {
    if (v.members.empty()) {
        return fmt::format("no members (view {})", v.id);
    }
    const auto* leader = find(v, v.leader);
    return fmt::format("view {}, {} member{}, member leader: id {} ({}), fencing token {}", v.id, v.members.size(),
                       v.members.size() == 1 ? "" : "s", v.leader, leader ? shown(leader->name) : "?",
                       v.fencing_token);
}

std::string members_table(const views::view& v, voter_id consensus_leader) {
    std::string out = view_headline(v) + "\n";
    if (v.members.empty()) {
        return out;
    }
    std::vector<std::vector<std::string>> rows{{"ID", "NAME", "ADDRESS", "INCARNATION", "TAGS", "JOINED", "VOTER"}};
    for (const auto& m : v.members) {
        std::string voter = "-";
        if (m.voter != voter_id()) {
            voter = fmt::format("voter {} ({})", m.voter,
                                consensus_leader == voter_id() ? "role unknown"
                                : m.voter == consensus_leader  ? "leader"
                                                               : "follower");
        }
        rows.push_back({fmt::format("{}", m.id), shown(m.name), shown(m.address), fmt::format("{}", m.incarnation),
                        tags_text(m.tags), m.joined_view == view_id() ? "-" : fmt::format("view {}", m.joined_view),
                        voter});
    }
    return out + table(rows, "");
}

std::string status_text(const wire::status_reply& s, const views::view* view) {
    std::string out;
    const bool voter = s.voter != voter_id();
    if (voter) {
        out += fmt::format("{}: voter {}, {}\n", shown(s.name), s.voter, role_name(s.role));
        std::string leader_name;
        if (view != nullptr) {
            const auto it = std::find_if(view->members.begin(), view->members.end(),
                                         [&](const auto& m) { return m.voter == s.leader; });
            if (it != view->members.end()) {
                leader_name = " (" + shown(it->name) + ")";
            }
        }
        out += s.leader != voter_id() ? fmt::format("consensus leader: voter {}{}\n", s.leader, leader_name)
                                      : std::string("consensus leader: none known\n");
        out += fmt::format("term {}, commit index {}\n", s.term, s.commit);
    } else {
        out += fmt::format("{}: member\n", shown(s.name));
    }
    out += s.member != member_id() ? fmt::format("member id {}\n", s.member)
                                   : std::string("member id: none (not joined)\n");
    if (view != nullptr && view->id == s.view) {
        out += view_headline(*view) + "\n";
    } else {
        out += fmt::format("view {}\n", s.view);
    }
    return out;
}

std::string watch_printer::print(const views::delivery& d) {
    const views::view& v = d.current;
    for (const auto& m : v.members) {
        _names[m.id] = m.name;
    }
    std::string out = view_headline(v);
    if (d.resync) {
        out += " [resync: the views in between are no longer held]";
    }
    out += "\n";
    for (member_id id : v.joined) {
        const auto* m = find(v, id);
        out += fmt::format("  + {} {} joined\n", id, m ? shown(m->name) : "?");
    }
    for (const auto& r : v.removed) {
        const auto n = _names.find(r.id);
        out += fmt::format("  - {} {} removed: {}\n", r.id, n != _names.end() ? shown(n->second) : "?",
                           views::to_string(r.reason));
    }
    if (!v.members.empty()) {
        std::vector<std::vector<std::string>> rows{{"ID", "NAME", "ADDRESS"}};
        for (const auto& m : v.members) {
            rows.push_back({fmt::format("{}", m.id), shown(m.name), shown(m.address)});
        }
        out += table(rows, "    ");
    }
    return out;
}

std::string watch_printer::print(const views::node_event& e) const {
    if (e.what == views::node_event::kind::removed) {
        return fmt::format("event: this node (member {}) was removed in view {}: {}\n", e.member, e.view,
                           views::to_string(e.reason));
    }
    return fmt::format("event: this node rejoined as member {} (was {}) in view {}\n", e.new_member, e.member,
                       e.view);
}

} // namespace roster::tools
