#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/strong_value.hh"
#include "views/view.hh"

namespace roster::daemon {

using steady_time = std::chrono::steady_clock::time_point;

// What the HTTP API serves (docs/http.md), as immutable snapshots: the node's loop publishes them,
// CivetWeb's worker threads read them. A view is published as a shared immutable views::view (the
// loop copies nothing for the board) and its JSON is rendered at most once, by the first request
// that wants it, on that request's worker thread (the loop never renders a view: 100,000 members
// take some 100 ms); later requests share the rendering. The status and detector documents are
// rendered by the loop (small, and the detector's only while asked for). A request copies shared
// pointers under the lock, never the node's state, so no number of requests makes the loop copy or
// render more.
//
// Writers (add_view, set_status, set_detector, stop) are called from the loop's thread only;
// readers from any thread.
class http_board {
public:
    // One view as the board holds it: its id and view_json (rosterctl members --json).
    struct rendered_view {
        view_id id;
        std::shared_ptr<const std::string> json;
    };

    // How much of the history is retained for /v1/views and /v1/watch resumption: the newest views,
    // at most `ring_views` of them and about `ring_bytes` of memory as estimated_bytes() counts it
    // (the current view always stays).
    struct limits {
        std::size_t ring_views = 1024;
        std::size_t ring_bytes = 64u << 20;
    };

    http_board(bool voter, limits l);
    explicit http_board(bool voter)
        : http_board(voter, limits{}) {}

    // ---- the loop's thread

    // The node's current view is now `v`. When v.id is the next id after the last view added, it
    // joins the retained history; any other id (a resync, a snapshot, the first view) starts the
    // history over from `v`.
    void add_view(std::shared_ptr<const views::view> v);
    void add_view(const views::view& v) { add_view(std::make_shared<const views::view>(v)); }
    // What a view counts for against limits::ring_bytes: about its size in memory, and about the
    // size of its JSON (both are some 200 bytes a member), without walking its members.
    [[nodiscard]] static std::size_t estimated_bytes(const views::view& v) noexcept {
        return 256 + 256 * v.members.size();
    }
    // The /v1/status document (made by http_documents.hh).
    void set_status(std::string json);
    // The /v1/detector document, made at `made`.
    void set_detector(std::string json, steady_time made);
    // Whether /v1/detector was asked for within `detector_interest` before `now`: the loop renders
    // the table only then.
    [[nodiscard]] bool detector_wanted(steady_time now) const;
    // The node is stopping: every wait returns at once and watch streams end.
    void stop();

    // ---- any thread

    [[nodiscard]] bool voter() const noexcept { return _voter; }
    [[nodiscard]] bool stopped() const;
    // The current view (empty before the first committed view).
    [[nodiscard]] std::optional<rendered_view> current() const;
    [[nodiscard]] std::shared_ptr<const std::string> status() const;

    struct detector_table {
        std::shared_ptr<const std::string> json; // null: none made yet
        steady_time made{};
    };
    // The last detector table, and a note that someone asked at `now`.
    [[nodiscard]] detector_table detector(steady_time now);
    // Waits until a table made at or after `fresh_since` is there, stop(), or `until`.
    [[nodiscard]] detector_table wait_detector(steady_time fresh_since, steady_time until);

    // The views after `after`, as /v1/views and /v1/watch hand them out.
    struct history {
        view_id current;                  // the newest view (0: none yet)
        std::vector<rendered_view> views; // in order
        bool resync = false;              // views holds only the current view: `after` is too old
        bool more = false;                // the bounds cut the list: ask again after the last one
    };
    // When the retained views reach back to after + 1: those up to the current one, at most
    // `max_views` and about `max_bytes` of JSON (at least one view). When `after` is older: the
    // current view alone, resync. When after >= current: nothing.
    [[nodiscard]] history after(view_id after, std::size_t max_views, std::size_t max_bytes) const;

    // Blocks until a view newer than `after` is on the board, stop(), or `until`; false unless a
    // newer view is there.
    [[nodiscard]] bool wait_view(view_id after, steady_time until) const;

    // How long after the last /v1/detector request the loop keeps the table fresh.
    static constexpr auto detector_interest = std::chrono::seconds(5);

private:
    bool _voter;
    limits _limits;
    mutable std::mutex _lock;
    mutable std::condition_variable _changed;
    // A retained view, and its JSON once a request has made it.
    struct entry {
        struct rendering {
            std::once_flag once;
            std::string json;
        };
        std::shared_ptr<const views::view> view;
        std::shared_ptr<rendering> json; // shared by every copy of the entry
        std::size_t bytes = 0;           // estimated_bytes(*view)
    };
    // The entry's view and JSON, rendering it (outside the board's lock) if no request has yet.
    [[nodiscard]] static rendered_view render(const entry& e);

    std::deque<entry> _ring; // consecutive ids, ending at the current view
    std::size_t _ring_bytes = 0;
    std::shared_ptr<const std::string> _status;
    detector_table _detector;
    bool _stopped = false;
    // steady_clock ticks of the last /v1/detector request (0: never); read by the loop without the lock.
    std::atomic<steady_time::rep> _detector_asked{0};
};

} // namespace roster::daemon
