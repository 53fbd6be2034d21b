#pragma once

// Small helpers shared by the benchmark tools: DEALER sockets to rosterd listen endpoints,
// envelopes, and the monotonic clock in nanoseconds (CLOCK_MONOTONIC, comparable across the
// processes of one machine, so that Python orchestrators can match their own time.monotonic()).
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "wire/codec.hh"

namespace roster::bench {

inline std::int64_t mono_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

inline std::vector<std::string> split(const std::string& s, char sep = ',') {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start <= s.size()) {
        const auto at = s.find(sep, start);
        out.push_back(s.substr(start, at == std::string::npos ? std::string::npos : at - start));
        if (at == std::string::npos) {
            break;
        }
        start = at + 1;
    }
    return out;
}

inline zmq::socket_t dealer(zmq::context_t& ctx, const std::string& host_port) {
    zmq::socket_t s(ctx, zmq::socket_type::dealer);
    s.set(zmq::sockopt::linger, 0);
    s.set(zmq::sockopt::sndhwm, 1'000'000);
    s.set(zmq::sockopt::rcvhwm, 1'000'000);
    s.connect("tcp://" + host_port);
    return s;
}

inline bytes envelope(const std::string& cluster, const std::string& name, wire::body b, member_id me = member_id()) {
    wire::envelope e;
    e.cluster = cluster;
    e.from.name = name;
    e.from.member = me;
    e.msg = std::move(b);
    return wire::encode(e);
}

inline std::optional<wire::envelope> open(const zmq::message_t& m) {
    auto d = wire::decode(bytes_view(static_cast<const std::uint8_t*>(m.data()), m.size()));
    if (!d) {
        return std::nullopt;
    }
    return std::move(d).value();
}

} // namespace roster::bench
