#pragma once

#include <limits>
#include <optional>
#include <type_traits>

#include "consensus/message.hh"
#include "membership/messages.hh"
#include "roster_generated.h"
#include "views/messages.hh"
#include "views/view.hh"
#include "wire/messages.hh"

// Private to wire/. Every enum that crosses the wire, paired with its namesake in roster.fbs.
//
// The codec converts enums by value, a cast each way (range-checked on decode), which is right only
// while every C++ enumerator has the value of its schema counterpart. A reordering on either side
// would still pass every round-trip test, and break every client in another language. So:
//   - `schema_enumerator` pairs the enumerators by name, in a switch that must name every C++
//     enumerator (-Wswitch is an error here): one added in C++ alone does not compile;
//   - `matches_schema` proves, at compile time, that each pair agrees by value and that the schema
//     enum holds exactly the values 0..MAX, each paired: one added, removed or moved in roster.fbs
//     alone does not compile, and the schema's MAX is the last C++ enumerator.
namespace roster::wire::detail {

namespace fb = roster::wire::fb;

#pragma GCC diagnostic push
#pragma GCC diagnostic error "-Wswitch"

constexpr std::optional<fb::RemovalReason> schema_enumerator(views::removal_reason e) {
    switch (e) {
    case views::removal_reason::suspected:
        return fb::RemovalReason::Suspected;
    case views::removal_reason::left:
        return fb::RemovalReason::Left;
    case views::removal_reason::replaced:
        return fb::RemovalReason::Replaced;
    case views::removal_reason::removed_by_operator:
        return fb::RemovalReason::RemovedByOperator;
    }
    return std::nullopt; // a value no enumerator names
}

constexpr std::optional<fb::MemberStatus> schema_enumerator(membership::member_status e) {
    switch (e) {
    case membership::member_status::active:
        return fb::MemberStatus::Active;
    case membership::member_status::unknown:
        return fb::MemberStatus::Unknown;
    case membership::member_status::removed:
        return fb::MemberStatus::Removed;
    }
    return std::nullopt;
}

constexpr std::optional<fb::RequestStatus> schema_enumerator(membership::request_status e) {
    switch (e) {
    case membership::request_status::ok:
        return fb::RequestStatus::Ok;
    case membership::request_status::not_leader:
        return fb::RequestStatus::NotLeader;
    case membership::request_status::unavailable:
        return fb::RequestStatus::Unavailable;
    case membership::request_status::rejected:
        return fb::RequestStatus::Rejected;
    case membership::request_status::not_found:
        return fb::RequestStatus::NotFound;
    }
    return std::nullopt;
}

constexpr std::optional<fb::Role> schema_enumerator(wire::node_role e) {
    switch (e) {
    case wire::node_role::member:
        return fb::Role::Member;
    case wire::node_role::follower:
        return fb::Role::Follower;
    case wire::node_role::pre_candidate:
        return fb::Role::PreCandidate;
    case wire::node_role::candidate:
        return fb::Role::Candidate;
    case wire::node_role::leader:
        return fb::Role::Leader;
    }
    return std::nullopt;
}

constexpr std::optional<fb::NodeEventKind> schema_enumerator(views::node_event::kind e) {
    switch (e) {
    case views::node_event::kind::removed:
        return fb::NodeEventKind::Removed;
    case views::node_event::kind::rejoined:
        return fb::NodeEventKind::Rejoined;
    }
    return std::nullopt;
}

constexpr std::optional<fb::EntryKind> schema_enumerator(consensus::entry_kind e) {
    switch (e) {
    case consensus::entry_kind::normal:
        return fb::EntryKind::Normal;
    case consensus::entry_kind::noop:
        return fb::EntryKind::Noop;
    }
    return std::nullopt;
}

#pragma GCC diagnostic pop

template <typename Cpp, typename Fb>
constexpr bool matches_schema() {
    using rep = std::underlying_type_t<Cpp>;
    static_assert(std::is_same_v<rep, std::underlying_type_t<Fb>>,
                  "a C++ enum must have the width of its schema enum (ubyte)");
    static_assert(std::is_same_v<decltype(schema_enumerator(Cpp{})), std::optional<Fb>>,
                  "the C++ enum is paired with another schema enum");
    if (static_cast<unsigned>(Fb::MIN) != 0) {
        return false;
    }
    // Every value the C++ enum can hold (it has a fixed underlying type, so all of them are valid).
    for (unsigned v = 0; v <= std::numeric_limits<rep>::max(); ++v) {
        const std::optional<Fb> paired = schema_enumerator(static_cast<Cpp>(v));
        const bool in_schema = v <= static_cast<unsigned>(Fb::MAX);
        if (paired.has_value() != in_schema || (paired && static_cast<unsigned>(*paired) != v)) {
            return false;
        }
    }
    return true;
}

static_assert(matches_schema<views::removal_reason, fb::RemovalReason>(),
              "views::removal_reason differs from RemovalReason in wire/roster.fbs");
static_assert(matches_schema<membership::member_status, fb::MemberStatus>(),
              "membership::member_status differs from MemberStatus in wire/roster.fbs");
static_assert(matches_schema<membership::request_status, fb::RequestStatus>(),
              "membership::request_status differs from RequestStatus in wire/roster.fbs");
static_assert(matches_schema<wire::node_role, fb::Role>(),
              "wire::node_role differs from Role in wire/roster.fbs");
static_assert(matches_schema<views::node_event::kind, fb::NodeEventKind>(),
              "views::node_event::kind differs from NodeEventKind in wire/roster.fbs");
static_assert(matches_schema<consensus::entry_kind, fb::EntryKind>(),
              "consensus::entry_kind differs from EntryKind in wire/roster.fbs");

} // namespace roster::wire::detail
