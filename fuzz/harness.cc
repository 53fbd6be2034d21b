#include "fuzz/harness.hh"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <unistd.h>

namespace roster::fuzz {

namespace {

// Never destroyed: remove_scratch() runs at exit, when a static path could already be gone.
std::filesystem::path* made = nullptr;

void remove_scratch() {
    std::error_code ec;
    std::filesystem::remove_all(*made, ec);
}

} // namespace

const std::filesystem::path& scratch_dir() {
    if (made == nullptr) {
        // Under $ROSTER_FUZZ_SCRATCH when fuzz/run_fuzz.py gives one (it removes it after the run,
        // also after a crash, when this process had no chance to).
        std::error_code ec;
        const char* given = std::getenv("ROSTER_FUZZ_SCRATCH");
        std::string tmpl = given != nullptr && *given != '\0'              ? given
                           : std::filesystem::is_directory("/dev/shm", ec) ? "/dev/shm"
                                                                           : "/tmp";
        tmpl += "/roster-fuzz-XXXXXX";
        if (::mkdtemp(tmpl.data()) == nullptr) {
            invariant_broken("fuzz", "cannot create a scratch directory {}: {}", tmpl, std::strerror(errno));
        }
        made = new std::filesystem::path(tmpl);
        std::atexit(remove_scratch);
    }
    return *made;
}

} // namespace roster::fuzz
