// tests/handshake/hs_test_util.h - helpers for the handshake parser tests: byte vectors and
// the feeding schedules every vector goes through.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "fuzz/fuzz_checks.h"

namespace xstack::xprt {
// gtest prints a one-byte enum as raw bytes; name the code instead.
inline void PrintTo(conn_err e, std::ostream* os) {
    *os << to_string(e);
}
}  // namespace xstack::xprt

namespace xstack::handshake::test {

using bytes = std::vector<std::byte>;

inline bytes from_text(std::string_view s) {
    bytes b(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        b[i] = static_cast<std::byte>(s[i]);
    }
    return b;
}

/// Hex digits, whitespace ignored: "0d0a 0d0a".
inline bytes from_hex(std::string_view h) {
    bytes b;
    int hi = -1;
    for (const char c : h) {
        int v;
        if (c >= '0' && c <= '9') {
            v = c - '0';
        } else if (c >= 'a' && c <= 'f') {
            v = c - 'a' + 10;
        } else if (c >= 'A' && c <= 'F') {
            v = c - 'A' + 10;
        } else {
            continue;
        }
        if (hi < 0) {
            hi = v;
        } else {
            b.push_back(static_cast<std::byte>(hi << 4 | v));
            hi = -1;
        }
    }
    return b;
}

inline bytes concat(std::initializer_list<std::span<const std::byte>> parts) {
    bytes out;
    for (const auto& p : parts) {
        out.insert(out.end(), p.begin(), p.end());
    }
    return out;
}

/// Bytes that follow a header in the feeding tests: they must never count in its length.
/// They start like headers on purpose (CR LF, 'P', the v2 signature's start).
inline const bytes& trailing_payload() {
    static const bytes p =
        concat({from_hex("0d0a0d0a00"), from_text("PROXY TCP4 GET / HTTP/1.1\r\n")});
    return p;
}

/// Names parameterized cases after their `name` field (a behaviour, e.g. "LeadingZeroOctet").
struct param_name {
    template <class P>
    std::string operator()(const ::testing::TestParamInfo<P>& p) const {
        return p.param.name;
    }
};

/// Feeds `in` to `parse` in pieces ending at `ends` (strictly increasing, last = in.size()),
/// re-parsing all bytes received so far after each piece on an exact-size copy, and stopping at
/// the first result that is not need_more. Returns describe() of the last result.
/// Inputs up to this size are copied before each parse; see schedules() for the others.
inline constexpr std::size_t exhaustive_limit = 8192;

template <class Parse>
std::string feed(Parse&& parse, std::span<const std::byte> in,
                 const std::vector<std::size_t>& ends) {
    std::string last;
    for (const std::size_t end : ends) {
        // Copying a 64 KiB header at each of its 65551 offsets would take minutes under ASan;
        // above the limit the parser reads the view directly (the whole input still goes
        // through an exact-size copy).
        last = end <= exhaustive_limit || end == in.size()
                   ? xstack::fuzz::parse_copy(parse, in.first(end))
                   : xstack::fuzz::describe(parse(in.first(end)));
        if (last.rfind("need_more", 0) != 0) {
            break;
        }
    }
    return last;
}

/// Every schedule the tests use: whole, byte by byte, and split once at every offset (for
/// inputs over exhaustive_limit bytes: at the first and last 64 offsets and every 1021st).
inline std::vector<std::vector<std::size_t>> schedules(std::size_t n) {
    std::vector<std::vector<std::size_t>> s;
    s.push_back({n});
    std::vector<std::size_t> one_by_one;
    for (std::size_t i = 1; i <= n; ++i) {
        one_by_one.push_back(i);
    }
    s.push_back(one_by_one);
    for (std::size_t cut = 1; cut < n; ++cut) {
        if (n <= exhaustive_limit || cut <= 64 || cut + 64 >= n || cut % 1021 == 0) {
            s.push_back({cut, n});
        }
    }
    return s;
}

/// Asserts that every schedule over `in` ends with `expected`, and, when `with_payload`, the
/// same with trailing_payload() appended (the header length must not change).
template <class Parse>
void expect_every_feed(Parse&& parse, std::span<const std::byte> in, const std::string& expected,
                       bool with_payload = true) {
    for (const auto& ends : schedules(in.size())) {
        ASSERT_EQ(feed(parse, in, ends), expected) << "pieces: " << ends.size();
    }
    if (!with_payload) {
        return;
    }
    const bytes longer = concat({in, trailing_payload()});
    for (const auto& ends : schedules(longer.size())) {
        ASSERT_EQ(feed(parse, longer, ends), expected) << "with payload, pieces: " << ends.size();
    }
}

/// Asserts that the prefixes of `in` shorter than `at` need more bytes and every longer one
/// (up to the whole input) fails with `code`: the error is reported at the first byte that
/// makes the input invalid, neither earlier nor later.
template <class Parse>
void expect_error_at(Parse&& parse, std::span<const std::byte> in, xprt::conn_err code,
                     std::size_t at) {
    ASSERT_LE(at, in.size());
    for (std::size_t k = 0; k <= in.size(); ++k) {
        const std::string got = xstack::fuzz::parse_copy(parse, in.first(k));
        if (k < at) {
            ASSERT_EQ(got.rfind("need_more", 0), 0u) << "prefix of " << k << " bytes: " << got;
        } else {
            ASSERT_EQ(got, "error " + std::string(xprt::to_string(code)))
                << "prefix of " << k << " bytes";
        }
    }
}

}  // namespace xstack::handshake::test
