#pragma once

// The client library: talk to any rosterd (voter or member) from C++. Three things:
//   roster::client::status(...)         what the node is (role, term, view)
//   roster::client::current_view(...)   the current view, whole
//   roster::client::watcher             every view as it commits, in order, without gaps
//
// Example (the shortest useful subscriber):
//
//   roster::client::watcher w({{"127.0.0.1:7400"}});
//   while (true) {
//       auto next = w.next(5s);
//       if (!next) { std::cerr << next.error() << "\n"; return 1; }
//       if (*next && std::holds_alternative<roster::views::delivery>(**next)) { ... }
//   }
//
// Threading: a watcher or a call belongs to the thread that made it (ZeroMQ sockets are not
// thread-safe). Everything here is blocking with a timeout; nothing spawns threads.

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "auth/keys.hh"
#include "common/result.hh"
#include "views/view_subscriber.hh"
#include "wire/messages.hh"

namespace roster::client {

struct options {
    // The --listen endpoints of one or more rosterd: HOST:PORT, or ID@HOST:PORT for voter ID (whose
    // key is then taken from `voter_keys`).
    std::vector<std::string> endpoints;
    std::string cluster = "roster";          // must match the daemons' --cluster
    std::chrono::milliseconds timeout{3000}; // how long to wait for an answer
    std::string name = "client";             // how this client names itself in messages

    // A secured cluster (docs/security.md): this client's key pair (auth::load_key_file), and the
    // server key of each endpoint: voter ID's from `voter_keys` for ID@HOST:PORT, else
    // `server_key` (a member's, from the view or its key file's .pub). Leave `key` empty for a
    // plaintext cluster.
    std::optional<auth::key_pair> key;
    std::map<voter_id, auth::curve_key> voter_keys;
    std::optional<auth::curve_key> server_key;
};

// Checks that every endpoint is HOST:PORT or ID@HOST:PORT and, with a key, that each has a server
// key; the error says what to give.
[[nodiscard]] std::optional<std::string> check(const options& o);

// The node's status (from the first endpoint that answers).
result<wire::status_reply, std::string> status(const options& o);
// The node's current view, whole.
result<views::view, std::string> current_view(const options& o);

// Follows the views of one or more rosterd: subscribes to their publish endpoints and fills any
// gap with sync requests, failing over between endpoints. The first view delivered is the
// current one; then every next one, in order (a delivery says `resync` if the node no longer
// held the views in between). Node events ("this node was removed", "rejoined") of a member's
// stream are passed on as they come.
class watcher {
public:
    using item = std::variant<views::delivery, views::node_event>;

    explicit watcher(const options& o);
    ~watcher();
    watcher(const watcher&) = delete;
    watcher& operator=(const watcher&) = delete;

    // Waits up to `timeout` for the next view or event. An empty optional: nothing yet. An error:
    // no endpoint has answered for longer than the options' timeout since the watcher started.
    result<std::optional<item>, std::string> next(std::chrono::milliseconds timeout);

    [[nodiscard]] const views::view* current() const;

private:
    struct impl;
    std::unique_ptr<impl> _impl;
};

} // namespace roster::client
