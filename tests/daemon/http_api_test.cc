// The HTTP API's routing and answers (daemon/http_api.hh), without sockets: every endpoint, the
// errors, basic auth, the ETag, the bounds of /v1/views, the token bucket, the watch stream cap;
// and the board the drivers publish to (every view in order, however many commit in one step).
#include <thread>

#include <gtest/gtest.h>

#include "client/json.hh"
#include "common/escape.hh"
#include "daemon/http_api.hh"
#include "daemon/http_board.hh"
#include "daemon/http_documents.hh"
#include "daemon/member_driver.hh"
#include "daemon/node_configs.hh"
#include "daemon/voter_driver.hh"
#include "consensus/memory_storage.hh"
#include "log_capture.hh"

namespace roster::daemon {
namespace {

using namespace std::chrono_literals;

const steady_time t0 = steady_time(std::chrono::hours(1));

// Watch streams wait on the real clock.
steady_time real_now() { return std::chrono::steady_clock::now(); }

views::view view_numbered(std::uint64_t id, std::size_t members = 2, std::string name_prefix = "m") {
    views::view v;
    v.id = view_id(id);
    for (std::size_t i = 1; i <= members; ++i) {
        views::member m;
        m.id = member_id(i);
        m.name = name_prefix + std::to_string(i);
        m.address = "127.0.0.1:" + std::to_string(7400 + i);
        m.incarnation = incarnation_number(1);
        v.members.push_back(m);
    }
    v.leader = member_id(1);
    v.fencing_token = view_id(1);
    v.joined = {member_id(members)};
    return v;
}

http_request get(std::string path, std::string query = "", std::string client = "127.0.0.1") {
    return http_request{"GET", std::move(path), std::move(query), {}, std::move(client)};
}

std::string header(const http_response& r, std::string_view name) {
    for (const auto& [k, v] : r.headers) {
        if (k == name) {
            return v;
        }
    }
    return "<none>";
}

struct fixture {
    std::shared_ptr<http_board> board;
    http_api api;
    std::vector<std::pair<std::string, int>> answered;
    int refused = 0;
    int streams = -1;

    explicit fixture(bool voter = true, http_api::settings s = {}, http_board::limits l = {})
        : board(std::make_shared<http_board>(voter, l))
        , api(board, std::move(s),
              {[this](std::string_view p, int code) { answered.emplace_back(std::string(p), code); },
               [this] { ++refused; }, [this](int open) { streams = open; }}) {}

    void views_up_to(std::uint64_t last, std::uint64_t first = 1) {
        for (std::uint64_t i = first; i <= last; ++i) {
            board->add_view(view_numbered(i));
        }
    }
};

TEST(http_api, every_answer_carries_no_store_and_nosniff_and_errors_are_json) {
    fixture f;
    for (const auto& path : {"/v1/members", "/v1/status", "/nope", "/v1/views"}) {
        const auto r = f.api.handle(get(path), t0);
        EXPECT_EQ(header(r, "Cache-Control"), "no-store") << path;
        EXPECT_EQ(header(r, "X-Content-Type-Options"), "nosniff") << path;
        EXPECT_EQ(header(r, "Content-Type"), "application/json") << path;
        EXPECT_EQ(r.content().rfind("{\"error\": \"", 0), 0u) << path << ": " << r.content();
    }
    const auto r = f.api.handle(get("/v1/members"), t0);
    EXPECT_EQ(r.status, 503);
    EXPECT_EQ(r.content(), "{\"error\": \"no committed view yet\"}");
    EXPECT_EQ(header(r, "Retry-After"), "1");
    EXPECT_EQ(f.api.handle(get("/nope\x1b[2J\xff"), t0).content(),
              "{\"error\": \"no such path: /nope\\u001b[2J\\ufffd (the API is under /v1: members, status, views, "
              "watch, detector)\"}")
        << "the path is escaped";
    EXPECT_EQ(f.answered.back(), (std::pair<std::string, int>("other", 404))) << "a bounded path label";
}

TEST(http_api, members_is_rosterctl_members_json_with_an_etag) {
    fixture f;
    f.views_up_to(3);
    const auto r = f.api.handle(get("/v1/members"), t0);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.content(), client::view_json(view_numbered(3)));
    EXPECT_EQ(header(r, "ETag"), "\"3\"");

