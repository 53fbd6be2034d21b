#include "common/escape.hh"

#include <fmt/format.h>

namespace roster {

namespace {

// One step of UTF-8 decoding (RFC 3629, Table 3-7 of the Unicode standard): the code point at
// s[i] and its length, or length 0 when the byte there does not start a well-formed sequence
// (then only that one byte is taken as invalid, and decoding goes on at the next).
struct decoded {
    char32_t cp = 0;
    std::size_t length = 0;
};

decoded decode(std::string_view s, std::size_t i) {
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned char b0 = byte(i);
    if (b0 < 0x80) {
        return {b0, 1};
    }
    std::size_t n = 0;
    unsigned char lo = 0x80, hi = 0xbf; // the range allowed for the second byte
    char32_t cp = 0;
    if (b0 >= 0xc2 && b0 <= 0xdf) {
        n = 2;
        cp = b0 & 0x1fu;
    } else if (b0 >= 0xe0 && b0 <= 0xef) {
        n = 3;
        cp = b0 & 0x0fu;
        if (b0 == 0xe0) {
            lo = 0xa0; // no overlong forms
        } else if (b0 == 0xed) {
            hi = 0x9f; // no surrogates
        }
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
        n = 4;
        cp = b0 & 0x07u;
        if (b0 == 0xf0) {
            lo = 0x90; // no overlong forms
        } else if (b0 == 0xf4) {
            hi = 0x8f; // nothing past U+10FFFF
        }
    } else {
        return {}; // a continuation byte, C0/C1 (overlong), or F5..FF
    }
    if (i + n > s.size()) {
        return {};
    }
    for (std::size_t k = 1; k < n; ++k) {
        const unsigned char b = byte(i + k);
        if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xbf)) {
            return {};
        }
        cp = (cp << 6) | (b & 0x3fu);
    }
    return {cp, n};
}

bool is_control(char32_t cp) { return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f); }

// Characters that change how the rest of a line reads without being controls: bidi embeddings,
// overrides and isolates ("Trojan Source"), and the two Unicode line breaks.
bool is_layout_changing(char32_t cp) {
    return (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0x2028 || cp == 0x2029 ||
           cp == 0x200e || cp == 0x200f || cp == 0x061c;
}

constexpr std::string_view replacement = "\xef\xbf\xbd"; // U+FFFD

// Calls on_char(cp, bytes) for each well-formed character and on_invalid(byte) for each byte that
// is not part of one, in order.
template <typename OnChar, typename OnInvalid>
void walk(std::string_view s, OnChar&& on_char, OnInvalid&& on_invalid) {
    for (std::size_t i = 0; i < s.size();) {
        const decoded d = decode(s, i);
        if (d.length == 0) {
            on_invalid(static_cast<unsigned char>(s[i]));
            ++i;
        } else {
            on_char(d.cp, s.substr(i, d.length));
            i += d.length;
        }
    }
}

} // namespace

std::string text_flaw::describe() const {
    if (what == kind::invalid_utf8) {
        return fmt::format("invalid UTF-8 at byte {} (0x{:02x})", offset, static_cast<unsigned>(value));
    }
    return fmt::format("control character U+{:04X} at byte {}", static_cast<unsigned>(value), offset);
}

std::optional<text_flaw> find_text_flaw(std::string_view s) {
    for (std::size_t i = 0; i < s.size();) {
        const decoded d = decode(s, i);
        if (d.length == 0) {
            return text_flaw{text_flaw::kind::invalid_utf8, i, static_cast<unsigned char>(s[i])};
        }
        if (is_control(d.cp)) {
            return text_flaw{text_flaw::kind::control, i, d.cp};
        }
        i += d.length;
    }
    return std::nullopt;
}

bool is_valid_utf8(std::string_view s) {
    for (std::size_t i = 0; i < s.size();) {
        const decoded d = decode(s, i);
        if (d.length == 0) {
            return false;
        }
        i += d.length;
    }
    return true;
}

std::string to_valid_utf8(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    walk(
        s, [&](char32_t, std::string_view bytes) { out += bytes; },
        [&](unsigned char) { out += replacement; });
    return out;
}

std::string escape_for_terminal(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    walk(
        s,
        [&](char32_t cp, std::string_view bytes) {
            if (cp == '\n') {
                out += "\\n";
            } else if (cp == '\r') {
                out += "\\r";
            } else if (cp == '\t') {
                out += "\\t";
            } else if (cp < 0x20 || cp == 0x7f) {
                out += fmt::format("\\x{:02x}", static_cast<unsigned>(cp));
            } else if (is_control(cp) || is_layout_changing(cp)) {
                out += fmt::format("\\u{:04x}", static_cast<unsigned>(cp));
            } else {
                out += bytes;
            }
        },
        [&](unsigned char b) { out += fmt::format("\\x{:02x}", static_cast<unsigned>(b)); });
    return out;
}

std::string escape_json(std::string_view s) {
    std::string out;
    out.reserve(s.size() + 2);
    walk(
        s,
        [&](char32_t cp, std::string_view bytes) {
            switch (cp) {
            case '"':
                out += "\\\"";
                return;
            case '\\':
                out += "\\\\";
                return;
            case '\n':
                out += "\\n";
                return;
            case '\r':
                out += "\\r";
                return;
            case '\t':
                out += "\\t";
                return;
            default:
                break;
            }
            if (is_control(cp) || cp == 0x2028 || cp == 0x2029) {
                out += fmt::format("\\u{:04x}", static_cast<unsigned>(cp));
            } else {
                out += bytes;
            }
        },
        [&](unsigned char) { out += "\\ufffd"; });
    return out;
}

std::string json_quote(std::string_view s) { return '"' + escape_json(s) + '"'; }

std::string escape_label_value(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    walk(
        s,
        [&](char32_t cp, std::string_view bytes) {
            if (cp == '\\') {
                out += "\\\\";
            } else if (cp == '"') {
                out += "\\\"";
            } else if (cp == '\n') {
                out += "\\n";
            } else {
                out += bytes;
            }
        },
        [&](unsigned char) { out += replacement; });
    return out;
}

} // namespace roster
