#include "daemon/endpoint.hh"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

#include <fmt/format.h>

namespace roster::daemon {

namespace {

std::vector<std::string_view> split(std::string_view text, char sep) {
    std::vector<std::string_view> out;
    std::size_t start = 0;
    while (true) {
        const auto at = text.find(sep, start);
        out.push_back(text.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
        if (at == std::string_view::npos) {
            return out;
        }
        start = at + 1;
    }
}

bool host_ok(std::string_view host) {
    return !host.empty() && std::all_of(host.begin(), host.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
               c == '-' || c == '_' || c == '*';
    });
}

} // namespace

result<endpoint, std::string> parse_endpoint(std::string_view text) {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) {
        return fmt::format("'{}' is not HOST:PORT (no port)", text);
    }
    const auto host = text.substr(0, colon);
    const auto port_text = text.substr(colon + 1);
    if (!host_ok(host)) {
        return fmt::format("'{}' is not HOST:PORT (bad host '{}')", text, host);
    }
    unsigned port = 0;
    const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || port == 0 || port > 65535) {
        return fmt::format("'{}' is not HOST:PORT (port must be 1..65535)", text);
    }
    return endpoint{std::string(host), static_cast<std::uint16_t>(port)};
}

result<std::vector<endpoint>, std::string> parse_endpoints(std::string_view text) {
    std::vector<endpoint> out;
    for (auto part : split(text, ',')) {
        auto e = parse_endpoint(part);
        if (!e) {
            return e.error();
        }
        out.push_back(e.value());
    }
    return out;
}

namespace {

// "ID@HOST:PORT" items; without '@', the voter is 0 when `id_optional`, else an error.
result<std::vector<std::pair<voter_id, endpoint>>, std::string> parse_named(std::string_view text,
                                                                            bool id_optional) {
    std::vector<std::pair<voter_id, endpoint>> out;
    for (auto part : split(text, ',')) {
        const auto at = part.find('@');
        if (at == std::string_view::npos) {
            if (!id_optional) {
                return fmt::format("'{}' is not ID@HOST:PORT", part);
            }
            auto e = parse_endpoint(part);
            if (!e) {
                return e.error();
            }
            out.emplace_back(voter_id(), e.value());
            continue;
        }
        unsigned id = 0;
        const auto id_text = part.substr(0, at);
        const auto [end, ec] = std::from_chars(id_text.data(), id_text.data() + id_text.size(), id);
        if (ec != std::errc() || end != id_text.data() + id_text.size() || id == 0) {
            return fmt::format("'{}': the voter id must be a number from 1", part);
        }
        auto e = parse_endpoint(part.substr(at + 1));
        if (!e) {
            return e.error();
        }
        if (std::any_of(out.begin(), out.end(), [&](const auto& v) { return v.first == voter_id(id); })) {
            return fmt::format("voter id {} appears twice", id);
        }
        out.emplace_back(voter_id(id), e.value());
    }
    for (std::size_t i = 0; i < out.size(); ++i) {
        for (std::size_t j = i + 1; j < out.size(); ++j) {
            if (out[i].second != out[j].second) {
                continue;
            }
            if (out[i].first == voter_id() || out[j].first == voter_id()) {
                return fmt::format("{} appears twice", out[i].second.text());
            }
            return fmt::format("voters {} and {} are both at {}; each voter needs its own endpoint",
                               out[i].first, out[j].first, out[i].second.text());
        }
    }
    return out;
}

} // namespace

result<std::vector<std::pair<voter_id, endpoint>>, std::string> parse_voters(std::string_view text) {
    auto out = parse_named(text, false);
    if (out) {
        std::sort(out->begin(), out->end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    }
    return out;
}

result<std::vector<std::pair<voter_id, endpoint>>, std::string> parse_join(std::string_view text) {
    return parse_named(text, true);
}

bool is_loopback(const endpoint& e) {
    return e.host == "localhost" || e.host == "::1" || e.host.rfind("127.", 0) == 0;
}

bool overlaps(const endpoint& a, const endpoint& b) {
    auto wildcard = [](const endpoint& e) { return e.host == "*" || e.host == "0.0.0.0"; };
    return a.port == b.port && (a.host == b.host || wildcard(a) || wildcard(b));
}

std::string bind_error(std::string_view flag, const endpoint& e, int error_number) {
    if (error_number == EADDRINUSE) {
        return fmt::format("{} {}: address in use (another process listens on that port)", flag, e.text());
    }
    return fmt::format("{} {}: cannot listen: {}", flag, e.text(), std::strerror(error_number));
}

} // namespace roster::daemon