    auto q = get("/v1/members");
    q.headers = {{"if-none-match", "\"3\""}};
    auto same = f.api.handle(q, t0);
    EXPECT_EQ(same.status, 304);
    EXPECT_EQ(header(same, "ETag"), "\"3\"");
    q.headers = {{"If-None-Match", "\"1\", W/\"3\""}};
    EXPECT_EQ(f.api.handle(q, t0).status, 304) << "a list, a weak tag";
    q.headers = {{"If-None-Match", "\"2\""}};
    EXPECT_EQ(f.api.handle(q, t0).status, 200) << "an older view";
    f.board->add_view(view_numbered(4));
    q.headers = {{"If-None-Match", "\"3\""}};
    const auto newer = f.api.handle(q, t0);
    EXPECT_EQ(newer.status, 200);
    EXPECT_EQ(header(newer, "ETag"), "\"4\"");
}

TEST(http_api, only_get_and_head_the_rest_405_with_allow) {
    fixture f;
    f.views_up_to(1);
    for (const char* m : {"POST", "PUT", "DELETE", "OPTIONS", "PATCH"}) {
        auto q = get("/v1/members");
        q.method = m;
        const auto r = f.api.handle(q, t0);
        EXPECT_EQ(r.status, 405) << m;
        EXPECT_EQ(header(r, "Allow"), "GET, HEAD") << m;
    }
    auto q = get("/v1/members");
    q.method = "HEAD";
    const auto r = f.api.handle(q, t0);
    EXPECT_EQ(r.status, 200);
    EXPECT_TRUE(r.head) << "the connection writes the headers (and the length) of a GET, no body";
    EXPECT_EQ(r.content(), client::view_json(view_numbered(1)));
}

TEST(http_api, status_serves_the_document_of_the_loop) {
    fixture f;
    EXPECT_EQ(f.api.handle(get("/v1/status"), t0).status, 503);
    wire::status_reply s;
    s.name = "v\"1";
    s.role = wire::node_role::leader;
    s.term = raft_term(3);
    s.commit = log_index(9);
    s.view = view_id(4);
    s.voter = voter_id(1);
    s.member = member_id(2);
    s.leader = voter_id(1);
    s.healthy = true;
    s.ready = false;
    s.ready_reason = "joining";
    known_voter self{voter_id(1), "v\"1", "leader", 3, 9, std::nullopt, std::nullopt, true, std::nullopt};
    known_voter other{voter_id(2), std::nullopt, "follower", 3, std::nullopt, 7, 12, false, std::nullopt};
    const std::string doc = status_document(s, 8.0, 100, {self, other});
    // rosterctl status --json, then the rest.
    const std::string ctl = client::status_json(s);
    EXPECT_EQ(doc.substr(0, ctl.size() - 1), ctl.substr(0, ctl.size() - 1));
    EXPECT_EQ(doc,
              "{\"name\": \"v\\\"1\", \"role\": \"leader\", \"term\": 3, \"commit_index\": 9, \"view_id\": 4, "
              "\"voter_id\": 1, \"member_id\": 2, \"leader_voter_id\": 1, \"healthy\": true, \"health_reason\": \"\", "
              "\"ready\": false, \"ready_reason\": \"joining\", \"phi_threshold\": 8, \"heartbeat_interval_ms\": 100, "
              "\"voters\": [{\"voter_id\": 1, \"name\": \"v\\\"1\", \"role\": \"leader\", \"term\": 3, "
              "\"commit_index\": 9, \"match_index\": null, \"heard_ms_ago\": null, \"self\": true}, "
              "{\"voter_id\": 2, \"name\": null, \"role\": \"follower\", \"term\": 3, \"commit_index\": null, "
              "\"match_index\": 7, \"heard_ms_ago\": 12, \"self\": false}]}");
    f.board->set_status(doc);
    const auto r = f.api.handle(get("/v1/status"), t0);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.content(), doc);
}

// The body of /v1/views for `elements` (each one of rosterctl watch --json).
std::string views_body(std::uint64_t current, const std::vector<std::string>& elements, bool more) {
    std::string out = "{\"view_id\": " + std::to_string(current) + ", \"views\": [";
    for (std::size_t i = 0; i < elements.size(); ++i) {
        out += (i ? ", " : "") + elements[i];
    }
    return out + (more ? "], \"more\": true}" : "], \"more\": false}");
}

