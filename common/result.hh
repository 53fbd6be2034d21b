#pragma once

#include <cassert>
#include <utility>
#include <variant>

namespace roster {

// Either a value or an error, for outcomes that are expected (bad bytes from the network, a
// rejected request). A small stand-in for std::expected, which C++20 lacks.
template <typename T, typename E>
class [[nodiscard]] result {
public:
    result(T value)
        : _v(std::in_place_index<0>, std::move(value)) {}
    result(E error)
        : _v(std::in_place_index<1>, std::move(error)) {}

    [[nodiscard]] bool ok() const noexcept { return _v.index() == 0; }
    explicit operator bool() const noexcept { return ok(); }

    // Pre-condition: ok().
    T& value() & {
        assert(ok());
        return std::get<0>(_v);
    }
    const T& value() const& {
        assert(ok());
        return std::get<0>(_v);
    }
    T&& value() && {
        assert(ok());
        return std::get<0>(std::move(_v));
    }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }

    // Pre-condition: !ok().
    const E& error() const& {
        assert(!ok());
        return std::get<1>(_v);
    }

private:
    std::variant<T, E> _v;
};

} // namespace roster
