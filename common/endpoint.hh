#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.hh"
#include "common/strong_value.hh"

// The endpoints people type: HOST:PORT, and ID@HOST:PORT for the voter a client or member expects
// there. One parser, so that rosterd, rosterctl and the examples refuse the same input with the
// same words ("'localhost' is not HOST:PORT (no port)").
namespace roster {

// A TCP endpoint: an IPv4 address or a host name, and a port 1..65535.
struct host_port {
    std::string host;
    std::uint16_t port = 0;

    [[nodiscard]] std::string text() const { return host + ":" + std::to_string(port); }
    // For zmq bind/connect.
    [[nodiscard]] std::string zmq() const { return "tcp://" + text(); }
    bool operator==(const host_port&) const = default;
};

// "HOST:PORT" -> host_port, or why not, quoting the text: "'localhost' is not HOST:PORT (no port)",
// "(bad host '')", "(port must be 1..65535)".
result<host_port, std::string> parse_host_port(std::string_view text);

// An endpoint with the voter expected there: "ID@HOST:PORT" (ID from 1), or "HOST:PORT" (voter 0:
// any node).
struct voter_endpoint {
    voter_id voter; // 0: not given
    host_port where;

    bool operator==(const voter_endpoint&) const = default;
};

// "[ID@]HOST:PORT" -> voter_endpoint, or why not, quoting the text ("'x@h:1': the voter id must be
// a number from 1"); without '@' and with `id_required`, "'h:1' is not ID@HOST:PORT".
result<voter_endpoint, std::string> parse_voter_endpoint(std::string_view text, bool id_required = false);

} // namespace roster
