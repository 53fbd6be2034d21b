#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "auth/keys.hh"
#include "common/result.hh"
#include "common/strong_value.hh"
#include "daemon/endpoint.hh"
#include "views/view.hh"

namespace roster::daemon {

// Everything rosterd is told on its command line or in its --config file (TOML). The flag names
// are a contract (README, "Flags"); keep them. Every field has an initializer, so that a designated
// initializer may name only the flags it sets.
struct options {
    std::string name{};             // --name (default: host name)
    std::string data_dir{};         // --data-dir
    std::string cluster = "roster"; // --cluster
    endpoint listen{"127.0.0.1", 7400};
    endpoint publish{"127.0.0.1", 7402};
    endpoint metrics_listen{"127.0.0.1", 7403};
    // Voter.
    std::optional<voter_id> voter{};                     // --voter-id
    endpoint peer_listen{"127.0.0.1", 7401};             // --peer-listen
    std::vector<std::pair<voter_id, endpoint>> voters{}; // --voters
    // Member.
    std::vector<endpoint> join{};        // --join
    std::vector<voter_id> join_voters{}; // by --join index: the voter named as ID@ (0: not named)
    // Security (docs/security.md). With a key, every socket runs CURVE; without one, plaintext.
    std::optional<auth::key_pair> key{};              // --key-file, loaded
    std::string key_file{};                           // --key-file
    std::map<voter_id, auth::curve_key> voter_keys{}; // --voter-keys
    std::string authorized_keys{};                    // --authorized-keys (re-read on SIGHUP)
    bool insecure = false;                            // --insecure: plaintext beyond loopback
    // --heartbeat-interval-ms; 0 (not given): adapts to the cluster's size
    // (detector/heartbeat_interval.hh: 50 ms up to 1,000 members, 1 s above 10,000).
    int heartbeat_interval_ms = 0;
    int election_timeout_ms = 100; // voters: Raft's election timeout (randomized up to twice this)
    // --election-timeout-max-ms; 0 (not given): 2 s, or election_timeout_ms if that is longer. Between
    // the two, the timeout adapts to the silences between voters (raft_config::max_election_ticks).
    int election_timeout_max_ms = 0;
    double phi_threshold = 8.0;
    std::string log_level = "info";
    std::string log_format = "text";
    std::size_t metrics_member_limit = 1000; // above it, per-member series give way to aggregates
    int join_settle_ms = 50;                 // joins and leaves wait this long to share a view
    int removal_settle_ms = 10;              // a due removal waits this long for correlated ones
    std::size_t max_members = 10'000;        // voters: a join that would make the views larger is rejected
    // Joins and removals each key (an insecure node: each connection) may send at once, and then
    // a second. Not flags: real members each have their own key and connection. Benchmarks that
    // play thousands of members over a few connections (bench/scale) raise them with the
    // environment variable ROSTER_JOIN_BUDGET=BURST/RATE.
    double join_burst = 20;
    double joins_per_second = 10;
    // The /metrics endpoint (docs/monitoring.md, "Serving /metrics"): a CivetWeb worker thread per
    // open connection, up to metrics_threads; a request's header must arrive within the timeout.
    std::size_t metrics_threads = 256;     // --metrics-threads
    int metrics_request_timeout_ms = 5000; // --metrics-request-timeout-ms
    std::string metrics_auth_file{};       // --metrics-auth-file: user:password lines (basic auth)
    bool dev = false;
    bool dev_temporary_dir = false; // --dev made the data dir (removed at exit)
    bool check_config = false;      // --check-config: parse and check everything, then exit
    // --tag KEY=VALUE (repeatable; `tag = ["role=a", ...]` in --config): this node's member entry's
    // tags, within membership/validation.hh's bounds.
    std::vector<views::tag> tags{};
    // --metrics-tag-keys role,zone: tag keys counted in roster_members_tagged (at most 8).
    std::vector<std::string> metrics_tag_keys{};

    [[nodiscard]] bool is_voter() const { return voter.has_value(); }
    [[nodiscard]] bool secured() const { return key.has_value(); }
};

// rosterd's exit codes (README, "Flags"; `rosterd --help`).
inline constexpr int exit_ok = 0;
inline constexpr int exit_failure = 1; // at run time: a port in use, a refused data dir, a failed write
inline constexpr int exit_usage = 2;   // a bad flag, a bad --config file, a check that fails

// The outcome of parsing: options to run with, or an exit: help or version printed, or
// --check-config passed (code 0, a message for stdout, maybe empty); a bad flag or config file
// (code 2, one line for stderr naming the flag or key, and the file).
struct exit_now {
    int code;
    std::string message;
};

// Parses the command line and the --config file, and checks everything that can be checked
// without opening a socket or the data dir: every number against its range, every endpoint,
// the role's flags, the keys (loaded). Never throws. With --dev and no --data-dir, it makes the
// temporary data dir (only when every check passed, and not for --check-config).
result<options, exit_now> parse_options(int argc, char** argv);

// The keys a --config file may hold: the flag names without their dashes, in --help order
// (every flag but --help, --version, --config and --check-config).
std::vector<std::string> config_keys();

} // namespace roster::daemon
