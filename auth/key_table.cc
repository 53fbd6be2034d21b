#include "auth/key_table.hh"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include <fmt/format.h>

#include "common/escape.hh"

namespace roster::auth {

namespace {

std::vector<std::string_view> split(std::string_view s, char sep) {
    std::vector<std::string_view> out;
    while (true) {
        const auto at = s.find(sep);
        out.push_back(s.substr(0, at));
        if (at == std::string_view::npos) {
            return out;
        }
        s.remove_prefix(at + 1);
    }
}

std::vector<std::string_view> words(std::string_view s) {
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r')) {
            ++i;
        }
        const std::size_t start = i;
        while (i < s.size() && s[i] != ' ' && s[i] != '\t' && s[i] != '\r') {
            ++i;
        }
        if (i > start) {
            out.push_back(s.substr(start, i - start));
        }
    }
    return out;
}

} // namespace

result<std::map<voter_id, curve_key>, std::string> key_table::parse_voter_keys(std::string_view text) {
    std::map<voter_id, curve_key> out;
    for (std::string_view item : split(text, ',')) {
        const auto eq = item.find('=');
        if (eq == std::string_view::npos) {
            return fmt::format("'{}' is not ID=PUBLIC_KEY", item.substr(0, 60));
        }
        std::uint64_t id = 0;
        const std::string_view id_text = item.substr(0, eq);
        for (char c : id_text) {
            if (c < '0' || c > '9' || id > 1000) {
                return fmt::format("'{}' is not a voter id", id_text.substr(0, 20));
            }
            id = id * 10 + static_cast<std::uint64_t>(c - '0');
        }
        if (id_text.empty() || id == 0) {
            return fmt::format("'{}' is not a voter id (1, 2, ...)", id_text.substr(0, 20));
        }
        auto k = curve_key::from_z85(item.substr(eq + 1));
        if (!k) {
            return fmt::format("the key of voter {}: {}", id, k.error());
        }
        if (!out.emplace(voter_id(id), k.value()).second) {
            return fmt::format("voter {} is given twice", id);
        }
    }
    return out;
}

result<key_table, std::string> key_table::parse_authorized(std::string_view text, const std::string& source) {
    key_table t;
    std::size_t number = 0;
    for (std::string_view line : split(text, '\n')) {
        ++number;
        auto w = words(line);
        if (w.empty() || w[0].front() == '#') {
            continue; // no key starts with '#': Z85 cannot begin a 32-bit group with it
        }
        for (std::size_t i = 1; i < w.size(); ++i) {
            if (w[i].front() == '#') {
                w.resize(i);
                break;
            }
        }
        auto bad = [&](const std::string& why) { return fmt::format("{} line {}: {}", source, number, why); };
        auto k = curve_key::from_z85(w[0]);
        if (!k) {
            return bad("the first word must be a public key: " + k.error());
        }
        grant g;
        if (w.size() == 3 && w[1] == "member") {
            // The name must be one a member may have (membership/validation.hh), or the line could
            // never join; the error never quotes it.
            if (auto flaw = find_text_flaw(w[2])) {
                return bad("the member name has " + flaw->describe());
            }
            if (w[2].size() > 255) {
                return bad("the member name is longer than 255 bytes");
            }
            g = {permission::member, std::string(w[2]), voter_id()};
        } else if (w.size() == 2 && w[1] == "reader") {
            g = {permission::reader, {}, voter_id()};
        } else if (w.size() == 2 && w[1] == "admin") {
            g = {permission::admin, {}, voter_id()};
        } else {
            return bad("expected `PUBLIC_KEY member NAME`, `PUBLIC_KEY reader` or `PUBLIC_KEY admin`");
        }
        if (t.find(k.value()) != nullptr) {
            return bad("this key is already listed on an earlier line");
        }
        t.set(k.value(), std::move(g));
    }
    return t;
}

result<key_table, std::string> key_table::load_authorized(const std::string& path) {
    std::ifstream in(path);
    if (!in) {
        return fmt::format("{}: {}", path, std::strerror(errno));
    }
    std::stringstream text;
    text << in.rdbuf();
    if (in.bad()) {
        return fmt::format("{}: cannot read it", path);
    }
    return parse_authorized(text.str(), path);
}

} // namespace roster::auth
