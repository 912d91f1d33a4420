// tests/xprt/chain_test.cc - chain surgery (conn_insert_xprt / conn_remove_xprt), chain
// introspection, and start/close propagation, with fake and pass-through layers.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "event/loop.h"
#include "event/tasklet.h"
#include "raw/raw_sock.h"
#include "tests/support/fake_layer.h"
#include "tests/support/pass_layer.h"
#include "xprt/connection.h"

namespace xstack::xprt {
namespace {

using test::call_log;
using test::fake_ctrl;
using test::fake_layer;
using test::pass_layer;

class ChainTest : public ::testing::Test {
protected:
    event::loop l_;
    call_log log_;
    fake_ctrl ctrl_;
    // Declared before the connections of the tests: layers outlive the contexts they own.
    fake_layer bottom_{"BOT", &log_, xprt_id::raw};  // a logged stand-in for raw
    pass_layer pass_{"PASS", &log_};
    fake_layer top_{"FAKE", &log_};
    fake_layer fake2_{"FAKE2", &log_};
    fake_layer fake3_{"FAKE3", &log_};

    [[nodiscard]] std::vector<std::string> entries(std::string_view what) const {
        return log_.matching(what);
    }
};

TEST_F(ChainTest, NoChainPrintsADash) {
    connection c(l_);
    EXPECT_EQ(conn_chain(c), "-");
    EXPECT_EQ(conn_chain_depth(c), 0u);
}

TEST_F(ChainTest, PreparedConnectionHasASingleLayer) {
    connection c(l_);
    ASSERT_TRUE(conn_prepare(c, &ctrl_, &raw::ops()));
    EXPECT_EQ(conn_chain(c), "RAW");
    EXPECT_EQ(conn_chain_depth(c), 1u);
    EXPECT_EQ(c.xprt.ctx, nullptr) << "raw keeps no context";
}

TEST_F(ChainTest, InsertAboveRawMakesTheNewLayerTheTop) {
    connection c(l_);
    ASSERT_TRUE(conn_prepare(c, &ctrl_, &raw::ops()));
    xprt_ctx* ctx = conn_insert_xprt(c, pass_);
    ASSERT_NE(ctx, nullptr);
    EXPECT_EQ(c.xprt, (xprt_ref{&pass_, ctx}));
    EXPECT_EQ(ctx->below_ops, &raw::ops());
    EXPECT_EQ(ctx->below, nullptr);
    EXPECT_EQ(conn_chain(c), "PASS>RAW");
    EXPECT_EQ(conn_chain_depth(c), 2u);
}

TEST_F(ChainTest, InsertBelowANonRawTop) {
    connection c(l_);
    ASSERT_TRUE(conn_prepare(c, &ctrl_, &raw::ops()));
    xprt_ctx* p = conn_insert_xprt(c, pass_);
    ASSERT_NE(p, nullptr);
    xprt_ctx* f2 = conn_insert_xprt(c, fake2_);
    ASSERT_NE(f2, nullptr);
    EXPECT_EQ(conn_chain(c), "PASS>FAKE2>RAW");
    EXPECT_EQ(c.xprt.ctx, p) << "the top stays the top";
    EXPECT_EQ(p->below, f2);
    EXPECT_EQ(f2->below_ops, &raw::ops());

    xprt_ctx* f3 = conn_insert_xprt(c, fake3_);
    ASSERT_NE(f3, nullptr);
    EXPECT_EQ(conn_chain(c), "PASS>FAKE3>FAKE2>RAW");
    EXPECT_EQ(conn_chain_depth(c), 4u);
}

TEST_F(ChainTest, HandshakeBelowTlsShape) {
    // A TLS listener that also expects a PROXY header: the handshake layer goes below TLS.
    const fake_layer ssl("SSL");
    const fake_layer hs("HS");
    connection c(l_);
    ASSERT_TRUE(conn_prepare(c, &ctrl_, &raw::ops()));
    ASSERT_NE(conn_insert_xprt(c, ssl), nullptr);
    ASSERT_NE(conn_insert_xprt(c, hs), nullptr);
    EXPECT_EQ(conn_chain(c), "SSL>HS>RAW");
    conn_xprt_close(c);
}

TEST_F(ChainTest, InsertRefusedByTheTopClosesTheNewLayer) {
    connection c(l_);
    ASSERT_TRUE(conn_prepare(c, &ctrl_, &bottom_));
    ASSERT_NE(conn_insert_xprt(c, top_), nullptr);
    top_.refuse_add(true);
    EXPECT_EQ(conn_insert_xprt(c, fake2_), nullptr);
    EXPECT_EQ(conn_chain(c), "FAKE>BOT");
    EXPECT_EQ(c.err_code, conn_err::xprt_init);
    ASSERT_NE(fake2_.last_ctx(), nullptr);
    EXPECT_EQ(fake2_.last_ctx()->closes, 1u) << "the refused layer is released";
    EXPECT_EQ(bottom_.last_ctx()->closes, 0u) << "without closing anything of the chain";
    EXPECT_EQ(fake2_.live_contexts(), 0u);
}

TEST_F(ChainTest, InsertIsRefusedOnceErrorIsSet) {
    connection c(l_);
    ASSERT_TRUE(conn_prepare(c, &ctrl_, &bottom_));
    c.fail(conn_err::ereset);
    EXPECT_EQ(conn_insert_xprt(c, top_), nullptr);
    EXPECT_EQ(top_.contexts_created(), 0u) << "not even initialised";
    EXPECT_EQ(conn_chain(c), "BOT");
    EXPECT_EQ(c.err_code, conn_err::ereset);
}

TEST_F(ChainTest, InsertWithoutAChainIsRefused) {
    connection c(l_);
    EXPECT_EQ(conn_insert_xprt(c, top_), nullptr);
    EXPECT_EQ(top_.contexts_created(), 0u);
}

TEST_F(ChainTest, InsertWhoseInitFailsKeepsItsCode) {
    connection c(l_);
    ASSERT_TRUE(conn_prepare(c, &ctrl_, &bottom_));
    top_.fail_init(conn_err::ssl_no_mem);
    EXPECT_EQ(conn_insert_xprt(c, top_), nullptr);
    EXPECT_EQ(c.err_code, conn_err::ssl_no_mem);
    EXPECT_EQ(conn_chain(c), "BOT");
}

TEST_F(ChainTest, RemoveTheTopRestoresItsLowerLayer) {
    connection c(l_);
    ASSERT_TRUE(conn_prepare(c, &ctrl_, &bottom_));
    xprt_ctx* f = conn_insert_xprt(c, top_);
    xprt_ctx* f2 = conn_insert_xprt(c, fake2_);
    ASSERT_EQ(conn_chain(c), "FAKE>FAKE2>BOT");
    ASSERT_TRUE(conn_remove_xprt(c, f));
    EXPECT_EQ(conn_chain(c), "FAKE2>BOT");
    EXPECT_EQ(c.xprt, (xprt_ref{&fake2_, f2}));
    EXPECT_EQ(fake_layer::ctx_of(f).closes, 0u) << "unlinked, not closed";
    ASSERT_TRUE(conn_remove_xprt(c, f2));
    EXPECT_EQ(conn_chain(c), "BOT");
}

TEST_F(ChainTest, RemoveFromTheMiddle) {
    connection c(l_);
    ASSERT_TRUE(conn_prepare(c, &ctrl_, &bottom_));
    xprt_ctx* f = conn_insert_xprt(c, top_);
    xprt_ctx* f2 = conn_insert_xprt(c, fake2_);
    xprt_ctx* f3 = conn_insert_xprt(c, fake3_);
    ASSERT_EQ(conn_chain(c), "FAKE>FAKE3>FAKE2>BOT");
    log_.clear();
    ASSERT_TRUE(conn_remove_xprt(c, f3));
    EXPECT_EQ(conn_chain(c), "FAKE>FAKE2>BOT");
    EXPECT_EQ(f->below, f2);
    EXPECT_EQ(entries("remove_xprt"), std::vector<std::string>{"FAKE.remove_xprt"});
    log_.clear();
    ASSERT_TRUE(conn_remove_xprt(c, f2));
    EXPECT_EQ(conn_chain(c), "FAKE>BOT");
    EXPECT_EQ(f->below_ops, &bottom_);
    EXPECT_EQ(c.xprt.ctx, f);
}

TEST_F(ChainTest, RemoveDeepInTheChainIsForwardedDownward) {
    connection c(l_);
    ASSERT_TRUE(conn_prepare(c, &ctrl_, &bottom_));
    xprt_ctx* p = conn_insert_xprt(c, pass_);
    xprt_ctx* f2 = conn_insert_xprt(c, fake2_);
    xprt_ctx* f3 = conn_insert_xprt(c, fake3_);
    ASSERT_EQ(conn_chain(c), "PASS>FAKE3>FAKE2>BOT");
    log_.clear();
    ASSERT_TRUE(conn_remove_xprt(c, f2));
    EXPECT_EQ(conn_chain(c), "PASS>FAKE3>BOT");
    EXPECT_EQ(entries("remove_xprt"), std::vector<std::string>{"FAKE3.remove_xprt"})
        << "PASS forwarded, FAKE3 (the layer above FAKE2) replaced its lower layer";
    EXPECT_EQ(p->below, f3);
    EXPECT_EQ(f3->below_ops, &bottom_);
}

TEST_F(ChainTest, RemovingALayerNotInTheChainChangesNothing) {
    connection c(l_);
    ASSERT_TRUE(conn_prepare(c, &ctrl_, &bottom_));
    ASSERT_NE(conn_insert_xprt(c, top_), nullptr);
    ASSERT_NE(conn_insert_xprt(c, fake2_), nullptr);
    test::fake_ctx stranger;
    EXPECT_FALSE(conn_remove_xprt(c, &stranger));
    EXPECT_FALSE(conn_remove_xprt(c, nullptr));
    EXPECT_EQ(conn_chain(c), "FAKE>FAKE2>BOT");
    connection empty(l_);
    EXPECT_FALSE(conn_remove_xprt(empty, &stranger));
}

TEST_F(ChainTest, StartRunsBottomUp) {
    connection c(l_);
    ASSERT_TRUE(conn_prepare(c, &ctrl_, &bottom_));
    ASSERT_NE(conn_insert_xprt(c, pass_), nullptr);
    ASSERT_NE(conn_insert_xprt(c, fake2_), nullptr);
    ASSERT_NE(conn_insert_xprt(c, fake3_), nullptr);
    ASSERT_EQ(conn_chain(c), "PASS>FAKE3>FAKE2>BOT");
    ASSERT_TRUE(conn_xprt_start(c));
    EXPECT_EQ(entries(".start"),
              (std::vector<std::string>{"BOT.start", "FAKE2.start", "FAKE3.start", "PASS.start"}));
    EXPECT_TRUE(c.flags.has(conn_flag::xprt_ready));
    ASSERT_TRUE(conn_xprt_start(c));
    EXPECT_EQ(entries(".start").size(), 4u) << "started once";
}

TEST_F(ChainTest, AFailedStartStopsBelowTheFailingLayer) {
    connection c(l_);
    ASSERT_TRUE(conn_prepare(c, &ctrl_, &bottom_));
    ASSERT_NE(conn_insert_xprt(c, pass_), nullptr);
    ASSERT_NE(conn_insert_xprt(c, fake2_), nullptr);
    fake2_.fail_start(conn_err::prx_send);
    const auto r = conn_xprt_start(c);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, conn_err::prx_send);
    EXPECT_EQ(entries(".start"), (std::vector<std::string>{"BOT.start", "FAKE2.start"}));
    EXPECT_FALSE(c.flags.has(conn_flag::xprt_ready));
}

TEST_F(ChainTest, CloseRunsTopDownExactlyOnce) {
    connection c(l_);
    ASSERT_TRUE(conn_prepare(c, &ctrl_, &bottom_));
    ASSERT_NE(conn_insert_xprt(c, pass_), nullptr);
    xprt_ctx* f2 = conn_insert_xprt(c, fake2_);
    xprt_ctx* f3 = conn_insert_xprt(c, fake3_);
    test::fake_ctx* b = bottom_.last_ctx();
    ASSERT_TRUE(conn_xprt_start(c));
    conn_xprt_close(c);
    EXPECT_EQ(entries(".close"),
              (std::vector<std::string>{"PASS.close", "FAKE3.close", "FAKE2.close", "BOT.close"}));
    EXPECT_EQ(fake_layer::ctx_of(f3).closes, 1u);
    EXPECT_EQ(fake_layer::ctx_of(f2).closes, 1u);
    EXPECT_EQ(b->closes, 1u);
    EXPECT_EQ(pass_.live_contexts(), 0u);
    EXPECT_EQ(conn_chain(c), "-");
    conn_full_close(c);
    conn_xprt_close(c);
    EXPECT_EQ(entries(".close").size(), 4u) << "nothing is closed twice";
}

TEST_F(ChainTest, CloseAfterRemovalClosesOnlyWhatIsStillLinked) {
    connection c(l_);
    ASSERT_TRUE(conn_prepare(c, &ctrl_, &bottom_));
    ASSERT_NE(conn_insert_xprt(c, top_), nullptr);
    xprt_ctx* f2 = conn_insert_xprt(c, fake2_);
    ASSERT_TRUE(conn_remove_xprt(c, f2));
    // A removed layer is released by its owner, after dropping its own links.
    f2->below_ops = nullptr;
    f2->below = nullptr;
    fake2_.close(c, f2);
    log_.clear();
    conn_xprt_close(c);
    EXPECT_EQ(entries(".close"), (std::vector<std::string>{"FAKE.close", "BOT.close"}));
    EXPECT_EQ(fake_layer::ctx_of(f2).closes, 1u);
}

void count_wakes(event::tasklet& /*self*/, void* ctx) noexcept {
    ++*static_cast<int*>(ctx);
}

TEST_F(ChainTest, CloseWakesTheUpperSubscriberWithNoEvents) {
    connection c(l_);
    ASSERT_TRUE(conn_prepare(c, &ctrl_, &bottom_));
    int wakes = 0;
    event::tasklet task(l_, count_wakes, &wakes, "upper");
    wait_event w{&task, {}};
    c.subscribe(sub_event::recv, w);
    EXPECT_EQ(w.events, sub_events(sub_event::recv));
    conn_xprt_close(c);
    EXPECT_TRUE(w.events.empty());
    EXPECT_TRUE(task.queued());
    l_.run_once(0);
    EXPECT_EQ(wakes, 1);
}

TEST_F(ChainTest, PassLayersForwardDataAndSubscriptions) {
    connection c(l_);
    ASSERT_TRUE(conn_prepare(c, &ctrl_, &bottom_));
    pass_layer pass2("PASS2");
    ASSERT_NE(conn_insert_xprt(c, pass_), nullptr);
    ASSERT_NE(conn_insert_xprt(c, pass2), nullptr);
    ASSERT_EQ(conn_chain(c), "PASS>PASS2>BOT");
    test::fake_ctx& io = *bottom_.last_ctx();
    io.feed("hello");

    std::vector<std::byte> area(64);
    buffer in(area);
    EXPECT_EQ(c.rcv_buf(in, 64, rcv_flag::read_once), 5u);
    EXPECT_EQ(in.data(), 5u);
    EXPECT_EQ(io.rcv_flags_seen.back(), rcv_flags(rcv_flag::read_once)) << "flags unchanged";

    EXPECT_EQ(c.snd_buf(in, 3, snd_flag::more), 3u);
    EXPECT_EQ(io.sent, "hel");
    EXPECT_EQ(io.snd_flags_seen.back(), snd_flags(snd_flag::more));

    wait_event w{nullptr, {}};
    c.subscribe(sub_event::send, w);
    EXPECT_EQ(io.subscriber, &w) << "the subscription reaches the bottom unchanged";
    c.unsubscribe(sub_event::send, w);
    EXPECT_EQ(io.subscriber, nullptr);
    EXPECT_EQ(io.violations, 0u);

    pipe p;
    EXPECT_TRUE(c.rcv_pipe(p, 100).not_supported) << "the fake cannot splice";
    conn_xprt_close(c);
    EXPECT_EQ(pass_.live_contexts(), 0u);
    EXPECT_EQ(pass2.live_contexts(), 0u);
}

}  // namespace
}  // namespace xstack::xprt
