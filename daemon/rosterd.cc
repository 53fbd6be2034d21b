// rosterd: the membership daemon. See README.md ("Flags") and `rosterd --help`.
// Exit codes: 0 stopped normally, 1 a failure at start or run time, 2 a bad flag or config file.
#include <cstdio>
#include <filesystem>

#include "common/escape.hh"
#include "daemon/logging.hh"
#include "daemon/options.hh"
#include "daemon/runtime.hh"

// The errors that stop the start name what they found: flag values, paths, the contents of a
// damaged data file (its cluster name, SQLite's report on it). Like the log sinks
// (daemon/logging.cc), this is the one place they all pass: escaped here, one line each.
int main(int argc, char** argv) {
    using namespace roster::daemon;
    auto parsed = parse_options(argc, argv);
    if (!parsed) {
        // --help, --version and a passed --check-config go to stdout, errors to stderr.
        if (!parsed.error().message.empty()) {
            std::fprintf(parsed.error().code == exit_ok ? stdout : stderr, "%s\n",
                         roster::escape_for_terminal(parsed.error().message).c_str());
        }
        return parsed.error().code;
    }
    const options& o = parsed.value();
    auto logger = make_logger(o.log_format, o.log_level);
    if (o.dev) {
        logger->info("--dev: a single-voter cluster '{}' on loopback, data in {}{}", o.cluster, o.data_dir,
                     o.dev_temporary_dir ? " (removed at exit)" : "");
    }
    int code = 0;
    {
        auto rt = runtime::create(o, logger);
        if (!rt) {
            std::fprintf(stderr, "rosterd: %s\n", roster::escape_for_terminal(rt.error()).c_str());
            code = exit_failure;
        } else {
            code = rt.value()->run();
        }
    }
    if (o.dev_temporary_dir) {
        std::error_code ec;
        std::filesystem::remove_all(o.data_dir, ec);
    }
    logger->flush();
    return code;
}