std::string delivered(std::uint64_t id, bool resync) {
    return client::delivery_json(views::delivery{view_numbered(id), resync});
}

TEST(http_api, views_lists_the_retained_changes_after_n_in_order) {
    fixture f;
    EXPECT_EQ(f.api.handle(get("/v1/views", "after=0"), t0).status, 503) << "no view yet";
    f.views_up_to(5);
    auto r = f.api.handle(get("/v1/views", "after=2"), t0);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.content(), views_body(5, {delivered(3, false), delivered(4, false), delivered(5, false)}, false));
    EXPECT_EQ(f.api.handle(get("/v1/views", "after=0"), t0).content(),
              views_body(5, {delivered(1, false), delivered(2, false), delivered(3, false), delivered(4, false),
                             delivered(5, false)},
                         false))
        << "the ring reaches back to view 1";
    EXPECT_EQ(f.api.handle(get("/v1/views", "after=5"), t0).content(), views_body(5, {}, false));
    EXPECT_EQ(f.api.handle(get("/v1/views", "x=1&after=99"), t0).content(), views_body(5, {}, false))
        << "after beyond the current view: nothing";
}

TEST(http_api, views_after_an_id_older_than_the_ring_is_the_current_view_as_a_resync) {
    fixture f(true, {}, {.ring_views = 3, .ring_bytes = 1u << 20});
    f.views_up_to(10);
    EXPECT_EQ(f.api.handle(get("/v1/views", "after=7"), t0).content(),
              views_body(10, {delivered(8, false), delivered(9, false), delivered(10, false)}, false))
        << "views 8 to 10 are retained";
    EXPECT_EQ(f.api.handle(get("/v1/views", "after=6"), t0).content(), views_body(10, {delivered(10, true)}, false));
    EXPECT_EQ(f.api.handle(get("/v1/views", "after=0"), t0).content(), views_body(10, {delivered(10, true)}, false));

    // A view that does not follow (a resync, a snapshot) starts the history over.
    f.board->add_view(view_numbered(20));
    EXPECT_EQ(f.api.handle(get("/v1/views", "after=10"), t0).content(), views_body(20, {delivered(20, true)}, false));
    EXPECT_EQ(f.api.handle(get("/v1/views", "after=19"), t0).content(), views_body(20, {delivered(20, false)}, false))
        << "view 20 holds what changed from view 19";
}

TEST(http_api, views_refuses_a_missing_or_malformed_after) {
    fixture f;
    f.views_up_to(2);
    for (const char* q : {"", "after", "after=", "after=-1", "after=1x", "after=+1", "after=0x10", "after=1.0",
                          "after=18446744073709551616", "before=1"}) {
        const auto r = f.api.handle(get("/v1/views", q), t0);
        EXPECT_EQ(r.status, 400) << q;
        EXPECT_NE(r.content().find("after"), std::string::npos) << r.content();
    }
    EXPECT_EQ(f.api.handle(get("/v1/views", "after=18446744073709551615"), t0).status, 200);
}

TEST(http_api, views_are_bounded_per_answer_and_say_more) {
    http_api::settings s;
    s.max_views = 2;
    fixture f(true, s);
    f.views_up_to(5);
    EXPECT_EQ(f.api.handle(get("/v1/views", "after=0"), t0).content(),
              views_body(5, {delivered(1, false), delivered(2, false)}, true));
    EXPECT_EQ(f.api.handle(get("/v1/views", "after=2"), t0).content(),
              views_body(5, {delivered(3, false), delivered(4, false)}, true));
    EXPECT_EQ(f.api.handle(get("/v1/views", "after=4"), t0).content(), views_body(5, {delivered(5, false)}, false));

    // By bytes: at least one element, however large.
    http_api::settings small;
    small.max_view_bytes = 10;
    fixture g(true, small);
    g.views_up_to(3);
    EXPECT_EQ(g.api.handle(get("/v1/views", "after=0"), t0).content(), views_body(3, {delivered(1, false)}, true));
}

