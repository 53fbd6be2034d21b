#include "daemon/http_api.hh"

#include <algorithm>
#include <cctype>
#include <charconv>

#include <fmt/format.h>

#include "client/json.hh"
#include "common/escape.hh"

#include "web/assets.hh"

namespace roster::daemon {

namespace {

bool iequal(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
        s.remove_suffix(1);
    }
    return s;
}

// A view id as a client writes it: decimal digits only, within 64 bits.
std::optional<view_id> parse_view_id(std::string_view s) {
    std::uint64_t v = 0;
    if (s.empty() || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return std::nullopt;
    }
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size()) {
        return std::nullopt;
    }
    return view_id(v);
}

// The raw value of `key` in a query string (the first one), or nothing.
std::optional<std::string_view> query_value(std::string_view query, std::string_view key) {
    while (!query.empty()) {
        const auto amp = query.find('&');
        const std::string_view pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
        const auto eq = pair.find('=');
        if (pair.substr(0, eq) == key) {
            return eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
        }
    }
    return std::nullopt;
}

// RFC 4648 base64 (with padding), or nothing when `in` is not.
std::optional<std::string> base64_decode(std::string_view in) {
    if (in.size() % 4 != 0) {
        return std::nullopt;
    }
    auto value = [](char c) -> int {
        if (c >= 'A' && c <= 'Z') return c - 'A';
        if (c >= 'a' && c <= 'z') return c - 'a' + 26;
        if (c >= '0' && c <= '9') return c - '0' + 52;
        if (c == '+') return 62;
        if (c == '/') return 63;
        return -1;
    };
    std::string out;
    out.reserve(in.size() / 4 * 3);
    for (std::size_t i = 0; i < in.size(); i += 4) {
        int v[4];
        int pad = 0;
        for (int k = 0; k < 4; ++k) {
            const char c = in[i + static_cast<std::size_t>(k)];
            if (c == '=' && i + 4 == in.size() && k >= 2) {
                v[k] = 0;
                ++pad;
            } else if (pad > 0 || (v[k] = value(c)) < 0) {
                return std::nullopt;
            }
        }
        const std::uint32_t n = (static_cast<std::uint32_t>(v[0]) << 18) | (static_cast<std::uint32_t>(v[1]) << 12) |
                                (static_cast<std::uint32_t>(v[2]) << 6) | static_cast<std::uint32_t>(v[3]);
        out += static_cast<char>((n >> 16) & 0xff);
        if (pad < 2) {
            out += static_cast<char>((n >> 8) & 0xff);
        }
        if (pad < 1) {
            out += static_cast<char>(n & 0xff);
        }
    }
    return out;
}

// Whether an If-None-Match header value names `tag` (a list of entity tags, weak ones too, or *).
bool matches_etag(std::string_view header, std::string_view tag) {
    while (!header.empty()) {
        const auto comma = header.find(',');
        std::string_view t = trim(header.substr(0, comma));
        header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
        if (t.substr(0, 2) == "W/") {
            t.remove_prefix(2);
        }
        if (t == "*" || t == tag) {
            return true;
        }
    }
    return false;
}

http_response json_response(int status, std::string body) {
    http_response r;
    r.status = status;
    r.headers.emplace_back("Content-Type", "application/json");
    r.body = std::move(body);
    return r;
}

http_response shared_json(std::shared_ptr<const std::string> body) {
    http_response r;
    r.headers.emplace_back("Content-Type", "application/json");
    r.shared_body = std::move(body);
    return r;
}

http_response unavailable(std::string_view why, int retry_after_s) {
    http_response r = http_api::error(503, why);
    r.headers.emplace_back("Retry-After", std::to_string(retry_after_s));
    return r;
}

constexpr std::string_view no_view = "no committed view yet";

} // namespace

std::optional<std::string_view> http_request::header(std::string_view name) const {
    for (const auto& [k, v] : headers) {
        if (iequal(k, name)) {
            return std::string_view(v);
        }
    }
    return std::nullopt;
}

// ---- rate_limiter

rate_limiter::rate_limiter(settings s)
    : _s(s)
    , _shared{s.burst, steady_time()} {}

void rate_limiter::refill(bucket& b, steady_time now) const {
    if (now > b.last) {
        b.tokens = std::min(_s.burst, b.tokens + std::chrono::duration<double>(now - b.last).count() * _s.rate);
        b.last = now;
    }
}

