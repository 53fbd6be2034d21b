#include "daemon/metrics_auth.hh"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <set>
#include <sys/stat.h>

#include <fmt/format.h>

namespace roster::daemon {

namespace {

constexpr std::size_t max_user_bytes = 255;
constexpr std::size_t max_password_bytes = 1024;

bool is_control(unsigned char c) { return c < 0x20 || c == 0x7f; }

// What is wrong with one `user:password` line, or empty.
std::string check_line(std::string_view line, std::string_view& user, std::string_view& password) {
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) {
        return "no colon; each line is user:password";
    }
    user = line.substr(0, colon);
    password = line.substr(colon + 1);
    if (user.empty()) {
        return "the user name is empty";
    }
    if (user.size() > max_user_bytes) {
        return fmt::format("the user name is longer than {} bytes", max_user_bytes);
    }
    if (!std::all_of(user.begin(), user.end(), [](char c) { return c > ' ' && c < 0x7f; })) {
        return "the user name may hold printable ASCII only, without spaces";
    }
    if (password.empty()) {
        return "the password is empty";
    }
    if (password.size() > max_password_bytes) {
        return fmt::format("the password is longer than {} bytes", max_password_bytes);
    }
    if (std::any_of(password.begin(), password.end(),
                    [](char c) { return is_control(static_cast<unsigned char>(c)); })) {
        return "the password holds a control character (a tab, or a stray carriage return?)";
    }
    if (password.front() == ' ' || password.back() == ' ') {
        return "the password begins or ends with a space (a space after the colon is taken as "
               "part of the password)";
    }
    return {};
}

} // namespace

bool constant_time_equal(std::string_view given, std::string_view secret) {
    // Runs over the client's bytes only; a length mismatch is folded in without a branch. The
    // accumulator is volatile so that the compiler cannot leave the loop at the first difference.
    volatile unsigned char diff = given.size() == secret.size() ? 0 : 1;
    const std::size_t n = secret.size();
    for (std::size_t i = 0; i < given.size(); ++i) {
        const unsigned char s = n == 0 ? 0 : static_cast<unsigned char>(secret[i % n]);
        diff = static_cast<unsigned char>(diff | (static_cast<unsigned char>(given[i]) ^ s));
    }
    return diff == 0;
}

result<metrics_auth, std::string> metrics_auth::parse(std::string_view text, const std::string& path) {
    metrics_auth auth;
    std::set<std::string_view> seen;
    std::size_t number = 0;
    while (!text.empty()) {
        const auto end = text.find('\n');
        std::string_view line = text.substr(0, end);
        text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
        ++number;
        if (!line.empty() && line.back() == '\r') {
            line.remove_suffix(1);
        }
        const auto first = line.find_first_not_of(" \t");
        if (first == std::string_view::npos || line[first] == '#') {
            continue;
        }
        std::string_view user, password;
        if (auto why = check_line(line, user, password); !why.empty()) {
            return fmt::format("--metrics-auth-file {}, line {}: {}", path, number, why);
        }
        if (!seen.insert(user).second) {
            return fmt::format("--metrics-auth-file {}, line {}: user '{}' appears twice", path, number,
                               user);
        }
        auth._users.emplace_back(user, password);
    }
    if (auth._users.empty()) {
        return fmt::format("--metrics-auth-file {}: no user:password line (nobody could read /metrics)",
                           path);
    }
    return auth;
}

result<metrics_auth, std::string> metrics_auth::load(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        return fmt::format("--metrics-auth-file {}: {}", path, std::strerror(errno));
    }
    if (!S_ISREG(st.st_mode)) {
        return fmt::format("--metrics-auth-file {}: not a regular file", path);
    }
    if ((st.st_mode & 077) != 0) {
        return fmt::format("--metrics-auth-file {}: mode {:04o}, must not be readable by others (chmod 600)",
                           path, st.st_mode & 07777);
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return fmt::format("--metrics-auth-file {}: cannot open: {}", path, std::strerror(errno));
    }
    const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    if (in.bad()) {
        return fmt::format("--metrics-auth-file {}: cannot read", path);
    }
    return parse(text, path);
}

bool metrics_auth::allows(std::string_view user, std::string_view password) const {
    bool found = false;
    for (const auto& [u, p] : _users) {
        // Both comparisons run for every entry (no && short-circuit), and the loop never stops early.
        const bool same_user = constant_time_equal(user, u);
        const bool same_password = constant_time_equal(password, p);
        found |= same_user & same_password;
    }
    return found;
}

} // namespace roster::daemon