TEST(http_board, keeps_a_bounded_history_by_count_and_bytes_and_the_current_view_always) {
    const std::size_t one = http_board::estimated_bytes(view_numbered(1));
    http_board by_bytes(true, {.ring_views = 100, .ring_bytes = 3 * one + 1});
    for (int i = 1; i <= 10; ++i) {
        by_bytes.add_view(view_numbered(static_cast<std::uint64_t>(i)));
    }
    auto h = by_bytes.after(view_id(6), 100, 1u << 20);
    EXPECT_TRUE(h.resync) << "views 8..10 fit in the bytes, 7 does not";
    h = by_bytes.after(view_id(7), 100, 1u << 20);
    ASSERT_EQ(h.views.size(), 3u);
    EXPECT_FALSE(h.resync);

    http_board tiny(true, {.ring_views = 5, .ring_bytes = 1});
    tiny.add_view(view_numbered(1, 500));
    ASSERT_TRUE(tiny.current());
    EXPECT_EQ(tiny.current()->id, view_id(1)) << "the current view stays, whatever its size";
}

TEST(http_board, renders_a_view_once_on_demand_and_shares_it) {
    http_board b(true);
    auto v = std::make_shared<const views::view>(view_numbered(1, 3));
    b.add_view(v);
    const auto first = b.current();
    const auto second = b.current();
    ASSERT_TRUE(first && second);
    EXPECT_EQ(first->json.get(), second->json.get()) << "one rendering for every request";
    EXPECT_EQ(*first->json, client::view_json(*v));
    const auto h = b.after(view_id(0), 10, 1u << 20);
    ASSERT_EQ(h.views.size(), 1u);
    EXPECT_EQ(h.views[0].json.get(), first->json.get());
}

TEST(http_api, basic_auth_guards_everything_it_serves) {
    http_api::settings s;
    s.auth = std::make_shared<const metrics_auth>(metrics_auth::parse("alice:s3cret:x\n", "auth").value());
    fixture f(true, s);
    f.views_up_to(1);
    f.board->set_status("{}");
    for (const auto& path : {"/v1/members", "/v1/status", "/v1/views", "/", "/app.js", "/nope"}) {
        const auto r = f.api.handle(get(path, "after=0"), t0);
        EXPECT_EQ(r.status, 401) << path;
        EXPECT_EQ(header(r, "WWW-Authenticate"), "Basic realm=\"roster\"") << path;
        EXPECT_EQ(r.content().rfind("{\"error\": ", 0), 0u) << r.content();
    }
    EXPECT_EQ(f.refused, 0) << "no credentials: not a refusal (as /metrics counts them)";

    auto with = [&](std::string auth) {
        auto q = get("/v1/members");
        q.headers = {{"Authorization", std::move(auth)}};
        return f.api.handle(q, t0);
    };
    EXPECT_EQ(with("Basic YWxpY2U6czNjcmV0Ong=").status, 200) << "alice:s3cret:x (the password holds a colon)";
    EXPECT_EQ(with("basic  YWxpY2U6czNjcmV0Ong=").status, 200) << "the scheme is case-insensitive";
    EXPECT_EQ(with("Basic YWxpY2U6d3Jvbmc=").status, 401) << "alice:wrong";
    EXPECT_EQ(f.refused, 1);
    EXPECT_EQ(with("Basic Ym9iOnMzY3JldDp4").status, 401) << "bob:s3cret:x";
    EXPECT_EQ(f.refused, 2);
    for (const char* bad : {"Basic", "Basic !!!!", "Basic YWxpY2U", "Bearer YWxpY2U6czNjcmV0Ong=", "Basic YWxpY2U="}) {
        EXPECT_EQ(with(bad).status, 401) << bad;
    }
    EXPECT_EQ(f.refused, 2) << "undecodable credentials are refused as missing ones";
    auto post = get("/v1/members");
    post.method = "POST";
    EXPECT_EQ(f.api.handle(post, t0).status, 401) << "authentication before anything else";
}

