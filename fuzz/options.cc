// libFuzzer target: rosterd's flags and its TOML config file (daemon/options: CLI11, the
// endpoint, voter and join lists, the security checks), then the node configurations the daemon
// derives from what it accepted (daemon/node_configs). The first part of the input (parts
// separated by fuzz::separator) is the command line, one argument a line; a second part, when
// there is one, is the text of a config file passed as --config. Whatever the flags, parsing
// returns options or an exit with a message; it never crashes.
//
// Arguments and config text that name /dev, /proc or /sys are skipped: a flag that makes rosterd
// read /dev/zero as its key file is an operator's doing, not something to find here.
#include "daemon/options.hh"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/invariant.hh"
#include "daemon/node_configs.hh"
#include "fuzz/harness.hh"

using namespace roster;

namespace {

bool names_a_device(std::string_view text) {
    for (const char* dir : {"/dev", "/proc", "/sys"}) {
        if (text.find(dir) != std::string_view::npos) {
            return true;
        }
    }
    return false;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto parts = fuzz::split(data, size);
    std::vector<std::string> args{"rosterd"};
    {
        const std::string_view line_text = fuzz::text(parts[0]);
        std::size_t start = 0;
        while (start <= line_text.size()) {
            const auto end = std::min(line_text.find('\n', start), line_text.size());
            args.emplace_back(line_text.substr(start, end - start));
            start = end + 1;
        }
    }
    for (const auto& a : args) {
        if (names_a_device(a) || a.find('\0') != std::string::npos) {
            return 0; // a C argv cannot hold a NUL
        }
    }
    if (parts.size() > 1) {
        if (names_a_device(fuzz::text(parts[1]))) {
            return 0;
        }
        const auto path = fuzz::scratch_dir() / "rosterd.toml";
        std::ofstream(path, std::ios::binary | std::ios::trunc)
            .write(reinterpret_cast<const char*>(parts[1].data()),
                   static_cast<std::streamsize>(parts[1].size()));
        args.emplace_back("--config");
        args.emplace_back(path.string());
    }
    std::vector<char*> argv;
    for (auto& a : args) {
        argv.push_back(a.data());
    }
    argv.push_back(nullptr);

    const fuzz::silence quiet; // --help, --version and CLI11's errors
    auto parsed = daemon::parse_options(static_cast<int>(args.size()), argv.data());
    if (!parsed) {
        const int code = parsed.error().code;
        if (code < 0 || code > 255) {
            invariant_broken("fuzz", "parse_options exits with code {}", code);
        }
        return 0;
    }
    const daemon::options& o = parsed.value();
    if (o.dev_temporary_dir) {
        std::error_code ec;
        std::filesystem::remove_all(o.data_dir, ec);
    }
    // What the runtime builds from them: a config the node refuses is an error message, too.
    if (o.is_voter()) {
        (void)daemon::make_voter_config(o, incarnation_number(1));
    } else {
        (void)daemon::make_member_config(o, incarnation_number(1));
    }
    return 0;
}
