#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

#include "daemon/http_board.hh"
#include "daemon/metrics_auth.hh"

namespace roster::daemon {

// A request as the HTTP API sees it (CivetWeb's, or a test's).
struct http_request {
    std::string method;                                       // GET, HEAD, ...
    std::string path;                                         // decoded, without the query
    std::string query;                                        // after '?', undecoded ("" when none)
    std::vector<std::pair<std::string, std::string>> headers; // as received
    std::string client;                                       // the peer's address, for rate limits

    // The first header of that name (case-insensitive), or nothing.
    [[nodiscard]] std::optional<std::string_view> header(std::string_view name) const;
};

class watch_stream;

struct http_response {
    int status = 200;
    // Besides Content-Length, Cache-Control: no-store and X-Content-Type-Options: nosniff, which
    // every answer carries (the connection adds them).
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    std::shared_ptr<const std::string> shared_body; // the body, when set (a document of the board)
    bool head = false;                              // HEAD: the headers of a GET, no body
    // /v1/watch: the stream to write after the headers (it holds one of the stream slots).
    std::shared_ptr<watch_stream> stream;

    [[nodiscard]] const std::string& content() const { return shared_body ? *shared_body : body; }
};

// A token bucket per client address: `rate` requests a second, bursts of `burst`. The table holds
// at most `max_clients` addresses; when it is full, addresses idle long enough to have a full
// bucket are forgotten, and if none is, every new address shares one bucket (so that many
// addresses can neither evict the others nor go unlimited). Thread-safe.
class rate_limiter {
public:
    struct settings {
        double rate = 10;
        double burst = 20;
        std::size_t max_clients = 4096;
    };
    explicit rate_limiter(settings s);

    // Whether `client` may make a request at `now` (it takes a token if so).
    [[nodiscard]] bool allow(const std::string& client, steady_time now);
    [[nodiscard]] std::size_t clients() const;

private:
    struct bucket {
        double tokens;
        steady_time last;
    };
    void refill(bucket& b, steady_time now) const;

    settings _s;
    mutable std::mutex _lock;
    std::map<std::string, bucket> _buckets;
    bucket _shared;
};

// The routing and the answers of the HTTP API (docs/http.md) on rosterd's metrics port: a pure
// function of the request, the board and the time (handle()), so that tests need no socket; the
// connection (http_connection.hh) writes what it returns and runs watch streams.
//
// Thread-safe: CivetWeb's workers call handle() at once.
class http_api {
public:
    struct settings {
        std::shared_ptr<const metrics_auth> auth; // --metrics-auth-file; null: no authentication
        std::size_t threads = 256;                // --metrics-threads: watch streams use at most half
        // Served on loopback without authentication: only requests whose Host is a loopback name
        // (localhost, 127.x.y.z, [::1], with any port) are answered, so that a web page elsewhere
        // cannot read the API through a DNS name rebound to 127.0.0.1 (403 otherwise).
        bool loopback_hosts_only = false;
        rate_limiter::settings rate{};
        std::size_t max_views = 256;           // /v1/views: elements per answer
        std::size_t max_view_bytes = 4u << 20; // /v1/views: about this much JSON per answer
        // /v1/watch: a comment after this much quiet, and the end of a stream after this long
        std::chrono::milliseconds keep_alive = std::chrono::seconds(5);
        std::chrono::milliseconds stream_lifetime = std::chrono::minutes(10);
        // /v1/detector: a table older than this is waited for (up to detector_wait) to be remade
        std::chrono::milliseconds detector_stale = std::chrono::seconds(2);
        std::chrono::milliseconds detector_wait = std::chrono::seconds(1);
    };

    // What the API reports to the metrics; each may be empty. Called from the workers.
    struct hooks {
        std::function<void(std::string_view path, int status)> answered; // path: one of path_labels
        std::function<void()> auth_refused;
        std::function<void(int open)> streams; // open watch streams, after each change
    };

    http_api(std::shared_ptr<http_board> board, settings s, hooks h = {},
             std::shared_ptr<spdlog::logger> logger = nullptr);

    // The answer to `q` at `now`. /health, /ready and /metrics are not its business (the metrics
    // server answers them before): here they are unknown paths.
    [[nodiscard]] http_response handle(const http_request& q, steady_time now);

    // The most watch streams open at once: max(1, min(32, threads / 2)).
    [[nodiscard]] std::size_t stream_limit() const noexcept { return _stream_limit; }
    [[nodiscard]] std::size_t open_streams() const noexcept { return _open_streams.load(); }
    [[nodiscard]] const settings& config() const noexcept { return _s; }
    [[nodiscard]] http_board& board() noexcept { return *_board; }

    // The bounded set of `path` labels of roster_http_requests_total.
    static constexpr const char* path_labels[] = {"/v1/members", "/v1/status", "/v1/views", "/v1/watch",
                                                  "/v1/detector", "page", "other"};
    [[nodiscard]] static std::string_view path_label(std::string_view path);

    // `{"error": "<why>"}` with `status`.
    [[nodiscard]] static http_response error(int status, std::string_view why);

private:
    friend class watch_stream;
    [[nodiscard]] http_response route(const http_request& q, steady_time now);
    [[nodiscard]] std::optional<http_response> refuse_auth(const http_request& q);
    [[nodiscard]] std::optional<http_response> refuse_host(const http_request& q) const;
    [[nodiscard]] http_response members(const http_request& q);
    [[nodiscard]] http_response status();
    [[nodiscard]] http_response views(const http_request& q);
    [[nodiscard]] http_response watch(const http_request& q, steady_time now);
    [[nodiscard]] http_response detector(steady_time now);
    [[nodiscard]] http_response page(const http_request& q);
    void stream_closed();
    // A line in the log at most once a minute per kind of event (`what` counts how often since).
    void note(const char* kind, steady_time now, const std::string& line);

    std::shared_ptr<http_board> _board;
    settings _s;
    hooks _hooks;
    std::shared_ptr<spdlog::logger> _logger;
    rate_limiter _limiter;
    std::size_t _stream_limit;
    std::atomic<std::size_t> _open_streams{0};
    std::mutex _notes_lock;
    std::map<std::string, std::pair<steady_time, std::uint64_t>> _notes; // kind -> last line, since
};

// One /v1/watch stream (Server-Sent Events): each view is `id: N\nevent: view\ndata: <one line of
// rosterctl watch --json>\n\n`, a comment `: keep-alive\n\n` after keep_alive of quiet. It holds a
// stream slot until destroyed.
class watch_stream {
public:
    // Starts after view `resume` (Last-Event-ID or ?after=N) when given and the board still holds
    // the views after it; otherwise with the current view, "resync": true.
    watch_stream(http_api& api, std::optional<view_id> resume, steady_time now);
    ~watch_stream();
    watch_stream(const watch_stream&) = delete;
    watch_stream& operator=(const watch_stream&) = delete;

    // The next bytes to write: the views after the last one written (at most max_views at a time),
    // waiting for one until keep_alive passes (then a keep-alive comment). Nothing once the node
    // stops or the stream's lifetime is over.
    [[nodiscard]] std::optional<std::string> next(steady_time now);
    [[nodiscard]] view_id last_sent() const noexcept { return _cursor; }

private:
    http_api& _api;
    std::optional<view_id> _resume;
    view_id _cursor; // the last view written (0: none)
    bool _started = false;
    steady_time _end;
};

} // namespace roster::daemon
