// tests/xprt/connection_test.cc - the connection's shared state (flags, error code, termination
// log, derived states) and the life-cycle helpers that order init and close.
#include "xprt/connection.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "event/loop.h"
#include "tests/support/fake_layer.h"

namespace xstack::xprt {
namespace {

using test::call_log;
using test::fake_ctrl;
using test::fake_layer;

class ConnectionTest : public ::testing::Test {
protected:
    event::loop l_;
    call_log log_;
    fake_ctrl ctrl_{&log_};
    fake_layer fake_{"FAKE", &log_, xprt_id::raw};  // the bottom of the chain

    /// The connection prepared with the fake transport and the fake control layer.
    void prepare(connection& c) { ASSERT_TRUE(conn_prepare(c, &ctrl_, &fake_)); }
    [[nodiscard]] std::vector<std::string> closes() const { return log_.matching(".close"); }
};

// --- shared state -------------------------------------------------------------------------

TEST_F(ConnectionTest, NewConnectionIsIdle) {
    connection c(l_);
    EXPECT_EQ(c.fd(), -1);
    EXPECT_TRUE(c.flags.empty());
    EXPECT_EQ(c.err_code, conn_err::none);
    EXPECT_FALSE(c.xprt);
    EXPECT_EQ(c.ctrl, nullptr);
    EXPECT_EQ(c.subs, nullptr);
    EXPECT_EQ(&c.loop(), &l_);
    EXPECT_FALSE(c.is_backend());
    EXPECT_TRUE(connection(l_, conn_side::backend).is_backend());
}

TEST_F(ConnectionTest, FirstErrorCodeWins) {
    connection c(l_);
    c.set_errcode(conn_err::prx_timeout);
    c.set_errcode(conn_err::ereset);
    c.set_errno_code(EPIPE);
    c.fail(conn_err::internal);
    EXPECT_EQ(c.err_code, conn_err::prx_timeout);
}

TEST_F(ConnectionTest, SetErrcodeDoesNotSetError) {
    connection c(l_);
    c.set_errcode(conn_err::ereset);
    EXPECT_FALSE(c.flags.has(conn_flag::error));
}

TEST_F(ConnectionTest, ErrnoCodeUsesTheErrnoClass) {
    connection c(l_);
    c.set_errno_code(ECONNREFUSED);
    EXPECT_EQ(c.err_code, conn_err::erefused);
}

TEST_F(ConnectionTest, FailSetsErrorBothShutdownsAndTheCode) {
    connection c(l_);
    c.fail(conn_err::pollerr);
    EXPECT_TRUE(c.flags.has(conn_flag::error | conn_flag::sock_rd_sh | conn_flag::sock_wr_sh));
    EXPECT_EQ(c.err_code, conn_err::pollerr);
}

TEST_F(ConnectionTest, ConnectedIsDerivedFromTheWaitFlags) {
    connection c(l_);
    EXPECT_TRUE(c.connected());
    c.flags.set(conn_flag::wait_l4_conn);
    EXPECT_FALSE(c.connected());
    c.flags.set(conn_flag::wait_l6_conn);
    c.flags.clear(conn_flag::wait_l4_conn);
    EXPECT_FALSE(c.connected()) << "L6 (TLS) not confirmed yet";
    c.flags.clear(conn_flag::wait_l6_conn);
    EXPECT_TRUE(c.connected());
    c.flags.set(conn_flag::accept_proxy | conn_flag::error | conn_flag::sock_rd_sh);
    EXPECT_TRUE(c.connected()) << "only WAIT_L4/L6 decide";
}

TEST_F(ConnectionTest, TransportUsableOnceNoHandshakeOrWaitRemains) {
    connection c(l_);
    EXPECT_TRUE(c.transport_usable());
    for (conn_flag f : {conn_flag::wait_l4_conn, conn_flag::wait_l6_conn, conn_flag::accept_proxy,
                        conn_flag::send_proxy, conn_flag::accept_cip, conn_flag::socks4_send,
                        conn_flag::socks4_recv}) {
        c.flags.set(f);
        EXPECT_FALSE(c.transport_usable()) << to_string(f);
        c.flags.clear(f);
    }
    c.flags.set(conn_flag::ssl_wait_hs | conn_flag::rcvd_proxy);
    EXPECT_TRUE(c.transport_usable());
}

TEST_F(ConnectionTest, TerminationEventsCarryTheSide) {
    connection front(l_);
    connection back(l_, conn_side::backend);
    front.report_term(term_loc::fd, term_type::shutr);
    back.report_term(term_loc::fd, term_type::shutr);
    EXPECT_EQ(front.term.to_string(), "fd.shutr");
    EXPECT_EQ(back.term.to_string(), "bfd.shutr");
}

// --- prepare / init / start ---------------------------------------------------------------

TEST_F(ConnectionTest, PrepareWithoutATransportFailsWithNoXprt) {
    connection c(l_);
    const auto r = conn_prepare(c, &ctrl_, nullptr);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, conn_err::no_xprt);
    EXPECT_EQ(c.err_code, conn_err::no_xprt);
    EXPECT_FALSE(c.xprt);
    EXPECT_EQ(c.ctrl, &ctrl_) << "the control layer is set anyway";
    EXPECT_EQ(conn_chain(c), "-");
}

TEST_F(ConnectionTest, PrepareInitialisesTheTopLayer) {
    connection c(l_);
    ASSERT_TRUE(conn_prepare(c, &ctrl_, &fake_));
    EXPECT_EQ(c.xprt.ops, &fake_);
    ASSERT_NE(c.xprt.ctx, nullptr);
    EXPECT_EQ(c.xprt.ctx, fake_.last_ctx());
    EXPECT_EQ(log_.entries(), std::vector<std::string>{"FAKE.init"});
    EXPECT_EQ(c.err_code, conn_err::none);
    EXPECT_FALSE(c.flags.has(conn_flag::ctrl_ready)) << "no I/O, no registration";
}

TEST_F(ConnectionTest, PrepareKeepsTheInitErrorCode) {
    connection c(l_);
    fake_.fail_init(conn_err::ssl_no_mem);
    const auto r = conn_prepare(c, &ctrl_, &fake_);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, conn_err::ssl_no_mem);
    EXPECT_EQ(c.err_code, conn_err::ssl_no_mem);
    EXPECT_FALSE(c.xprt);
}

