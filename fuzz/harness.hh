#pragma once

// What the libFuzzer targets under fuzz/ share: splitting one input into several parts, the
// stability check of every decoder, silencing what the code under test prints, and a scratch
// directory on tmpfs. The fixed nodes the envelopes are delivered to are in fuzz/drivers.hh.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "common/bytes.hh"
#include "common/invariant.hh"

namespace roster::fuzz {

// One input may hold several parts (frames, flag sets, a config file), separated by this string.
// It is in every target's dictionary (fuzz/dict/*.dict), so the fuzzer adds and removes it.
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

// What `decode` makes of `in`, or nothing when it refuses. Whatever it accepts must encode into
// bytes that decode to the same again (compared as bytes, so that a NaN compares equal to itself);
// `what` ("envelope", "payload") names it in the report when not.
template <typename Decode, typename Encode>
auto decode_stable(bytes_view in, Decode decode, Encode encode, std::string_view what) {
    auto first = decode(in);
    std::optional<std::decay_t<decltype(*first)>> out;
    if (!first) {
        return out;
    }
    const bytes once = encode(*first);
    auto again = decode(once);
    if (!again) {
        invariant_broken("fuzz", "an accepted {} does not decode after encoding: {}", what,
                         again.error().describe());
    }
    if (encode(*again) != once) {
        invariant_broken("fuzz", "an accepted {} changes when encoded and decoded again", what);
    }
    out = std::move(first).value();
    return out;
}

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