TEST(http_api, a_client_address_gets_a_burst_then_429_and_its_rate) {
    fixture f;
    f.views_up_to(1);
    for (int i = 0; i < 20; ++i) {
        ASSERT_EQ(f.api.handle(get("/v1/members"), t0).status, 200) << i;
    }
    auto r = f.api.handle(get("/v1/views", "after=0"), t0);
    EXPECT_EQ(r.status, 429);
    EXPECT_EQ(header(r, "Retry-After"), "1");
    EXPECT_EQ(f.api.handle(get("/v1/detector"), t0).status, 429);
    EXPECT_EQ(f.api.handle(get("/v1/members", "", "10.0.0.2"), t0).status, 200) << "another address";
    f.board->set_status("{}");
    EXPECT_EQ(f.api.handle(get("/v1/status"), t0).status, 200) << "status is not limited";
    EXPECT_EQ(f.api.handle(get("/v1/members"), t0 + 99ms).status, 429) << "less than one token back";
    EXPECT_EQ(f.api.handle(get("/v1/members"), t0 + 101ms).status, 200) << "10 a second";
    EXPECT_EQ(f.api.handle(get("/v1/members"), t0 + 102ms).status, 429);
}

TEST(rate_limiter, the_address_table_is_bounded_and_new_addresses_share_a_bucket_when_it_is_full) {
    rate_limiter l({.rate = 10, .burst = 2, .max_clients = 2});
    EXPECT_TRUE(l.allow("a", t0));
    EXPECT_TRUE(l.allow("b", t0));
    EXPECT_EQ(l.clients(), 2u);
    // The table is full of busy addresses: the others share one bucket.
    EXPECT_TRUE(l.allow("c", t0));
    EXPECT_TRUE(l.allow("d", t0));
    EXPECT_FALSE(l.allow("e", t0));
    EXPECT_EQ(l.clients(), 2u);
    EXPECT_TRUE(l.allow("a", t0)) << "a keeps its own bucket";
    // Idle long enough to refill, a and b make room.
    EXPECT_TRUE(l.allow("e", t0 + 1s));
    EXPECT_LE(l.clients(), 2u);
}

TEST(http_api, watch_streams_are_capped_at_half_the_threads_at_most_32) {
    for (const auto& [threads, limit] : std::vector<std::pair<std::size_t, std::size_t>>{{1, 1}, {2, 1}, {4, 2}, {64, 32}, {256, 32}}) {
        http_api::settings s;
        s.threads = threads;
        fixture f(true, s);
        EXPECT_EQ(f.api.stream_limit(), limit) << threads;
    }
    http_api::settings s;
    s.threads = 4;
    fixture f(true, s);
    f.views_up_to(1);
    auto a = f.api.handle(get("/v1/watch"), t0);
    auto b = f.api.handle(get("/v1/watch"), t0);
    ASSERT_TRUE(a.stream && b.stream);
    EXPECT_EQ(header(a, "Content-Type"), "text/event-stream");
    EXPECT_EQ(f.streams, 2);
    auto c = f.api.handle(get("/v1/watch"), t0);
    EXPECT_EQ(c.status, 503);
    EXPECT_FALSE(c.stream);
    EXPECT_EQ(header(c, "Retry-After"), "5");
    EXPECT_EQ(f.api.open_streams(), 2u);
    a = {};
    EXPECT_EQ(f.streams, 1) << "a stream gives its slot back when it ends";
    EXPECT_TRUE(f.api.handle(get("/v1/watch"), t0).stream);
    auto head = get("/v1/watch");
    head.method = "HEAD";
    EXPECT_FALSE(f.api.handle(head, t0).stream) << "HEAD takes no slot";
}

std::string event(std::uint64_t id, bool resync) {
    return "id: " + std::to_string(id) + "\nevent: view\ndata: " + delivered(id, resync) + "\n\n";
}

TEST(watch_stream, starts_with_the_current_view_as_a_resync_then_every_view) {
    fixture f;
    f.views_up_to(3);
    auto r = f.api.handle(get("/v1/watch"), real_now());
    ASSERT_TRUE(r.stream);
    EXPECT_EQ(r.stream->next(std::chrono::steady_clock::now()), event(3, true));
    f.views_up_to(6, 4);
    EXPECT_EQ(r.stream->next(std::chrono::steady_clock::now()), event(4, false) + event(5, false) + event(6, false));
}

