// tests/handshake/proxy_v1_test.cc - PROXY v1: every rule of issue 3, valid and invalid, fed
// whole, byte by byte, split at every offset and followed by payload.
#include "handshake/proxy_v1.h"

#include <cstring>
#include <string>

#include <arpa/inet.h>

#include <gtest/gtest.h>

#include "handshake/proxy.h"
#include "tests/handshake/hs_test_util.h"

namespace xstack::handshake {
namespace {

using test::bytes;
using test::from_text;
using xprt::conn_err;

auto parse_v1 = [](std::span<const std::byte> b) { return parse_proxy_v1(b); };

xprt::sock_addr addr(const char* text) {
    return *xprt::sock_addr::parse(text);
}

// ---- accepted lines ---------------------------------------------------------------------------

struct accept_case {
    const char* name;
    std::string line;
    proxy_family family;
    std::string src;  // sock_addr::to_string() of the decoded source, "-" when absent
    std::string dst;
};

void PrintTo(const accept_case& c, std::ostream* os) {
    *os << c.name;
}

class ProxyV1AcceptTest : public ::testing::TestWithParam<accept_case> {};

TEST_P(ProxyV1AcceptTest, DecodesTheLineAndAgreesOnEveryFeed) {
    const accept_case& c = GetParam();
    const bytes in = from_text(c.line);
    const auto r = parse_proxy_v1(in);
    ASSERT_TRUE(r.complete()) << fuzz::describe(r);
    EXPECT_EQ(r.length, c.line.size());
    EXPECT_EQ(r.value.version, 1);
    EXPECT_EQ(r.value.command, proxy_command::proxy);
    EXPECT_EQ(r.value.family, c.family);
    EXPECT_EQ(to_sock_addr(r.value.src).to_string(), c.src);
    EXPECT_EQ(to_sock_addr(r.value.dst).to_string(), c.dst);
    EXPECT_TRUE(r.value.tlvs.empty());
    EXPECT_EQ(r.value.use_addresses(), c.family != proxy_family::unspec);
    // parse_proxy detects v1 and gives the same answer.
    EXPECT_EQ(fuzz::describe(parse_proxy(in)), fuzz::describe(r));
    test::expect_every_feed(parse_v1, in, fuzz::describe(r));
}

const std::string max_v6 = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";

INSTANTIATE_TEST_SUITE_P(
    Spec, ProxyV1AcceptTest,
    ::testing::Values(
        accept_case{"SpecExampleTcp4", "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n",
                    proxy_family::tcp4, "192.168.0.1:56324", "192.168.0.11:443"},
        accept_case{"Tcp4Extremes", "PROXY TCP4 0.0.0.0 255.255.255.255 0 65535\r\n",
                    proxy_family::tcp4, "0.0.0.0:0", "255.255.255.255:65535"},
        accept_case{"HaproxyHealthCheck", "PROXY TCP4 127.0.0.1 127.0.0.1 40736 18094\r\n",
                    proxy_family::tcp4, "127.0.0.1:40736", "127.0.0.1:18094"},
        accept_case{"Tcp6Compressed", "PROXY TCP6 2001:db8::1 ::1 1 2\r\n", proxy_family::tcp6,
                    "[2001:db8::1]:1", "[::1]:2"},
        accept_case{"Tcp6LongestLine", "PROXY TCP6 " + max_v6 + " " + max_v6 + " 65535 65535\r\n",
                    proxy_family::tcp6, "[" + max_v6 + "]:65535", "[" + max_v6 + "]:65535"},
        accept_case{"Tcp6V4Mapped", "PROXY TCP6 ::ffff:10.0.0.1 ::ffff:10.0.0.2 1000 2000\r\n",
                    proxy_family::tcp6, "[::ffff:10.0.0.1]:1000", "[::ffff:10.0.0.2]:2000"},
        accept_case{"Tcp6AllZero", "PROXY TCP6 :: :: 0 0\r\n", proxy_family::tcp6, "[::]:0",
                    "[::]:0"},
        accept_case{"Tcp6V4CompatibleAndLongerSecondRun",
                    "PROXY TCP6 ::1.2.3.4 1:0:0:2::3 10 20\r\n", proxy_family::tcp6,
                    "[::1.2.3.4]:10", "[1:0:0:2::3]:20"},
        accept_case{"Tcp6FirstOfEqualRunsCompressed",
                    "PROXY TCP6 1::2:0:0:3:4 fe80::1 443 8443\r\n", proxy_family::tcp6,
                    "[1::2:0:0:3:4]:443", "[fe80::1]:8443"},
        accept_case{"Tcp6SingleZeroGroupNotCompressed",
                    "PROXY TCP6 1:0:2:3:4:5:6:7 1:2:3:4:5:6:7:0 1 2\r\n", proxy_family::tcp6,
                    "[1:0:2:3:4:5:6:7]:1", "[1:2:3:4:5:6:7:0]:2"},
        accept_case{"UnknownShort", "PROXY UNKNOWN\r\n", proxy_family::unspec, "-", "-"},
        accept_case{"UnknownEmptyRest", "PROXY UNKNOWN \r\n", proxy_family::unspec, "-", "-"},
        accept_case{"UnknownWithAddresses", "PROXY UNKNOWN 1.2.3.4 5.6.7.8 1 2\r\n",
                    proxy_family::unspec, "-", "-"},
        accept_case{"UnknownRestIsIgnored", "PROXY UNKNOWN any text, even 300.1.1.1 or tabs\t\r\n",
                    proxy_family::unspec, "-", "-"},
        accept_case{"UnknownWorstCase107Bytes",
                    "PROXY UNKNOWN " + max_v6 + " " + max_v6 + " 65535 65535\r\n",
                    proxy_family::unspec, "-", "-"}),
    test::param_name());

TEST(ProxyV1Test, WorstCaseUnknownLineIsExactly107Bytes) {
    const std::string line = "PROXY UNKNOWN " + max_v6 + " " + max_v6 + " 65535 65535\r\n";
    ASSERT_EQ(line.size(), proxy_v1_max_length);
    const auto r = parse_proxy_v1(from_text(line));
    ASSERT_TRUE(r.complete());
    EXPECT_EQ(r.length, 107u);
}

TEST(ProxyV1Test, MappedTcp6AddressStaysIpv6) {
    const auto r = parse_proxy_v1(from_text("PROXY TCP6 ::ffff:10.0.0.1 ::1 1 2\r\n"));
    ASSERT_TRUE(r.complete());
    EXPECT_EQ(r.value.src.kind, addr_kind::ipv6);
    EXPECT_EQ(to_sock_addr(r.value.src).family(), AF_INET6);
}

// ---- rejected lines ---------------------------------------------------------------------------

struct reject_case {
    const char* name;
    std::string line;
    conn_err code;
    std::size_t at;  // length of the shortest prefix that is already rejected
};

void PrintTo(const reject_case& c, std::ostream* os) {
    *os << c.name;
}

class ProxyV1RejectTest : public ::testing::TestWithParam<reject_case> {};

TEST_P(ProxyV1RejectTest, RejectsAtTheFirstInvalidByteOnEveryFeed) {
    const reject_case& c = GetParam();
    const bytes in = from_text(c.line);
    test::expect_error_at(parse_v1, in, c.code, c.at);
    test::expect_every_feed(parse_v1, in, "error " + std::string(xprt::to_string(c.code)));
}

const std::string ok_tail = " 5.6.7.8 1 2\r\n";

INSTANTIATE_TEST_SUITE_P(
    Spec, ProxyV1RejectTest,
    ::testing::Values(
        // Not a PROXY line at all.
        reject_case{"HttpRequest", "GET / HTTP/1.1\r\n", conn_err::prx_not_hdr, 1},
        reject_case{"LowerCaseSignature", "proxy TCP4 1.2.3.4" + ok_tail, conn_err::prx_not_hdr, 1},
        reject_case{"SignatureWithoutSpace", "PROXY\r\n", conn_err::prx_not_hdr, 6},
        reject_case{"TabAfterSignature", "PROXY\tTCP4 1.2.3.4" + ok_tail, conn_err::prx_not_hdr, 6},
        // Protocol.
        reject_case{"ProtocolTcp5", "PROXY TCP5 1.2.3.4" + ok_tail, conn_err::prx_bad_proto, 10},
        reject_case{"LowerCaseProtocol", "PROXY tcp4 1.2.3.4" + ok_tail, conn_err::prx_bad_proto,
                    7},
        reject_case{"ProtocolUdp4", "PROXY UDP4 1.2.3.4" + ok_tail, conn_err::prx_bad_proto, 8},
        reject_case{"ProtocolWithSuffix", "PROXY TCP45 1.2.3.4" + ok_tail, conn_err::prx_bad_proto,
                    11},
        reject_case{"UnknownWithSuffix", "PROXY UNKNOWNX\r\n", conn_err::prx_bad_proto, 14},
        // Separators and line structure.
        reject_case{"EmptyProtocol", "PROXY \r\n", conn_err::prx_bad_hdr, 7},
        reject_case{"TwoSpacesBeforeProtocol", "PROXY  TCP4 1.2.3.4" + ok_tail,
                    conn_err::prx_bad_hdr, 7},
        reject_case{"TwoSpacesBeforeSource", "PROXY TCP4  1.2.3.4" + ok_tail, conn_err::prx_bad_hdr,
                    12},
        reject_case{"TwoSpacesBeforeDestination", "PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n",
                    conn_err::prx_bad_hdr, 20},
        reject_case{"TwoSpacesBeforeSourcePort", "PROXY TCP4 1.2.3.4 5.6.7.8  1 2\r\n",
                    conn_err::prx_bad_hdr, 28},
        reject_case{"SpaceBeforeCrlf", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n", conn_err::prx_bad_hdr,
                    31},
        reject_case{"ExtraField", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n", conn_err::prx_bad_hdr,
                    31},
        reject_case{"LoneLf", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", conn_err::prx_bad_hdr, 31},
        reject_case{"CrWithoutLf", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX", conn_err::prx_bad_hdr, 32},
        reject_case{"DoubleCr", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\r\n", conn_err::prx_bad_hdr, 32},
        reject_case{"FieldsMissing", "PROXY TCP4\r\n", conn_err::prx_bad_hdr, 11},
        reject_case{"DestinationPortMissing", "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n",
                    conn_err::prx_bad_hdr, 29},
        reject_case{"UnknownLoneLf", "PROXY UNKNOWN\n", conn_err::prx_bad_hdr, 14},
        reject_case{"UnknownCrWithoutLf", "PROXY UNKNOWN\rX", conn_err::prx_bad_hdr, 15},
        reject_case{"UnknownDoubleCr", "PROXY UNKNOWN\r\r\n", conn_err::prx_bad_hdr, 15},
        reject_case{"UnknownLfInsideRest", "PROXY UNKNOWN foo\nbar\r\n", conn_err::prx_bad_hdr, 18},
        reject_case{"UnknownNoCrlfWithin107Bytes", "PROXY UNKNOWN " + std::string(92, 'a') + "\r\n",
                    conn_err::prx_line_too_long, 106},
        // IPv4 text.
        reject_case{"LeadingZeroOctet", "PROXY TCP4 010.0.0.1" + ok_tail, conn_err::prx_bad_addr,
                    13},
        reject_case{"LeadingZeroLastOctet", "PROXY TCP4 1.2.3.04" + ok_tail, conn_err::prx_bad_addr,
                    19},
        reject_case{"OctetOver255", "PROXY TCP4 300.1.1.1" + ok_tail, conn_err::prx_bad_addr, 14},
        reject_case{"Octet256", "PROXY TCP4 1.2.3.256" + ok_tail, conn_err::prx_bad_addr, 20},
        reject_case{"ThreeOctets", "PROXY TCP4 1.2.3" + ok_tail, conn_err::prx_bad_addr, 17},
        reject_case{"FiveOctets", "PROXY TCP4 1.2.3.4.5" + ok_tail, conn_err::prx_bad_addr, 19},
        reject_case{"EmptyOctet", "PROXY TCP4 1..2.3" + ok_tail, conn_err::prx_bad_addr, 14},
        reject_case{"SignedOctet", "PROXY TCP4 +1.2.3.4" + ok_tail, conn_err::prx_bad_addr, 12},
        reject_case{"NulInAddress", std::string("PROXY TCP4 1.2.3.4\0", 19) + ok_tail,
                    conn_err::prx_bad_addr, 19},
        reject_case{"Ipv6TextInTcp4", "PROXY TCP4 ::1 ::1 1 2\r\n", conn_err::prx_bad_addr, 12},
        reject_case{"BadDestinationOctet", "PROXY TCP4 1.2.3.4 5.6.7.999 1 2\r\n",
                    conn_err::prx_bad_addr, 28},
        // IPv6 text: canonical only.
        reject_case{"Ipv4TextInTcp6", "PROXY TCP6 1.2.3.4 ::1 1 2\r\n", conn_err::prx_bad_addr, 13},
        reject_case{"UpperCaseIpv6", "PROXY TCP6 2001:DB8::1 ::1 1 2\r\n", conn_err::prx_bad_addr,
                    17},
        reject_case{"Ipv6GroupLeadingZero", "PROXY TCP6 2001:0db8::1 ::1 1 2\r\n",
                    conn_err::prx_bad_addr, 18},
        reject_case{"Ipv6Uncompressed", "PROXY TCP6 0:0:0:0:0:0:0:1 ::1 1 2\r\n",
                    conn_err::prx_bad_addr, 18},
        reject_case{"Ipv6SingleZeroGroupCompressed", "PROXY TCP6 1:2:3:4:5:6:7:: ::1 1 2\r\n",
                    conn_err::prx_bad_addr, 26},
        reject_case{"Ipv6MappedInHex", "PROXY TCP6 ::ffff:102:304 ::1 1 2\r\n",
                    conn_err::prx_bad_addr, 26},
        reject_case{"Ipv6SecondOfEqualRunsCompressed", "PROXY TCP6 1:0:0:2::3:4 ::1 1 2\r\n",
                    conn_err::prx_bad_addr, 22},
        reject_case{"Ipv6ZoneId", "PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n", conn_err::prx_bad_addr,
                    19},
        reject_case{"Ipv6Brackets", "PROXY TCP6 [::1] ::1 1 2\r\n", conn_err::prx_bad_addr, 12},
        reject_case{"Ipv6TooManyGroups", "PROXY TCP6 1:2:3:4:5:6:7:8:9 ::1 1 2\r\n",
                    conn_err::prx_bad_addr, 27},
        // Ports.
        reject_case{"PortLeadingZero", "PROXY TCP4 1.2.3.4 5.6.7.8 080 2\r\n",
                    conn_err::prx_bad_addr, 29},
        reject_case{"PortOver65535", "PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n",
                    conn_err::prx_bad_addr, 32},
        reject_case{"PortWithSign", "PROXY TCP4 1.2.3.4 5.6.7.8 +80 2\r\n", conn_err::prx_bad_addr,
                    28},
        reject_case{"PortInHex", "PROXY TCP4 1.2.3.4 5.6.7.8 8a 2\r\n", conn_err::prx_bad_addr, 29},
        reject_case{"DestinationPortOver65535", "PROXY TCP4 1.2.3.4 5.6.7.8 1 99999\r\n",
                    conn_err::prx_bad_addr, 34}),
    test::param_name());

// ---- fragmentation and payload ----------------------------------------------------------------

TEST(ProxyV1Test, EveryStrictPrefixOfAValidLineNeedsMore) {
    const std::string line = "PROXY TCP6 2001:db8::ffff:1 ::ffff:10.0.0.1 65535 0\r\n";
    const bytes in = from_text(line);
    for (std::size_t k = 0; k < in.size(); ++k) {
        const auto r = parse_proxy_v1(std::span(in).first(k));
        ASSERT_TRUE(r.need_more()) << k << ": " << fuzz::describe(r);
        EXPECT_GE(r.needed, 1u);
        EXPECT_LE(k + r.needed, in.size()) << "needed overestimates at " << k;
    }
}

TEST(ProxyV1Test, KeepsBytesAfterTheLine) {
    const bytes in = from_text("PROXY UNKNOWN\r\nPROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n");
    const auto r = parse_proxy_v1(in);
    ASSERT_TRUE(r.complete());
    EXPECT_EQ(r.length, 15u);
    EXPECT_EQ(r.value.family, proxy_family::unspec);
}

TEST(ProxyV1Test, RejectsLeadingZeroOctet) {
    const auto r = parse_proxy_v1(from_text("PROXY TCP4 010.000.000.001 10.0.0.1 80 443\r\n"));
    ASSERT_TRUE(r.failed());
    EXPECT_EQ(r.error, conn_err::prx_bad_addr);
}

TEST(ProxyV1Test, ReportsOverflowingOctetBeforeTheLineEnds) {
    // HAProxy accepts 10.0.0.300 as 10.0.1.44; here "PROXY TCP4 300" is already rejected.
    const auto r = parse_proxy_v1(from_text("PROXY TCP4 300"));
    ASSERT_TRUE(r.failed());
    EXPECT_EQ(r.error, conn_err::prx_bad_addr);
}

TEST(ProxyV1Test, EmptyInputNeedsTheShortestLine) {
    const auto r = parse_proxy_v1({});
    ASSERT_TRUE(r.need_more());
    EXPECT_EQ(r.needed, proxy_v1_min_length);
}

// ---- builder ----------------------------------------------------------------------------------

struct build_case {
    const char* name;
    const char* src;
    const char* dst;
    std::string expected;
};

void PrintTo(const build_case& c, std::ostream* os) {
    *os << c.name;
}

class ProxyV1BuildTest : public ::testing::TestWithParam<build_case> {};

TEST_P(ProxyV1BuildTest, WritesTheExpectedLineWhichParsesBack) {
    const build_case& c = GetParam();
    const auto src = c.src[0] != '\0' ? addr(c.src) : xprt::sock_addr{};
    const auto dst = c.dst[0] != '\0' ? addr(c.dst) : xprt::sock_addr{};
    std::byte out[proxy_v1_max_length];
    const std::size_t n = build_proxy_v1(src, dst, out);
    ASSERT_EQ(std::string(reinterpret_cast<const char*>(out), n), c.expected);
    const auto r = parse_proxy_v1(std::span<const std::byte>(out, n));
    ASSERT_TRUE(r.complete()) << fuzz::describe(r);
    EXPECT_EQ(r.length, n);
}

INSTANTIATE_TEST_SUITE_P(
    Families, ProxyV1BuildTest,
    ::testing::Values(
        build_case{"BothIpv4", "192.168.0.1:56324", "192.168.0.11:443",
                   "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n"},
        build_case{"BothIpv6", "[2001:db8::1]:1", "[::1]:2", "PROXY TCP6 2001:db8::1 ::1 1 2\r\n"},
        build_case{"MixedFamiliesUseV4Mapped", "10.0.0.1:1000", "[2001:db8::2]:2000",
                   "PROXY TCP6 ::ffff:10.0.0.1 2001:db8::2 1000 2000\r\n"},
        build_case{"MixedFamiliesOtherWay", "[::1]:1", "127.0.0.1:2",
                   "PROXY TCP6 ::1 ::ffff:127.0.0.1 1 2\r\n"},
        build_case{"MissingSourceGivesUnknown", "", "127.0.0.1:2", "PROXY UNKNOWN\r\n"},
        build_case{"UnixAddressGivesUnknown", "unix:/tmp/sock", "127.0.0.1:2", "PROXY UNKNOWN\r\n"},
        build_case{"LongestLine", "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535",
                   "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535",
                   "PROXY TCP6 " + max_v6 + " " + max_v6 + " 65535 65535\r\n"}),
    test::param_name());

TEST(ProxyV1BuildTest, RefusesABufferTooSmallAndWritesNothing) {
    std::byte out[31];  // one byte short
    std::memset(out, 0x55, sizeof out);
    EXPECT_EQ(build_proxy_v1(addr("1.2.3.4:1"), addr("5.6.7.8:2"), out), 0u);
    for (const std::byte b : out) {
        ASSERT_EQ(b, std::byte{0x55});
    }
    std::byte exact[32];  // "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n"
    EXPECT_EQ(build_proxy_v1(addr("1.2.3.4:1"), addr("5.6.7.8:2"), exact), 32u);
}

}  // namespace
}  // namespace xstack::handshake
