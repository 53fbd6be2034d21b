#pragma once

// Leaders among the members that carry a tag, for applications that elect a leader per role
// (`rosterd --tag role=scheduler`; examples/leader_election --tag role=scheduler).
//
// The view's own leader (views::view::leader) is the lowest member id of the whole view, and its
// fencing token (views::view::fencing_token) is exact: the view id at which it became leader,
// the same for every observer. For a group, the server keeps no token, so each observer takes
//
//     the id of the first view in which it saw that member lead the group.
//
// That is enough for fencing: view ids only grow, and a member that leaves and comes back has a
// new id, so the views in which one member leads the group form one contiguous range of view ids
// (an epoch), and every view of a later epoch has a larger id than every view of an earlier one.
// Whatever view of its epoch an observer first saw, the token it takes lies in that epoch: a later
// leader's token, from any observer, is larger than an earlier leader's, from any observer. (Two
// observers of the same leader may hold different tokens; both lie in the same epoch.) After a gap
// in the views (a delivery with `resync`), the tracker starts a new epoch at the view it got,
// because the leader may have changed and changed back in the views it did not see: a token from
// before the gap could be lower than that of a leader in between.

#include <optional>
#include <string>

#include "common/strong_value.hh"
#include "views/view.hh"

namespace roster::client {

// Which members form the group: those with a tag `key` of value `value`. An empty key: every member
// (the whole view).
struct group {
    std::string key;
    std::string value;

    // "role=scheduler" -> {role, scheduler} (the value may hold '='; an empty key is refused).
    [[nodiscard]] static std::optional<group> parse(const std::string& key_value);
    [[nodiscard]] bool contains(const views::member& m) const;

    bool operator==(const group&) const = default;
};

// The member of `v` with the lowest id among those in `g` (null when none is).
[[nodiscard]] const views::member* group_leader(const views::view& v, const group& g);

// One observer's view of a group's leader and its fencing token, fed every delivered view in order.
class group_leader_tracker {
public:
    explicit group_leader_tracker(group g)
        : _group(std::move(g)) {}

    struct leadership {
        member_id leader;   // 0: the group has no member
        view_id token;      // the first view in which this observer saw `leader` lead (0: none)
        bool changed = false; // the leader differs from the one before this view

        bool operator==(const leadership&) const = default;
    };

    // Takes the next delivered view. `resync`: the views in between were not seen (a delivery's
    // flag). For the whole view (an empty group key) the token is the view's own fencing token.
    leadership observe(const views::view& v, bool resync = false);

    [[nodiscard]] const leadership& current() const noexcept { return _current; }
    [[nodiscard]] const group& of() const noexcept { return _group; }

private:
    group _group;
    leadership _current;
};

} // namespace roster::client