/// A transport whose init fails without saying why.
class silent_failure_ops final : public xprt_ops {
public:
    [[nodiscard]] xprt_id id() const noexcept override { return xprt_id::test; }
    [[nodiscard]] std::string_view name() const noexcept override { return "BROKEN"; }
    result<void> init(connection& /*c*/, xprt_ctx*& /*ctx*/) const noexcept override {
        return error_info{"broken", 0, conn_err::none};
    }
    void close(connection& /*c*/, xprt_ctx* /*ctx*/) const noexcept override {}
    std::size_t rcv_buf(connection& /*c*/, xprt_ctx* /*ctx*/, buffer& /*b*/, std::size_t /*n*/,
                        rcv_flags /*f*/) const noexcept override {
        return 0;
    }
    std::size_t snd_buf(connection& /*c*/, xprt_ctx* /*ctx*/, const buffer& /*b*/,
                        std::size_t /*n*/, snd_flags /*f*/) const noexcept override {
        return 0;
    }
    void subscribe(connection& /*c*/, xprt_ctx* /*ctx*/, sub_events /*e*/,
                   wait_event& /*w*/) const noexcept override {}
    void unsubscribe(connection& /*c*/, xprt_ctx* /*ctx*/, sub_events /*e*/,
                     wait_event& /*w*/) const noexcept override {}
};