bool rate_limiter::allow(const std::string& client, steady_time now) {
    std::lock_guard<std::mutex> hold(_lock);
    auto it = _buckets.find(client);
    bucket* b = nullptr;
    if (it != _buckets.end()) {
        b = &it->second;
    } else {
        if (_buckets.size() >= _s.max_clients) {
            // Forget the addresses whose bucket has refilled: they lose nothing by it.
            for (auto i = _buckets.begin(); i != _buckets.end();) {
                refill(i->second, now);
                i = i->second.tokens >= _s.burst ? _buckets.erase(i) : std::next(i);
            }
        }
        if (_buckets.size() < _s.max_clients) {
            b = &_buckets.emplace(client, bucket{_s.burst, now}).first->second;
        } else {
            b = &_shared;
        }
    }
    refill(*b, now);
    if (b->tokens < 1) {
        return false;
    }
    b->tokens -= 1;
    return true;
}

std::size_t rate_limiter::clients() const {
    std::lock_guard<std::mutex> hold(_lock);
    return _buckets.size();
}

// ---- http_api

http_api::http_api(std::shared_ptr<http_board> board, settings s, hooks h, std::shared_ptr<spdlog::logger> logger)
    : _board(std::move(board))
    , _s(std::move(s))
    , _hooks(std::move(h))
    , _logger(std::move(logger))
    , _limiter(_s.rate)
    , _stream_limit(std::max<std::size_t>(1, std::min<std::size_t>(32, _s.threads / 2))) {}

http_response http_api::error(int status, std::string_view why) {
    return json_response(status, "{\"error\": " + json_quote(why) + "}");
}

std::string_view http_api::path_label(std::string_view path) {
    for (const char* p : path_labels) {
        if (path == p) {
            return p;
        }
    }
    if (path == "/" || path == "/app.js" || path == "/style.css" || path == "/favicon.svg" ||
        path == "/index.html") {
        return "page";
    }
    return "other";
}

void http_api::note(const char* kind, steady_time now, const std::string& line) {
    if (!_logger) {
        return;
    }
    std::uint64_t since = 0;
    {
        std::lock_guard<std::mutex> hold(_notes_lock);
        auto& [last, count] = _notes[kind];
        ++count;
        if (last != steady_time() && now - last < std::chrono::minutes(1)) {
            return;
        }
        since = count - 1;
        last = now;
        count = 0;
    }
    if (since > 0) {
        _logger->warn("http: {} ({} more like it in the last minute)", line, since);
    } else {
        _logger->warn("http: {}", line);
    }
}

http_response http_api::handle(const http_request& q, steady_time now) {
    http_response r = route(q, now);
    r.head = q.method == "HEAD";
    r.headers.emplace_back("Cache-Control", "no-store");
    r.headers.emplace_back("X-Content-Type-Options", "nosniff");
    if (_hooks.answered) {
        _hooks.answered(path_label(q.path), r.status);
    }
    return r;
}

std::optional<http_response> http_api::refuse_auth(const http_request& q) {
    if (!_s.auth) {
        return std::nullopt;
    }
    bool presented = false;
    if (const auto h = q.header("Authorization")) {
        const std::string_view v = trim(*h);
        if (v.size() > 6 && iequal(v.substr(0, 6), "Basic ")) {
            if (const auto decoded = base64_decode(trim(v.substr(6)))) {
                const auto colon = decoded->find(':');
                if (colon != std::string::npos) {
                    presented = true;
                    if (_s.auth->allows(std::string_view(*decoded).substr(0, colon),
                                        std::string_view(*decoded).substr(colon + 1))) {
                        return std::nullopt;
                    }
                }
            }
        }
    }
    if (presented && _hooks.auth_refused) {
        _hooks.auth_refused(); // as /metrics counts them: credentials given and wrong
    }
    http_response r = error(401, "authentication required: HTTP basic auth with a user of --metrics-auth-file");
    r.headers.emplace_back("WWW-Authenticate", "Basic realm=\"roster\"");
    return r;
}

