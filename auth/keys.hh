#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.hh"

namespace roster::auth {

// A CurveZMQ key (Curve25519, 32 bytes): public or secret. Written as Z85, 40 characters, in key
// files, flags and logs; passed to libzmq as the raw 32 bytes.
class curve_key {
public:
    static constexpr std::size_t size = 32;
    static constexpr std::size_t z85_size = 40;

    curve_key() = default;
    // From Z85 text (surrounding white space ignored); the error names what is wrong.
    static result<curve_key, std::string> from_z85(std::string_view text);
    // From raw bytes (exactly 32).
    static result<curve_key, std::string> from_raw(std::string_view raw);

    [[nodiscard]] std::string z85() const;
    [[nodiscard]] std::string raw() const {
        return {reinterpret_cast<const char*>(_bytes.data()), _bytes.size()};
    }
    [[nodiscard]] const std::array<std::uint8_t, size>& bytes() const noexcept { return _bytes; }

    auto operator<=>(const curve_key&) const = default;

private:
    std::array<std::uint8_t, size> _bytes{};
};

struct key_pair {
    curve_key public_key;
    curve_key secret_key;
};

// A new key pair from libzmq (libsodium's random source). Fails only if libzmq lacks CURVE.
result<key_pair, std::string> generate_key_pair();

// The public key of a secret key.
result<curve_key, std::string> public_of(const curve_key& secret);

// Reads a secret key file (Z85, one line) and derives the public key. Refuses a file that the
// group or others may read ("chmod 600"), as ssh does: a secret key that others could copy is
// not one. Errors name the path.
result<key_pair, std::string> load_key_file(const std::string& path);

// Writes `path` (the secret key, Z85, mode 0600, created exclusively: an existing file is an
// error, not overwritten) and `path`.pub (the public key, Z85).
[[nodiscard]] std::optional<std::string> write_key_files(const std::string& path, const key_pair& k);

// Whether libzmq was built with CURVE (libsodium).
[[nodiscard]] bool curve_available();

} // namespace roster::auth
