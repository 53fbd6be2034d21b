// Seeded mutation testing of wire::decode: random bytes, random bytes behind a valid header,
// and valid messages with bytes flipped, inserted and cut. The decoder must refuse or accept
// every input without crashing or reading out of bounds (this binary also runs under ASan and
// UBSan in scripts/test), and whatever it accepts must encode and decode again.
//
// ROSTER_FUZZ_ITERATIONS raises the count for a longer run:
//   ROSTER_FUZZ_ITERATIONS=10000000 build/bin/decode_fuzz_test
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>

#include <gtest/gtest.h>

#include "tests/wire/samples.hh"
#include "wire/codec.hh"

namespace roster::wire {
namespace {

std::uint64_t iterations(std::uint64_t fallback) {
    const char* v = std::getenv("ROSTER_FUZZ_ITERATIONS");
    return v != nullptr ? std::strtoull(v, nullptr, 10) : fallback;
}

void check_stable(const result<wire::envelope, decode_error>& r) {
    if (r) {
        const bytes again = encode(*r);
        const auto second = decode(again);
        ASSERT_TRUE(second) << "accepted input does not survive re-encoding: " << second.error().describe();
        ASSERT_EQ(*second, *r);
    }
}

TEST(decode_fuzz, random_bytes_are_refused_cleanly) {
    std::mt19937_64 rng(1);
    const std::uint64_t n = iterations(50'000);
    for (std::uint64_t i = 0; i < n; ++i) {
        bytes b(std::uniform_int_distribution<std::size_t>(0, 512)(rng));
        for (auto& x : b) {
            x = static_cast<std::uint8_t>(rng());
        }
        if (i % 2 == 0 && b.size() >= 12) { // half carry a right length prefix and the identifier
            const auto size = static_cast<std::uint32_t>(b.size() - 4);
            std::memcpy(b.data(), &size, 4);
            std::memcpy(b.data() + 8, "RSTR", 4);
        }
        const auto r = decode(b);
        check_stable(r);
    }
}

TEST(decode_fuzz, mutated_messages_never_crash_the_decoder) {
    const auto samples = testing::sample_envelopes();
    std::vector<bytes> encoded;
    for (const auto& s : samples) {
        encoded.push_back(encode(s));
    }
    std::mt19937_64 rng(2);
    const std::uint64_t n = iterations(100'000);
    std::uint64_t accepted = 0;
    std::map<decode_error_kind, std::uint64_t> refused;
    for (std::uint64_t i = 0; i < n; ++i) {
        bytes b = encoded[rng() % encoded.size()];
        const int edits = 1 + static_cast<int>(rng() % 4);
        for (int e = 0; e < edits && !b.empty(); ++e) {
            const std::size_t at = rng() % b.size();
            switch (rng() % 4) {
            case 0:
                b[at] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
                break;
            case 1:
                b[at] = static_cast<std::uint8_t>(rng());
                break;
            case 2:
                b.insert(b.begin() + static_cast<std::ptrdiff_t>(at), static_cast<std::uint8_t>(rng()));
                break;
            default:
                b.resize(at);
                break;
            }
        }
        if (rng() % 2 == 0 && b.size() >= 4) { // keep the length prefix right, to reach the verifier
            const auto size = static_cast<std::uint32_t>(b.size() - 4);
            std::memcpy(b.data(), &size, 4);
        }
        const auto r = decode(b);
        if (r) {
            ++accepted;
        } else {
            ++refused[r.error().kind];
        }
        check_stable(r);
    }
    std::printf("%llu mutated messages: %llu accepted", static_cast<unsigned long long>(n),
                static_cast<unsigned long long>(accepted));
    for (const auto& [kind, count] : refused) {
        std::printf(", %llu %s", static_cast<unsigned long long>(count), to_string(kind));
    }
    std::printf("\n");
    // Every stage of the decoder refused something.
    EXPECT_GT(refused[decode_error_kind::truncated], 0u);
    EXPECT_GT(refused[decode_error_kind::malformed], 0u);
    // Some mutations land in payload bytes and stay valid; most do not. Both paths ran.
    EXPECT_GT(accepted, 0u);
    EXPECT_LT(accepted, n);
}

// Whatever a payload decoder accepts must encode and decode again to the same value.
template <typename Decoded, typename Decode, typename Encode>
bool check_payload_stable(const Decoded& r, Decode decode, Encode encode) {
    if (r) {
        const auto again = decode(encode(*r));
        EXPECT_TRUE(again) << "accepted payload does not survive re-encoding: " << again.error().describe();
        EXPECT_TRUE(again && *again == *r);
    }
    return r.ok();
}

// The Raft log's payloads come from disk and from InstallSnapshot, so they get the same treatment:
// mutated commands and snapshots, at every alignment, are refused or survive re-encoding.
TEST(decode_fuzz, mutated_log_payloads_never_crash_the_decoders) {
    const bytes command = encode_command(testing::sample_command());
    const bytes snapshot = encode_snapshot(testing::sample_snapshot());
    std::mt19937_64 rng(3);
    const std::uint64_t n = iterations(50'000);
    std::uint64_t accepted = 0;
    std::vector<std::uint8_t> storage;
    for (std::uint64_t i = 0; i < n; ++i) {
        const bool is_command = rng() % 2 == 0;
        bytes b = is_command ? command : snapshot;
        const int edits = 1 + static_cast<int>(rng() % 4);
        for (int e = 0; e < edits && !b.empty(); ++e) {
            const std::size_t at = rng() % b.size();
            if (rng() % 4 == 0) {
                b.resize(at);
            } else {
                b[at] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
            }
        }
        const std::size_t shift = rng() % 8;
        storage.assign(b.size() + shift, 0);
        std::copy(b.begin(), b.end(), storage.begin() + static_cast<std::ptrdiff_t>(shift));
        const bytes_view in(storage.data() + shift, b.size());
        const bool ok = is_command
                            ? check_payload_stable(decode_command(in), decode_command, encode_command)
                            : check_payload_stable(decode_snapshot(in), decode_snapshot, encode_snapshot);
        accepted += ok ? 1 : 0;
    }
    EXPECT_GT(accepted, 0u);
    EXPECT_LT(accepted, n);
}

} // namespace
} // namespace roster::wire
