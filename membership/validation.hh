#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/strong_value.hh"
#include "membership/command.hh"
#include "membership/messages.hh"
#include "views/view.hh"

// What a member may put into the views, whoever it is: bounds that hold even for an authorized
// member, so that a bug or a stolen key can only affect its own entry, never the size of every
// view, every log line or every terminal that shows it.
//
// Checked where a voter receives a join or leave (the reply is `rejected`, with the reason as
// `error`), and again where a committed command is applied, so that an entry that breaks them is
// refused alike on every voter (replicated_membership). The reasons name the field and the bound,
// never quote the offending bytes, so they are safe to send back, log and print.
namespace roster::membership {

inline constexpr std::size_t max_name_bytes = 255;      // names: 1..255 bytes of text
inline constexpr std::size_t max_tags = 32;             // tags per member
inline constexpr std::size_t max_tag_key_bytes = 64;    // tag keys: 1..64 bytes of text
inline constexpr std::size_t max_tag_value_bytes = 256; // tag values: 0..256 bytes of text
inline constexpr std::size_t max_endpoint_bytes = 255;  // address, publish endpoint: printable ASCII
// Incarnations: 1..2^63. The top half stays free, so that a member can always go past the
// incarnation it last used (it adds one on a stale join) without wrapping to 0.
inline constexpr incarnation_number max_incarnation{std::uint64_t{1} << 63};

// Why `name` cannot be a member name (empty, too long, invalid UTF-8, a control character), or
// nothing. "Text" here: valid UTF-8 without C0, DEL or C1 control characters.
[[nodiscard]] std::optional<std::string> check_name(std::string_view name);
// Why `inc` is outside 1..max_incarnation, or nothing.
[[nodiscard]] std::optional<std::string> check_incarnation(incarnation_number inc);
// Why these tags break the bounds, or nothing.
[[nodiscard]] std::optional<std::string> check_tags(const std::vector<views::tag>& tags);
// Why `endpoint` (`what` names it: "address", "publish endpoint") is too long or not printable
// ASCII, or nothing. Empty is allowed.
[[nodiscard]] std::optional<std::string> check_endpoint(std::string_view what, std::string_view endpoint);

// The checks of a join on anything that has its fields (`name`, `address`, `publish_endpoint`,
// `incarnation`, `tags`): requests, ops, and the configurations a node joins with.
template <typename Join>
[[nodiscard]] std::optional<std::string> check_join_fields(const Join& j) {
    if (auto bad = check_name(j.name)) {
        return bad;
    }
    if (auto bad = check_incarnation(j.incarnation)) {
        return bad;
    }
    if (auto bad = check_endpoint("the address", j.address)) {
        return bad;
    }
    if (auto bad = check_endpoint("the publish endpoint", j.publish_endpoint)) {
        return bad;
    }
    return check_tags(j.tags);
}

// Why a join request (or the join op made of it) breaks the bounds above, or carries a key that is
// neither 32 bytes nor empty, or nothing.
[[nodiscard]] std::optional<std::string> validate(const join_request& q);
[[nodiscard]] std::optional<std::string> validate(const join_op& j);
// Why a leave request names an incarnation no member can have, or nothing.
[[nodiscard]] std::optional<std::string> validate(const leave_request& q);
// Why an operator's removal names no member, or two ways at once, or a name beyond the bounds, or
// nothing.
[[nodiscard]] std::optional<std::string> validate(const remove_request& q);
// Why a command carries a join no voter would have accepted (the first such op, by position), or
// nothing. Leaves and removals act only on a member with a matching incarnation, so they cannot
// break a bound and are not checked.
[[nodiscard]] std::optional<std::string> validate(const command& c);

} // namespace roster::membership