namespace {

// Whether `host` (a Host header: name or address, then an optional :port) names this machine's
// loopback interface.
bool loopback_host(std::string_view host) {
    host = trim(host);
    std::string_view name = host;
    if (!host.empty() && host.front() == '[') { // [v6]:port
        const auto close = host.find(']');
        if (close == std::string_view::npos) {
            return false;
        }
        name = host.substr(1, close - 1);
        const auto rest = host.substr(close + 1);
        if (!rest.empty() && rest.front() != ':') {
            return false;
        }
        return name == "::1";
    }
    if (const auto colon = host.rfind(':'); colon != std::string_view::npos) {
        name = host.substr(0, colon);
    }
    if (iequal(name, "localhost")) {
        return true;
    }
    // 127.0.0.0/8, four decimal parts.
    int parts = 0;
    std::size_t i = 0;
    while (i <= name.size()) {
        const auto dot = std::min(name.find('.', i), name.size());
        const auto part = name.substr(i, dot - i);
        unsigned value = 0;
        const auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), value);
        if (part.empty() || part.size() > 3 || ec != std::errc() || end != part.data() + part.size() || value > 255 ||
            (parts == 0 && value != 127)) {
            return false;
        }
        ++parts;
        i = dot + 1;
    }
    return parts == 4;
}

} // namespace

std::optional<http_response> http_api::refuse_host(const http_request& q) const {
    if (!_s.loopback_hosts_only) {
        return std::nullopt;
    }
    const auto host = q.header("Host");
    if (host && loopback_host(*host)) {
        return std::nullopt;
    }
    return error(403, fmt::format("Host '{}' refused: this node serves its API without authentication on loopback, "
                                  "to loopback names only (localhost, 127.0.0.1, [::1]); give --metrics-auth-file "
                                  "to serve other names",
                                  host ? std::string(*host).substr(0, 100) : std::string()));
}

http_response http_api::route(const http_request& q, steady_time now) {
    if (auto refused = refuse_host(q)) {
        return std::move(*refused);
    }
    if (auto refused = refuse_auth(q)) {
        return std::move(*refused);
    }
    if (q.method != "GET" && q.method != "HEAD") {
        http_response r = error(405, "only GET and HEAD: the HTTP API is read-only");
        r.headers.emplace_back("Allow", "GET, HEAD");
        return r;
    }
    const std::string& p = q.path;
    const bool limited = p == "/v1/members" || p == "/v1/views" || p == "/v1/detector";
    if (limited && !_limiter.allow(q.client, now)) {
        note("rate", now, fmt::format("answering 429 to {}: more than {} requests a second to /v1/members, "
                                      "/v1/views and /v1/detector",
                                      escape_for_terminal(q.client), _s.rate.rate));
        http_response r = error(429, "too many requests from this address; retry in a second");
        r.headers.emplace_back("Retry-After", "1");
        return r;
    }
    if (p == "/v1/members") {
        return members(q);
    }
    if (p == "/v1/status") {
        return status();
    }
    if (p == "/v1/views") {
        return views(q);
    }
    if (p == "/v1/watch") {
        return watch(q, now);
    }
    if (p == "/v1/detector") {
        return detector(now);
    }
    return page(q);
}

http_response http_api::members(const http_request& q) {
    const auto v = _board->current();
    if (!v) {
        return unavailable(no_view, 1);
    }
    const std::string tag = fmt::format("\"{}\"", v->id);
    if (const auto inm = q.header("If-None-Match"); inm && matches_etag(*inm, tag)) {
        http_response r;
        r.status = 304;
        r.headers.emplace_back("ETag", tag);
        return r;
    }
    http_response r = shared_json(v->json);
    r.headers.emplace_back("ETag", tag);
    return r;
}

http_response http_api::status() {
    auto s = _board->status();
    if (!s) {
        return unavailable("the node is starting", 1);
    }
    return shared_json(std::move(s));
}

http_response http_api::views(const http_request& q) {
    const auto raw = query_value(q.query, "after");
    if (!raw) {
        return error(400, "missing ?after=N: the view id after which to list the views (0 for all retained)");
    }
    const auto after = parse_view_id(*raw);
    if (!after) {
        return error(400, "?after= must be a view id: a non-negative integer");
    }
    const auto h = _board->after(*after, _s.max_views, _s.max_view_bytes);
    if (h.current == view_id()) {
        return unavailable(no_view, 1);
    }
    std::size_t size = 64;
    for (const auto& v : h.views) {
        size += v.json->size() + 24;
    }
    std::string body;
    body.reserve(size);
    body += fmt::format("{{\"view_id\": {}, \"views\": [", h.current);
    for (std::size_t i = 0; i < h.views.size(); ++i) {
        body += i ? ", " : "";
        body += client::delivery_json(*h.views[i].json, h.resync);
    }
    body += h.more ? "], \"more\": true}" : "], \"more\": false}";
    return json_response(200, std::move(body));
}

