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
#include <functional>
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

// How a watcher knows that the node it follows is gone. It asks that node something (a sync
// request, or its status while it does not know where the node publishes) every
// `watch_poll_interval`, and a live node answers within milliseconds; a node that has answered
// nothing for `watch_silence_bound` (three polls in a row unanswered) is lost: the
// watcher follows the next endpoint, or fails when none is left that answers. A node whose newest
// view is older than the one already delivered (it lags, or is another cluster) does not count as
// answering. A node whose newest view goes back below one it reported before was restarted
// without its data or replaced by another cluster on its port: the watcher fails at once rather
// than mix two histories.
inline constexpr std::chrono::milliseconds watch_poll_interval{1000};
inline constexpr std::chrono::milliseconds watch_silence_bound = 3 * watch_poll_interval;

struct options {
    // The --listen endpoints of one or more rosterd: HOST:PORT, or ID@HOST:PORT for voter ID (whose
    // key is then taken from `voter_keys`). Tried in this order.
    std::vector<std::string> endpoints;
    std::string cluster = "roster"; // must match the daemons' --cluster
    // How long a call (status, current_view), or a watcher's start, waits for an answer in all:
    // each endpoint gets an equal share of what is left (3000 ms over three endpoints: 1000 ms
    // each); an endpoint that refuses the connection is left at once, and its share goes to the
    // next ones.
    std::chrono::milliseconds timeout{3000};
    std::string name = "client"; // how this client names itself in messages
    // Told one line for a person when a call or a watcher moves to another endpoint ("127.0.0.1:7400
    // did not answer in 1000 ms; trying 127.0.0.1:7410"); called on the caller's thread. Endpoints
    // are quoted as given.
    std::function<void(const std::string&)> notice;

    // A secured cluster (docs/security.md): this client's key pair (auth::load_key_file), and the
    // server key of each endpoint: voter ID's from `voter_keys` for ID@HOST:PORT, else
    // `server_key` (a member's, from the view or its key file's .pub). Leave `key` empty for a
    // plaintext cluster.
    std::optional<auth::key_pair> key;
    std::map<voter_id, auth::curve_key> voter_keys;
    std::optional<auth::curve_key> server_key;
};

// Checks that every endpoint is HOST:PORT or ID@HOST:PORT (common/endpoint.hh) and, with a key,
// that each has a server key; the error names the endpoint and says what to give.
[[nodiscard]] std::optional<std::string> check(const options& o);

// The node's status (from the first endpoint that answers, in order; see options::timeout).
result<wire::status_reply, std::string> status(const options& o);
// The node's current view, whole (likewise).
result<views::view, std::string> current_view(const options& o);

// Follows the views of one rosterd at a time (the first endpoint that answers): subscribes to its
// publish endpoint and fills any gap with sync requests; when it is lost (watch_silence_bound),
// follows the next endpoint, and says so through options::notice. The first view delivered is
// the current one; then every next one, in order (a delivery says `resync` if the node no longer
// held the views in between). Node events ("this node was removed", "rejoined") of a member's
// stream are passed on as they come.
//
// Drain before sync (docs/protocol.md): before it sends any sync request, the watcher reads every
// message already queued on its subscription, and the request asks for what follows the newest
// view it then holds; after a stall (next() not called, or the process stopped, for longer than
// half a second) it first waits until the subscription is quiet for a moment (at most 200 ms). So
// a subscriber that wakes up with a backlog never asks for, and jumps to, a full view while the
// views it needs are still queued or still held by the node.
class watcher {
public:
    using item = std::variant<views::delivery, views::node_event>;

    explicit watcher(const options& o);
    ~watcher();
    watcher(const watcher&) = delete;
    watcher& operator=(const watcher&) = delete;

    // Waits up to `timeout` for the next view or event. An empty optional: nothing yet. An error
    // (after which the watcher is done): no endpoint answered within the options' timeout at the
    // start; every endpoint was lost, one after another; or the followed node went back in time
    // (replaced). The error names the endpoints and why.
    result<std::optional<item>, std::string> next(std::chrono::milliseconds timeout);

    [[nodiscard]] const views::view* current() const;

private:
    struct impl;
    std::unique_ptr<impl> _impl;
};

} // namespace roster::client
