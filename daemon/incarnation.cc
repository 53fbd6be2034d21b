#include "daemon/incarnation.hh"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include <fmt/format.h>

namespace roster::daemon {

result<incarnation_number, std::string> next_incarnation(const std::string& data_dir) {
    const auto wall = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                                     std::chrono::system_clock::now().time_since_epoch())
                                                     .count());
    if (data_dir.empty()) {
        return incarnation_number(wall);
    }
    const std::filesystem::path file = std::filesystem::path(data_dir) / "incarnation";
    std::uint64_t last = 0;
    if (std::ifstream in(file); in) {
        in >> last;
    }
    const std::uint64_t next = std::max(wall, last + 1);
    const std::filesystem::path tmp = file.string() + ".new";
    {
        std::ofstream out(tmp, std::ios::trunc);
        out << next << "\n";
        if (!out) {
            return fmt::format("cannot write {}: {}", tmp.string(), std::strerror(errno));
        }
    }
    const int fd = ::open(tmp.c_str(), O_RDONLY);
    if (fd < 0 || ::fsync(fd) != 0) {
        if (fd >= 0) {
            ::close(fd);
        }
        return fmt::format("cannot sync {}: {}", tmp.string(), std::strerror(errno));
    }
    ::close(fd);
    std::error_code ec;
    std::filesystem::rename(tmp, file, ec);
    if (ec) {
        return fmt::format("cannot write {}: {}", file.string(), ec.message());
    }
    return incarnation_number(next);
}

} // namespace roster::daemon