http_response http_api::watch(const http_request& q, steady_time now) {
    std::optional<view_id> resume;
    if (const auto id = q.header("Last-Event-ID")) {
        resume = parse_view_id(trim(*id)); // a malformed one: start over with the current view
    } else if (const auto raw = query_value(q.query, "after")) {
        resume = parse_view_id(*raw);
        if (!resume) {
            return error(400, "?after= must be a view id: a non-negative integer");
        }
    }
    http_response r;
    r.headers.emplace_back("Content-Type", "text/event-stream");
    if (q.method == "HEAD") {
        return r; // the headers of a stream, without taking a slot
    }
    // Take a slot, or give it back at once when all are taken.
    if (_open_streams.fetch_add(1) >= _stream_limit) {
        _open_streams.fetch_sub(1);
        note("streams", now, fmt::format("answering 503 to a /v1/watch request: {} streams open, the most "
                                         "allowed (half of --metrics-threads, at most 32)",
                                         _stream_limit));
        return unavailable(fmt::format("too many watch streams open ({}); retry later", _stream_limit), 5);
    }
    if (_hooks.streams) {
        _hooks.streams(static_cast<int>(_open_streams.load()));
    }
    r.stream = std::make_shared<watch_stream>(*this, resume, now);
    return r;
}

void http_api::stream_closed() {
    _open_streams.fetch_sub(1);
    if (_hooks.streams) {
        _hooks.streams(static_cast<int>(_open_streams.load()));
    }
}

http_response http_api::detector(steady_time now) {
    if (!_board->voter()) {
        return error(404, "this node is a member; the detector runs on voters");
    }
    auto t = _board->detector(now);
    if (!t.json || now - t.made > _s.detector_stale) {
        // The loop makes the table only while someone asks: the first request waits for it.
        t = _board->wait_detector(now - _s.detector_stale, now + _s.detector_wait);
    }
    if (!t.json) {
        return unavailable("the detector table is not ready yet", 1);
    }
    return shared_json(std::move(t.json));
}

http_response http_api::page(const http_request& q) {
    if (q.path.rfind("/v1/", 0) != 0) {
        if (const web::asset* a = web::find_asset(q.path)) {
            http_response r;
            r.headers.emplace_back("Content-Type", std::string(a->content_type));
            if (a->content_type.rfind("text/html", 0) == 0) {
                r.headers.emplace_back("Content-Security-Policy",
                                       "default-src 'self'; img-src 'self' data:; style-src 'self'");
            }
            r.body = std::string(a->content);
            return r;
        }
    }
    return error(404, fmt::format("no such path: {} (the API is under /v1: members, status, views, watch, detector)",
                                  q.path.substr(0, 200)));
}

// ---- watch_stream

watch_stream::watch_stream(http_api& api, std::optional<view_id> resume, steady_time now)
    : _api(api)
    , _resume(resume)
    , _end(now + api._s.stream_lifetime) {}

watch_stream::~watch_stream() { _api.stream_closed(); }

std::optional<std::string> watch_stream::next(steady_time now) {
    http_board& board = *_api._board;
    const auto event = [](const http_board::rendered_view& v, bool resync) {
        return fmt::format("id: {}\nevent: view\ndata: {}\n\n", v.id, client::delivery_json(*v.json, resync));
    };
    // Waits for a view after _cursor; true when there is one, else a keep-alive or the end is due.
    const auto wait = [&](view_id after) {
        return board.wait_view(after, std::min(now + _api._s.keep_alive, _end));
    };
    const auto quiet = [&]() -> std::optional<std::string> {
        if (board.stopped() || std::chrono::steady_clock::now() >= _end) {
            return std::nullopt;
        }
        return std::string(": keep-alive\n\n");
    };
    if (board.stopped() || now >= _end) {
        return std::nullopt;
    }
    if (!_started) {
        auto current = board.current();
        if (!current) {
            if (!wait(view_id())) {
                return quiet(); // before the first view: wait for it like any other
            }
            current = board.current();
        }
        _started = true;
        if (!_resume || *_resume > current->id) {
            // No resume point, or one this node has not reached (it restarted from older state):
            // the current view, as a resync.
            _cursor = current->id;
            return event(*current, true);
        }
        _cursor = *_resume;
    }
    if (!wait(_cursor)) {
        return quiet();
    }
    const auto h = board.after(_cursor, _api._s.max_views, _api._s.max_view_bytes);
    std::string out;
    for (const auto& v : h.views) {
        out += event(v, h.resync);
        _cursor = v.id;
    }
    return out;
}

} // namespace roster::daemon
