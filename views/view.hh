#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/strong_value.hh"

namespace roster::views {

enum class removal_reason : std::uint8_t {
    suspected, // a majority of voters' detectors suspected it
    left,      // it left gracefully
    replaced,  // a newer incarnation under the same name joined
    // an operator removed it (a RemoveRequest from an admin key); the member stays out until its
    // rosterd restarts. On the wire, where a reader of an older version looks, it reads `left`
    // (docs/membership.md, "Operator removal").
    removed_by_operator,
};

struct tag {
    std::string key;
    std::string value;

    bool operator==(const tag&) const = default;
};

// One member as it stands in a view.
struct member {
    member_id id;                   // assigned at join, never reused
    std::string name;               // unique among current members
    std::string address;            // its rosterd --listen endpoint
    std::string publish_endpoint;   // its rosterd --publish endpoint
    incarnation_number incarnation; // chosen by the member process at join
    std::vector<tag> tags;          // free-form labels given at join
    std::string key{};              // CURVE public key that joined it (32 bytes; empty: insecure)
    voter_id voter{};               // the voter whose own entry this is (0: not a voter's)
    view_id joined_view{};          // the view it joined in (0: not known, a view from before 0.2)

    bool operator==(const member&) const = default;
};

struct removal {
    member_id id;
    removal_reason reason = removal_reason::suspected;

    bool operator==(const removal&) const = default;
};

// A numbered membership view.
struct view {
    view_id id;                    // every committed change makes id + 1
    std::vector<member> members;   // sorted by id
    member_id leader;              // lowest member id (0 when empty)
    view_id fencing_token;         // the view id at which `leader` became leader
    std::vector<member_id> joined; // ids that joined in this view (sorted)
    std::vector<removal> removed;  // ids removed in this view, with why (sorted by id)

    bool operator==(const view&) const = default;
};

// What turns view id - 1 into view id.
struct view_change {
    view_id id;                   // the view this change makes
    std::vector<member> joined;   // sorted by id
    std::vector<removal> removed; // sorted by id
    member_id leader;             // leader of the resulting view
    view_id fencing_token;        // its fencing token

    bool operator==(const view_change&) const = default;
};

} // namespace roster::views
