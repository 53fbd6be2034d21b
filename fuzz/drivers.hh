#pragma once

// A voter or a member as rosterd runs it (daemon/runtime.cc): its driver built from options by
// daemon/node_configs, a logger, metrics, and the poll loop's part of the transport: deliver a
// decoded envelope, tick, persist the output, after_step. The transport's decode is reproduced
// by decode_frame() (wire::decode, then the cluster check, as daemon/transport.cc does).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "common/invariant.hh"
#include "consensus/memory_storage.hh"
#include "daemon/member_driver.hh"
#include "daemon/metrics.hh"
#include "daemon/node_configs.hh"
#include "daemon/options.hh"
#include "daemon/voter_driver.hh"
#include "fuzz/harness.hh"
#include "tests/daemon/log_capture.hh"
#include "wire/codec.hh"

namespace roster::fuzz {

inline constexpr const char* cluster = "roster";

// What transport::decode passes on: a decoded envelope of this cluster, or nothing. Anything the
// decoder accepts must be stable through encoding (decode_stable).
inline std::optional<wire::envelope> decode_frame(bytes_view frame) {
    auto decoded = decode_stable(frame, wire::decode, wire::encode, "envelope");
    if (decoded && decoded->cluster != cluster) {
        return std::nullopt;
    }
    return decoded;
}

// `deliver(i, envelope)` for each part of the input (split) that decode_frame passes on, in order;
// `i` counts every part, the refused ones too.
template <typename Deliver>
void for_each_envelope(const std::uint8_t* data, std::size_t size, Deliver deliver) {
    const auto parts = split(data, size);
    for (std::size_t i = 0; i < parts.size(); ++i) {
        if (const auto env = decode_frame(parts[i])) {
            deliver(i, *env);
        }
    }
}

inline mono_time at_ms(std::int64_t ms) { return mono_time(std::chrono::milliseconds(ms)); }

inline daemon::endpoint local(std::uint16_t port) { return {"127.0.0.1", port}; }

// Voter 1 of `voters` voters (1 or 3), as `rosterd --voter-id 1 --voters ...` makes it.
inline daemon::options voter_options(int voters) {
    daemon::options o;
    o.name = "v1";
    o.data_dir = "/nonexistent";
    o.cluster = cluster;
    o.voter = voter_id(1);
    for (int i = 1; i <= voters; ++i) {
        o.voters.emplace_back(voter_id(static_cast<std::uint32_t>(i)),
                              local(static_cast<std::uint16_t>(7391 + 10 * i)));
    }
    o.peer_listen = o.voters.front().second;
    return o;
}

// A member joining through three voters, as `rosterd --join 1@...,2@...,3@...` makes it.
inline daemon::options member_options() {
    daemon::options o;
    o.name = "m1";
    o.cluster = cluster;
    o.listen = local(7500);
    o.publish = local(7502);
    for (std::uint32_t i = 1; i <= 3; ++i) {
        o.join.push_back(local(static_cast<std::uint16_t>(7390 + 10 * i)));
        o.join_voters.push_back(voter_id(i));
    }
    return o;
}

template <typename Config>
Config valid(result<Config, std::string> c) {
    if (!c) {
        invariant_broken("fuzz", "the fixed options do not make a node: {}", c.error());
    }
    return std::move(c).value();
}

// One driver and what the poll loop around it does. `Driver` is daemon::voter_driver or
// daemon::member_driver.
template <typename Driver>
class loop {
public:
    // A voter (recovering `recovered`) of `o`.
    loop(const daemon::options& o, consensus::persisted_state recovered,
         consensus::storage* durable = nullptr) requires std::same_as<Driver, daemon::voter_driver>
        : _metrics(o.cluster, o.name, true, o.metrics_member_limit),
          _durable(durable != nullptr ? durable : &_memory),
          _driver(valid(daemon::make_voter_config(o, incarnation_number(1))), prng(1), std::move(recovered),
                  at_ms(0), _log.logger, _metrics) {}
    // A member of `o`.
    explicit loop(const daemon::options& o) requires std::same_as<Driver, daemon::member_driver>
        : _metrics(o.cluster, o.name, false, o.metrics_member_limit),
          _durable(&_memory),
          _driver(valid(daemon::make_member_config(o, incarnation_number(1))), at_ms(0), _log.logger,
                  _metrics) {}

    Driver& driver() { return _driver; }
    [[nodiscard]] mono_time now() const { return at_ms(_now_ms); }

    // The poll loop for `ms` milliseconds, a turn every 10 ms. False when storage failed (the
    // daemon stops then).
    bool run(int ms) {
        for (const int until = _now_ms + ms; _now_ms < until;) {
            _now_ms += 10;
            _driver.tick(now());
            if (!step()) {
                return false;
            }
        }
        return true;
    }

    // A message was handed to the driver: step(), then `ms` of the poll loop.
    bool delivered(int ms = 20) { return step() && run(ms); }

    // What transport::carry_out does with the output (the sends go nowhere) and after_step.
    bool step() {
        node::output out = _driver.take_output();
        for (const auto& rd : out.persist) {
            if (_durable->save(rd)) {
                return false;
            }
        }
        _driver.after_step(now());
        _log.lines.str({});
        return true;
    }

private:
    daemon::log_capture _log{spdlog::level::debug}; // every level: each line is formatted
    daemon::metrics _metrics;
    consensus::memory_storage _memory;
    consensus::storage* _durable;
    Driver _driver;
    std::int64_t _now_ms = 0;
};

} // namespace roster::fuzz
