#include <gtest/gtest.h>

#include "common/escape.hh"
#include "common/prng.hh"

namespace roster {
namespace {

using namespace std::string_literals;

TEST(find_text_flaw, accepts_plain_and_multilingual_text) {
    EXPECT_FALSE(find_text_flaw(""));
    EXPECT_FALSE(find_text_flaw("node-1.example.com"));
    EXPECT_FALSE(find_text_flaw("Zürich 東京 🚀"));
    EXPECT_FALSE(find_text_flaw("\xef\xbf\xbd")); // U+FFFD itself is a character like any other
}

TEST(find_text_flaw, finds_the_first_control_character_c0_del_and_c1) {
    auto f = find_text_flaw("ok\x1b[31m");
    ASSERT_TRUE(f);
    EXPECT_EQ(f->what, text_flaw::kind::control);
    EXPECT_EQ(f->offset, 2u);
    EXPECT_EQ(f->value, U'\x1b');
    EXPECT_EQ(f->describe(), "control character U+001B at byte 2");

    EXPECT_EQ(find_text_flaw("a\nb")->value, U'\n');
    EXPECT_EQ(find_text_flaw("a\x7f")->value, U'\x7f');
    EXPECT_EQ(find_text_flaw("\0"s)->value, U'\0');
    f = find_text_flaw("x\xc2\x9b"); // U+009B, the one-character CSI
    ASSERT_TRUE(f);
    EXPECT_EQ(f->what, text_flaw::kind::control);
    EXPECT_EQ(f->value, U'\x9b');
    EXPECT_FALSE(find_text_flaw("\xc2\xa0")); // U+00A0, just past C1
}

TEST(find_text_flaw, finds_invalid_utf8) {
    const auto invalid_at = [](std::string_view s) -> std::optional<std::size_t> {
        auto f = find_text_flaw(s);
        if (!f || f->what != text_flaw::kind::invalid_utf8) {
            return std::nullopt;
        }
        return f->offset;
    };
    EXPECT_EQ(invalid_at("ab\xff"), 2u);
    EXPECT_EQ(invalid_at("\x80"), 0u);             // a lone continuation byte
    EXPECT_EQ(invalid_at("\xc3"), 0u);             // truncated
    EXPECT_EQ(invalid_at("\xc0\xaf"), 0u);         // overlong '/'
    EXPECT_EQ(invalid_at("\xe0\x80\xaf"), 0u);     // overlong, three bytes
    EXPECT_EQ(invalid_at("\xed\xa0\x80"), 0u);     // a surrogate (U+D800)
    EXPECT_EQ(invalid_at("\xf4\x90\x80\x80"), 0u); // past U+10FFFF
    EXPECT_EQ(invalid_at("\xf5\x80\x80\x80"), 0u);
    EXPECT_EQ(find_text_flaw("\xff")->describe(), "invalid UTF-8 at byte 0 (0xff)");
    EXPECT_TRUE(is_valid_utf8("\x1b plain control is valid UTF-8"));
    EXPECT_FALSE(is_valid_utf8("\xe2\x82"));
}

TEST(to_valid_utf8, replaces_each_invalid_byte_and_keeps_the_rest) {
    EXPECT_EQ(to_valid_utf8("héllo"), "héllo");
    EXPECT_EQ(to_valid_utf8("a\xff"
                            "b\xc3"),
              "a\xef\xbf\xbd"
              "b\xef\xbf\xbd");
}

TEST(escape_for_terminal, passes_printable_text_and_shows_controls_as_escapes) {
    EXPECT_EQ(escape_for_terminal("m1 Zürich"), "m1 Zürich");
    EXPECT_EQ(escape_for_terminal("\x1b[2J\x1b]0;owned\x07"), "\\x1b[2J\\x1b]0;owned\\x07");
    EXPECT_EQ(escape_for_terminal("a\nINFO forged line\r\t"), "a\\nINFO forged line\\r\\t");
    EXPECT_EQ(escape_for_terminal("\x7f"), "\\x7f");
    EXPECT_EQ(escape_for_terminal("\xc2\x9b"
                                  "31m"),
              "\\u009b31m");
    EXPECT_EQ(escape_for_terminal("abc\xe2\x80\xae"
                                  "fed"),
              "abc\\u202efed"); // a right-to-left override
    EXPECT_EQ(escape_for_terminal("\xff\xfe"), "\\xff\\xfe");
    EXPECT_EQ(escape_for_terminal("back\\slash"), "back\\slash");
}

TEST(escape_json, escapes_what_json_requires_and_replaces_invalid_utf8) {
    EXPECT_EQ(json_quote("plain"), "\"plain\"");
    EXPECT_EQ(escape_json("a\"b\\c"), "a\\\"b\\\\c");
    EXPECT_EQ(escape_json("l1\nl2\r\t"), "l1\\nl2\\r\\t");
    EXPECT_EQ(escape_json("\x1b\x01\x7f"), "\\u001b\\u0001\\u007f");
    EXPECT_EQ(escape_json("\xc2\x85"), "\\u0085");
    EXPECT_EQ(escape_json("\xe2\x80\xa8"), "\\u2028");
    EXPECT_EQ(escape_json("ok\xff\xc3"), "ok\\ufffd\\ufffd");
    EXPECT_EQ(escape_json("東京"), "東京");
}

TEST(escape_label_value, gives_valid_utf8_with_the_three_escapes_of_the_text_format) {
    EXPECT_EQ(escape_label_value("m1"), "m1");
    EXPECT_EQ(escape_label_value("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
    EXPECT_EQ(escape_label_value("x\xff"), "x\xef\xbf\xbd");
}

// Property: whatever the bytes, each escape gives valid UTF-8 without ESC or newline bytes (the
// terminal form has no control bytes at all; the JSON form no raw control characters).
TEST(escapes, hold_their_promises_for_random_bytes) {
    prng random(20240613);
    for (int round = 0; round < 20'000; ++round) {
        std::string s(random.below(24), '\0');
        for (auto& c : s) {
            // Mostly the interesting bytes: controls, UTF-8 lead and continuation bytes.
            const std::uint64_t pick = random.below(4);
            c = static_cast<char>(pick == 0   ? random.below(0x20)
                                  : pick == 1 ? 0x80 + random.below(0x80)
                                              : random.below(0x100));
        }
        const std::string term = escape_for_terminal(s);
        ASSERT_TRUE(is_valid_utf8(term)) << round;
        ASSERT_FALSE(find_text_flaw(term)) << round;
        const std::string json = escape_json(s);
        ASSERT_TRUE(is_valid_utf8(json)) << round;
        ASSERT_FALSE(find_text_flaw(json)) << round;
        const std::string label = escape_label_value(s);
        ASSERT_TRUE(is_valid_utf8(label)) << round;
        ASSERT_EQ(label.find('\n'), std::string::npos) << round;
        ASSERT_TRUE(is_valid_utf8(to_valid_utf8(s))) << round;
        if (is_valid_utf8(s)) {
            ASSERT_EQ(to_valid_utf8(s), s) << round;
        }
    }
}

} // namespace
} // namespace roster
