// tests/handshake/cip_test.cc - NetScaler CIP: both framings, IPv4 and IPv6, every check,
// fed whole, byte by byte, split at every offset and followed by payload.
#include "handshake/cip.h"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <string>

#include <gtest/gtest.h>

#include "tests/handshake/hs_test_util.h"

namespace xstack::handshake {
namespace {

using test::bytes;
using test::from_hex;
using xprt::conn_err;

constexpr std::uint32_t magic = 0x1234ABCD;

cip_options opts() {
    cip_options o;
    o.magic = magic;
    return o;
}

auto parse = [](std::span<const std::byte> b) { return parse_cip(b, opts()); };

// An IPv4 header (IHL words, protocol) from 192.0.2.1 to 198.51.100.2, then a TCP header
// (12345 -> 443) of `tcp_len` bytes.
bytes ip4_tcp(int ihl = 5, int proto = 6, std::size_t tcp_len = 20) {
    // At least 20 bytes even for a bogus IHL, so the fields below have room.
    bytes b(std::max<std::size_t>(static_cast<std::size_t>(ihl) * 4, 20));
    b[0] = static_cast<std::byte>(0x40 | ihl);
    b[9] = static_cast<std::byte>(proto);
    const int addrs[] = {192, 0, 2, 1, 198, 51, 100, 2};
    for (int i = 0; i < 8; ++i) {
        b[12 + static_cast<std::size_t>(i)] = static_cast<std::byte>(addrs[i]);
    }
    bytes tcp(tcp_len);
    tcp[0] = std::byte{0x30};
    tcp[1] = std::byte{0x39};
    tcp[2] = std::byte{0x01};
    tcp[3] = std::byte{0xBB};
    tcp[12] = std::byte{0x50};
    return test::concat({b, tcp});
}

// An IPv6 header (next header) from 2001:db8::1 to 2001:db8::2, then a 20-byte TCP header.
bytes ip6_tcp(int next = 6) {
    bytes b(40);
    b[0] = std::byte{0x60};
    b[6] = static_cast<std::byte>(next);
    const bytes s = from_hex("20010db8000000000000000000000001");
    const bytes d = from_hex("20010db8000000000000000000000002");
    std::copy(s.begin(), s.end(), b.begin() + 8);
    std::copy(d.begin(), d.end(), b.begin() + 24);
    bytes tcp(20);
    tcp[0] = std::byte{0x30};
    tcp[1] = std::byte{0x39};
    tcp[2] = std::byte{0x01};
    tcp[3] = std::byte{0xBB};
    return test::concat({b, tcp});
}

bytes be32(std::size_t v) {
    return {static_cast<std::byte>(v >> 24 & 0xFF), static_cast<std::byte>(v >> 16 & 0xFF),
            static_cast<std::byte>(v >> 8 & 0xFF), static_cast<std::byte>(v & 0xFF)};
}

bytes legacy(const bytes& ip_tcp, std::uint32_t m = magic, std::size_t len = SIZE_MAX) {
    return test::concat({be32(m), be32(len == SIZE_MAX ? ip_tcp.size() : len), ip_tcp});
}

bytes standard(const bytes& ip_tcp, std::size_t len = SIZE_MAX, int type = 1) {
    const std::size_t l = len == SIZE_MAX ? ip_tcp.size() : len;
    const bytes head = {std::byte{0}, static_cast<std::byte>(type),
                        static_cast<std::byte>(l >> 8 & 0xFF), static_cast<std::byte>(l & 0xFF)};
    return test::concat({be32(magic), be32(12 + ip_tcp.size()), head, ip_tcp});
}

struct accept_case {
    const char* name;
    std::function<bytes()> make;
    cip_framing framing;
    std::string src;
    std::string dst;
};

void PrintTo(const accept_case& c, std::ostream* os) {
    *os << c.name;
}

class CipAcceptTest : public ::testing::TestWithParam<accept_case> {};

TEST_P(CipAcceptTest, DecodesAddressesAndAgreesOnEveryFeed) {
    const accept_case& c = GetParam();
    const bytes in = c.make();
    const auto r = parse_cip(in, opts());
    ASSERT_TRUE(r.complete()) << fuzz::describe(r);
    EXPECT_EQ(r.length, in.size());
    EXPECT_EQ(r.value.framing, c.framing);
    EXPECT_EQ(to_sock_addr(r.value.src).to_string(), c.src);
    EXPECT_EQ(to_sock_addr(r.value.dst).to_string(), c.dst);
    test::expect_every_feed(parse, in, fuzz::describe(r));
}

INSTANTIATE_TEST_SUITE_P(
    Framings, CipAcceptTest,
    ::testing::Values(
        accept_case{"LegacyIpv4", [] { return legacy(ip4_tcp()); }, cip_framing::legacy,
                    "192.0.2.1:12345", "198.51.100.2:443"},
        accept_case{"LegacyIpv6", [] { return legacy(ip6_tcp()); }, cip_framing::legacy,
                    "[2001:db8::1]:12345", "[2001:db8::2]:443"},
        accept_case{"StandardIpv4", [] { return standard(ip4_tcp()); }, cip_framing::standard,
                    "192.0.2.1:12345", "198.51.100.2:443"},
        accept_case{"StandardIpv6", [] { return standard(ip6_tcp()); }, cip_framing::standard,
                    "[2001:db8::1]:12345", "[2001:db8::2]:443"},
        accept_case{"Ipv4OptionsAndTcpOptions", [] { return standard(ip4_tcp(8, 6, 40)); },
                    cip_framing::standard, "192.0.2.1:12345", "198.51.100.2:443"},
        accept_case{"LegacyIpv4WithTcpOptions", [] { return legacy(ip4_tcp(5, 6, 32)); },
                    cip_framing::legacy, "192.0.2.1:12345", "198.51.100.2:443"}),
    test::param_name());

struct reject_case {
    const char* name;
    std::function<bytes()> make;
    conn_err code;
    std::size_t at;  // shortest rejected prefix
};

void PrintTo(const reject_case& c, std::ostream* os) {
    *os << c.name;
}

class CipRejectTest : public ::testing::TestWithParam<reject_case> {};

TEST_P(CipRejectTest, RejectsAtTheFirstDecisiveByteOnEveryFeed) {
    const reject_case& c = GetParam();
    const bytes in = c.make();
    test::expect_error_at(parse, in, c.code, c.at);
    test::expect_every_feed(parse, in, "error " + std::string(xprt::to_string(c.code)));
}

INSTANTIATE_TEST_SUITE_P(
    Checks, CipRejectTest,
    ::testing::Values(
        reject_case{"WrongMagicFirstByte", [] { return legacy(ip4_tcp(), 0x0234ABCD); },
                    conn_err::cip_bad_magic, 1},
        reject_case{"WrongMagicLastByte", [] { return legacy(ip4_tcp(), 0x1234ABCE); },
                    conn_err::cip_bad_magic, 4},
        reject_case{"ProxyHeaderInstead", [] { return test::from_text("PROXY TCP4 1.2.3.4 "); },
                    conn_err::cip_bad_magic, 1},
        reject_case{"UnknownFraming",
                    [] {
                        bytes b = legacy(ip4_tcp());
                        b[8] = std::byte{0x51};
                        return b;
                    },
                    conn_err::cip_bad_proto, 9},
        reject_case{"StandardTypeOtherThanOne", [] { return standard(ip4_tcp(), SIZE_MAX, 2); },
                    conn_err::cip_bad_proto, 10},
        reject_case{"LegacyLengthOverTheMaximum", [] { return legacy(ip4_tcp(), magic, 2000); },
                    conn_err::cip_too_big, 9},
        reject_case{"StandardLengthOverTheMaximum", [] { return standard(ip4_tcp(), 1013); },
                    conn_err::cip_too_big, 12},
        reject_case{"StandardIpVersion5",
                    [] {
                        bytes b = standard(ip4_tcp());
                        b[12] = std::byte{0x55};
                        return b;
                    },
                    conn_err::cip_bad_proto, 13},
        reject_case{"Ipv4HeaderLengthUnderFiveWords", [] { return legacy(ip4_tcp(4, 6, 24)); },
                    conn_err::cip_bad_len, 9},
        reject_case{"LengthTooShortForIpv4AndTcp", [] { return legacy(ip4_tcp(), magic, 39); },
                    conn_err::cip_bad_len, 9},
        reject_case{"LengthTooShortForIpv4OptionsAndTcp",
                    [] { return standard(ip4_tcp(6, 6, 20), 43); }, conn_err::cip_bad_len, 13},
        reject_case{"LengthTooShortForIpv6AndTcp", [] { return standard(ip6_tcp(), 59); },
                    conn_err::cip_bad_len, 13},
        reject_case{"Ipv4Udp", [] { return legacy(ip4_tcp(5, 17)); }, conn_err::cip_bad_proto, 18},
        reject_case{"Ipv6Udp", [] { return standard(ip6_tcp(17)); }, conn_err::cip_bad_proto, 19},
        reject_case{"Ipv6ExtensionHeader", [] { return legacy(ip6_tcp(0)); },
                    conn_err::cip_bad_proto, 15}),
    test::param_name());

TEST(CipTest, LengthCountsFromTheFramingOffset) {
    // HAProxy compares the bytes received with the length field alone; the header is
    // offset + length bytes, and a prefix one byte short must still wait.
    const bytes in = standard(ip4_tcp());
    const auto r = parse_cip(std::span(in).first(in.size() - 1), opts());
    ASSERT_TRUE(r.need_more());
    EXPECT_EQ(r.needed, 1u);
}

TEST(CipTest, ReadsTheStandardLengthBigEndian) {
    // 0x0100 = 256 bytes after the 12-byte prefix; a little-endian read would see 1.
    bytes payload = ip4_tcp(5, 6, 236);
    const bytes in = standard(payload);
    const auto r = parse_cip(in, opts());
    ASSERT_TRUE(r.complete()) << fuzz::describe(r);
    EXPECT_EQ(r.length, 12u + 256u);
}

TEST(CipTest, ConfiguredMagicAndMaximum) {
    cip_options o;
    o.magic = 0xCAFEBABE;
    o.max_header = 47;
    const bytes in = legacy(ip4_tcp(), 0xCAFEBABE);
    EXPECT_EQ(parse_cip(in, o).error, conn_err::cip_too_big);
    o.max_header = 48;
    EXPECT_TRUE(parse_cip(in, o).complete());
    EXPECT_EQ(parse_cip(in, opts()).error, conn_err::cip_bad_magic);
}

}  // namespace
}  // namespace xstack::handshake
