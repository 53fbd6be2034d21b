#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.hh"

namespace roster::daemon {

// The users who may read /metrics when rosterd runs with --metrics-auth-file (HTTP basic auth,
// RFC 7617). The file holds one `user:password` line per user; blank lines and lines starting
// with `#` are skipped. The user ends at the first colon (a user name cannot hold one, the
// password can). Passwords are kept in plain text, so the file must be readable by its owner
// only, as --key-file is; a hash such as bcrypt would make every wrong guess cost the daemon
// tens of milliseconds of CPU, which a flood of guesses would turn into a denial of service.
//
// Immutable once loaded; allows() may be called from any thread (the exposer's workers).
class metrics_auth {
public:
    // Reads and checks `path`: its mode has no group or other bits, every line is well formed,
    // no user appears twice, and there is at least one user. The error names the flag, the file
    // and, for a bad line, the line number and what is wrong with it (never the line's text: it
    // may hold a password).
    [[nodiscard]] static result<metrics_auth, std::string> load(const std::string& path);

    // The same checks on the text of a file (`path` only names it in errors); no mode check.
    [[nodiscard]] static result<metrics_auth, std::string> parse(std::string_view text,
                                                                 const std::string& path);

    // Whether `user` and `password` (as the client sent them) match an entry. The time it takes
    // depends on the number of entries and on the lengths of the arguments, never on what the
    // file holds: every entry is compared, and each comparison runs over the client's bytes.
    [[nodiscard]] bool allows(std::string_view user, std::string_view password) const;

    [[nodiscard]] std::size_t size() const { return _users.size(); }

private:
    std::vector<std::pair<std::string, std::string>> _users; // user, password
};

// True when `given` equals `secret`, in a time that depends only on given.size(): the client
// knows what it sent, so the comparison reveals neither the content nor the length of the secret.
[[nodiscard]] bool constant_time_equal(std::string_view given, std::string_view secret);

} // namespace roster::daemon
