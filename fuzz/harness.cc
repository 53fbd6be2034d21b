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
        std::error_code ec;
        std::string tmpl = std::filesystem::is_directory("/dev/shm", ec) ? "/dev/shm" : "/tmp";
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
