#include "examples/leader_election/fenced_file.hh"

#include <cstdio>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <sys/file.h>
#include <unistd.h>

bool fenced_file::write(std::uint64_t token, const std::string& instance, const std::string& action) {
    const int lock = ::open((_path + ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock < 0 || ::flock(lock, LOCK_EX) != 0) {
        std::perror("fenced_file: lock");
        return false;
    }
    // The highest token accepted so far is the last line's (accepted tokens never go down).
    std::uint64_t highest = 0;
    {
        std::ifstream in(_path);
        std::string line, last;
        while (std::getline(in, line)) {
            if (!line.empty()) {
                last = line;
            }
        }
        std::istringstream(last) >> highest;
    }
    const bool accepted = token >= highest;
    {
        std::ofstream out(accepted ? _path : _path + ".rejected", std::ios::app);
        out << token << ' ' << instance << ' ' << action << '\n';
        out.flush();
    }
    ::flock(lock, LOCK_UN);
    ::close(lock);
    return accepted;
}
