#include "daemon/options.hh"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "auth/key_table.hh"
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

} // namespace

result<options, exit_now> parse_options(int argc, char** argv) {
    options o;
    CLI::App app{"rosterd: membership and failure-detection daemon with consensus-backed views.\n"
                 "A voter: --voter-id N --voters 1@H:P,2@H:P,3@H:P --data-dir DIR.\n"
                 "A member: --join 1@H:P,2@H:P,3@H:P (the --listen endpoints of the voters).\n"
                 "Secured (docs/security.md): --key-file PATH --voter-keys 1=PUB,2=PUB,3=PUB, and on voters\n"
                 "--authorized-keys PATH. Without --key-file, only loopback addresses (or --insecure).\n"
                 "Trying it out: --dev (a single voter on the default loopback ports)."};
    app.set_version_flag("--version", std::string("rosterd ") + ROSTER_VERSION);
    app.set_config("--config", "", "read flags from this TOML file (keys are the flag names)");
    std::string name, listen, publish, metrics, peer_listen, voters, join, voter_keys;
    unsigned voter = 0;
    app.add_option("--name", name, "name of this node in the views (default: host name)");
    app.add_option("--data-dir", o.data_dir, "directory for the voter's durable log");
    app.add_option("--cluster", o.cluster, "cluster name; messages of another cluster are refused")
        ->capture_default_str();
    app.add_option("--listen", listen, "HOST:PORT for members and clients (default 127.0.0.1:7400)");
    app.add_option("--publish", publish, "HOST:PORT where views are published (default 127.0.0.1:7402)");
    app.add_option("--metrics-listen", metrics,
                   "HOST:PORT of the Prometheus /metrics endpoint (default 127.0.0.1:7403)");
    app.add_option("--voter-id", voter, "this voter's id, as in --voters");
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
    app.add_option("--heartbeat-interval-ms", o.heartbeat_interval_ms, "heartbeat interval")
        ->check(CLI::Range(10, 60'000))
        ->capture_default_str();
    app.add_option("--phi-threshold", o.phi_threshold, "phi at which a member is suspected")
        ->check(CLI::Range(0.5, 100.0))
        ->capture_default_str();
    app.add_option("--log-level", o.log_level, "trace, debug, info, warn, error")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}))
        ->capture_default_str();
    app.add_option("--log-format", o.log_format, "text or json")
        ->check(CLI::IsMember({"text", "json"}))
        ->capture_default_str();
    app.add_option("--metrics-member-limit", o.metrics_member_limit,
                   "above this many members, per-member metrics give way to aggregates")
        ->capture_default_str();
    app.add_option("--metrics-threads", o.metrics_threads,
                   "worker threads of /metrics: connections served at once (a stalled one holds a thread "
                   "until --metrics-request-timeout-ms)")
        ->check(CLI::Range(2, 4096))
        ->capture_default_str();
    app.add_option("--metrics-request-timeout-ms", o.metrics_request_timeout_ms,
                   "/metrics closes a connection whose request header has not fully arrived within this "
                   "time")
        ->check(CLI::Range(100, 60'000))
        ->capture_default_str();
    app.add_option("--metrics-auth-file", o.metrics_auth_file,
                   "/metrics requires HTTP basic auth: user:password lines, # comments (mode 600)");
    app.add_option("--join-settle-ms", o.join_settle_ms,
                   "voters: joins and leaves wait this long to be committed together (batching)")
        ->check(CLI::Range(0, 10'000))
        ->capture_default_str();
    app.add_option("--removal-settle-ms", o.removal_settle_ms,
                   "voters: a removal waits this long for correlated failures to share its view")
        ->check(CLI::Range(0, 10'000))
        ->capture_default_str();
    app.add_option("--max-members", o.max_members,
                   "voters: the most members the views may hold; a join beyond it is rejected")
        ->check(CLI::Range(std::size_t{1}, std::size_t{10'000'000}))
        ->capture_default_str();
    std::vector<std::string> tags;
    std::string metrics_tag_keys;
    app.add_option("--tag", tags,
                   "KEY=VALUE: a tag of this node's member entry, shown in the views (repeatable; in --config: "
                   "tag = [\"role=scheduler\", \"zone=a\"])");
    app.add_option("--metrics-tag-keys", metrics_tag_keys,
                   "KEY,KEY: count the members of the view by the values of these tag keys "
                   "(roster_members_tagged; at most 8 keys, 32 values each, the rest as \"other\")");
    app.add_flag("--dev", o.dev,
                 "a single-voter cluster on the default loopback ports with a temporary data dir");
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int code = app.exit(e);
        return exit_now{code, ""};
    }

    auto bad = [](std::string why) { return exit_now{2, "rosterd: " + why}; };
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
    if (auto err = endpoint_flag("--listen", listen, o.listen)) {
        return *err;
    }
    if (auto err = endpoint_flag("--publish", publish, o.publish)) {
        return *err;
    }
    if (auto err = endpoint_flag("--metrics-listen", metrics, o.metrics_listen)) {
        return *err;
    }
    if (!voters.empty()) {
        auto v = parse_voters(voters);
        if (!v) {
            return bad("--voters: " + v.error());
        }
        o.voters = v.value();
    }
    if (!join.empty()) {
        auto j = parse_join(join);
        if (!j) {
            return bad("--join: " + j.error());
        }
        for (const auto& [id, e] : j.value()) {
            o.join_voters.push_back(id);
            o.join.push_back(e);
        }
    }
    if (voter != 0) {
        o.voter = voter_id(voter);
    }
    for (const auto& t : tags) {
        const auto eq = t.find('=');
        if (eq == std::string::npos) {
            return bad(fmt::format("--tag {}: expected KEY=VALUE", t));
        }
        o.tags.push_back({t.substr(0, eq), t.substr(eq + 1)});
    }
    if (auto why = membership::check_tags(o.tags)) {
        return bad("--tag: " + *why);
    }
    for (std::size_t start = 0; !metrics_tag_keys.empty() && start <= metrics_tag_keys.size();) {
        const auto comma = std::min(metrics_tag_keys.find(',', start), metrics_tag_keys.size());
        const std::string key = metrics_tag_keys.substr(start, comma - start);
        if (auto why = membership::check_tags({{key, ""}})) {
            return bad(fmt::format("--metrics-tag-keys: key {}: {}", o.metrics_tag_keys.size() + 1, *why));
        }
        o.metrics_tag_keys.push_back(key);
        start = comma + 1;
    }
    if (o.metrics_tag_keys.size() > 8) {
        return bad(fmt::format("--metrics-tag-keys names {} keys, at most 8", o.metrics_tag_keys.size()));
    }

    // --dev without --data-dir: a temporary directory, made once every check below has passed (a
    // refused command line leaves nothing behind).
    bool temporary_dir = false;
    if (o.dev) {
        if (!o.voter) {
            o.voter = voter_id(1);
        }
        if (o.voters.empty()) {
            endpoint peer{"127.0.0.1", 7401};
            if (auto err = endpoint_flag("--peer-listen", peer_listen, peer)) {
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
        if (peer_listen.empty()) {
            o.peer_listen = mine->second;
        } else if (auto err = endpoint_flag("--peer-listen", peer_listen, o.peer_listen)) {
            return *err;
        }
        if (o.data_dir.empty() && !temporary_dir) {
            return bad("a voter needs --data-dir (where its log is kept)");
        }
    } else if (o.join.empty()) {
        return bad(
            "give --voter-id and --voters (a voter), --join (a member), or --dev (try it out); see --help");
    } else if (!voters.empty() || !peer_listen.empty()) {
        return bad("--voters and --peer-listen are for voters; a member only needs --join");
    }
    if (o.cluster.empty()) {
        return bad("--cluster must not be empty");
    }
    if (auto err = security_options(o, voter_keys)) {
        return bad(*err);
    }
    if (temporary_dir) {
        const char* tmp = std::getenv("TMPDIR");
        std::string tmpl = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/rosterd-dev-XXXXXX";
        if (::mkdtemp(tmpl.data()) == nullptr) {
            return bad(fmt::format("--dev: cannot create a temporary data directory {}: {}", tmpl,
                                   std::strerror(errno)));
        }
        o.data_dir = tmpl;
        o.dev_temporary_dir = true;
    }
    return o;
}

} // namespace roster::daemon
