#pragma once

#include <cstdint>
#include <cstring>
#include <iterator>
#include <optional>
#include <vector>

#include <zmq.hpp>
#include <zmq_addon.hpp>

namespace roster::auth {

// What a socket monitor (zmq_socket_monitor) reports: the event and its value (for a failed
// handshake, the ZMTP protocol error or the ZAP status code).
struct monitor_event {
    std::uint16_t event = 0;
    std::uint32_t value = 0;
};

// The next event on the PAIR socket connected to a monitor, without waiting; nothing when none
// is left. A malformed event (libzmq never sends one) is skipped.
inline std::optional<monitor_event> next_monitor_event(zmq::socket_t& monitor) {
    while (true) {
        std::vector<zmq::message_t> parts;
        if (!zmq::recv_multipart(monitor, std::back_inserter(parts), zmq::recv_flags::dontwait)) {
            return std::nullopt;
        }
        if (parts.empty() || parts[0].size() < 6) {
            continue;
        }
        monitor_event e;
        std::memcpy(&e.event, parts[0].data(), sizeof e.event);
        std::memcpy(&e.value, static_cast<const char*>(parts[0].data()) + 2, sizeof e.value);
        return e;
    }
}

// Why a CURVE handshake failed, as the metrics name it (roster_handshakes_failed_total{reason}).
enum class handshake_failure : std::uint8_t {
    unauthorized_key,   // the server's ZAP handler refused the client's key
    mechanism_mismatch, // one side runs CURVE, the other plaintext
    cryptographic,      // the client expected another server key
    protocol,           // anything else (a plaintext client often ends here: it hung up first)
};

// The handshake failure an event reports; nothing for other events.
[[nodiscard]] inline std::optional<handshake_failure> handshake_failure_of(const monitor_event& e) {
    switch (e.event) {
    case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
        return handshake_failure::unauthorized_key;
    case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
    case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
        if (e.value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH) {
            return handshake_failure::mechanism_mismatch;
        }
        if (e.value == ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC) {
            return handshake_failure::cryptographic;
        }
        return handshake_failure::protocol;
    default:
        return std::nullopt;
    }
}

// The events to monitor for handshake failures.
inline constexpr int handshake_failure_events = ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                                                ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                                                ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;

[[nodiscard]] constexpr const char* to_string(handshake_failure f) noexcept {
    switch (f) {
    case handshake_failure::unauthorized_key:
        return "unauthorized_key";
    case handshake_failure::mechanism_mismatch:
        return "mechanism_mismatch";
    case handshake_failure::cryptographic:
        return "cryptographic";
    case handshake_failure::protocol:
        return "protocol";
    }
    return "protocol";
}

} // namespace roster::auth