TEST(watch_stream, resumes_from_last_event_id_or_after_and_resyncs_when_too_old) {
    fixture f(true, {}, {.ring_views = 4, .ring_bytes = 1u << 20});
    f.views_up_to(8);
    auto q = get("/v1/watch");
    q.headers = {{"Last-Event-ID", "6"}};
    auto r = f.api.handle(q, real_now());
    EXPECT_EQ(r.stream->next(std::chrono::steady_clock::now()), event(7, false) + event(8, false));

    auto by_query = f.api.handle(get("/v1/watch", "after=5"), real_now());
    EXPECT_EQ(by_query.stream->next(std::chrono::steady_clock::now()), event(6, false) + event(7, false) + event(8, false));
    q.headers = {{"Last-Event-ID", "7"}};
    auto header_wins = f.api.handle(get("/v1/watch", "after=1"), real_now());
    (void)header_wins;
    auto both = q;
    both.query = "after=1";
    EXPECT_EQ(f.api.handle(both, real_now()).stream->next(std::chrono::steady_clock::now()), event(8, false))
        << "Last-Event-ID before ?after";

    q.headers = {{"Last-Event-ID", "2"}};
    EXPECT_EQ(f.api.handle(q, real_now()).stream->next(std::chrono::steady_clock::now()), event(8, true)) << "too old";
    q.headers = {{"Last-Event-ID", "99"}};
    EXPECT_EQ(f.api.handle(q, real_now()).stream->next(std::chrono::steady_clock::now()), event(8, true))
        << "ahead of this node: its current view";
    EXPECT_EQ(f.api.handle(get("/v1/watch", "after=x"), real_now()).status, 400);
}

TEST(watch_stream, says_keep_alive_when_quiet_and_ends_when_the_node_stops_or_its_time_is_up) {
    http_api::settings s;
    s.keep_alive = 20ms;
    s.stream_lifetime = 10s;
    fixture f(true, s);
    f.views_up_to(2);
    auto q = get("/v1/watch");
    q.headers = {{"Last-Event-ID", "2"}};
    auto r = f.api.handle(q, std::chrono::steady_clock::now());
    EXPECT_EQ(r.stream->next(std::chrono::steady_clock::now()), ": keep-alive\n\n") << "up to date: quiet";

    // A view that arrives while it waits ends the wait.
    std::thread later([&] {
        std::this_thread::sleep_for(5ms);
        f.board->add_view(view_numbered(3));
    });
    std::optional<std::string> got = r.stream->next(std::chrono::steady_clock::now());
    while (got == ": keep-alive\n\n") { // the thread may be late on a loaded machine
        got = r.stream->next(std::chrono::steady_clock::now());
    }
    later.join();
    EXPECT_EQ(got, event(3, false));

    // The node stops: a waiting stream returns at once, long before its keep-alive.
    http_api::settings slow;
    slow.keep_alive = 60s;
    fixture g(true, slow);
    g.views_up_to(1);
    auto q2 = get("/v1/watch");
    q2.headers = {{"Last-Event-ID", "1"}};
    auto waiting = g.api.handle(q2, std::chrono::steady_clock::now());
    const auto start = std::chrono::steady_clock::now();
    std::thread stopper([&] {
        std::this_thread::sleep_for(20ms);
        g.board->stop();
    });
    EXPECT_EQ(waiting.stream->next(std::chrono::steady_clock::now()), std::nullopt);
    stopper.join();
    EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
    EXPECT_EQ(g.api.handle(get("/v1/watch"), real_now()).stream->next(std::chrono::steady_clock::now()), std::nullopt)
        << "a stream of a stopped node ends at once";

    auto old = f.api.handle(get("/v1/watch"), std::chrono::steady_clock::now());
    EXPECT_EQ(old.stream->next(std::chrono::steady_clock::now() + 11s), std::nullopt) << "past its lifetime";
}

TEST(watch_stream, waits_for_the_first_view_of_a_node_that_has_none) {
    http_api::settings s;
    s.keep_alive = 10ms;
    fixture f(true, s);
    auto r = f.api.handle(get("/v1/watch"), real_now());
    ASSERT_TRUE(r.stream) << "EventSource gives up on an error status: the stream opens and waits";
    EXPECT_EQ(r.stream->next(std::chrono::steady_clock::now()), ": keep-alive\n\n");
    f.views_up_to(1);
    EXPECT_EQ(r.stream->next(std::chrono::steady_clock::now()), event(1, true));
}

