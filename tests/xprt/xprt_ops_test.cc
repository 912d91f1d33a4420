// tests/xprt/xprt_ops_test.cc - the default behaviours of the transport contract, and result<T>.
#include "xprt/xprt_ops.h"

#include <string>

#include <gtest/gtest.h>

#include "event/loop.h"
#include "raw/raw_sock.h"
#include "tests/support/fake_layer.h"
#include "tests/support/pass_layer.h"
#include "xprt/connection.h"
#include "xprt/result.h"

namespace xstack::xprt {
namespace {

using test::fake_ctrl;
using test::fake_layer;
using test::pass_layer;

TEST(XprtIdTest, Names) {
    EXPECT_EQ(to_string(xprt_id::raw), "raw");
    EXPECT_EQ(to_string(xprt_id::ssl), "ssl");
    EXPECT_EQ(to_string(xprt_id::handshake), "handshake");
    EXPECT_EQ(to_string(xprt_id::test), "test");
    EXPECT_EQ(to_string(static_cast<xprt_id>(5)), "?");
    EXPECT_LT(static_cast<std::size_t>(xprt_id::test), xprt_id_count);
}

class XprtOpsDefaultsTest : public ::testing::Test {
protected:
    event::loop l_;
    fake_ctrl ctrl_;
    fake_layer bottom_{"BOT", nullptr, xprt_id::raw};
    pass_layer pass_;
};

TEST_F(XprtOpsDefaultsTest, PipesAreNotSupportedByDefault) {
    connection c(l_);
    ASSERT_TRUE(conn_prepare(c, &ctrl_, &bottom_));
    pipe p;
    const pipe_io r = c.rcv_pipe(p, 1000);
    EXPECT_TRUE(r.not_supported);
    EXPECT_EQ(r.bytes, 0u);
    EXPECT_TRUE(c.snd_pipe(p, 1000).not_supported);
    EXPECT_TRUE(pipe_io::unsupported().not_supported);
}

TEST_F(XprtOpsDefaultsTest, ShutwIsForwardedDown) {
    connection c(l_);
    ASSERT_TRUE(conn_prepare(c, &ctrl_, &bottom_));
    ASSERT_NE(conn_insert_xprt(c, pass_), nullptr);
    c.xprt.ops->shutw(c, c.xprt.ctx, true);
    EXPECT_EQ(bottom_.last_ctx()->shutws, 1u);
}

TEST_F(XprtOpsDefaultsTest, SpliceCapabilityComesFromBelow) {
    connection over_raw(l_);
    ASSERT_TRUE(conn_prepare(over_raw, &ctrl_, &raw::ops()));
    ASSERT_NE(conn_insert_xprt(over_raw, pass_), nullptr);
    EXPECT_EQ(over_raw.can_splice(), splice_cap::can) << "a pass-through over raw can splice";

    connection over_fake(l_);
    ASSERT_TRUE(conn_prepare(over_fake, &ctrl_, &bottom_));
    ASSERT_NE(conn_insert_xprt(over_fake, pass_), nullptr);
    EXPECT_EQ(over_fake.can_splice(), splice_cap::cannot) << "the bottom has nothing below";
}

TEST_F(XprtOpsDefaultsTest, AlpnAndTlsComeFromBelow) {
    connection c(l_);
    ASSERT_TRUE(conn_prepare(c, &ctrl_, &raw::ops()));
    ASSERT_NE(conn_insert_xprt(c, pass_), nullptr);
    EXPECT_TRUE(c.alpn().empty());
    EXPECT_EQ(c.xprt.ops->tls(c, c.xprt.ctx), nullptr);
}

TEST_F(XprtOpsDefaultsTest, BelowFollowsTheContextLinks) {
    connection c(l_);
    ASSERT_TRUE(conn_prepare(c, &ctrl_, &bottom_));
    xprt_ctx* b = c.xprt.ctx;
    xprt_ctx* p = conn_insert_xprt(c, pass_);
    EXPECT_EQ(pass_.below(p), (xprt_ref{&bottom_, b}));
    EXPECT_FALSE(bottom_.below(b));
    EXPECT_FALSE(pass_.below(nullptr));
}

TEST_F(XprtOpsDefaultsTest, AddXprtNeedsAContext) {
    connection c(l_);
    xprt_ref old{&bottom_, nullptr};
    EXPECT_FALSE(pass_.add_xprt(c, nullptr, xprt_ref{&bottom_, nullptr}, &old));
    xprt_ctx ctx;
    ctx.below_ops = &raw::ops();
    EXPECT_TRUE(pass_.add_xprt(c, &ctx, xprt_ref{&bottom_, nullptr}, &old));
    EXPECT_EQ(old, (xprt_ref{&raw::ops(), nullptr}));
    EXPECT_EQ(ctx.below_ops, &bottom_);
    EXPECT_TRUE(pass_.add_xprt(c, &ctx, xprt_ref{&raw::ops(), nullptr}, nullptr)) << "old optional";
}

TEST_F(XprtOpsDefaultsTest, ShowNamesTheLayerAndItsContext) {
    connection c(l_);
    ASSERT_TRUE(conn_prepare(c, &ctrl_, &bottom_));
    std::string out;
    bottom_.show(c, c.xprt.ctx, out);
    EXPECT_EQ(out.rfind("BOT ctx=", 0), 0u) << out;
    out.clear();
    raw::ops().show(c, nullptr, out);
    EXPECT_EQ(out.rfind("RAW", 0), 0u) << out;
}

using XprtOpsDeathTest = XprtOpsDefaultsTest;

TEST_F(XprtOpsDeathTest, RemoveReachingTheBottomIsABug) {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    connection c(l_);
    ASSERT_TRUE(conn_prepare(c, &ctrl_, &bottom_));
    xprt_ctx other;
    EXPECT_DEATH((void)bottom_.remove_xprt(c, c.xprt.ctx, &other, {}),
                 "remove_xprt reached the bottom");
}

// --- result<T> ----------------------------------------------------------------------------

TEST(ResultTest, ValueOrError) {
    result<int> ok = 5;
    ASSERT_TRUE(ok);
    EXPECT_TRUE(ok.has_value());
    EXPECT_EQ(*ok, 5);
    EXPECT_EQ(ok.value(), 5);

    result<int> bad = error_info{"nope", EINVAL, conn_err::einval};
    ASSERT_FALSE(bad);
    EXPECT_STREQ(bad.error().what, "nope");
    EXPECT_EQ(bad.error().sys_errno, EINVAL);
    EXPECT_EQ(bad.error().code, conn_err::einval);

    result<std::string> s = std::string("abc");
    EXPECT_EQ(s->size(), 3u);
    EXPECT_EQ(std::move(s).value(), "abc");
}

TEST(ResultTest, VoidResult) {
    result<void> ok;
    EXPECT_TRUE(ok);
    result<void> bad = error_info{"failed", 0, conn_err::internal};
    EXPECT_FALSE(bad.has_value());
    EXPECT_EQ(bad.error().code, conn_err::internal);
}

}  // namespace
}  // namespace xstack::xprt
