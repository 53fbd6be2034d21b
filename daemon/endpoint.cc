#include "daemon/endpoint.hh"

#include <algorithm>
#include <cerrno>
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

} // namespace

result<endpoint, std::string> parse_endpoint(std::string_view text) { return parse_host_port(text); }

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
        auto e = parse_voter_endpoint(part, !id_optional);
        if (!e) {
            return e.error();
        }
        const voter_id id = e->voter;
        if (id != voter_id() &&
            std::any_of(out.begin(), out.end(), [&](const auto& v) { return v.first == id; })) {
            return fmt::format("voter id {} appears twice", id);
        }
        out.emplace_back(id, e->where);
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
