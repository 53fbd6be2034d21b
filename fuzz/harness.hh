#pragma once

// What the libFuzzer targets under fuzz/ share: splitting one input into several parts, the
// fixed nodes the envelopes are delivered to, silencing what the code under test prints, and a
// scratch directory on tmpfs.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.hh"

namespace roster::fuzz {

// One input may hold several parts (frames, flag sets, a config file), separated by this string.
// It is in every target's dictionary (fuzz/dict/common.dict), so the fuzzer adds and removes it.
inline constexpr std::string_view separator = "#ROSTER-NEXT#";

// The parts of `data` between separators (one part, the whole input, when there is none).
inline std::vector<bytes_view> split(const std::uint8_t* data, std::size_t size) {
    std::vector<bytes_view> out;
    const std::string_view all(reinterpret_cast<const char*>(data), size);
    std::size_t start = 0;
    while (true) {
        const auto at = all.find(separator, start);
        const std::size_t end = at == std::string_view::npos ? size : at;
        out.emplace_back(data + start, end - start);
        if (at == std::string_view::npos) {
            return out;
        }
        start = at + separator.size();
    }
}

inline std::string_view text(bytes_view b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

// While alive, std::cout and std::cerr go nowhere (CLI11 prints help and errors there). The
// sanitizers' and libFuzzer's reports go to fd 2 directly and are not affected.
class silence {
public:
    silence()
        : _out(std::cout.rdbuf(_sink.rdbuf()))
        , _err(std::cerr.rdbuf(_sink.rdbuf())) {}
    ~silence() {
        std::cout.rdbuf(_out);
        std::cerr.rdbuf(_err);
    }
    silence(const silence&) = delete;
    silence& operator=(const silence&) = delete;

private:
    std::ostringstream _sink;
    std::streambuf* _out;
    std::streambuf* _err;
};

// A fresh directory for this process (in $ROSTER_FUZZ_SCRATCH, else on /dev/shm when there is
// one: fsync is free there), removed at exit.
const std::filesystem::path& scratch_dir();

} // namespace roster::fuzz