TEST_F(ConnectionTest, InitFailureWithoutACodeIsXprtInit) {
    connection c(l_);
    const silent_failure_ops broken;
    EXPECT_FALSE(conn_prepare(c, &ctrl_, &broken));
    EXPECT_EQ(c.err_code, conn_err::xprt_init) << "never an error without a code";
}

TEST_F(ConnectionTest, CtrlInitRegistersOnce) {
    connection c(l_);
    prepare(c);
    conn_ctrl_init(c);
    conn_ctrl_init(c);
    EXPECT_EQ(ctrl_.inits, 1u);
    EXPECT_TRUE(c.flags.has(conn_flag::ctrl_ready));
}

TEST_F(ConnectionTest, CtrlInitWithoutAControlLayerDoesNothing) {
    connection c(l_);
    conn_ctrl_init(c);
    EXPECT_FALSE(c.flags.has(conn_flag::ctrl_ready));
}

TEST_F(ConnectionTest, XprtStartStartsOnceAndSetsReady) {
    connection c(l_);
    prepare(c);
    ASSERT_TRUE(conn_xprt_start(c));
    EXPECT_TRUE(c.flags.has(conn_flag::xprt_ready));
    ASSERT_TRUE(conn_xprt_start(c));
    EXPECT_EQ(log_.count("FAKE.start"), 1u);
}

TEST_F(ConnectionTest, XprtStartFailureLeavesReadyClear) {
    connection c(l_);
    prepare(c);
    fake_.fail_start(conn_err::ssl_handshake);
    const auto r = conn_xprt_start(c);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, conn_err::ssl_handshake);
    EXPECT_FALSE(c.flags.has(conn_flag::xprt_ready));
}

TEST_F(ConnectionTest, XprtStartWithoutATransportFails) {
    connection c(l_);
    const auto r = conn_xprt_start(c);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, conn_err::no_xprt);
    EXPECT_FALSE(c.flags.has(conn_flag::xprt_ready));
}

// --- close --------------------------------------------------------------------------------

TEST_F(ConnectionTest, XprtCloseClosesTheChainOnce) {
    connection c(l_);
    prepare(c);
    test::fake_ctx& f = fake_layer::ctx_of(c.xprt.ctx);
    ASSERT_TRUE(conn_xprt_start(c));
    conn_xprt_close(c);
    conn_xprt_close(c);
    EXPECT_EQ(f.closes, 1u);
    EXPECT_FALSE(c.xprt);
    EXPECT_FALSE(c.flags.has(conn_flag::xprt_ready));
}

TEST_F(ConnectionTest, TrackedTransportIsNotClosed) {
    connection c(l_);
    prepare(c);
    conn_ctrl_init(c);
    test::fake_ctx& f = fake_layer::ctx_of(c.xprt.ctx);
    c.flags.set(conn_flag::xprt_tracked);
    conn_xprt_close(c);
    EXPECT_EQ(f.closes, 0u);
    EXPECT_TRUE(c.xprt);
    conn_full_close(c);
    EXPECT_EQ(f.closes, 0u);
    EXPECT_EQ(ctrl_.closes, 0u) << "the control layer waits for the transport";
    EXPECT_TRUE(c.flags.has(conn_flag::ctrl_ready));
}

TEST_F(ConnectionTest, ForceCloseIgnoresTracking) {
    connection c(l_);
    prepare(c);
    conn_ctrl_init(c);
    test::fake_ctx& f = fake_layer::ctx_of(c.xprt.ctx);
    c.flags.set(conn_flag::xprt_tracked);
    conn_force_close(c);
    EXPECT_EQ(f.closes, 1u);
    EXPECT_EQ(ctrl_.closes, 1u);
    EXPECT_FALSE(c.flags.has(conn_flag::xprt_tracked));
    EXPECT_FALSE(c.flags.has(conn_flag::ctrl_ready));
    EXPECT_EQ(closes(), (std::vector<std::string>{"FAKE.close", "ctrl.close"}));
}

