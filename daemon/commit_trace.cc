#include "daemon/commit_trace.hh"

#include <cstdlib>
#include <ctime>

#include <fmt/format.h>

namespace roster::daemon {

namespace {

std::int64_t mono_ns() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

constexpr std::size_t flush_bytes = 64 * 1024;
constexpr std::int64_t flush_ns = 1'000'000'000;

} // namespace

std::unique_ptr<commit_trace> commit_trace::from_environment(std::string_view node_name, spdlog::logger& log) {
    const char* path = std::getenv("ROSTER_TRACE_COMMITS");
    if (path == nullptr || *path == '\0') {
        return nullptr;
    }
    std::string name(node_name);
    for (char& c : name) {
        const bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                          c == '_' || c == '.';
        c = safe ? c : '_';
    }
    const std::string file = fmt::format("{}.{}", path, name);
    std::FILE* f = std::fopen(file.c_str(), "a");
    if (f == nullptr) {
        log.warn("ROSTER_TRACE_COMMITS: cannot open {}; no commit trace", file);
        return nullptr;
    }
    log.info("tracing the commit path to {} (ROSTER_TRACE_COMMITS)", file);
    return std::make_unique<commit_trace>(f);
}

commit_trace::commit_trace(std::FILE* file)
    : _file(file)
    , _last_flush_ns(mono_ns()) {
    _buffer.reserve(flush_bytes + 256);
}

commit_trace::~commit_trace() {
    flush();
    std::fclose(_file);
}

void commit_trace::record(std::string_view event, std::uint64_t peer, std::uint64_t index) {
    fmt::format_to(std::back_inserter(_buffer), "{} {} {} {}\n", mono_ns(), event, peer, index);
    _in_step = true;
    if (_buffer.size() >= flush_bytes) {
        flush();
    }
}

void commit_trace::step_end() {
    if (_in_step) {
        record("step_end");
        _in_step = false;
    }
}

void commit_trace::maybe_flush() {
    if (!_buffer.empty() && mono_ns() - _last_flush_ns >= flush_ns) {
        flush();
    }
}

void commit_trace::flush() {
    if (!_buffer.empty()) {
        (void)std::fwrite(_buffer.data(), 1, _buffer.size(), _file);
        (void)std::fflush(_file);
        _buffer.clear();
    }
    _last_flush_ns = mono_ns();
}

} // namespace roster::daemon
