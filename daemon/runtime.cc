#include "daemon/runtime.hh"

#include <csignal>
#include <filesystem>
#include <thread>
#include <unistd.h>

#include <fmt/format.h>

#include "common/prng.hh"
#include "daemon/incarnation.hh"
#include "daemon/member_driver.hh"
#include "daemon/node_configs.hh"
#include "daemon/voter_driver.hh"
#include "daemon/voter_storage.hh"
#include "detector/heartbeat_interval.hh"

namespace roster::daemon {

namespace {

constexpr auto tick_interval = 10ms;
constexpr auto leave_deadline = 5s;

// The start line's account of --tag: ", tags role=scheduler zone=a", or nothing.
std::string describe_tags(const std::vector<views::tag>& tags) {
    std::string out;
    for (const auto& t : tags) {
        out += (out.empty() ? ", tags " : " ") + t.key + "=" + t.value;
    }
    return out;
}

} // namespace

runtime::runtime(const options& o, std::shared_ptr<spdlog::logger> logger)
    : _o(o)
    , _logger(std::move(logger)) {}

runtime::~runtime() = default;

result<std::unique_ptr<runtime>, std::string> runtime::create(const options& o,
                                                              std::shared_ptr<spdlog::logger> logger) {
    std::unique_ptr<runtime> r(new runtime(o, std::move(logger)));
    if (auto err = r->open()) {
        return *err;
    }
    return r;
}

// The steps run in this order, which is the order in which their errors are reported and the
// data dir is touched: signals and the public sockets, metrics, then the role's files, sockets
// and node.
std::optional<std::string> runtime::open() {
    _metrics = std::make_unique<metrics>(_o.cluster, _o.name, _o.is_voter(), _o.metrics_member_limit);
    _metrics->count_tags(_o.metrics_tag_keys);
    auto opened = transport::open(_o, _logger, *_metrics); // first: blocks the signals for every thread
    if (!opened) {
        return opened.error();
    }
    _transport = std::move(opened).value();
    if (_o.secured()) {
        _logger->info("CURVE on every socket: this node's public key is {}; {} keys authorized",
                      _o.key->public_key.z85(), _transport->keys().size());
    } else if (_o.insecure) {
        _logger->warn("--insecure: plaintext without authentication; anyone who can reach this node's ports "
                      "can join, remove or impersonate members (docs/security.md)");
    } else {
        _logger->info(
            "plaintext on loopback only (no --key-file): fine on one machine, see docs/security.md for more");
    }
    if (auto err = _metrics->serve(_o, _logger)) {
        return err;
    }
    if (_o.metrics_auth_file.empty() && !is_loopback(_o.metrics_listen)) {
        _logger->warn("--metrics-listen {} is not loopback and there is no --metrics-auth-file: /metrics, the "
                      "HTTP API (/v1) and the page at / are open to anyone who reaches it (docs/http.md)",
                      _o.metrics_listen.text());
    }
    return _o.is_voter() ? open_voter() : open_member();
}

std::optional<std::string> runtime::open_voter() {
    std::error_code ec;
    std::filesystem::create_directories(_o.data_dir, ec);
    if (ec) {
        return fmt::format("cannot create --data-dir {}: {}", _o.data_dir, ec.message());
    }
    // Storage first: a data file it refuses (damaged, another voter's, a term past the bound)
    // stops the start before anything in the data dir is written, the incarnation file included.
    auto storage =
        open_voter_storage(std::filesystem::path(_o.data_dir) / "raft.db", {_o.cluster, *_o.voter});
    if (!storage) {
        return storage.error();
    }
    _storage = std::move(storage).value();
    auto incarnation = next_incarnation(_o.data_dir);
    if (!incarnation) {
        return incarnation.error();
    }
    if (auto err = _transport->open_voter_links()) {
        return err;
    }
    auto config = make_voter_config(_o, incarnation.value());
    if (!config) {
        return config.error();
    }
    const auto seed =
        static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) ^
        (static_cast<std::uint64_t>(::getpid()) << 32);
    auto voter = std::make_unique<voter_driver>(config.value(), prng(seed), _storage->recovered(),
                                                _transport->now(), _logger, *_metrics);
    _logger->info(
        "voter {} of cluster '{}' ({}): listening on {}, peers on {}, publishing on {}, metrics on {}, "
        "data in {}, recovered up to view {}{}",
        *_o.voter, _o.cluster, _o.name, _o.listen.text(), _o.peer_listen.text(), _o.publish.text(),
        _o.metrics_listen.text(), _o.data_dir, voter->node().view().id, describe_tags(_o.tags));
    _driver = std::move(voter);
    return std::nullopt;
}