TEST_F(ConnectionTest, CtrlCloseWaitsUntilTheTransportIsClosed) {
    connection c(l_);
    prepare(c);
    conn_ctrl_init(c);
    wait_event w;
    c.subs = &w;
    conn_ctrl_close(c);
    EXPECT_EQ(ctrl_.closes, 0u);
    EXPECT_TRUE(c.flags.has(conn_flag::ctrl_ready));
    conn_xprt_close(c);
    conn_ctrl_close(c);
    EXPECT_EQ(ctrl_.closes, 1u);
    EXPECT_FALSE(c.flags.has(conn_flag::ctrl_ready));
    EXPECT_EQ(c.subs, nullptr);
    conn_ctrl_close(c);
    EXPECT_EQ(ctrl_.closes, 1u) << "once";
}

TEST_F(ConnectionTest, FullCloseClosesTheTransportThenTheControlLayer) {
    connection c(l_);
    prepare(c);
    conn_ctrl_init(c);
    ASSERT_TRUE(conn_xprt_start(c));
    conn_full_close(c);
    EXPECT_EQ(closes(), (std::vector<std::string>{"FAKE.close", "ctrl.close"}));
    conn_full_close(c);
    EXPECT_EQ(closes().size(), 2u) << "nothing is closed twice";
}

TEST_F(ConnectionTest, DrainsBeforeCloseOnlyWhenWantedAndInputNotEnded) {
    struct row {
        conn_flags flags;
        bool drains = false;
    };
    const row rows[] = {
        {conn_flag::want_drain, true},
        {conn_flag::want_drain | conn_flag::sock_rd_sh, false},
        {{}, false},
    };
    for (const row& r : rows) {
        SCOPED_TRACE(to_string(r.flags));
        log_.clear();
        connection c(l_);
        prepare(c);
        conn_ctrl_init(c);
        c.flags.set(r.flags);
        conn_full_close(c);
        if (r.drains) {
            EXPECT_EQ(log_.matching("ctrl."),
                      (std::vector<std::string>{"ctrl.init", "ctrl.drain", "ctrl.close"}));
        } else {
            EXPECT_EQ(log_.count("ctrl.drain"), 0u);
            EXPECT_EQ(log_.count("ctrl.close"), 1u);
        }
    }
}

TEST_F(ConnectionTest, DestroyingAnOpenConnectionForceClosesIt) {
    test::fake_ctx* f = nullptr;
    {
        connection c(l_);
        prepare(c);
        conn_ctrl_init(c);
        c.flags.set(conn_flag::xprt_tracked);
        f = &fake_layer::ctx_of(c.xprt.ctx);
    }
    EXPECT_EQ(f->closes, 1u);
    EXPECT_EQ(ctrl_.closes, 1u);
    EXPECT_EQ(fake_.live_contexts(), 0u);
}

TEST_F(ConnectionTest, DestroyingAClosedConnectionClosesNothingMore) {
    {
        connection c(l_);
        prepare(c);
        conn_ctrl_init(c);
        conn_full_close(c);
    }
    EXPECT_EQ(closes().size(), 2u);
    { connection idle(l_); }
    EXPECT_EQ(ctrl_.closes, 1u);
}

// --- shutdowns ------------------------------------------------------------------------------