TEST(http_api, detector_is_for_voters_and_waits_for_a_fresh_table) {
    fixture member(false);
    const auto r = member.api.handle(get("/v1/detector"), t0);
    EXPECT_EQ(r.status, 404);
    EXPECT_EQ(r.content(), "{\"error\": \"this node is a member; the detector runs on voters\"}");

    http_api::settings s;
    s.detector_wait = 10ms;
    fixture f(true, s);
    const auto now = std::chrono::steady_clock::now();
    EXPECT_FALSE(f.board->detector_wanted(now)) << "nobody asked: the loop makes no table";
    EXPECT_EQ(f.api.handle(get("/v1/detector"), now).status, 503) << "none made within the wait";
    EXPECT_TRUE(f.board->detector_wanted(now + 4s));
    EXPECT_FALSE(f.board->detector_wanted(now + 6s)) << "interest lasts 5 s";
    f.board->set_detector("{\"voter_id\": 1}", std::chrono::steady_clock::now());
    const auto ok = f.api.handle(get("/v1/detector"), std::chrono::steady_clock::now());
    EXPECT_EQ(ok.status, 200);
    EXPECT_EQ(ok.content(), "{\"voter_id\": 1}");
    f.board->set_detector("{\"voter_id\": 2}", std::chrono::steady_clock::now() - 5s);
    EXPECT_EQ(f.api.handle(get("/v1/detector"), std::chrono::steady_clock::now()).content(), "{\"voter_id\": 2}")
        << "a stale table after the wait is better than none";
}

TEST(http_api, the_page_and_its_files_or_404) {
    fixture f;
    const auto r = f.api.handle(get("/"), t0);
    EXPECT_EQ(r.status, 200);
    EXPECT_NE(r.content().find("<html"), std::string::npos);
    EXPECT_NE(header(r, "Content-Security-Policy").find("default-src 'self'"), std::string::npos);
    EXPECT_EQ(header(f.api.handle(get("/app.js"), t0), "Content-Type").rfind("text/javascript", 0), 0u);
    EXPECT_EQ(f.answered.back().first, "page");
    EXPECT_EQ(f.api.handle(get("/v1/nope"), t0).status, 404);
    EXPECT_EQ(f.api.handle(get("/../etc/passwd"), t0).status, 404);
}

// --- the drivers publish every view, in order

views::view member_view(std::uint64_t id, std::vector<member_id> ids) {
    views::view v;
    v.id = view_id(id);
    for (const auto m : ids) {
        views::member x;
        x.id = m;
        x.name = "m" + std::to_string(m.value());
        x.incarnation = incarnation_number(1);
        v.members.push_back(x);
    }
    v.leader = ids.empty() ? member_id() : ids.front();
    v.fencing_token = view_id(1);
    return v;
}

TEST(http_board, a_member_driver_publishes_every_view_of_one_step_in_order) {
    log_capture log;
    metrics m{"roster", "m1", false, 1000};
    const options o{.name = "m1", .join = {{"127.0.0.1", 7400}}};
    member_driver d{make_member_config(o, incarnation_number(100)).value(), mono_time(), log.logger, m};
    d.describe_voters(o.join, {voter_id(1)}, 8.0);
    const auto syncs = [&] {
        std::vector<views::sync_request> r;
        for (const auto& [e, b] : d.take_output().to_endpoints) {
            if (const auto* x = std::get_if<views::sync_request>(&b)) {
                r.push_back(*x);
            }
        }
        return r;
    };
    auto first = syncs();
    ASSERT_EQ(first.size(), 1u);
    d.on_endpoint_reply(0, views::sync_reply{first[0].request_id, view_id(6), {}, member_view(6, {member_id(1)})},
                        mono_time());
    d.after_step(mono_time());
    ASSERT_TRUE(m.board().current());
    EXPECT_EQ(m.board().current()->id, view_id(6));

    // Three changes arrive in one reply, and so go out in one loop turn.
    d.on_published(views::view_change{view_id(8), {}, {}, member_id(1), view_id(1)}, mono_time(10ms));
    d.tick(mono_time(10ms));
    auto more = syncs();
    ASSERT_EQ(more.size(), 1u) << "the gap is filled by a sync";
    std::vector<views::view_change> changes;
    for (std::uint64_t id = 7; id <= 9; ++id) {
        views::member joined;
        joined.id = member_id(id);
        joined.name = "m" + std::to_string(id);
        joined.incarnation = incarnation_number(1);
        changes.push_back({view_id(id), {joined}, {}, member_id(1), view_id(1)});
    }
    d.on_endpoint_reply(0, views::sync_reply{more[0].request_id, view_id(9), changes, std::nullopt}, mono_time(11ms));
    d.after_step(mono_time(11ms));
    const auto h = m.board().after(view_id(6), 100, 1u << 20);
    ASSERT_EQ(h.views.size(), 3u);
    EXPECT_FALSE(h.resync);
    for (std::size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(h.views[i].id, view_id(7 + i));
    }
    EXPECT_NE(h.views[2].json->find("\"name\": \"m9\""), std::string::npos) << *h.views[2].json;
    const auto status = m.board().status();
    ASSERT_TRUE(status);
    EXPECT_NE(status->find("\"role\": \"member\""), std::string::npos) << *status;
    EXPECT_NE(status->find("\"voters\": [{\"voter_id\": 1, \"name\": null, \"role\": \"unknown\""),
              std::string::npos)
        << *status;
}

