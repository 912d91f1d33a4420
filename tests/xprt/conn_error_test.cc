// tests/xprt/conn_error_test.cc - error codes: names and descriptions, reverse lookup, errno
// classes.
#include "xprt/conn_error.h"

#include <cerrno>
#include <set>
#include <string>

#include <gtest/gtest.h>

namespace xstack::xprt {
namespace {

TEST(ConnErrTest, NamesAndDescriptionsAreUniqueAndNonEmpty) {
    std::set<std::string_view> names;
    std::set<std::string_view> docs;
    for (std::size_t i = 0; i < conn_err_count; ++i) {
        const auto e = static_cast<conn_err>(i);
        const std::string_view n = to_string(e);
        const std::string_view d = describe(e);
        EXPECT_FALSE(n.empty()) << i;
        EXPECT_FALSE(d.empty()) << n;
        EXPECT_NE(n, "UNKNOWN") << i;
        EXPECT_TRUE(names.insert(n).second) << "duplicate name " << n;
        EXPECT_TRUE(docs.insert(d).second) << "duplicate description for " << n;
        for (char ch : n) {
            EXPECT_TRUE((ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_') << n;
        }
    }
    EXPECT_EQ(names.size(), conn_err_count);
}

TEST(ConnErrTest, CountMatchesTheTableAndFitsTheType) {
    std::size_t n = 0;
#define XS_X(e, name, doc) ++n;
    XS_CONN_ERRORS(XS_X)
#undef XS_X
    EXPECT_EQ(n, conn_err_count);
    EXPECT_LE(conn_err_count, 256u);
    EXPECT_EQ(static_cast<std::size_t>(conn_err::none), 0u) << "none is the zero value";
    EXPECT_EQ(to_string(conn_err::none), "NONE");
}

TEST(ConnErrTest, NameLookupRoundTrips) {
    for (std::size_t i = 0; i < conn_err_count; ++i) {
        const auto e = static_cast<conn_err>(i);
        conn_err back = conn_err::internal;
        ASSERT_TRUE(conn_err_from_string(to_string(e), back)) << to_string(e);
        EXPECT_EQ(back, e);
    }
}

TEST(ConnErrTest, UnknownNamesAndValues) {
    conn_err out = conn_err::epipe;
    EXPECT_FALSE(conn_err_from_string("NOT_AN_ERROR", out));
    EXPECT_EQ(out, conn_err::none);
    out = conn_err::epipe;
    EXPECT_FALSE(conn_err_from_string("prx_timeout", out)) << "exact, upper case";
    EXPECT_FALSE(conn_err_from_string("", out));
    const auto beyond = static_cast<conn_err>(conn_err_count);
    EXPECT_EQ(to_string(beyond), "UNKNOWN");
    EXPECT_EQ(describe(beyond), "unknown error code");
}

TEST(ConnErrTest, ErrnoMapsToItsClass) {
    struct row {
        int err;
        conn_err code;
    };
    const row rows[] = {
        {ECONNREFUSED, conn_err::erefused}, {ECONNRESET, conn_err::ereset},
        {EHOSTUNREACH, conn_err::eunreach}, {ENETUNREACH, conn_err::eunreach},
        {ETIMEDOUT, conn_err::etimedout},   {ENOMEM, conn_err::enomem},
        {EBADF, conn_err::ebadf},           {EFAULT, conn_err::efault},
        {EINVAL, conn_err::einval},         {ENOTCONN, conn_err::enconn},
        {ENOTSOCK, conn_err::ensock},       {ENOBUFS, conn_err::enobufs},
        {EPIPE, conn_err::epipe},           {EADDRNOTAVAIL, conn_err::free_ports},
        {EADDRINUSE, conn_err::addr_inuse}, {EIO, conn_err::sock_err},
        {EACCES, conn_err::sock_err},       {0, conn_err::sock_err},
    };
    for (const row& r : rows) {
        EXPECT_EQ(conn_err_from_errno(r.err), r.code) << "errno " << r.err;
    }
}

}  // namespace
}  // namespace xstack::xprt
