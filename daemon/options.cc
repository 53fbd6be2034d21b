#include "daemon/options.hh"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <limits>
#include <sstream>
#include <type_traits>
#include <unistd.h>
#include <utility>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "auth/key_table.hh"
#include "common/escape.hh"
#include "common/spelling.hh"
#include "daemon/metrics_auth.hh"
#include "membership/validation.hh"

namespace roster::daemon {

namespace {

std::string host_name() {
    char buf[256] = {};
    if (::gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') {
        return "rosterd";
    }
    return buf;
}

// Checks and loads the security flags: a key with the voters' keys, or plaintext on loopback only
// (or --insecure).
std::optional<std::string> security_options(options& o, const std::string& voter_keys) {
    if (!voter_keys.empty()) {
        auto k = auth::key_table::parse_voter_keys(voter_keys);
        if (!k) {
            return "--voter-keys: " + k.error();
        }
        o.voter_keys = k.value();
    }
    if (o.key_file.empty()) {
        if (!o.voter_keys.empty() || !o.authorized_keys.empty()) {
            return "--voter-keys and --authorized-keys need --key-file (this node's secret key)";
        }
        if (o.insecure) {
            return std::nullopt;
        }
        std::vector<std::pair<const char*, const endpoint*>> bound{{"--listen", &o.listen},
                                                                   {"--publish", &o.publish}};
        if (o.is_voter()) {
            bound.emplace_back("--peer-listen", &o.peer_listen);
        }
        for (const auto& [flag, e] : bound) {
            if (!is_loopback(*e)) {
                return fmt::format("{} {} is not a loopback address, and without --key-file anyone who can "
                                   "reach it could change the views: give --key-file and --voter-keys "
                                   "(docs/security.md), or --insecure to run in plaintext anyway",
                                   flag, e->text());
            }
        }
        return std::nullopt;
    }
    if (o.insecure) {
        return "--insecure and --key-file contradict each other";
    }
    if (!auth::curve_available()) {
        return "--key-file: this libzmq was built without CURVE (libsodium)";
    }
    auto k = auth::load_key_file(o.key_file);
    if (!k) {
        return "--key-file " + k.error();
    }
    o.key = k.value();
    if (o.voter_keys.empty()) {
        return "--key-file needs --voter-keys (the voters' public keys: 1=PUB,2=PUB,3=PUB)";
    }
    if (o.is_voter()) {
        for (const auto& [id, e] : o.voters) {
            if (o.voter_keys.count(id) == 0) {
                return fmt::format("--voter-keys has no key for voter {} of --voters", id);
            }
        }
        if (o.voter_keys.at(*o.voter) != o.key->public_key) {
            return fmt::format("--key-file's public key {} is not voter {}'s key in --voter-keys ({})",
                               o.key->public_key.z85(), *o.voter, o.voter_keys.at(*o.voter).z85());
        }
    } else {
        for (std::size_t i = 0; i < o.join.size(); ++i) {
            if (o.join_voters[i] == voter_id()) {
                return fmt::format("--join {}: with --key-file, say which voter each endpoint is "
                                   "(ID@HOST:PORT), so that its key in --voter-keys is known",
                                   o.join[i].text());
            }
            if (o.voter_keys.count(o.join_voters[i]) == 0) {
                return fmt::format("--join {}@{}: --voter-keys has no key for voter {}", o.join_voters[i],
                                   o.join[i].text(), o.join_voters[i]);
            }
        }
    }
    return std::nullopt;
}

// Reads a number flag's text: "not a number" for a word, the range for a number outside it.
// (CLI11's Range validator says "not in range" for both, and its conversion of an unsigned
// refuses "-1" as if it were a word.) Integers are read as 64-bit signed numbers, so that a
// negative one is reported against the range.
template <typename T>
std::optional<std::string> read_number(const std::string& flag, const std::string& text, T min, T max,
                                       T& out) {
    const char* first = text.data();
    const char* last = first + text.size();
    const auto range = fmt::format("must be between {} and {}", min, max);
    if constexpr (std::is_floating_point_v<T>) {
        double v = 0;
        const auto [end, ec] = std::from_chars(first, last, v);
        if (text.empty() || ec == std::errc::invalid_argument || end != last || std::isnan(v)) {
            return fmt::format("{} {}: not a number ({})", flag, text, range);
        }
        if (ec == std::errc::result_out_of_range || v < min || v > max) {
            return fmt::format("{} {}: {}", flag, text, range);
        }
        out = static_cast<T>(v);
    } else {
        std::int64_t v = 0;
        const auto [end, ec] = std::from_chars(first, last, v);
        if (text.empty() || ec == std::errc::invalid_argument || end != last) {
            double d = 0;
            const auto [d_end, d_ec] = std::from_chars(first, last, d);
            const bool fraction = !text.empty() && d_ec == std::errc() && d_end == last && std::isfinite(d);
            return fmt::format("{} {}: {} ({})", flag, text, fraction ? "not a whole number" : "not a number",
                               range);
        }
        if (ec == std::errc::result_out_of_range || std::cmp_less(v, min) || std::cmp_greater(v, max)) {
            return fmt::format("{} {}: {}", flag, text, range);
        }
        out = static_cast<T>(v);
    }
    return std::nullopt;
}

// CLI11's TOML reader, with comments taken off outside quotes only: CLI11 cuts a line at its first
// '#', also inside a quoted value, and a CURVE key in Z85 (--voter-keys) may hold a '#'. Lines are
// cleaned here, and CLI11's own cut is pointed at '\n', which no line holds.
class toml_config : public CLI::ConfigTOML {
public:
    toml_config() { comment('\n'); }

