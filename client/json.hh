#pragma once

#include <string>

#include "views/messages.hh"
#include "views/view.hh"
#include "views/view_subscriber.hh"
#include "wire/messages.hh"

// The JSON of views, view streams and status, as rosterctl prints it and rosterd's HTTP API serves
// it (docs/http.md): one line per document, stable field order, every string escaped
// (common/escape.hh), so the output is valid JSON whatever a member's name or address holds.
namespace roster::client {

// JSON of a view in the `rosterctl members --json` format (one line, no trailing newline).
[[nodiscard]] std::string view_json(const views::view& v);

// One line of `rosterctl watch --json`: a delivered view (view_json plus "resync"), or an event
// of a member's own stream ({"event": "removed" | "rejoined", ...}). Every client program that
// prints the watch format (rosterctl, examples/watch_views --json, rosterd's /v1/views and
// /v1/watch) prints it through these.
[[nodiscard]] std::string delivery_json(const views::delivery& d);
[[nodiscard]] std::string event_json(const views::node_event& e);
// delivery_json of the view whose view_json is `view` (it ends in '}'), without parsing it again.
[[nodiscard]] std::string delivery_json(const std::string& view, bool resync);

// The role as `rosterctl status` names it: leader, follower, candidate (a pre-candidate too), member.
[[nodiscard]] const char* role_name(wire::node_role r);

// `rosterctl status --json`: name, role, term, commit_index, view_id, voter_id, member_id,
// leader_voter_id (one line, no trailing newline).
[[nodiscard]] std::string status_json(const wire::status_reply& s);

} // namespace roster::client
