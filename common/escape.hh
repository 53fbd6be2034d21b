#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

// Strings from outside (member names, addresses, tags, cluster names, error texts from a peer) on
// their way to a terminal, a log line, JSON or a Prometheus label. Each output is valid UTF-8 and
// cannot carry a control sequence, whatever bytes came in; the input is never trusted to be text.
//
// Control characters here are C0 (U+0000..U+001F), DEL (U+007F) and C1 (U+0080..U+009F): the
// ones a terminal acts on (ESC starts a sequence; U+009B is a one-character CSI on some).
namespace roster {

// The first thing that keeps a string from being clean text.
struct text_flaw {
    enum class kind : std::uint8_t {
        invalid_utf8, // a byte that does not start or continue a valid UTF-8 sequence here
        control,      // a control character (C0, DEL, C1)
    };
    kind what = kind::invalid_utf8;
    std::size_t offset = 0; // byte offset of the flaw
    char32_t value = 0;     // invalid_utf8: the byte; control: the code point

    // "invalid UTF-8 at byte 3 (0xff)", "control character U+001B at byte 0": safe to print, it
    // never quotes the string itself.
    [[nodiscard]] std::string describe() const;
};

// The first flaw of `s`, or nothing when `s` is valid UTF-8 (no overlong forms, no surrogates,
// nothing past U+10FFFF) without control characters.
[[nodiscard]] std::optional<text_flaw> find_text_flaw(std::string_view s);

// Whether `s` is valid UTF-8 (control characters allowed).
[[nodiscard]] bool is_valid_utf8(std::string_view s);

// `s` with every byte that is not part of valid UTF-8 replaced by U+FFFD; valid input comes back
// unchanged.
[[nodiscard]] std::string to_valid_utf8(std::string_view s);

// For a terminal or a text log line: printable text passes unchanged; \n, \r and \t are shown as
// those two characters, other C0 controls, DEL and bytes of invalid UTF-8 as \xNN, C1 controls
// and the characters that reorder or break lines (bidi overrides and isolates, U+2028, U+2029)
// as \uNNNN. No ESC byte, no newline, no invalid UTF-8 gets through. A backslash stays itself:
// this is for reading, not for parsing back, and a backslash cannot start a terminal sequence.
[[nodiscard]] std::string escape_for_terminal(std::string_view s);

// The inside of a JSON string literal (no quotes): ", \ and every control character escaped,
// U+2028 and U+2029 too (JavaScript); each byte of invalid UTF-8 becomes \ufffd, so the result is
// valid JSON whatever the input.
[[nodiscard]] std::string escape_json(std::string_view s);

// `s` as a JSON string literal, quotes included.
[[nodiscard]] std::string json_quote(std::string_view s);

// A Prometheus label value for the text exposition format, without the quotes: valid UTF-8
// (invalid bytes become U+FFFD), with backslash, double quote and newline escaped. prometheus-cpp
// escapes those three itself: give it to_valid_utf8() instead, or they are escaped twice.
[[nodiscard]] std::string escape_label_value(std::string_view s);

} // namespace roster