std::optional<std::string> runtime::open_member() {
    auto incarnation = next_incarnation(std::string());
    if (!incarnation) {
        return incarnation.error();
    }
    auto config = make_member_config(_o, incarnation.value());
    if (!config) {
        return config.error();
    }
    _transport->open_member_links();
    auto member = std::make_unique<member_driver>(config.value(), _transport->now(), _logger, *_metrics);
    member->describe_voters(_o.join, _o.join_voters, _o.phi_threshold);
    _driver = std::move(member);
    std::string voters;
    for (const auto& e : _o.join) {
        voters += (voters.empty() ? "" : ",") + e.text();
    }
    _logger->info("member '{}' of cluster '{}': joining through {}; listening on {}, publishing on {}, "
                  "metrics on {}{}",
                  _o.name, _o.cluster, voters, _o.listen.text(), _o.publish.text(), _o.metrics_listen.text(),
                  describe_tags(_o.tags));
    return std::nullopt;
}

void runtime::note_lag(duration lag, mono_time now) {
    using std::chrono::duration_cast;
    using std::chrono::milliseconds;
    _metrics->loop_lag_seconds(std::chrono::duration<double>(lag).count());
    const duration worth_a_line = _o.is_voter() ? milliseconds(_o.election_timeout_ms) / 2
                                                : 2 * (_o.heartbeat_interval_ms > 0 ? duration(milliseconds(_o.heartbeat_interval_ms))
                                                                                 : detector::adaptive_levels[0].interval);
    if (lag < worth_a_line) {
        return;
    }
    ++_lag.stalls;
    _lag.worst = std::max(_lag.worst, lag);
    if (now < _lag.next_line) {
        return;
    }
    _logger->warn("the poll loop ran {} ms late ({} such stall(s) since the last line, the worst {} ms): this "
                  "process or its machine stalled; {}",
                  duration_cast<milliseconds>(lag).count(), _lag.stalls, duration_cast<milliseconds>(_lag.worst).count(),
                  _o.is_voter() ? "past --election-timeout-ms a leader loses its leadership"
                                : "its heartbeats stopped for as long");
    _lag = {now + 60s, 0, {}};
}

int runtime::run() {
    transport& net = *_transport;
    mono_time next_tick = net.now();
    std::optional<mono_time> leaving_since;
    int code = 0;
    while (true) {
        if (!net.wait(next_tick)) {
            return 1;
        }
        const mono_time t = net.now();
        for (const int signal : net.take_signals()) {
            if (signal == SIGHUP) {
                // Keys are added and revoked without a restart; a bad file keeps the keys in force.
                if (auto err = net.reload_keys()) {
                    _logger->error("SIGHUP: kept the keys in force: {}", *err);
                } else if (_o.secured()) {
                    _logger->info("SIGHUP: re-read {}: {} keys", _o.authorized_keys, net.keys().size());
                }
                continue;
            }
            if (leaving_since) {
                _logger->warn("second signal: stopping now");
                return 0;
            }
            leaving_since = t;
            _logger->info("signal {}: leaving the views, then stopping", signal);
            _driver->leave(t);
        }

        net.receive(*_driver, t);
        if (t >= next_tick) {
            note_lag(t - next_tick, t);
            _driver->tick(t);
            next_tick = t + tick_interval;
            net.sweep_routes(t);
        }
        if (!net.carry_out(_driver->take_output(), _driver->self(), _storage.get())) {
            code = 1;
            break;
        }
        _driver->after_step(t);
        net.trace_step_end();

        if (leaving_since) {
            if (_driver->done_leaving()) {
                _logger->info("left the views; stopping");
                break;
            }
            if (t - *leaving_since > leave_deadline) {
                _logger->warn("could not confirm the leave within {} s; stopping anyway",
                              std::chrono::duration_cast<std::chrono::seconds>(leave_deadline).count());
                break;
            }
        }
    }
    _metrics->board().stop(); // HTTP watch streams end now
    // Let the last replies and publications go out before the sockets close.
    std::this_thread::sleep_for(50ms);
    return code;
}

} // namespace roster::daemon
