// tests/handshake/socks4_test.cc - SOCKS4 CONNECT request bytes and reply parsing.
#include "handshake/socks4.h"

#include <string>

#include <gtest/gtest.h>

#include "tests/handshake/hs_test_util.h"

namespace xstack::handshake {
namespace {

using test::bytes;
using test::from_hex;
using xprt::conn_err;

auto parse = [](std::span<const std::byte> b) { return parse_socks4_reply(b); };

xprt::sock_addr addr(const char* text) {
    return *xprt::sock_addr::parse(text);
}

TEST(Socks4RequestTest, IsSixteenBytesWithHaproxysUserId) {
    std::byte out[16];
    ASSERT_EQ(build_socks4_request(addr("192.0.2.1:443"), out), 16u);
    EXPECT_EQ(bytes(out, out + 16), from_hex("04 01 01bb c0000201 48415072 6f787900"));
}

TEST(Socks4RequestTest, UserIdIsConfigurable) {
    std::byte out[32];
    ASSERT_EQ(socks4_request_size("bob"), 12u);
    ASSERT_EQ(build_socks4_request(addr("10.0.0.1:80"), out, "bob"), 12u);
    EXPECT_EQ(bytes(out, out + 12), from_hex("04 01 0050 0a000001 626f6200"));
    ASSERT_EQ(build_socks4_request(addr("10.0.0.1:80"), out, ""), 9u);
    EXPECT_EQ(bytes(out, out + 9), from_hex("04 01 0050 0a000001 00"));
}

TEST(Socks4RequestTest, AcceptsV4MappedIpv6Destinations) {
    std::byte out[16];
    ASSERT_EQ(build_socks4_request(addr("[::ffff:10.0.0.1]:80"), out), 16u);
    EXPECT_EQ(bytes(out, out + 8), from_hex("04 01 0050 0a000001"));
}

TEST(Socks4RequestTest, RefusesWhatSocks4CannotCarryOrWhatDoesNotFit) {
    std::byte out[16] = {};
    EXPECT_EQ(build_socks4_request(addr("[2001:db8::1]:80"), out), 0u) << "IPv6";
    EXPECT_EQ(build_socks4_request(xprt::sock_addr{}, out), 0u) << "no address";
    EXPECT_EQ(build_socks4_request(addr("10.0.0.1:80"), out, std::string_view("a\0b", 3)), 0u)
        << "NUL in the user id";
    std::byte small[15] = {};
    EXPECT_EQ(build_socks4_request(addr("10.0.0.1:80"), small), 0u);
    for (const std::byte b : small) {
        ASSERT_EQ(b, std::byte{0}) << "nothing written";
    }
}

TEST(Socks4ReplyTest, GrantedReplyIsCompleteAtEightBytes) {
    const bytes in = from_hex("00 5a 1f90 0a000001");
    const auto r = parse_socks4_reply(in);
    ASSERT_TRUE(r.complete());
    EXPECT_EQ(r.length, 8u);
    EXPECT_TRUE(r.value.granted());
    EXPECT_EQ(r.value.port, 8080);
    EXPECT_EQ(r.value.ip[0], 10);
    test::expect_every_feed(parse, in, fuzz::describe(r));
}

TEST(Socks4ReplyTest, EchoedVersionFourIsAccepted) {
    EXPECT_TRUE(parse_socks4_reply(from_hex("04 5a 0000 00000000")).complete());
}

TEST(Socks4ReplyTest, PartialReplyWaitsForTheExactRest) {
    const bytes in = from_hex("00 5a 0000 00000000");
    for (std::size_t k = 0; k < 8; ++k) {
        const auto r = parse_socks4_reply(std::span(in).first(k));
        ASSERT_TRUE(r.need_more()) << k;
        EXPECT_EQ(r.needed, 8 - k);
    }
}

struct deny_case {
    const char* name;
    int code;
};

void PrintTo(const deny_case& c, std::ostream* os) {
    *os << c.name;
}

class Socks4DenyTest : public ::testing::TestWithParam<deny_case> {};

TEST_P(Socks4DenyTest, ReportsTheDenyAndItsCodeOnceTheCodeByteArrives) {
    bytes in = from_hex("00 00 0000 00000000");
    in[1] = static_cast<std::byte>(GetParam().code);
    EXPECT_TRUE(parse_socks4_reply(std::span(in).first(1)).need_more());
    for (std::size_t k = 2; k <= in.size(); ++k) {
        const auto r = parse_socks4_reply(std::span(in).first(k));
        ASSERT_TRUE(r.failed()) << k;
        EXPECT_EQ(r.error, conn_err::socks4_deny);
        EXPECT_EQ(r.value.code, GetParam().code);
    }
    test::expect_every_feed(parse, in, "error SOCKS4_DENY code=" + std::to_string(GetParam().code));
}

INSTANTIATE_TEST_SUITE_P(Codes, Socks4DenyTest,
                         ::testing::Values(deny_case{"RejectedOrFailed", 0x5B},
                                           deny_case{"NoIdentd", 0x5C},
                                           deny_case{"IdentdMismatch", 0x5D},
                                           deny_case{"NonStandardCode", 0x00},
                                           deny_case{"AnotherNonStandardCode", 0xFF}),
                         test::param_name());

TEST(Socks4ReplyTest, RejectsAReplyWithAnotherVersionAtItsFirstByte) {
    for (const int vn : {0x05, 0x01, 0x48}) {  // SOCKS5, garbage, "HTTP/1.1 ..."
        bytes in = from_hex("00 5a 0000 00000000");
        in[0] = static_cast<std::byte>(vn);
        for (std::size_t k = 1; k <= in.size(); ++k) {
            const auto r = parse_socks4_reply(std::span(in).first(k));
            ASSERT_TRUE(r.failed()) << vn << " at " << k;
            EXPECT_EQ(r.error, conn_err::socks4_bad_reply);
        }
    }
}

TEST(Socks4ReplyTest, KeepsBytesAfterTheReply) {
    const bytes in = from_hex("00 5a 0000 00000000 48545450");
    const auto r = parse_socks4_reply(in);
    ASSERT_TRUE(r.complete());
    EXPECT_EQ(r.length, 8u);
}

}  // namespace
}  // namespace xstack::handshake
