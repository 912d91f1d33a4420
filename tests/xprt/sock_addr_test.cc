// tests/xprt/sock_addr_test.cc - socket addresses: numeric parsing and formatting.
#include "xprt/sock_addr.h"

#include <cstddef>
#include <initializer_list>
#include <string>

#include <arpa/inet.h>

#include <gtest/gtest.h>

namespace xstack::xprt {
namespace {

TEST(SockAddrTest, EmptyAddress) {
    sock_addr a;
    EXPECT_TRUE(a.empty());
    EXPECT_EQ(a.family(), AF_UNSPEC);
    EXPECT_EQ(a.port(), 0u);
    EXPECT_EQ(a.to_string(), "-");
    EXPECT_EQ(a.host_string(), "-");
}

TEST(SockAddrTest, ParsesIpv4) {
    const auto a = sock_addr::parse("192.0.2.10:8080");
    ASSERT_TRUE(a.has_value());
    EXPECT_EQ(a->family(), AF_INET);
    EXPECT_EQ(a->len, sizeof(sockaddr_in));
    EXPECT_EQ(a->port(), 8080u);
    EXPECT_EQ(a->host_string(), "192.0.2.10");
    EXPECT_EQ(a->to_string(), "192.0.2.10:8080");
    const auto* in = reinterpret_cast<const sockaddr_in*>(&a->ss);
    EXPECT_EQ(ntohl(in->sin_addr.s_addr), 0xC000020Au);
    EXPECT_EQ(*a, sock_addr::ipv4(0xC000020A, 8080));
}

TEST(SockAddrTest, ParsesBracketedIpv6) {
    const auto a = sock_addr::parse("[2001:db8::1]:443");
    ASSERT_TRUE(a.has_value());
    EXPECT_EQ(a->family(), AF_INET6);
    EXPECT_EQ(a->len, sizeof(sockaddr_in6));
    EXPECT_EQ(a->port(), 443u);
    EXPECT_EQ(a->host_string(), "2001:db8::1");
    EXPECT_EQ(a->to_string(), "[2001:db8::1]:443");
    const std::uint8_t raw[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    EXPECT_EQ(*a, sock_addr::ipv6(raw, 443));
    EXPECT_EQ(sock_addr::parse("[::1]:0")->to_string(), "[::1]:0");
    EXPECT_EQ(sock_addr::parse("[::ffff:1.2.3.4]:1")->to_string(), "[::ffff:1.2.3.4]:1");
}

TEST(SockAddrTest, ParsesUnixPaths) {
    const auto a = sock_addr::parse("unix:/run/x.sock");
    ASSERT_TRUE(a.has_value());
    EXPECT_EQ(a->family(), AF_UNIX);
    EXPECT_EQ(a->port(), 0u);
    EXPECT_EQ(a->host_string(), "/run/x.sock");
    EXPECT_EQ(a->to_string(), "unix:/run/x.sock");
    EXPECT_EQ(a->len, offsetof(sockaddr_un, sun_path) + 12u) << "path and its NUL";
}

TEST(SockAddrTest, ParsesAbstractUnixNames) {
    const auto a = sock_addr::parse("unix:@xstack-test");
    ASSERT_TRUE(a.has_value());
    EXPECT_EQ(a->family(), AF_UNIX);
    const auto* un = reinterpret_cast<const sockaddr_un*>(&a->ss);
    EXPECT_EQ(un->sun_path[0], '\0') << "abstract namespace";
    EXPECT_EQ(a->len, offsetof(sockaddr_un, sun_path) + 12u) << "the length delimits the name";
    EXPECT_EQ(a->host_string(), "@xstack-test");
    EXPECT_EQ(a->to_string(), "unix:@xstack-test");
}

TEST(SockAddrTest, FormatThenParseRoundTrips) {
    for (const char* text : {"0.0.0.0:0", "255.255.255.255:65535", "127.0.0.1:1", "[::]:80",
                             "[fe80::1:2:3:4]:9", "unix:/tmp/a", "unix:@abs"}) {
        const auto a = sock_addr::parse(text);
        ASSERT_TRUE(a.has_value()) << text;
        EXPECT_EQ(a->to_string(), text);
        const auto b = sock_addr::parse(a->to_string());
        ASSERT_TRUE(b.has_value());
        EXPECT_EQ(*a, *b);
    }
}

TEST(SockAddrTest, RejectsBadInputs) {
    const std::string too_long = "unix:/" + std::string(sizeof(sockaddr_un::sun_path), 'x');
    for (std::string_view bad : std::initializer_list<std::string_view>{"",
                                                                        "1.2.3.4",
                                                                        "1.2.3.4:",
                                                                        ":80",
                                                                        "1.2.3.4:65536",
                                                                        "1.2.3.4:-1",
                                                                        "1.2.3.4:80x",
                                                                        "1.2.3.4: 80",
                                                                        "1.2.3.4:+80",
                                                                        "256.1.1.1:80",
                                                                        "1.2.3:80",
                                                                        " 1.2.3.4:80",
                                                                        "localhost:80",
                                                                        "::1:80",
                                                                        "[::1]80",
                                                                        "[::1]:",
                                                                        "[::1",
                                                                        "[]:80",
                                                                        "[1.2.3.4]:80",
                                                                        "[::1]:99999",
                                                                        "unix:",
                                                                        std::string_view(too_long),
                                                                        "tcp:1.2.3.4:80"}) {
        EXPECT_FALSE(sock_addr::parse(bad).has_value()) << "'" << bad << "'";
    }
}

TEST(SockAddrTest, SetPortOnlyForIpFamilies) {
    sock_addr a = sock_addr::ipv4(0x7f000001, 1);
    a.set_port(65535);
    EXPECT_EQ(a.port(), 65535u);
    sock_addr u = *sock_addr::unix_path("/x");
    const sock_addr before = u;
    u.set_port(80);
    EXPECT_EQ(u, before);
    EXPECT_EQ(u.port(), 0u);
}

TEST(SockAddrTest, EqualityComparesFamilyAddressAndPort) {
    EXPECT_EQ(sock_addr::ipv4(1, 2), sock_addr::ipv4(1, 2));
    EXPECT_FALSE(sock_addr::ipv4(1, 2) == sock_addr::ipv4(1, 3));
    EXPECT_FALSE(sock_addr::ipv4(1, 2) == sock_addr::ipv4(2, 2));
    EXPECT_FALSE(sock_addr::ipv4(1, 2) == sock_addr{});
    EXPECT_EQ(sock_addr{}, sock_addr{});
}

TEST(SockAddrTest, SplitHostPort) {
    std::string_view host;
    std::string_view port;
    ASSERT_TRUE(split_host_port("example.com:80", host, port));
    EXPECT_EQ(host, "example.com");
    EXPECT_EQ(port, "80");
    ASSERT_TRUE(split_host_port("[::1]:443", host, port));
    EXPECT_EQ(host, "::1");
    EXPECT_EQ(port, "443");
    EXPECT_FALSE(split_host_port("::1:443", host, port)) << "bare IPv6 must be bracketed";
    EXPECT_FALSE(split_host_port("host", host, port));
    EXPECT_FALSE(split_host_port("host:", host, port));
    EXPECT_FALSE(split_host_port(":1", host, port));
    EXPECT_FALSE(split_host_port("[::1]", host, port));
    EXPECT_FALSE(split_host_port("", host, port));
}

}  // namespace
}  // namespace xstack::xprt