    std::vector<CLI::ConfigItem> from_config(std::istream& input) const override {
        std::stringstream cleaned;
        std::string line;
        while (std::getline(input, line)) {
            char quote = 0;
            for (std::size_t i = 0; i < line.size(); ++i) {
                const char c = line[i];
                if (quote != 0) {
                    if (c == '\\' && quote == '"') {
                        ++i;
                    } else if (c == quote) {
                        quote = 0;
                    }
                } else if (c == '"' || c == '\'') {
                    quote = c;
                } else if (c == '#') {
                    line.erase(i);
                    break;
                }
            }
            cleaned << line << '\n';
        }
        return CLI::ConfigTOML::from_config(cleaned);
    }
};

// A number flag: CLI11 keeps its text; read_number converts and checks it after the parse.
struct number_flag {
    std::string flag;
    std::string text;
    CLI::Option* option = nullptr;
    std::function<std::optional<std::string>(const std::string& flag, const std::string& text)> read;
};

// rosterd's flags on a CLI11 app. The flags that need more than CLI11's conversion (endpoints,
// voter lists, numbers) keep their text here for parse_options to read.
class command_line {
public:
    explicit command_line(options& o);

    CLI::App app{"rosterd: membership and failure-detection daemon with consensus-backed views.\n"
                 "A voter: --voter-id N --voters 1@H:P,2@H:P,3@H:P --data-dir DIR.\n"
                 "A member: --join 1@H:P,2@H:P,3@H:P (the --listen endpoints of the voters).\n"
                 "Secured (docs/security.md): --key-file PATH --voter-keys 1=PUB,2=PUB,3=PUB, and on voters\n"
                 "--authorized-keys PATH. Without --key-file, only loopback addresses (or --insecure).\n"
                 "Trying it out: --dev (a single voter on the default loopback ports).",
                 "rosterd"};
    std::string name, listen, publish, metrics, peer_listen, voters, join, voter_keys;
    std::vector<std::string> tags; // --tag KEY=VALUE, as given
    std::string metrics_tag_keys;  // --metrics-tag-keys KEY,KEY
    unsigned voter = 0; // set by its number_flag
    std::deque<number_flag> numbers; // a deque: CLI11 holds references to the texts

