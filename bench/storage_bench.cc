// How fast sqlite_storage makes entries durable, next to the raw fsync rate of the same disk.
//
//   build/bin/storage_bench [--dir DIR] [--seconds S]
//
// Prints a markdown table. Every row writes to a file in DIR (default: the current directory)
// and waits for the disk each time, as a voter does before it acknowledges.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fcntl.h>
#include <filesystem>
#include <sys/statvfs.h>
#include <unistd.h>
#include <vector>

#include <CLI/CLI.hpp>

#include "consensus/sqlite_storage.hh"

using namespace roster;
using namespace roster::consensus;
using clock_type = std::chrono::steady_clock;

namespace {

struct row {
    std::string what;
    double ops_per_s;
    double entries_per_s;
    double p50_us;
    double p99_us;
};

row summarize(std::string what, std::vector<double>& lat_us, std::size_t entries_per_op, double seconds) {
    std::sort(lat_us.begin(), lat_us.end());
    const double ops = static_cast<double>(lat_us.size()) / seconds;
    return {std::move(what), ops, ops * static_cast<double>(entries_per_op), lat_us[lat_us.size() / 2],
            lat_us[std::min(lat_us.size() - 1, lat_us.size() * 99 / 100)]};
}

// Appends (the file grows, so the sync also writes metadata), or overwrites the first block of
// a preallocated file (data only: the disk's floor).
row raw_sync(const std::filesystem::path& dir, std::size_t block, bool data_only, double seconds,
             bool overwrite = false) {
    const auto path = dir / "storage_bench.raw";
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) {
        std::perror("open");
        std::exit(1);
    }
    std::vector<char> buf(block, 'x');
    if (overwrite &&
        (::write(fd, buf.data(), buf.size()) != static_cast<ssize_t>(buf.size()) || ::fsync(fd) != 0)) {
        std::perror("preallocate");
        std::exit(1);
    }
    std::vector<double> lat;
    const auto end = clock_type::now() + std::chrono::duration<double>(seconds);
    const auto start = clock_type::now();
    while (clock_type::now() < end) {
        const auto t0 = clock_type::now();
        const ssize_t n =
            overwrite ? ::pwrite(fd, buf.data(), buf.size(), 0) : ::write(fd, buf.data(), buf.size());
        if (n != static_cast<ssize_t>(buf.size()) || (data_only ? ::fdatasync(fd) : ::fsync(fd)) != 0) {
            std::perror("write/sync");
            std::exit(1);
        }
        lat.push_back(std::chrono::duration<double, std::micro>(clock_type::now() - t0).count());
    }
    const double took = std::chrono::duration<double>(clock_type::now() - start).count();
    ::close(fd);
    std::filesystem::remove(path);
    return summarize(std::string(overwrite ? "raw overwrite " : "raw append ") + std::to_string(block) +
                         " B + " + (data_only ? "fdatasync" : "fsync"),
                     lat, 1, took);
}

row sqlite_rate(const std::filesystem::path& dir, std::size_t per_batch, std::size_t entry_bytes,
                double seconds) {
    const auto path = dir / "storage_bench.db";
    for (const char* suffix : {"", "-wal", "-shm"}) {
        std::filesystem::remove(path.string() + suffix);
    }
    auto opened = sqlite_storage::open(path, {"bench", voter_id(1)});
    if (!opened) {
        std::fprintf(stderr, "%s\n", opened.error().message.c_str());
        std::exit(1);
    }
    auto& s = *opened.value();
    std::vector<double> lat;
    log_index next(1);
    const auto end = clock_type::now() + std::chrono::duration<double>(seconds);
    const auto start = clock_type::now();
    while (clock_type::now() < end) {
        ready r;
        for (std::size_t i = 0; i < per_batch; ++i) {
            r.entries.push_back({next, raft_term(1), entry_kind::normal, bytes(entry_bytes, 0x5a)});
            next = next.next();
        }
        r.hard = hard_state{raft_term(1), voter_id(1), next.prev()};
        const auto t0 = clock_type::now();
        if (auto err = s.save(r)) {
            std::fprintf(stderr, "%s\n", err->message.c_str());
            std::exit(1);
        }
        lat.push_back(std::chrono::duration<double, std::micro>(clock_type::now() - t0).count());
    }
    const double took = std::chrono::duration<double>(clock_type::now() - start).count();
    opened.value().reset();
    for (const char* suffix : {"", "-wal", "-shm"}) {
        std::filesystem::remove(path.string() + suffix);
    }
    return summarize("sqlite_storage: " + std::to_string(per_batch) + " x " + std::to_string(entry_bytes) +
                         " B entries + hard state per save",
                     lat, per_batch, took);
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"storage_bench: durable appends per second, sqlite_storage against raw fsync"};
    std::string dir = ".";
    double seconds = 3;
    app.add_option("--dir", dir, "directory on the disk to measure")->check(CLI::ExistingDirectory);
    app.add_option("--seconds", seconds, "seconds per row")->check(CLI::Range(0.1, 600.0));
    CLI11_PARSE(app, argc, argv);

    std::vector<row> rows;
    rows.push_back(raw_sync(dir, 4096, true, seconds, true));
    rows.push_back(raw_sync(dir, 4096, true, seconds));
    rows.push_back(raw_sync(dir, 128, true, seconds));
    rows.push_back(raw_sync(dir, 4096, false, seconds));
    rows.push_back(sqlite_rate(dir, 1, 100, seconds));
    rows.push_back(sqlite_rate(dir, 16, 100, seconds));
    rows.push_back(sqlite_rate(dir, 1, 4000, seconds));

    std::printf("command: %s --dir %s --seconds %g\n\n", argv[0], dir.c_str(), seconds);
    std::printf("| what | syncs/s | entries/s | p50 µs | p99 µs |\n| --- | ---: | ---: | ---: | ---: |\n");
    for (const auto& r : rows) {
        std::printf("| %s | %.0f | %.0f | %.0f | %.0f |\n", r.what.c_str(), r.ops_per_s, r.entries_per_s,
                    r.p50_us, r.p99_us);
    }
    return 0;
}
