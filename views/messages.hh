#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "common/strong_value.hh"
#include "views/view.hh"

// The messages of the view stream, as plain structs: what a publisher sends to its subscribers
// and how a subscriber catches up. wire/ converts them to and from bytes.
namespace roster::views {

// A whole view, published after a snapshot or a resync (a subscriber holding an older view takes
// it as the current one).
struct full_view {
    views::view view; // the current view, whole

    bool operator==(const full_view&) const = default;
};

// Subscriber -> publisher (the sync endpoint): what did I miss?
struct sync_request {
    std::uint64_t request_id = 0; // chosen by the subscriber, echoed in the reply
    view_id after;                // newest view held (0: none)
    bool full = false;            // ask for the whole current view

    bool operator==(const sync_request&) const = default;
};

// Either `changes` (every view after `after`, in order) or `full`.
struct sync_reply {
    std::uint64_t request_id = 0;     // of the request
    view_id current;                  // the publisher's newest view
    std::vector<view_change> changes; // every change after the request's `after`, in order
    std::optional<view> full;         // the whole current view, when the changes are not held

    bool operator==(const sync_reply&) const = default;
};

// Member -> its local subscribers, on its publish stream: something happened to this node
// itself (it was removed from the views, or it joined again under a new id).
struct node_event {
    enum class kind : std::uint8_t { removed, rejoined };
    kind what = kind::removed;                         // which of the two
    member_id member;                                  // the id that was removed
    member_id new_member;                              // rejoined: the new id
    view_id view;                                      // the view that removed or re-added it
    removal_reason reason = removal_reason::suspected; // removed: why

    bool operator==(const node_event&) const = default;
};

} // namespace roster::views
