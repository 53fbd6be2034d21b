// rosterd: the membership daemon. This build only answers --version and --help; the daemon
// itself (sockets, consensus, views) is built by the issues that follow the foundations.
#include <cstdio>

#include <CLI/CLI.hpp>

int main(int argc, char** argv) {
    CLI::App app{"rosterd: membership and failure-detection daemon with consensus-backed views"};
    app.set_version_flag("--version", std::string("rosterd ") + ROSTER_VERSION);
    CLI11_PARSE(app, argc, argv);
    std::fprintf(stderr, "rosterd %s: the daemon is not built yet in this version; see README.md\n",
                 ROSTER_VERSION);
    return 2;
}
