#pragma once

#include <map>
#include <optional>
#include <string>

#include "views/view.hh"
#include "views/view_subscriber.hh"
#include "wire/messages.hh"

// rosterctl's text output, for people: tables and sentences. Every string from a node (names,
// addresses, tags) goes through escape_for_terminal, so no member can move the cursor, retitle
// the window or forge a line. The JSON output (tools/json.hh) is the one for programs.
namespace roster::tools {

// "leader", "follower", "candidate" or "member": the node's role as the status reply says.
[[nodiscard]] const char* role_name(wire::node_role r);

// "view 12, 8 members, member leader: id 1 (v1), fencing token 4", or "no members (view 3)".
[[nodiscard]] std::string view_headline(const views::view& v);

// `rosterctl members`: the headline, then one row per member under a header (ID, NAME, ADDRESS,
// INCARNATION, TAGS as k=v,k2=v2, JOINED: the view it joined in, VOTER: for a voter's own entry
// "voter 2 (follower)", "(leader)" for `consensus_leader`), columns aligned. Ends with a newline.
[[nodiscard]] std::string members_table(const views::view& v, voter_id consensus_leader = {});

// `rosterctl status`: what the node is, one fact a line. A voter: its voter id and consensus
// role, the consensus leader, term and commit index; a member: its member id; both: the newest view
// it holds and, when `view` is given (its current view), the member leader. Ends with a newline.
[[nodiscard]] std::string status_text(const wire::status_reply& s, const views::view* view);

// `rosterctl watch`: each view whole (ID NAME ADDRESS) after its headline and what changed
// ("+ 9 app3 joined", "- 7 app2 removed: suspected"); removed members are named from the views
// seen before.
class watch_printer {
public:
    [[nodiscard]] std::string print(const views::delivery& d);
    [[nodiscard]] std::string print(const views::node_event& e) const;

private:
    std::map<member_id, std::string> _names; // of every member seen, to name the removed ones
};

} // namespace roster::tools
