// tests/xprt/conn_flags_test.cc - the connection flag word: every bit named, names unique,
// to_string and parse agree, composite masks.
#include "xprt/conn_flags.h"

#include <bit>
#include <cstdio>
#include <random>
#include <set>
#include <string>

#include <gtest/gtest.h>

namespace xstack::xprt {
namespace {

struct flag_row {
    conn_flag f;
    unsigned bit;
    std::string_view name;
    std::string_view doc;
};

// The table, straight from the X-macro: a flag added there is covered here automatically.
constexpr flag_row all_rows[] = {
#define XS_X(e, bit, name, doc) {conn_flag::e, bit, name, doc},
    XS_CONN_FLAGS(XS_X)
#undef XS_X
};

TEST(ConnFlagsTest, EveryFlagPrintsItsName) {
    for (const flag_row& r : all_rows) {
        SCOPED_TRACE(r.name);
        EXPECT_EQ(to_string(r.f), r.name);
        EXPECT_EQ(to_string(conn_flags(r.f)), std::string(r.name));
        EXPECT_FALSE(describe(r.f).empty());
        EXPECT_EQ(describe(r.f), r.doc);
        EXPECT_EQ(static_cast<std::uint32_t>(r.f), 1u << r.bit);
    }
}

TEST(ConnFlagsTest, NamesAndBitsAreUnique) {
    std::set<std::string_view> names;
    std::uint32_t bits = 0;
    for (const flag_row& r : all_rows) {
        EXPECT_TRUE(names.insert(r.name).second) << "duplicate name " << r.name;
        EXPECT_EQ(bits & (1u << r.bit), 0u) << "duplicate bit " << r.bit;
        bits |= 1u << r.bit;
        for (char ch : r.name) {
            EXPECT_TRUE((ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_')
                << r.name << ": names are upper case identifiers";
        }
        EXPECT_LE(r.bit, 31u);
    }
    EXPECT_EQ(conn_mask::all.bits(), bits);
    EXPECT_EQ(static_cast<std::size_t>(std::popcount(conn_mask::all.bits())), std::size(all_rows));
}

TEST(ConnFlagsTest, DesignFlagsArePresent) {
    // The flags DESIGN.md §4 lists by name.
    for (std::string_view n :
         {"WAIT_L4_CONN", "WAIT_L6_CONN", "ACCEPT_PROXY", "SEND_PROXY", "ACCEPT_CIP", "SOCKS4_SEND",
          "SOCKS4_RECV", "SSL_WAIT_HS", "CTRL_READY", "XPRT_READY", "XPRT_TRACKED", "SOCK_RD_SH",
          "SOCK_WR_SH", "ERROR", "WAIT_ROOM", "RCVD_PROXY", "FDLESS"}) {
        conn_flags f;
        EXPECT_TRUE(conn_flags_from_string(n, f)) << n;
        EXPECT_EQ(std::popcount(f.bits()), 1) << n;
    }
}

TEST(ConnFlagsTest, EmptyPrintsZero) {
    EXPECT_EQ(to_string(conn_flags{}), "0");
    conn_flags f = conn_flag::error;
    ASSERT_TRUE(conn_flags_from_string("0", f));
    EXPECT_TRUE(f.empty());
}

TEST(ConnFlagsTest, SeveralFlagsPrintInBitOrder) {
    const conn_flags f = conn_flag::error | conn_flag::wait_l4_conn | conn_flag::accept_proxy;
    EXPECT_EQ(to_string(f), "WAIT_L4_CONN|ERROR|ACCEPT_PROXY");
}

TEST(ConnFlagsTest, UnknownBitsPrintAsOneHexTerm) {
    EXPECT_EQ(to_string(conn_flags::from_bits(0x80000000u)), "0x80000000");
    const std::uint32_t unknown = ~conn_mask::all.bits();
    ASSERT_NE(unknown, 0u);
    const conn_flags f = conn_flags::from_bits(unknown) | conn_flag::error;
    char hex[16];
    ASSERT_GT(std::snprintf(hex, sizeof hex, "0x%x", unknown), 0);
    EXPECT_EQ(to_string(f), std::string("ERROR|") + hex);
}

TEST(ConnFlagsTest, ToStringThenParseRoundTrips) {
    std::mt19937 rng(7);
    for (int i = 0; i < 2000; ++i) {
        const conn_flags f = conn_flags::from_bits(static_cast<std::uint32_t>(rng()));
        conn_flags back;
        const std::string s = to_string(f);
        ASSERT_TRUE(conn_flags_from_string(s, back)) << s;
        EXPECT_EQ(back, f) << s;
    }
    for (const flag_row& r : all_rows) {
        conn_flags back;
        ASSERT_TRUE(conn_flags_from_string(to_string(conn_flags(r.f)), back));
        EXPECT_EQ(back, conn_flags(r.f));
    }
    conn_flags back;
    ASSERT_TRUE(conn_flags_from_string(to_string(conn_mask::all), back));
    EXPECT_EQ(back, conn_mask::all);
}

TEST(ConnFlagsTest, ParseAcceptsNumbers) {
    conn_flags f;
    ASSERT_TRUE(conn_flags_from_string("128", f));
    EXPECT_EQ(f, conn_flags(conn_flag::error));
    ASSERT_TRUE(conn_flags_from_string("0x81", f));
    EXPECT_EQ(f, conn_flag::error | conn_flag::wait_l4_conn);
    ASSERT_TRUE(conn_flags_from_string("WAIT_L6_CONN|0X80", f));
    EXPECT_EQ(f, conn_flag::error | conn_flag::wait_l6_conn);
}

TEST(ConnFlagsTest, ParseRejectsWhatToStringNeverPrints) {
    const conn_flags before = conn_flag::fdless;
    for (std::string_view bad : {"", "NOPE", "error", "ERROR|", "|ERROR", "ERROR||FDLESS", "0x",
                                 "0xZZ", "12abc", "-1", "ERROR |FDLESS", "4294967296"}) {
        conn_flags f = before;
        EXPECT_FALSE(conn_flags_from_string(bad, f)) << "'" << bad << "'";
        EXPECT_EQ(f, before) << "untouched on failure: '" << bad << "'";
    }
}

TEST(ConnFlagsTest, CompositeMasks) {
    EXPECT_EQ(conn_mask::wait_l4l6, conn_flag::wait_l4_conn | conn_flag::wait_l6_conn);
    EXPECT_EQ(to_string(conn_mask::handshake),
              "ACCEPT_PROXY|SEND_PROXY|ACCEPT_CIP|SOCKS4_SEND|SOCKS4_RECV");
    EXPECT_EQ(conn_mask::socks4, conn_flag::socks4_send | conn_flag::socks4_recv);
    EXPECT_TRUE(conn_mask::wait_xprt.has(conn_mask::wait_l4l6 | conn_mask::handshake));
    EXPECT_EQ(std::popcount(conn_mask::wait_xprt.bits()), 7);
    EXPECT_EQ(to_string(conn_mask::notify_done), "SOCK_RD_SH|SOCK_WR_SH|ERROR");
}

TEST(ConnFlagsTest, UnknownSingleFlagHasNoName) {
    EXPECT_EQ(to_string(static_cast<conn_flag>(1u << 31)), "?");
    EXPECT_EQ(describe(static_cast<conn_flag>(1u << 31)), "");
}

}  // namespace
}  // namespace xstack::xprt