TEST_F(ConnectionTest, SockShutwCallsShutdownOnlyWhenCleanWithoutRead0) {
    struct row {
        bool clean = false;
        conn_flags before;
        bool ctrl_ready = false;
        bool calls_shutdown = false;
    };
    const row rows[] = {
        {true, {}, true, true},
        {false, {}, true, false},                    // dirty: the close will RST anyway
        {true, conn_flag::sock_rd_sh, true, false},  // after read0 the close sends the FIN
        {true, conn_flag::sock_wr_sh, true, false},  // already shut
        {true, {}, false, false},                    // no socket registered
    };
    for (const row& r : rows) {
        SCOPED_TRACE(std::string(r.clean ? "clean " : "dirty ") + to_string(r.before) +
                     (r.ctrl_ready ? " ctrl" : " no-ctrl"));
        const std::size_t before = ctrl_.shutws;
        connection c(l_);
        prepare(c);
        if (r.ctrl_ready) {
            conn_ctrl_init(c);
        }
        c.flags.set(r.before);
        conn_sock_shutw(c, r.clean);
        EXPECT_TRUE(c.flags.has(conn_flag::sock_wr_sh));
        EXPECT_EQ(ctrl_.shutws - before, r.calls_shutdown ? 1u : 0u);
        EXPECT_EQ(c.term.to_string(), "fd.shutw");
        conn_sock_shutw(c, r.clean);
        EXPECT_EQ(ctrl_.shutws - before, r.calls_shutdown ? 1u : 0u) << "never twice";
    }
}

TEST_F(ConnectionTest, ShutwGoesDownTheChainThenToTheSocket) {
    connection c(l_);
    prepare(c);
    conn_ctrl_init(c);
    conn_shutw(c, true);
    EXPECT_EQ(log_.matching("shutw"),
              (std::vector<std::string>{"FAKE.shutw(clean)", "ctrl.shutw"}));
    EXPECT_EQ(fake_layer::ctx_of(c.xprt.ctx).shutws, 1u);
}

TEST_F(ConnectionTest, SockRead0SetsTheFlagAndClearsTheLingerRisk) {
    constexpr int fake_fd = 900;  // a table entry only: no real socket behind it
    l_.fds().insert(fake_fd, nullptr, nullptr, false);
    l_.fds().set_linger_risk(fake_fd, true);
    connection c(l_);
    prepare(c);
    c.handle.fd = fake_fd;
    conn_ctrl_init(c);
    conn_sock_read0(c);
    EXPECT_TRUE(c.flags.has(conn_flag::sock_rd_sh));
    EXPECT_FALSE(l_.fds().linger_risk(fake_fd)) << "the peer's FIN was seen: no RST needed";
    EXPECT_EQ(c.term.to_string(), "fd.shutr");
    l_.fds().remove(fake_fd);
}

TEST_F(ConnectionTest, SockRead0OnAnFdlessConnectionLeavesTheFdTableAlone) {
    constexpr int fake_fd = 901;
    l_.fds().insert(fake_fd, nullptr, nullptr, false);
    l_.fds().set_linger_risk(fake_fd, true);
    connection c(l_);
    prepare(c);
    c.flags.set(conn_flag::fdless);
    c.handle.id = static_cast<std::uint64_t>(fake_fd);  // an id that happens to look like an fd
    conn_ctrl_init(c);
    conn_sock_read0(c);
    EXPECT_TRUE(c.flags.has(conn_flag::sock_rd_sh));
    EXPECT_TRUE(l_.fds().linger_risk(fake_fd));
    l_.fds().remove(fake_fd);
}

TEST_F(ConnectionTest, ShowPrintsChainFlagsErrorAndTermination) {
    connection c(l_);
    prepare(c);
    c.handle.fd = 42;
    c.fail(conn_err::ereset);
    c.report_term(term_loc::fd, term_type::rcv_err);
    const std::string s = conn_show(c);
    EXPECT_NE(s.find("chain=FAKE"), std::string::npos) << s;
    EXPECT_NE(s.find("flags=SOCK_RD_SH|SOCK_WR_SH|ERROR"), std::string::npos) << s;
    EXPECT_NE(s.find("err=ERESET"), std::string::npos) << s;
    EXPECT_NE(s.find("term=fd.rcv_err"), std::string::npos) << s;
    EXPECT_NE(s.find("fd=42"), std::string::npos) << s;
    EXPECT_NE(s.find("\n  FAKE"), std::string::npos) << s;
}

}  // namespace
}  // namespace xstack::xprt
