#include "membership/validation.hh"

#include <fmt/format.h>

#include "common/escape.hh"

namespace roster::membership {

namespace {

// `what` ("the name", "tag 3's key") as text of min..max bytes.
std::optional<std::string> check_text(std::string_view what, std::string_view s, std::size_t min,
                                      std::size_t max) {
    if (s.size() < min) {
        return fmt::format("{} is empty", what);
    }
    if (s.size() > max) {
        return fmt::format("{} is {} bytes, at most {}", what, s.size(), max);
    }
    if (auto flaw = find_text_flaw(s)) {
        return fmt::format("{} has {}", what, flaw->describe());
    }
    return std::nullopt;
}

} // namespace

std::optional<std::string> check_name(std::string_view name) {
    return check_text("the name", name, 1, max_name_bytes);
}

std::optional<std::string> check_incarnation(incarnation_number inc) {
    if (inc < incarnation_number(1) || inc > max_incarnation) {
        return fmt::format("incarnation {} is outside 1..{}", inc, max_incarnation);
    }
    return std::nullopt;
}

std::optional<std::string> check_tags(const std::vector<views::tag>& tags) {
    if (tags.size() > max_tags) {
        return fmt::format("{} tags, at most {}", tags.size(), max_tags);
    }
    for (std::size_t i = 0; i < tags.size(); ++i) {
        if (auto bad =
                check_text(fmt::format("the key of tag {}", i + 1), tags[i].key, 1, max_tag_key_bytes)) {
            return bad;
        }
        if (auto bad = check_text(fmt::format("the value of tag {}", i + 1), tags[i].value, 0,
                                  max_tag_value_bytes)) {
            return bad;
        }
    }
    return std::nullopt;
}

std::optional<std::string> check_endpoint(std::string_view what, std::string_view endpoint) {
    if (endpoint.size() > max_endpoint_bytes) {
        return fmt::format("{} is {} bytes, at most {}", what, endpoint.size(), max_endpoint_bytes);
    }
    for (std::size_t i = 0; i < endpoint.size(); ++i) {
        const auto c = static_cast<unsigned char>(endpoint[i]);
        if (c < 0x20 || c > 0x7e) {
            return fmt::format("{} has byte 0x{:02x} at {}, not printable ASCII", what,
                               static_cast<unsigned>(c), i);
        }
    }
    return std::nullopt;
}

namespace {

// A CURVE public key as the voters record it: 32 bytes, or none on an insecure cluster.
std::optional<std::string> check_key(const std::string& key) {
    if (!key.empty() && key.size() != 32) {
        return fmt::format("the key is {} bytes, not 32", key.size());
    }
    return std::nullopt;
}

} // namespace

std::optional<std::string> validate(const join_request& q) {
    if (auto bad = check_join_fields(q)) {
        return bad;
    }
    return check_key(q.key);
}

std::optional<std::string> validate(const join_op& j) {
    if (auto bad = check_join_fields(j)) {
        return bad;
    }
    return check_key(j.key);
}

std::optional<std::string> validate(const leave_request& q) { return check_incarnation(q.incarnation); }

std::optional<std::string> validate(const remove_request& q) {
    if (q.member != member_id() && !q.name.empty()) {
        return std::string("a removal names a member by id or by name, not both");
    }
    if (q.member == member_id()) {
        if (q.name.empty()) {
            return std::string("a removal needs a member id or a name");
        }
        return check_name(q.name);
    }
    return std::nullopt;
}

std::optional<std::string> validate(const command& c) {
    for (std::size_t i = 0; i < c.ops.size(); ++i) {
        if (const auto* j = std::get_if<join_op>(&c.ops[i])) {
            if (auto bad = validate(*j)) {
                return fmt::format("op {} (a join): {}", i + 1, *bad);
            }
        }
    }
    return std::nullopt;
}

} // namespace roster::membership
