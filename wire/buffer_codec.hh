#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#include <flatbuffers/flatbuffers.h>
#include <fmt/format.h>

#include "common/bytes.hh"
#include "common/result.hh"
#include "wire/codec.hh"
#include "wire/codec_detail.hh"

// Private to wire/: whole buffers, whose root is an envelope (wire/codec.cc) or one of the replicated
// log's payloads (wire/log_codec.cc): the checks every buffer passes before any field of it is read,
// and the one way each kind is written and read.
namespace roster::wire::detail {

// What a buffer must hold: its root table's file identifier, whether a 4-byte size prefix comes
// first (envelopes, so that a cut or padded ZeroMQ frame shows), and its name in error details.
struct buffer_format {
    const char* identifier;
    bool size_prefixed;
    const char* what;
    std::size_t first_allocation; // the builder's, enough for most buffers of the kind
};

// "RSTR" is roster.fbs's file_identifier. The formats are template arguments, so that each
// instantiation folds its branches away.
inline constexpr buffer_format envelope_format{"RSTR", true, "message", 256};
inline constexpr buffer_format command_format{"RCMD", false, "membership command", 256};
inline constexpr buffer_format snapshot_format{"RSNP", false, "membership snapshot", 1024};

// Size limits, the identifier, the size prefix, then the FlatBuffers verifier, in that order, each
// refusal with its own kind. Returns the root table, which may point into `aligned_copy`.
template <typename Table, const buffer_format& format>
result<const Table*, decode_error> verify(bytes_view data, std::vector<std::uint64_t>& aligned_copy) {
    if (data.empty()) {
        return decode_error{decode_error_kind::empty, fmt::format("{} of 0 bytes", format.what)};
    }
    if (data.size() > max_message_size) {
        return decode_error{
            decode_error_kind::too_large,
            fmt::format("{} of {} bytes, the limit is {}", format.what, data.size(), max_message_size)};
    }
    // FlatBuffers reads scalars in place, through typed pointers, and its verifier checks their
    // alignment only relative to the start of the buffer; a ZeroMQ frame or a stored payload may
    // start anywhere, so an unaligned one is copied to an aligned buffer first.
    const std::uint8_t* buf = data.data();
    if (reinterpret_cast<std::uintptr_t>(buf) % alignof(std::uint64_t) != 0) {
        aligned_copy.resize((data.size() + sizeof(std::uint64_t) - 1) / sizeof(std::uint64_t));
        std::memcpy(aligned_copy.data(), data.data(), data.size());
        buf = reinterpret_cast<const std::uint8_t*>(aligned_copy.data());
    }
    constexpr std::size_t prefix = sizeof(flatbuffers::uoffset_t);
    // Bytes 0..4 (after the size prefix) are the root offset, 4..8 the identifier.
    const std::size_t header =
        (format.size_prefixed ? prefix : 0) + prefix + flatbuffers::kFileIdentifierLength;
    if (data.size() < header ||
        !flatbuffers::BufferHasIdentifier(buf, format.identifier, format.size_prefixed)) {
        return decode_error{decode_error_kind::not_roster,
                            fmt::format("{} of {} bytes without the \"{}\" identifier", format.what,
                                        data.size(), format.identifier)};
    }
    if constexpr (format.size_prefixed) {
        // The size of the rest makes any truncation, and any trailing garbage, visible.
        const std::size_t declared = flatbuffers::ReadScalar<flatbuffers::uoffset_t>(buf) + prefix;
        if (declared > data.size()) {
            return decode_error{decode_error_kind::truncated,
                                fmt::format("{} bytes of a {}-byte {}", data.size(), declared, format.what)};
        }
        if (declared < data.size()) {
            return decode_error{decode_error_kind::malformed,
                                fmt::format("{} trailing bytes after a {}-byte {}", data.size() - declared,
                                            declared, format.what)};
        }
    }
    flatbuffers::Verifier::Options options;
    options.max_depth = 32;
    options.max_tables = 4'000'000;
    flatbuffers::Verifier verifier(buf, data.size(), options);
    const bool verified = format.size_prefixed ? verifier.VerifySizePrefixedBuffer<Table>(format.identifier)
                                               : verifier.VerifyBuffer<Table>(format.identifier);
    if (!verified) {
        return decode_error{decode_error_kind::malformed,
                            fmt::format("{} of {} bytes refused by the FlatBuffers verifier (bad offsets or "
                                        "missing required fields)",
                                        format.what, data.size())};
    }
    return format.size_prefixed ? flatbuffers::GetSizePrefixedRoot<Table>(buf)
                                : flatbuffers::GetRoot<Table>(buf);
}

// One buffer holding `value`, written by codec<T> (whose `table` is the root).
template <typename T, const buffer_format& format>
bytes encode_buffer(const T& value) {
    builder b(format.first_allocation);
    const auto root = codec<T>::encode(b, value);
    if constexpr (format.size_prefixed) {
        b.FinishSizePrefixed(root, format.identifier);
    } else {
        b.Finish(root, format.identifier);
    }
    return finished_bytes(b);
}

// Verifies `data`, then reads it with codec<T>. The root may live in an aligned copy that lasts only
// for this call; the codecs copy out everything they keep.
template <typename T, const buffer_format& format>
result<T, decode_error> decode_buffer(bytes_view data) {
    std::vector<std::uint64_t> aligned_copy;
    const auto root = verify<typename codec<T>::table, format>(data, aligned_copy);
    if (!root) {
        return root.error();
    }
    return codec<T>::decode(*root.value());
}

} // namespace roster::wire::detail
