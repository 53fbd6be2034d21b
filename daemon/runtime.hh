#pragma once

#include <memory>
#include <string>

#include <spdlog/spdlog.h>

#include "common/result.hh"
#include "consensus/sqlite_storage.hh"
#include "daemon/driver.hh"
#include "daemon/metrics.hh"
#include "daemon/options.hh"
#include "daemon/transport.hh"

namespace roster::daemon {

// The process around a node, composed of a transport (sockets, signals, the clock), a driver
// (the voter or member node with its logging and metrics), a voter's storage and the metrics
// endpoint. The poll loop reads what arrived, ticks the driver, has the transport carry out the
// driver's output (persist, then send, then publish) and lets the driver log. Nothing here
// decides anything about membership.
class runtime {
public:
    // Binds every socket, opens storage, starts metrics. Fails with a message that names the flag
    // or file and the reason (a port in use, a data dir of another voter...).
    static result<std::unique_ptr<runtime>, std::string> create(const options& o,
                                                                std::shared_ptr<spdlog::logger> logger);
    ~runtime();

    // Runs until SIGTERM or SIGINT; then leaves gracefully (the removal commits as "left") and
    // returns the exit code (0, or 1 after a storage failure). A second signal stops at once.
    int run();

private:
    runtime(const options& o, std::shared_ptr<spdlog::logger> logger);
    [[nodiscard]] std::optional<std::string> open();
    [[nodiscard]] std::optional<std::string> open_voter();
    [[nodiscard]] std::optional<std::string> open_member();
    // Counts how late a tick ran (roster_loop_lag_seconds) and says so, at most once a minute,
    // when it was late enough to cost a voter its leadership or a member its standing: half the
    // election timeout (voters) or two heartbeat intervals (members).
    void note_lag(duration lag, mono_time now);

    options _o;
    std::shared_ptr<spdlog::logger> _logger;
    // Destroyed in reverse: the node first, then storage, the sockets, and the metrics last.
    std::unique_ptr<metrics> _metrics;
    std::unique_ptr<transport> _transport;
    std::unique_ptr<consensus::sqlite_storage> _storage; // voters
    std::unique_ptr<driver> _driver;
    struct {
        mono_time next_line{};
        std::size_t stalls = 0; // since the last line
        duration worst{};
    } _lag;
};

} // namespace roster::daemon
