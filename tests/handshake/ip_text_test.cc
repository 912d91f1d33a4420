// tests/handshake/ip_text_test.cc - strict IP text: our formatter against glibc's inet_ntop,
// our parser against inet_pton, and the exactness of the canonical-prefix check.
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <arpa/inet.h>

#include <gtest/gtest.h>

#include "handshake/ip_text_internal.h"

namespace xstack::handshake::detail {
namespace {

std::string libc_ntop(const std::uint8_t (&a)[16]) {
    char buf[INET6_ADDRSTRLEN];
    EXPECT_NE(inet_ntop(AF_INET6, a, buf, sizeof buf), nullptr);
    return buf;
}

std::string ours(const std::uint8_t (&a)[16]) {
    char buf[ipv6_text_max + 1];
    const std::size_t n = format_ipv6(a, buf);
    EXPECT_EQ(std::strlen(buf), n);
    return {buf, n};
}

bool canonical(std::string_view s) {
    std::uint8_t a[16];
    return check_ipv6_text(s, true, a) == text_check::ok;
}

// Addresses covering every zero pattern of the eight groups, with group values that exercise
// 1-4 hex digits and the ffff / mixed-notation special cases.
std::vector<std::array<std::uint8_t, 16>> sample_addresses() {
    std::vector<std::array<std::uint8_t, 16>> out;
    const std::uint16_t values[] = {0x1, 0xf, 0x10, 0xab, 0x100, 0xfff, 0x1000, 0xffff, 0xfffe};
    std::mt19937 rng(7);
    for (unsigned mask = 0; mask < 256; ++mask) {
        for (int rep = 0; rep < 12; ++rep) {
            std::array<std::uint8_t, 16> a{};
            for (std::size_t g = 0; g < 8; ++g) {
                if ((mask >> g & 1u) == 0) {
                    continue;
                }
                std::uint16_t v = rep < 9 ? values[rep] : static_cast<std::uint16_t>(rng() | 1u);
                if (g == 5 && rep == 11) {
                    v = 0xffff;  // mapped-form candidate
                }
                a[2 * g] = static_cast<std::uint8_t>(v >> 8);
                a[2 * g + 1] = static_cast<std::uint8_t>(v & 0xff);
            }
            out.push_back(a);
        }
    }
    return out;
}

TEST(IpTextTest, FormatsIpv6ExactlyLikeInetNtop) {
    for (const auto& arr : sample_addresses()) {
        std::uint8_t a[16];
        std::memcpy(a, arr.data(), 16);
        ASSERT_EQ(ours(a), libc_ntop(a));
    }
}

TEST(IpTextTest, ParsesAnyRfc4291FormLikeInetPton) {
    const char* texts[] = {"::",
                           "::1",
                           "1::",
                           "2001:DB8::1",
                           "2001:0db8:0000:0000:0000:0000:0000:0001",
                           "::ffff:1.2.3.4",
                           "1:2:3:4:5:6:1.2.3.4",
                           "fe80::1:2",
                           "0:0:0:0:0:0:0:0"};
    for (const char* t : texts) {
        std::uint8_t ours_b[16];
        std::uint8_t libc_b[16];
        ASSERT_TRUE(parse_ipv6_any(t, ours_b)) << t;
        ASSERT_EQ(inet_pton(AF_INET6, t, libc_b), 1) << t;
        EXPECT_EQ(std::memcmp(ours_b, libc_b, 16), 0) << t;
    }
    const char* bad[] = {"",
                         ":",
                         ":::",
                         "1:::2",
                         "1::2::3",
                         "12345::",
                         "1:2:3:4:5:6:7:8:9",
                         "1:2:3:4:5:6:7",
                         "1.2.3.4",
                         "::1.2.3",
                         "g::1",
                         "1:",
                         "::1:2:3:4:5:6:7:8",
                         "1:2:3:4:5:6:7:1.2.3.4"};
    for (const char* t : bad) {
        std::uint8_t b[16];
        EXPECT_FALSE(parse_ipv6_any(t, b)) << t;
        EXPECT_NE(inet_pton(AF_INET6, t, b), 1) << t;
    }
}

TEST(IpTextTest, AcceptsOnlyCanonicalIpv6) {
    EXPECT_TRUE(canonical("::1"));
    EXPECT_TRUE(canonical("::ffff:1.2.3.4"));
    EXPECT_TRUE(canonical("::1.2.3.4"));
    EXPECT_FALSE(canonical("::102:304")) << "IPv4-compatible in hex";
    EXPECT_FALSE(canonical("::0.0.1.2")) << "only 16 zero bits before the tail: hex form";
    EXPECT_FALSE(canonical("0::1"));
    EXPECT_FALSE(canonical("::FFFF:1.2.3.4"));
    EXPECT_FALSE(canonical("1:0:0:2::3:4")) << "the first of two equal runs is compressed";
}

TEST(IpTextTest, EveryPrefixOfACanonicalAddressIsViable) {
    for (const auto& arr : sample_addresses()) {
        std::uint8_t a[16];
        std::memcpy(a, arr.data(), 16);
        const std::string text = ours(a);
        ASSERT_TRUE(canonical(text)) << text;
        for (std::size_t k = 0; k <= text.size(); ++k) {
            ASSERT_TRUE(ipv6_canonical_prefix(std::string_view(text).substr(0, k)))
                << "'" << text.substr(0, k) << "' of " << text;
        }
    }
}

// Depth-first search for a canonical completion of `p`, guided by the prefix check itself: if
// the check ever says "viable" for a string without a canonical completion, the search runs
// out of candidates and the test fails. Canonicity is judged by parse + format, which the
// tests above tie to inet_pton and inet_ntop.
bool completes(std::string& p) {
    if (canonical(p)) {
        return true;
    }
    if (p.size() >= ipv6_text_max) {
        return false;
    }
    static constexpr char alphabet[] = "1:.0f2a9";
    for (const char c : std::string_view(alphabet)) {
        p.push_back(c);
        if (ipv6_canonical_prefix(p) && completes(p)) {
            return true;
        }
        p.pop_back();
    }
    return false;
}

TEST(IpTextTest, EveryViablePrefixHasACanonicalCompletion) {
    std::mt19937 rng(99);
    const std::string chars = "0123456789abcdef:.";
    int viable = 0;
    for (int i = 0; i < 20000; ++i) {
        std::string p;
        const std::size_t len = rng() % 16;
        for (std::size_t k = 0; k < len; ++k) {
            // Mostly "0", ":", "1", ".": the characters whose placement the rules are about.
            p.push_back(rng() % 3 == 0 ? chars[rng() % chars.size()] : "0:1."[rng() % 4]);
        }
        if (!ipv6_canonical_prefix(p)) {
            continue;
        }
        ++viable;
        std::string q = p;
        ASSERT_TRUE(completes(q)) << "'" << p << "' is said viable but has no canonical completion";
    }
    EXPECT_GT(viable, 1000) << "the generator should produce many viable prefixes";
}

TEST(IpTextTest, JudgesTrickyPrefixesExactly) {
    for (const char* p : {"0:0:0:0", "1:2:3:4:5:6:7::", "::0.0", "1.", ":::", "g", "::ffff:01",
                          "0:0:0:0:0:0:0:1", "1:0:0:2::3:", "::1:2:3:4:5:6:7", "1:0:0:0:"}) {
        std::string q = p;
        EXPECT_FALSE(ipv6_canonical_prefix(p)) << p;
        EXPECT_FALSE(completes(q)) << p;
    }
    // Each of these has a canonical completion, given after the comma.
    for (const char* p : {"2001:0",          // 2001:0:1::
                          "::ffff:102:304",  // ::ffff:102:304:5
                          "::ffff:1:2:",     // ::ffff:1:2:3
                          "1:0:0:2:",        // 1:0:0:2::3
                          "0:0:1::",         // 0:0:1::
                          "::0.1"}) {        // ::0.1.0.0
        std::string q = p;
        EXPECT_TRUE(ipv6_canonical_prefix(p)) << p;
        EXPECT_TRUE(completes(q)) << p;
    }
}

TEST(IpTextTest, Ipv4FieldsAreJudgedByteByByte) {
    std::uint8_t a[4];
    EXPECT_EQ(check_ipv4_text("25", false, a), text_check::partial);
    EXPECT_EQ(check_ipv4_text("256", false, a), text_check::bad);
    EXPECT_EQ(check_ipv4_text("0", false, a), text_check::partial);
    EXPECT_EQ(check_ipv4_text("00", false, a), text_check::bad);
    EXPECT_EQ(check_ipv4_text("1.2.3", true, a), text_check::bad);
    EXPECT_EQ(check_ipv4_text("1.2.3.4", true, a), text_check::ok);
    EXPECT_EQ(a[0], 1);
    EXPECT_EQ(a[3], 4);
    EXPECT_EQ(check_ipv4_text("1.2.3.4.", false, a), text_check::bad);
}

TEST(IpTextTest, PortsAreDecimalWithoutLeadingZeros) {
    std::uint16_t p = 0;
    EXPECT_EQ(check_port_text("0", true, p), text_check::ok);
    EXPECT_EQ(p, 0);
    EXPECT_EQ(check_port_text("65535", true, p), text_check::ok);
    EXPECT_EQ(p, 65535);
    EXPECT_EQ(check_port_text("65536", false, p), text_check::bad);
    EXPECT_EQ(check_port_text("6553", false, p), text_check::partial);
    EXPECT_EQ(check_port_text("01", false, p), text_check::bad);
    EXPECT_EQ(check_port_text("", true, p), text_check::bad);
    EXPECT_EQ(check_port_text("-1", false, p), text_check::bad);
}

TEST(IpTextTest, FormatsIpv4) {
    const std::uint8_t a[4] = {0, 10, 100, 255};
    char buf[ipv4_text_max + 1];
    EXPECT_EQ(std::string(buf, format_ipv4(a, buf)), "0.10.100.255");
}

}  // namespace
}  // namespace xstack::handshake::detail
