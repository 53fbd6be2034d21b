#include "common/endpoint.hh"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

namespace roster {

namespace {

bool host_ok(std::string_view host) {
    return !host.empty() && std::all_of(host.begin(), host.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
               c == '-' || c == '_' || c == '*';
    });
}

} // namespace

result<host_port, std::string> parse_host_port(std::string_view text) {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) {
        return fmt::format("'{}' is not HOST:PORT (no port)", text);
    }
    const auto host = text.substr(0, colon);
    const auto port_text = text.substr(colon + 1);
    if (!host_ok(host)) {
        return fmt::format("'{}' is not HOST:PORT (bad host '{}')", text, host);
    }
    if (port_text.empty()) {
        return fmt::format("'{}' is not HOST:PORT (no port)", text);
    }
    unsigned port = 0;
    const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || port == 0 || port > 65535) {
        return fmt::format("'{}' is not HOST:PORT (port must be 1..65535)", text);
    }
    return host_port{std::string(host), static_cast<std::uint16_t>(port)};
}

result<voter_endpoint, std::string> parse_voter_endpoint(std::string_view text, bool id_required) {
    const auto at = text.find('@');
    if (at == std::string_view::npos) {
        if (id_required) {
            return fmt::format("'{}' is not ID@HOST:PORT", text);
        }
        auto e = parse_host_port(text);
        if (!e) {
            return e.error();
        }
        return voter_endpoint{voter_id(), e.value()};
    }
    unsigned id = 0;
    const auto id_text = text.substr(0, at);
    const auto [end, ec] = std::from_chars(id_text.data(), id_text.data() + id_text.size(), id);
    if (ec != std::errc() || end != id_text.data() + id_text.size() || id == 0) {
        return fmt::format("'{}': the voter id must be a number from 1", text);
    }
    auto e = parse_host_port(text.substr(at + 1));
    if (!e) {
        return fmt::format("'{}': {}", text, e.error());
    }
    return voter_endpoint{voter_id(id), e.value()};
}

} // namespace roster
