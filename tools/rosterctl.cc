// rosterctl: ask a rosterd about the views.
//
//   rosterctl <command> [--endpoint [ID@]HOST:PORT,...] [--timeout MS] [--cluster NAME] [--json]
//             [--key-file PATH --voter-keys 1=PUB,... | --server-key PUB]
//   rosterctl keygen PATH
//   rosterctl --version
//
// The commands are the table of tools/commands.cc; flags go before or after the command. Exit
// codes: 0 ok, 1 the cluster did not answer or refused, 2 usage (README, "rosterctl"). The JSON
// formats are a contract (README, "JSON formats").
#include <cstdio>
#include <exception>
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "client/client.hh"
#include "client/key_flags.hh"
#include "tools/commands.hh"

using namespace roster;
using namespace roster::tools;

namespace {

std::vector<std::string> split_endpoints(const std::string& text) {
    std::vector<std::string> out;
    for (std::size_t start = 0;;) {
        const auto comma = text.find(',', start);
        out.push_back(text.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
        if (comma == std::string::npos) {
            return out;
        }
        start = comma + 1;
    }
}

// A parse error as rosterctl reports it: --help and --version print and succeed; an unknown word
// where the command belongs gets a suggestion; anything else is CLI11's message. Usage: exit 2.
int parse_error(CLI::App& app, const CLI::ParseError& e, const std::vector<command>& table) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) {
        return app.exit(e); // --help, --version
    }
    if (app.get_subcommands().empty()) {
        for (const auto& word : app.remaining()) {
            if (!word.empty() && word[0] != '-') {
                std::string names;
                for (const auto& c : table) {
                    names += (names.empty() ? "" : ", ") + c.name;
                }
                const auto guess = did_you_mean(word, table);
                complain(guess ? fmt::format("unknown command '{}'; did you mean '{}'?", word, *guess)
                               : fmt::format("unknown command '{}'; the commands are {}", word, names));
                return exit_usage;
            }
        }
    }
    if (app.get_subcommands().empty() && dynamic_cast<const CLI::RequiredError*>(&e) != nullptr) {
        std::string names;
        for (const auto& c : table) {
            names += (names.empty() ? "" : ", ") + c.name;
        }
        complain("a command is required: " + names);
    } else {
        complain(e.what());
    }
    std::fprintf(stderr, "Run with --help for more information.\n");
    return exit_usage;
}

int run(int argc, char** argv) {
    CLI::App app{"rosterctl: ask a rosterd (voter or member) about the views"};
    app.fallthrough(); // rosterctl's flags after the command too: `rosterctl members --endpoint X --json`
    app.set_version_flag("--version", std::string("rosterctl ") + ROSTER_VERSION);
    std::string endpoint = "127.0.0.1:7400";
    std::string cluster = "roster";
    int timeout_ms = 3000;
    bool json = false;
    app.add_option("--endpoint", endpoint,
                   "the --listen endpoint of any rosterd, [ID@]HOST:PORT; several, comma-separated, are tried "
                   "in turn")
        ->capture_default_str();
    app.add_option("--cluster", cluster, "cluster name")->capture_default_str();
    app.add_option("--timeout", timeout_ms,
                   "milliseconds to wait for an answer in all (shared by the endpoints, in turn)")
        ->check(CLI::Range(1, 3'600'000))
        ->capture_default_str();
    app.add_flag("--json", json, "print JSON (one object a line)");
    client::key_flags keys;
    keys.add_to(app);
    const auto table = commands();
    std::vector<CLI::App*> subs;
    for (const auto& c : table) {
        subs.push_back(app.add_subcommand(c.name, c.help));
        if (c.add_arguments) {
            c.add_arguments(*subs.back());
        }
    }
    app.require_subcommand(1);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return parse_error(app, e, table);
    }

    for (std::size_t i = 0; i < table.size(); ++i) {
        if (!subs[i]->parsed()) {
            continue;
        }
        ctl_context c;
        c.json = json;
        if (table[i].needs_cluster) {
            c.options.cluster = cluster;
            c.options.timeout = std::chrono::milliseconds(timeout_ms);
            c.options.name = "rosterctl";
            c.options.endpoints = split_endpoints(endpoint);
            c.options.notice = [](const std::string& line) { complain(line); };
            if (auto bad = keys.apply(c.options)) { // loads the keys, checks every endpoint and its key
                complain(*bad);
                return exit_usage;
            }
        }
        return table[i].run(c);
    }
    return exit_usage; // require_subcommand(1) makes this unreachable
}

} // namespace

int main(int argc, char** argv) {
    // The last resort: nothing escapes as an abort. What gets here is a bug (or the system out of
    // memory, files or sockets): say what it was and fail.
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {
        complain(fmt::format("internal error: {}", e.what()));
    } catch (...) {
        complain("internal error (an unknown exception)");
    }
    return exit_cluster;
}
