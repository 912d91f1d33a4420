// tests/handshake/source_list_test.cc - trusted source networks.
#include "handshake/source_list.h"

#include <gtest/gtest.h>

namespace xstack::test {
namespace {

xprt::sock_addr addr(const char* s) {
    return *xprt::sock_addr::parse(s);
}

TEST(SourceListTest, MatchesPrefixesOfBothFamilies) {
    auto l = handshake::source_list::parse("10.0.0.0/8, 192.0.2.7 2001:db8::/32");
    ASSERT_TRUE(l.has_value());
    EXPECT_EQ(l->size(), 3u);
    EXPECT_TRUE(l->contains(addr("10.200.3.4:1")));
    EXPECT_FALSE(l->contains(addr("11.0.0.1:1")));
    EXPECT_TRUE(l->contains(addr("192.0.2.7:9")));
    EXPECT_FALSE(l->contains(addr("192.0.2.8:9")));
    EXPECT_TRUE(l->contains(addr("[2001:db8:ffff::1]:1")));
    EXPECT_FALSE(l->contains(addr("[2001:db9::1]:1")));
    EXPECT_TRUE(l->contains(addr("[::ffff:10.1.1.1]:1")));  // mapped form of an IPv4 entry
}

TEST(SourceListTest, UnixPeersOnlyWhenListed) {
    xprt::sock_addr u;
    u.ss.ss_family = AF_UNIX;
    u.len = sizeof(sa_family_t);
    EXPECT_FALSE(handshake::source_list::parse("127.0.0.1")->contains(u));
    EXPECT_TRUE(handshake::source_list::parse("unix")->contains(u));
}

TEST(SourceListTest, RejectsBadEntries) {
    EXPECT_FALSE(handshake::source_list::parse("10.0.0.0/33").has_value());
    EXPECT_FALSE(handshake::source_list::parse("10.1.2.3/8").has_value());  // host bits set
    EXPECT_FALSE(handshake::source_list::parse("example.com").has_value());
    EXPECT_FALSE(handshake::source_list::parse("::1/129").has_value());
    EXPECT_TRUE(handshake::source_list::parse("").value().empty());
}

}  // namespace
}  // namespace xstack::test
