#include "auth/keys.hh"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <zmq.h>

namespace roster::auth {

namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' || s.front() == '\r')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r')) {
        s.remove_suffix(1);
    }
    return s;
}

// The Z85 alphabet (ZeroMQ RFC 32): a key is 40 of these.
bool z85_char(char c) {
    static constexpr std::string_view alphabet =
        "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
    return alphabet.find(c) != std::string_view::npos;
}

std::optional<std::string> write_file(const std::string& path, const std::string& text, mode_t mode) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) {
        return fmt::format("cannot create {}: {}", path, std::strerror(errno));
    }
    // The mode given to open() passes through the umask; the secret key must be 0600 whatever it is.
    const bool ok = ::fchmod(fd, mode) == 0 &&
                    ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                    ::fsync(fd) == 0;
    const int err = errno;
    ::close(fd);
    if (!ok) {
        return fmt::format("cannot write {}: {}", path, std::strerror(err));
    }
    return std::nullopt;
}

} // namespace

result<curve_key, std::string> curve_key::from_z85(std::string_view text) {
    text = trim(text);
    if (text.size() != z85_size) {
        return fmt::format("a key is {} Z85 characters, this has {}", z85_size, text.size());
    }
    for (char c : text) {
        if (!z85_char(c)) {
            return std::string("a key is Z85 text and this has a character outside the Z85 alphabet");
        }
    }
    const std::string z(text);
    curve_key k;
    if (zmq_z85_decode(k._bytes.data(), z.c_str()) == nullptr) {
        return std::string("not a valid Z85 key");
    }
    return k;
}

result<curve_key, std::string> curve_key::from_raw(std::string_view raw) {
    if (raw.size() != size) {
        return fmt::format("a key is {} bytes, this has {}", size, raw.size());
    }
    curve_key k;
    std::memcpy(k._bytes.data(), raw.data(), size);
    return k;
}

std::string curve_key::z85() const {
    char text[z85_size + 1] = {};
    zmq_z85_encode(text, _bytes.data(), _bytes.size());
    return text;
}

bool curve_available() { return zmq_has("curve") != 0; }

result<key_pair, std::string> generate_key_pair() {
    char pub[curve_key::z85_size + 1] = {};
    char sec[curve_key::z85_size + 1] = {};
    if (zmq_curve_keypair(pub, sec) != 0) {
        return fmt::format("cannot make a key pair: {} (libzmq without CURVE?)", zmq_strerror(zmq_errno()));
    }
    auto p = curve_key::from_z85(pub);
    auto s = curve_key::from_z85(sec);
    if (!p || !s) {
        return std::string("libzmq made a key that is not Z85");
    }
    return key_pair{p.value(), s.value()};
}

result<curve_key, std::string> public_of(const curve_key& secret) {
    const std::string z = secret.z85();
    char pub[curve_key::z85_size + 1] = {};
    if (zmq_curve_public(pub, z.c_str()) != 0) {
        return fmt::format("cannot derive the public key: {}", zmq_strerror(zmq_errno()));
    }
    return curve_key::from_z85(pub);
}

result<key_pair, std::string> load_key_file(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        return fmt::format("{}: {}", path, std::strerror(errno));
    }
    if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
        return fmt::format("{}: mode {:04o} lets others read this secret key; it must be 0600 (chmod 600 {})",
                           path, st.st_mode & 07777, path);
    }
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    if (!in) {
        return fmt::format("{}: cannot read it", path);
    }
    auto secret = curve_key::from_z85(text.str());
    if (!secret) {
        return fmt::format("{}: not a secret key ({}); make one with `rosterctl keygen {}`", path,
                           secret.error(), path);
    }
    auto pub = public_of(secret.value());
    if (!pub) {
        return fmt::format("{}: {}", path, pub.error());
    }
    return key_pair{pub.value(), secret.value()};
}

std::optional<std::string> write_key_files(const std::string& path, const key_pair& k) {
    if (auto err = write_file(path, k.secret_key.z85() + "\n", 0600)) {
        return err;
    }
    return write_file(path + ".pub", k.public_key.z85() + "\n", 0644);
}

} // namespace roster::auth
