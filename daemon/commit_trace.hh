#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

#include <spdlog/spdlog.h>

namespace roster::daemon {

// A per-hop trace of the commit path, for bench/commit (docs/benchmarks: "where a commit's time
// goes"). Off unless the environment names a file: ROSTER_TRACE_COMMITS=PATH makes each rosterd
// write PATH.<node name>, one line per event:
//
//     <CLOCK_MONOTONIC ns> <event> <peer voter or 0> <log index or 0>
//
//   request_in   a join, leave or removal request read from the listen socket
//   append_out   an append carrying entries sent to a voter (index: its last entry) after this
//                voter's write; append_out_early: before it (a leader, Raft thesis §10.2.1)
//   append_in    such an append read from the peer socket
//   save_begin   a write of log entries begins (index: the last entry written)
//   save_end     it returned (fdatasync done)
//   ack_out      a successful append reply sent (index: what it acknowledges)
//   ack_in       one read by the leader
//   reply_out    an answer to a join, leave or removal sent on the listen socket
//   publish_out  a view published
//   step_end     the poll loop finished the turn in which any of the above happened (its logging,
//                views published, HTTP documents and commit-index writes done): it waits again
//
// Events go to memory and reach the file when 64 KiB gathered, every second, and at exit, so the
// hot path makes no system call for them. One thread (the poll loop's) records.
class commit_trace {
public:
    // The trace the environment asks for, or null.
    static std::unique_ptr<commit_trace> from_environment(std::string_view node_name, spdlog::logger& log);

    explicit commit_trace(std::FILE* file);
    ~commit_trace();
    commit_trace(const commit_trace&) = delete;
    commit_trace& operator=(const commit_trace&) = delete;

    void record(std::string_view event, std::uint64_t peer = 0, std::uint64_t index = 0);
    // step_end, if anything was recorded since the last one.
    void step_end();
    // Writes what gathered if a second passed since the last write.
    void maybe_flush();

private:
    void flush();

    std::FILE* _file;
    std::string _buffer;
    bool _in_step = false; // recorded since the last step_end
    std::int64_t _last_flush_ns = 0;
};

} // namespace roster::daemon