    // The config file given with --config, or "".
    [[nodiscard]] std::string config_file() const;

private:
    template <typename T>
    void number(const std::string& flag, T& target, T min, T max, const std::string& help, bool show_default);

    CLI::Option* _config = nullptr;
};

template <typename T>
void command_line::number(const std::string& flag, T& target, T min, T max, const std::string& help,
                          bool show_default) {
    auto& n = numbers.emplace_back();
    n.flag = flag;
    n.option = app.add_option(flag, n.text, fmt::format("{} ({} to {})", help, min, max))
                   ->type_name(std::is_floating_point_v<T> ? "X" : "N");
    if (show_default) {
        n.option->default_str(fmt::format("{}", target));
    }
    n.read = [&target, min, max](const std::string& f, const std::string& text) {
        return read_number(f, text, min, max, target);
    };
}

command_line::command_line(options& o) {
    app.set_version_flag("--version", std::string("rosterd ") + ROSTER_VERSION)->configurable(false);
    app.set_help_flag("-h,--help", "print this help and exit")->configurable(false);
    _config = app.set_config("--config", "", "read flags from this TOML file (keys are the flag names; "
                                             "an unknown key is an error)");
    _config->configurable(false)->type_name("FILE");
    app.allow_config_extras(CLI::config_extras_mode::error);
    app.config_formatter(std::make_shared<toml_config>());
    app.add_flag("--check-config", o.check_config,
                 "check the flags and the --config file (and load the key files), then exit: 0 when all is "
                 "well, 2 with the error otherwise")
        ->configurable(false);
    app.footer("Exit codes: 0 stopped normally (after SIGTERM or SIGINT: left the views) or --check-config "
               "passed; 1 a failure at start or while running (a port in use, a refused data dir, a failed "
               "write); 2 a bad flag or --config file.");
    app.add_option("--name", name, "name of this node in the views (default: host name)");
    app.add_option("--data-dir", o.data_dir, "directory for the voter's durable log");
    app.add_option("--cluster", o.cluster, "cluster name; messages of another cluster are refused")
        ->capture_default_str();
    app.add_option("--listen", listen, "HOST:PORT for members and clients")->default_str(o.listen.text());
    app.add_option("--publish", publish, "HOST:PORT where views are published")->default_str(o.publish.text());
    app.add_option("--metrics-listen", metrics, "HOST:PORT of the HTTP server: /metrics, /health, /ready, the JSON API /v1 and the page at / (docs/http.md)")
        ->default_str(o.metrics_listen.text());
    number("--voter-id", voter, 1u, unsigned{std::numeric_limits<std::uint32_t>::max()},
           "this voter's id, as in --voters", false);
    app.add_option("--peer-listen", peer_listen,
                   "HOST:PORT for consensus traffic (default: this voter's --voters entry)");
    app.add_option("--voters", voters,
                   "the peer endpoints of all voters: 1@HOST:PORT,2@HOST:PORT,3@HOST:PORT");
    app.add_option("--join", join,
                   "the --listen endpoints of the voters, to join as a member: ID@HOST:PORT,... "
                   "(the voter ids may be left out on an insecure cluster: HOST:PORT,...)");
    app.add_option("--key-file", o.key_file,
                   "this node's CURVE secret key (from `rosterctl keygen PATH`); secures every socket");
    app.add_option("--voter-keys", voter_keys, "the voters' CURVE public keys: 1=PUB,2=PUB,3=PUB");
    app.add_option("--authorized-keys", o.authorized_keys,
                   "the keys that may connect, one a line: `PUB member NAME`, `PUB reader`, `PUB admin` "
                   "(re-read on SIGHUP)");
    app.add_flag("--insecure", o.insecure,
                 "allow plaintext (no --key-file) on addresses other than loopback: anyone who can reach "
                 "the ports can change the views");
    number("--heartbeat-interval-ms", o.heartbeat_interval_ms, 10, 60'000,
           "a fixed heartbeat interval; without it the interval adapts to the cluster's size: 50 ms up to "
           "1,000 members, then 100, 200 and 500 ms, 1 s above 10,000",
           false);
    number("--election-timeout-ms", o.election_timeout_ms, 50, 10'000,
           "voters: a follower that hears no leader for this long (randomized up to twice it) starts an "
           "election, and a leader that hears no majority for this long steps down; raise it where a "
           "process or a virtual machine can stall longer (roster_loop_lag_seconds shows how long); the "
           "timeout adapts above it (see --election-timeout-max-ms)",
           true);
    number("--election-timeout-max-ms", o.election_timeout_max_ms, 50, 60'000,
           "voters: the election timeout adapts to the network between --election-timeout-ms and this: "
           "twice the longest silence between voters seen at least twice in the last 30 s (default: 2000, "
           "or --election-timeout-ms if longer; equal to it: a fixed timeout)",
           false);
    number("--phi-threshold", o.phi_threshold, 0.5, 100.0, "phi at which a member is suspected", true);
    app.add_option("--log-level", o.log_level, "trace, debug, info, warn, error")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}))
        ->capture_default_str();
    app.add_option("--log-format", o.log_format, "text or json")
        ->check(CLI::IsMember({"text", "json"}))
        ->capture_default_str();
    number("--metrics-member-limit", o.metrics_member_limit, std::size_t{0}, std::size_t{1'000'000},
           "above this many members, per-member metrics give way to aggregates", true);
    number("--metrics-threads", o.metrics_threads, std::size_t{2}, std::size_t{4096},
           "worker threads of the HTTP server (--metrics-listen): connections served at once, a "
           "stalled one holding a thread until --metrics-request-timeout-ms; /v1/watch streams take at most half",
           true);
    number("--metrics-request-timeout-ms", o.metrics_request_timeout_ms, 100, 60'000,
           "the HTTP server closes a connection whose request header has not fully arrived within this time", true);
    app.add_option("--metrics-auth-file", o.metrics_auth_file,
                   "/metrics, /v1 and the page require HTTP basic auth: user:password lines, # comments (mode 600)");
    number("--join-settle-ms", o.join_settle_ms, 0, 10'000,
           "voters: joins and leaves wait this long to be committed together (batching)", true);
    number("--removal-settle-ms", o.removal_settle_ms, 0, 10'000,
           "voters: a removal waits this long for correlated failures to share its view", true);
    number("--max-members", o.max_members, std::size_t{1}, std::size_t{10'000'000},
           "voters: the most members the views may hold; a join beyond it is rejected", true);
    app.add_option("--tag", tags,
                   "KEY=VALUE: a tag of this node's member entry, shown in the views (repeatable; in --config: "
                   "tag = [\"role=scheduler\", \"zone=a\"])");
    app.add_option("--metrics-tag-keys", metrics_tag_keys,
                   "KEY,KEY: count the members of the view by the values of these tag keys "
                   "(roster_members_tagged; at most 8 keys, 32 values each, the rest as \"other\")");
    app.add_flag("--dev", o.dev,
                 "a single-voter cluster on the default loopback ports with a temporary data dir");
}

