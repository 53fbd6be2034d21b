#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "auth/keys.hh"
#include "common/result.hh"
#include "common/strong_value.hh"

namespace roster::auth {

// What an authenticated key may do (docs/security.md).
enum class permission : std::uint8_t {
    reader, // status, views (sync, watch)
    member, // as a reader, plus join as `name` only, and heartbeat for and leave its own entry
    admin,  // as a reader, plus the operator actions (none yet)
    voter,  // consensus traffic as `voter` only, and its own member entry
};

[[nodiscard]] constexpr const char* to_string(permission p) noexcept {
    switch (p) {
    case permission::reader:
        return "reader";
    case permission::member:
        return "member";
    case permission::admin:
        return "admin";
    case permission::voter:
        return "voter";
    }
    return "reader";
}

struct grant {
    permission what = permission::reader;
    std::string name; // member: the one name it may join as
    voter_id voter;   // voter: which one

    bool operator==(const grant&) const = default;
};

// Every key a node accepts and what each may do: the voters' keys (--voter-keys), the lines of
// --authorized-keys, and the node's own key.
class key_table {
public:
    // "1=PUB,2=PUB,3=PUB": every voter's public key, by voter id.
    static result<std::map<voter_id, curve_key>, std::string> parse_voter_keys(std::string_view text);
    // The --authorized-keys format: one key a line, `PUB member NAME`, `PUB reader` or `PUB admin`;
    // a comment starts with a word that starts with `#` (a key may hold a `#`, never start with
    // one); blank lines are ignored. Errors name `source` and the line.
    static result<key_table, std::string> parse_authorized(std::string_view text, const std::string& source);
    static result<key_table, std::string> load_authorized(const std::string& path);

    // Adds (or, for a key already present, replaces) a grant.
    void set(const curve_key& k, grant g) { _grants[k] = std::move(g); }
    [[nodiscard]] const grant* find(const curve_key& k) const {
        auto it = _grants.find(k);
        return it == _grants.end() ? nullptr : &it->second;
    }
    [[nodiscard]] std::size_t size() const noexcept { return _grants.size(); }
    [[nodiscard]] const std::map<curve_key, grant>& grants() const noexcept { return _grants; }

private:
    std::map<curve_key, grant> _grants;
};

} // namespace roster::auth
