#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

#include "client/client.hh"

// rosterctl's subcommands as one table: a new command is one more entry (its name, its help, the
// arguments it adds, what it runs), and the parser, the help and the did-you-mean follow.
namespace roster::tools {

// rosterctl's exit codes (README, "rosterctl").
enum exit_code : int {
    exit_ok = 0,
    exit_cluster = 1, // the cluster did not answer, refused, or gave an answer that is a failure
    exit_usage = 2,   // flags, arguments or endpoints that do not parse; an unknown command
};

// What every command gets: the client options built from the flags (endpoints checked, keys
// loaded, `notice` printing to stderr), and whether to print JSON.
struct ctl_context {
    client::options options;
    bool json = false;
};

struct command {
    std::string name;
    std::string help;
    bool needs_cluster = true;                      // false: runs without asking a node (keygen)
    std::function<void(CLI::App&)> add_arguments{}; // its own arguments, if any
    std::function<int(const ctl_context&)> run;     // the exit code
};

// Every subcommand, in the order of the help.
[[nodiscard]] std::vector<command> commands();

// The command name closest to `word` (at most two edits away, or `word` a prefix of it), to suggest.
[[nodiscard]] std::optional<std::string> did_you_mean(std::string_view word, const std::vector<command>& table);

// Writes a line "rosterctl: ..." to stderr, escaped for the terminal (it may quote a node's words).
void complain(const std::string& why);

} // namespace roster::tools