std::string command_line::config_file() const {
    // The last one given: results() holds every --config given, also when more than one (the
    // parse error being reported may be that; as<std::string>() would throw on it).
    const auto& given = _config->results();
    return given.empty() ? std::string() : given.back();
}

// The key of `keys` closest to `key` by edit distance, if it is close enough to be a typo.
std::optional<std::string> closest_key(const std::string& key, const std::vector<std::string>& keys) {
    std::optional<std::string> best;
    std::size_t best_distance = std::max<std::size_t>(2, key.size() / 3) + 1;
    for (const auto& k : keys) {
        // A key that extends or shortens `key` ("heartbeat-interval" for "heartbeat-interval-ms")
        // counts as close too.
        const bool prefix = key.size() >= 4 && (k.rfind(key, 0) == 0 || key.rfind(k, 0) == 0);
        const std::size_t d = prefix ? 1 : edit_distance(key, k);
        if (d < best_distance) {
            best_distance = d;
            best = k;
        }
    }
    return best;
}

// The one-line message for a CLI11 parse error (code 2): what CLI11 says, with the config file
// named when the error comes from it.
std::string parse_error_message(const CLI::ParseError& e, const command_line& cl) {
    const std::string what = e.what();
    const std::string file = cl.config_file();
    if (dynamic_cast<const CLI::ConfigError*>(&e) != nullptr) {
        // CLI11 says "INI was not able to parse KEY" for a key that no flag has.
        const std::string marker = "not able to parse ";
        const auto at = what.find(marker);
        if (at != std::string::npos) {
            const std::string key = what.substr(at + marker.size());
            const std::string section_start = ".++";
            if (key.size() > section_start.size() &&
                key.compare(key.size() - section_start.size(), section_start.size(), section_start) == 0) {
                return fmt::format("--config {}: unknown section [{}] (the keys are the flag names, "
                                   "without sections)",
                                   file, key.substr(0, key.size() - section_start.size()));
            }
            std::string hint;
            if (auto near = closest_key(key, config_keys())) {
                hint = fmt::format("; did you mean '{}'?", *near);
            }
            return fmt::format("--config {}: unknown key '{}' (the keys are the flag names without the "
                               "dashes, see rosterd --help){}",
                               file, key, hint);
        }
        return fmt::format("--config {}: {}", file, what);
    }
    if (dynamic_cast<const CLI::FileError*>(&e) != nullptr) {
        return "--config " + what;
    }
    if (!file.empty()) {
        return fmt::format("{} (flags and --config {})", what, file);
    }
    return what;
}

