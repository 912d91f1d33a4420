// event/flag_set.h - a typed bit set over a scoped enum whose enumerators are single bits.
#pragma once

#include <cstdint>
#include <type_traits>

namespace xstack {

/// A set of bits from the enum `E` (each enumerator is one bit, `1u << n`).
///
/// Costs the same as the underlying integer; every operation is constexpr and noexcept. Used
/// for connection flags, fd state bits, receive/send flags and subscription events so that a
/// flag of one kind cannot be passed where another kind is expected.
template <class E>
class flag_set {
public:
    using underlying = std::underlying_type_t<E>;

    constexpr flag_set() noexcept = default;
    constexpr flag_set(E e) noexcept
        : bits_(static_cast<underlying>(e)) {}  // NOLINT: implicit by design
    constexpr static flag_set from_bits(underlying b) noexcept {
        flag_set s;
        s.bits_ = b;
        return s;
    }

    [[nodiscard]] constexpr underlying bits() const noexcept { return bits_; }
    /// True if every bit of `f` is set.
    [[nodiscard]] constexpr bool has(flag_set f) const noexcept {
        return (bits_ & f.bits_) == f.bits_;
    }
    /// True if at least one bit of `f` is set.
    [[nodiscard]] constexpr bool any(flag_set f) const noexcept { return (bits_ & f.bits_) != 0; }
    [[nodiscard]] constexpr bool none() const noexcept { return bits_ == 0; }
    [[nodiscard]] constexpr bool empty() const noexcept { return bits_ == 0; }

    constexpr flag_set& set(flag_set f) noexcept {
        bits_ = static_cast<underlying>(bits_ | f.bits_);
        return *this;
    }
    constexpr flag_set& clear(flag_set f) noexcept {
        bits_ = static_cast<underlying>(bits_ & static_cast<underlying>(~f.bits_));
        return *this;
    }
    constexpr flag_set& assign(flag_set f, bool on) noexcept { return on ? set(f) : clear(f); }
    constexpr void reset() noexcept { bits_ = 0; }

    constexpr flag_set operator|(flag_set o) const noexcept {
        return from_bits(static_cast<underlying>(bits_ | o.bits_));
    }
    constexpr flag_set operator&(flag_set o) const noexcept {
        return from_bits(static_cast<underlying>(bits_ & o.bits_));
    }
    constexpr flag_set operator~() const noexcept {
        return from_bits(static_cast<underlying>(~bits_));
    }
    constexpr flag_set& operator|=(flag_set o) noexcept { return set(o); }
    constexpr flag_set& operator&=(flag_set o) noexcept {
        bits_ = static_cast<underlying>(bits_ & o.bits_);
        return *this;
    }
    constexpr bool operator==(const flag_set&) const noexcept = default;

private:
    underlying bits_ = 0;
};

/// `a | b` on two enumerators gives a flag_set (enable per enum with XS_FLAG_ENUM).
/// E is a type name: it cannot be parenthesised.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define XS_FLAG_ENUM(E)                                             \
    constexpr ::xstack::flag_set<E> operator|(E a, E b) noexcept {  \
        return ::xstack::flag_set<E>(a) | ::xstack::flag_set<E>(b); \
    }
// NOLINTEND(bugprone-macro-parentheses)

}  // namespace xstack