TEST(http_board, a_voter_driver_publishes_its_views_status_and_detector_table) {
    log_capture log;
    metrics m{"roster", "v1", true, 1000};
    const options o{.name = "v1", .voter = voter_id(1), .voters = {{voter_id(1), {"127.0.0.1", 7401}}}};
    consensus::memory_storage disk;
    voter_driver d(make_voter_config(o, incarnation_number(1)).value(), prng(1), {}, mono_time(), log.logger, m);
    (void)m.board().detector(std::chrono::steady_clock::now()); // someone asked
    for (int ms = 1; ms <= 500; ++ms) {
        d.tick(mono_time(std::chrono::milliseconds(ms)));
        for (const auto& rd : d.take_output().persist) {
            EXPECT_FALSE(disk.save(rd));
        }
        d.after_step(mono_time(std::chrono::milliseconds(ms)));
    }
    ASSERT_TRUE(m.board().current());
    EXPECT_EQ(m.board().current()->id, d.node().view().id);
    EXPECT_EQ(*m.board().current()->json, client::view_json(d.node().view()));
    const auto status = m.board().status();
    ASSERT_TRUE(status);
    EXPECT_NE(status->find("\"voters\": [{\"voter_id\": 1, \"name\": \"v1\", \"role\": \"leader\""),
              std::string::npos)
        << *status;
    const auto table = m.board().detector(std::chrono::steady_clock::now());
    ASSERT_TRUE(table.json);
    EXPECT_EQ(*table.json, "{\"voter_id\": 1, \"phi_threshold\": 8, \"heartbeat_interval_ms\": 50, \"members\": []}")
        << "a voter does not watch itself";
}

// Unauthenticated on loopback: a page elsewhere must not read the API through a DNS name rebound
// to 127.0.0.1, so only loopback Host names are answered.
TEST(http_api, on_loopback_without_auth_only_loopback_host_names_are_answered) {
    http_api::settings s;
    s.loopback_hosts_only = true;
    fixture f(true, s);
    f.views_up_to(1);
    auto with_host = [&](std::string host) {
        http_request q = get("/v1/members");
        q.headers.emplace_back("Host", std::move(host));
        return f.api.handle(q, t0);
    };
    for (const char* ok : {"localhost", "LOCALHOST:7403", "127.0.0.1", "127.0.0.1:7403", "127.1.2.3:80", "[::1]:7403",
                           "[::1]"}) {
        EXPECT_EQ(with_host(ok).status, 200) << ok;
    }
    for (const char* bad : {"evil.example", "evil.example:7403", "127.0.0.1.evil.example", "128.0.0.1", "127.0.0",
                            "127.0.0.256", "[::2]:7403", "[::1]x", "", "localhost.evil"}) {
        const auto r = with_host(bad);
        EXPECT_EQ(r.status, 403) << bad;
        EXPECT_NE(r.content().find("refused"), std::string::npos) << bad;
    }
    EXPECT_EQ(f.api.handle(get("/v1/members"), t0).status, 403) << "no Host at all";

    fixture open; // not on loopback, or with basic auth: any Host
    open.views_up_to(1);
    http_request q = get("/v1/members");
    q.headers.emplace_back("Host", "roster-1.internal:7403");
    EXPECT_EQ(open.api.handle(q, t0).status, 200);
}


} // namespace
} // namespace roster::daemon