// Two of this node's sockets on one endpoint: the second bind would fail with "address in use".
std::optional<std::string> same_endpoint_twice(const options& o) {
    std::vector<std::pair<const char*, const endpoint*>> mine{
        {"--listen", &o.listen}, {"--publish", &o.publish}, {"--metrics-listen", &o.metrics_listen}};
    if (o.is_voter()) {
        mine.emplace_back("--peer-listen", &o.peer_listen);
    }
    for (std::size_t i = 0; i < mine.size(); ++i) {
        for (std::size_t j = i + 1; j < mine.size(); ++j) {
            if (mine[i].second->port == mine[j].second->port && overlaps(*mine[i].second, *mine[j].second)) {
                return fmt::format("{} {} and {} {} share a port; each socket needs its own", mine[i].first,
                                   mine[i].second->text(), mine[j].first, mine[j].second->text());
            }
        }
    }
    return std::nullopt;
}

// --check-config: the files the start reads besides --key-file (which security_options loaded).
std::optional<std::string> check_files(const options& o) {
    if (!o.authorized_keys.empty()) {
        auto k = auth::key_table::load_authorized(o.authorized_keys);
        if (!k) {
            return "--authorized-keys " + k.error();
        }
    }
    if (!o.metrics_auth_file.empty()) {
        auto a = metrics_auth::load(o.metrics_auth_file);
        if (!a) {
            return a.error();
        }
    }
    return std::nullopt;
}

std::string describe(const options& o) {
    if (o.is_voter()) {
        return fmt::format("voter {} of {} in cluster '{}', listening on {}", *o.voter, o.voters.size(),
                           o.cluster, o.listen.text());
    }
    return fmt::format("member '{}' of cluster '{}' joining through {} voters, listening on {}", o.name,
                       o.cluster, o.join.size(), o.listen.text());
}

} // namespace

std::vector<std::string> config_keys() {
    options o;
    command_line cl(o);
    std::vector<std::string> keys;
    for (const CLI::Option* opt : cl.app.get_options()) {
        if (opt->get_configurable() && opt->get_lnames().size() == 1) {
            keys.push_back(opt->get_lnames().front());
        }
    }
    return keys;
}

