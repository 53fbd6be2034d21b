#include "fuzz/harness.hh"

#include <cstdlib>
#include <unistd.h>

namespace roster::fuzz {

namespace {

std::filesystem::path* made = nullptr;

void remove_scratch() {
    if (made != nullptr) {
        std::error_code ec;
        std::filesystem::remove_all(*made, ec);
    }
}

} // namespace

const std::filesystem::path& scratch_dir() {
    static const std::filesystem::path dir = [] {
        // Under $ROSTER_FUZZ_SCRATCH when fuzz/run_fuzz.py gives one (it removes it after the run,
        // also after a crash, when this process had no chance to).
        std::error_code ec;
        const char* given = std::getenv("ROSTER_FUZZ_SCRATCH");
        std::string tmpl = given != nullptr && *given != '\0'              ? given
                           : std::filesystem::is_directory("/dev/shm", ec) ? "/dev/shm"
                                                                           : "/tmp";
        tmpl += "/roster-fuzz-XXXXXX";
        if (::mkdtemp(tmpl.data()) == nullptr) {
            std::abort();
        }
        return std::filesystem::path(tmpl);
    }();
    if (made == nullptr) {
        made = new std::filesystem::path(dir);
        std::atexit(remove_scratch);
    }
    return dir;
}

} // namespace roster::fuzz
