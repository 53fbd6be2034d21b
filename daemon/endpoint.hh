#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/endpoint.hh"
#include "common/result.hh"
#include "common/strong_value.hh"

namespace roster::daemon {

// A TCP endpoint (common/endpoint.hh: one parser for rosterd, rosterctl and the examples).
using endpoint = host_port;

// "HOST:PORT" -> endpoint, or a message saying what is wrong with it.
result<endpoint, std::string> parse_endpoint(std::string_view text);
// "HOST:PORT,HOST:PORT,..." (at least one).
result<std::vector<endpoint>, std::string> parse_endpoints(std::string_view text);
// "1@HOST:PORT,2@HOST:PORT,..." -> voters sorted by id; ids unique and at least 1, and no two
// voters on one endpoint.
result<std::vector<std::pair<voter_id, endpoint>>, std::string> parse_voters(std::string_view text);
// --join: "HOST:PORT,..." or "ID@HOST:PORT,..." (each item may name the voter it reaches; 0 when
// it does not), in the order given; no endpoint twice.
result<std::vector<std::pair<voter_id, endpoint>>, std::string> parse_join(std::string_view text);
// Whether `e` can only be reached from this host: 127.0.0.0/8, localhost, ::1.
[[nodiscard]] bool is_loopback(const endpoint& e);
// Whether binding both would collide: the same port on the same host, or on a wildcard host
// ("*", "0.0.0.0") that covers the other.
[[nodiscard]] bool overlaps(const endpoint& a, const endpoint& b);

// The message for a socket that could not be bound, naming its flag: "--listen 127.0.0.1:7400:
// address in use" for EADDRINUSE, else "--listen 10.0.0.9:7400: cannot listen: <strerror>".
[[nodiscard]] std::string bind_error(std::string_view flag, const endpoint& e, int error_number);

} // namespace roster::daemon
