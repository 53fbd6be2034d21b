#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/bytes.hh"
#include "common/result.hh"
#include "membership/command.hh"
#include "wire/messages.hh"

// The edge between the plain message structs (wire/messages.hh) and the bytes of
// wire/roster.fbs. Nothing else in roster touches FlatBuffers.
namespace roster::wire {

// Messages larger than this are refused before any parsing (a snapshot of 10,000 members is
// about 1 MiB).
inline constexpr std::size_t max_message_size = 64u << 20;

enum class decode_error_kind : std::uint8_t {
    empty,               // zero bytes
    too_large,           // more than max_message_size
    not_roster,          // no "RSTR" identifier: not a roster message at all
    truncated,           // fewer bytes than the size prefix announces
    malformed,           // trailing bytes, or the FlatBuffers verifier refused it
    unsupported_version, // a protocol version this build does not speak
    missing_body,        // no body, or a body type this version does not know
    invalid_field,       // a field out of range (an enum value, a missing view)
};

struct decode_error {
    decode_error_kind kind;
    std::string detail; // for the log line: what exactly was wrong

    // "<kind>: <detail>", one line.
    [[nodiscard]] std::string describe() const;
};

[[nodiscard]] const char* to_string(decode_error_kind kind) noexcept;

// Encodes one envelope. Always succeeds for well-formed structs.
[[nodiscard]] bytes encode(const wire::envelope& message);

// Encoding: a size-prefixed FlatBuffer (4-byte little-endian length, then the Envelope with the
// "RSTR" identifier), one per ZeroMQ frame.
//
// Decodes one envelope: size, identifier, length prefix, the FlatBuffers verifier, the version,
// then the conversion with range checks. Never throws and never reads outside `data`, whatever the
// bytes; every refusal is a decode_error saying what was wrong.
[[nodiscard]] result<wire::envelope, decode_error> decode(bytes_view data);

} // namespace roster::wire

namespace roster::wire {

// Raft entry payloads: one membership command per entry ("RCMD"), and the state machine's
// snapshot ("RSNP"). Same discipline as messages: verified before read, typed error on bad bytes.
[[nodiscard]] bytes encode_command(const membership::command& c);
// For sizing a command before it is encoded: encode_command(c).size() is at most
// command_bytes_overhead plus op_bytes_bound(o) for every op o of c (checked against the encoder
// in tests/wire). Loose for the smallest ops (3.6x for a join of a name alone: every op is counted
// with its own vtables and padding), closer as fields fill (under 2.5x for a member's usual join).
inline constexpr std::size_t command_bytes_overhead = 64;
[[nodiscard]] std::size_t op_bytes_bound(const membership::op& o) noexcept;
[[nodiscard]] result<membership::command, decode_error> decode_command(bytes_view data);
[[nodiscard]] bytes encode_snapshot(const membership::membership_snapshot& s);
[[nodiscard]] result<membership::membership_snapshot, decode_error> decode_snapshot(bytes_view data);

} // namespace roster::wire