namespace {

// ROSTER_JOIN_BUDGET=BURST/RATE (benchmarks only; options.hh): both from 1 to a million.
std::optional<std::string> join_budget_from_environment(options& o) {
    const char* e = std::getenv("ROSTER_JOIN_BUDGET");
    if (e == nullptr) {
        return std::nullopt;
    }
    // Escaped first: a number reads the same, and whatever is said about the rest is safe to print.
    const std::string text = escape_for_terminal(e);
    const auto slash = text.find('/');
    if (slash == std::string::npos) {
        return fmt::format("ROSTER_JOIN_BUDGET={}: expected BURST/RATE (joins at once, then a second)", text);
    }
    if (auto bad = read_number<double>("ROSTER_JOIN_BUDGET burst", text.substr(0, slash), 1, 1e6, o.join_burst)) {
        return bad;
    }
    return read_number<double>("ROSTER_JOIN_BUDGET rate", text.substr(slash + 1), 1, 1e6, o.joins_per_second);
}

} // namespace

result<options, exit_now> parse_options(int argc, char** argv) {
    options o;
    command_line cl(o);
    auto bad = [](std::string why) { return exit_now{exit_usage, "rosterd: " + why}; };
    try {
        cl.app.parse(argc, argv);
    } catch (const CLI::Success& e) {
        // --help or --version: CLI11 prints it to stdout.
        return exit_now{cl.app.exit(e), ""};
    } catch (const CLI::ParseError& e) {
        return bad(parse_error_message(e, cl));
    } catch (const std::exception& e) {
        return bad(e.what());
    }
    for (const auto& n : cl.numbers) {
        if (n.option->count() > 0) {
            if (auto err = n.read(n.flag, n.text)) {
                return bad(*err);
            }
        }
    }

    auto endpoint_flag = [&](const std::string& flag, const std::string& text,
                             endpoint& out) -> std::optional<exit_now> {
        if (text.empty()) {
            return std::nullopt;
        }
        auto e = parse_endpoint(text);
        if (!e) {
            return bad(flag + ": " + e.error());
        }
        out = e.value();
        return std::nullopt;
    };
    if (auto err = endpoint_flag("--listen", cl.listen, o.listen)) {
        return *err;
    }
    if (auto err = endpoint_flag("--publish", cl.publish, o.publish)) {
        return *err;
    }
    if (auto err = endpoint_flag("--metrics-listen", cl.metrics, o.metrics_listen)) {
        return *err;
    }
    if (!cl.voters.empty()) {
        auto v = parse_voters(cl.voters);
        if (!v) {
            return bad("--voters: " + v.error());
        }
        o.voters = v.value();
    }
    if (!cl.join.empty()) {
        auto j = parse_join(cl.join);
        if (!j) {
            return bad("--join: " + j.error());
        }
        for (const auto& [id, e] : j.value()) {
            o.join_voters.push_back(id);
            o.join.push_back(e);
        }
    }
    if (cl.voter != 0) {
        o.voter = voter_id(cl.voter);
    }
    for (const auto& t : cl.tags) {
        const auto eq = t.find('=');
        if (eq == std::string::npos) {
            return bad(fmt::format("--tag {}: expected KEY=VALUE", t));
        }
        o.tags.push_back({t.substr(0, eq), t.substr(eq + 1)});
    }
    if (auto why = membership::check_tags(o.tags)) {
        return bad("--tag: " + *why);
    }
    for (std::size_t start = 0; !cl.metrics_tag_keys.empty() && start <= cl.metrics_tag_keys.size();) {
        const auto comma = std::min(cl.metrics_tag_keys.find(',', start), cl.metrics_tag_keys.size());
        const std::string key = cl.metrics_tag_keys.substr(start, comma - start);
        if (auto why = membership::check_tags({{key, ""}})) {
            return bad(fmt::format("--metrics-tag-keys: key {}: {}", o.metrics_tag_keys.size() + 1, *why));
        }
        o.metrics_tag_keys.push_back(key);
        start = comma + 1;
    }
    if (o.election_timeout_max_ms != 0 && o.election_timeout_max_ms < o.election_timeout_ms) {
        return bad(fmt::format("--election-timeout-max-ms ({}) must be at least --election-timeout-ms ({}); give "
                               "both the same value for a timeout that does not adapt",
                               o.election_timeout_max_ms, o.election_timeout_ms));
    }
    if (o.metrics_tag_keys.size() > 8) {
        return bad(fmt::format("--metrics-tag-keys names {} keys, at most 8", o.metrics_tag_keys.size()));
    }

    // --dev without --data-dir: a temporary directory, made once every check below has passed (a
    // refused command line leaves nothing behind).
    bool temporary_dir = false;
    std::string& name = cl.name;
    if (o.dev) {
        if (!o.voter) {
            o.voter = voter_id(1);
        }
        if (o.voters.empty()) {
            endpoint peer{"127.0.0.1", 7401};
            if (auto err = endpoint_flag("--peer-listen", cl.peer_listen, peer)) {
                return *err;
            }
            o.voters = {{*o.voter, peer}};
        }
        if (name.empty()) {
            name = "dev";
        }
        temporary_dir = o.data_dir.empty();
    }
    o.name = name.empty() ? host_name() : name;

    if (o.voter && !o.join.empty()) {
        return bad("a node is either a voter (--voter-id) or a member (--join), not both");
    }
    if (o.voter) {
        if (o.voters.empty()) {
            return bad("--voter-id needs --voters (the peer endpoints of all voters: 1@HOST:PORT,...)");
        }
        if (o.voters.size() != 1 && o.voters.size() != 3 && o.voters.size() != 5) {
            return bad(fmt::format("--voters lists {} voters; there must be 1, 3 or 5", o.voters.size()));
        }
        auto mine = std::find_if(o.voters.begin(), o.voters.end(),
                                 [&](const auto& v) { return v.first == *o.voter; });
        if (mine == o.voters.end()) {
            std::string ids;
            for (const auto& v : o.voters) {
                ids += (ids.empty() ? "" : ", ") + std::to_string(v.first.value());
            }
            return bad(fmt::format("--voter-id {} is not in --voters ({})", *o.voter, ids));
        }
        if (cl.peer_listen.empty()) {
            o.peer_listen = mine->second;
        } else if (auto err = endpoint_flag("--peer-listen", cl.peer_listen, o.peer_listen)) {
            return *err;
        }
        if (o.data_dir.empty() && !temporary_dir) {
            return bad("a voter needs --data-dir (where its log is kept)");
        }
    } else if (o.join.empty()) {
        return bad(
            "give --voter-id and --voters (a voter), --join (a member), or --dev (try it out); see --help");
    } else if (!cl.voters.empty() || !cl.peer_listen.empty()) {
        return bad("--voters and --peer-listen are for voters; a member only needs --join");
    }
    if (o.cluster.empty()) {
        return bad("--cluster must not be empty");
    }
    if (auto err = same_endpoint_twice(o)) {
        return bad(*err);
    }
    if (auto err = security_options(o, cl.voter_keys)) {
        return bad(*err);
    }
    if (auto err = join_budget_from_environment(o)) {
        return bad(*err);
    }
    if (o.check_config) {
        if (auto err = check_files(o)) {
            return bad(*err);
        }
        const std::string file = cl.config_file();
        return exit_now{exit_ok, fmt::format("rosterd: {}the configuration is valid: {}",
                                             file.empty() ? "" : file + ": ", describe(o))};
    }
    if (temporary_dir) {
        const char* tmp = std::getenv("TMPDIR");
        std::string tmpl = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/rosterd-dev-XXXXXX";
        if (::mkdtemp(tmpl.data()) == nullptr) {
            return exit_now{exit_failure, fmt::format("rosterd: --dev: cannot create a temporary data "
                                                      "directory {}: {}",
                                                      tmpl, std::strerror(errno))};
        }
        o.data_dir = tmpl;
        o.dev_temporary_dir = true;
    }
    return o;
}

} // namespace roster::daemon
