// tests/handshake/crc32c_test.cc - CRC32C against published vectors, and the two
// implementations against each other.
#include "handshake/crc32c.h"

#include <cstdint>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "tests/handshake/hs_test_util.h"

namespace xstack::handshake {
namespace {

using test::bytes;

std::uint32_t bitwise_reference(std::span<const std::byte> d) {
    // The definition, one bit at a time: an oracle independent of the table and of SSE4.2.
    std::uint32_t c = 0xFFFFFFFFu;
    for (const std::byte b : d) {
        c ^= std::to_integer<std::uint32_t>(b);
        for (int k = 0; k < 8; ++k) {
            c = (c & 1u) != 0 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        }
    }
    return ~c;
}

bytes filled(std::size_t n, auto f) {
    bytes b(n);
    for (std::size_t i = 0; i < n; ++i) {
        b[i] = static_cast<std::byte>(f(i));
    }
    return b;
}

struct vector_case {
    const char* name;
    bytes data;
    std::uint32_t crc;
};

// RFC 3720 appendix B.4 (the CRCs are listed there least significant byte first), plus the
// customary check value of "123456789".
std::vector<vector_case> published() {
    return {
        {"ThirtyTwoZeros", bytes(32), 0x8A9136AAu},
        {"ThirtyTwoOnes", bytes(32, std::byte{0xFF}), 0x62A8AB43u},
        {"ThirtyTwoIncrementing", filled(32, [](std::size_t i) { return i; }), 0x46DD794Eu},
        {"ThirtyTwoDecrementing", filled(32, [](std::size_t i) { return 31 - i; }), 0x113FDB5Cu},
        {"IscsiReadCommandPdu",
         test::from_hex("01c00000 00000000 00000000 00000000 14000000 00000400 00000014 00000018 "
                        "28000000 00000000 02000000 00000000"),
         0xD9963A56u},
        {"CheckString123456789", test::from_text("123456789"), 0xE3069283u},
        {"Empty", bytes(), 0x00000000u},
    };
}

TEST(Crc32cTest, MatchesPublishedVectors) {
    for (const auto& v : published()) {
        EXPECT_EQ(crc32c(v.data), v.crc) << v.name;
        EXPECT_EQ(detail::crc32c_extend_sw(0, v.data), v.crc) << v.name;
        EXPECT_EQ(bitwise_reference(v.data), v.crc) << v.name << " (oracle)";
        if (detail::crc32c_hw_available()) {
            EXPECT_EQ(detail::crc32c_extend_hw(0, v.data), v.crc) << v.name;
        }
    }
}

TEST(Crc32cTest, VerifiesTheCrcOfARealAwsHeader) {
    // The AWS NLB health check of kubernetes/kubernetes#57250 carries 0xbce5951f, big-endian,
    // computed with its own field zeroed.
    bytes h = test::from_hex("0d0a0d0a000d0a515549540a20110054030004000000000400 4a");
    h.resize(100);
    EXPECT_EQ(crc32c(h), 0xbce5951fu);
}

TEST(Crc32cTest, ImplementationsAgreeOnEveryLengthAndAlignment) {
    std::mt19937 rng(20240603);
    bytes buf(600);
    for (auto& b : buf) {
        b = static_cast<std::byte>(rng());
    }
    for (std::size_t off = 0; off < 8; ++off) {
        for (std::size_t len = 0; off + len <= 520; ++len) {
            const auto d = std::span<const std::byte>(buf).subspan(off, len);
            const std::uint32_t want = bitwise_reference(d);
            ASSERT_EQ(detail::crc32c_extend_sw(0, d), want) << off << "+" << len;
            if (detail::crc32c_hw_available()) {
                ASSERT_EQ(detail::crc32c_extend_hw(0, d), want) << off << "+" << len;
            }
            ASSERT_EQ(crc32c(d), want);
        }
    }
}

TEST(Crc32cTest, ExtendChainsLikeOneCall) {
    const bytes d = test::from_text("The quick brown fox jumps over the lazy dog, twice over.");
    for (std::size_t cut = 0; cut <= d.size(); ++cut) {
        const auto s = std::span<const std::byte>(d);
        EXPECT_EQ(crc32c_extend(crc32c(s.first(cut)), s.subspan(cut)), crc32c(d)) << cut;
    }
}

}  // namespace
}  // namespace xstack::handshake
