// tests/ssl/ssl_data_test.cc - the TLS data path: bulk transfers, close_notify against a bare
// FIN, half-close, every WANT_READ/WANT_WRITE interleaving through a fake lower layer, stacking
// over a pass-through layer and chain surgery, renegotiation refused.
#include <cerrno>
#include <string>

#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "ssl/ssl.h"
#include "ssl/ssl_internal.h"
#include "tests/ssl/ssl_test_util.h"
#include "tests/ssl/test_certs.h"
#include "tests/support/fake_layer.h"
#include "tests/support/pass_layer.h"
#include "tests/support/run_until.h"
#include "tests/support/socket_pair.h"
#include "xprt/connection.h"

namespace xstack::test {
namespace {

using xprt::conn_err;
using xprt::conn_flag;

std::string pattern(std::size_t n, unsigned seed = 1) {
    std::string s(n, '\0');
    unsigned x = seed;
    for (auto& ch : s) {
        x = x * 1103515245u + 12345u;
        ch = static_cast<char>(x >> 16);
    }
    return s;
}

class SslDataTest : public ::testing::Test {
protected:
    void SetUp() override {
        srv_ = make_server(server_config());
        cli_ = make_client(client_config());
    }
    bool start() { return p_.start(srv_, cli_, {.sni = "server.test"}); }

    event::loop loop_;
    tls_pair p_{loop_};
    ssl::context srv_;
    ssl::context cli_;
};

TEST_F(SslDataTest, BulkEchoBothWays) {
    const std::string data = pattern(3 << 20);
    p_.server.echo = true;
    p_.client.send(data);
    ASSERT_TRUE(start());
    ASSERT_TRUE(run_until(
        loop_, [&] { return p_.client.received.size() >= data.size() || p_.client.failed(); },
        20000));
    EXPECT_FALSE(p_.client.failed()) << xprt::conn_show(p_.client.conn);
    EXPECT_FALSE(p_.server.failed()) << xprt::conn_show(p_.server.conn);
    EXPECT_TRUE(p_.client.received == data);
}

TEST_F(SslDataTest, StaleErrorLeftByOtherCodeIsNotFatal) {
    // Code sharing the thread may leave an entry in OpenSSL's error queue; SSL_get_error would
    // read it as a fatal error unless the layer empties the queue before each data call.
    p_.server.echo = true;
    p_.client.send("one");
    ASSERT_TRUE(start());
    ASSERT_TRUE(run_until(
        loop_, [&] { return p_.client.received == "one"; }, 5000));
    ERR_raise(ERR_LIB_SYS, ENOENT);  // not ours, and not the connections'
    ASSERT_NE(ERR_peek_error(), 0u);
    p_.client.send("two");
    ASSERT_TRUE(run_until(
        loop_, [&] { return p_.client.received == "onetwo" || p_.client.failed(); }, 5000));
    EXPECT_FALSE(p_.client.failed()) << xprt::conn_show(p_.client.conn);
    EXPECT_FALSE(p_.server.failed()) << xprt::conn_show(p_.server.conn);
    EXPECT_EQ(ERR_peek_error(), 0u);
}

TEST_F(SslDataTest, SmallReadsLeaveDataInsideOpenSsl) {
    // A reader asking for 7 bytes at a time: records stay buffered in OpenSSL, so a recv
    // subscription must wake at once rather than wait for the socket.
    const std::string data = pattern(100000, 7);
    p_.server.rcv_max = 7;
    p_.client.send(data);
    ASSERT_TRUE(start());
    ASSERT_TRUE(run_until(
        loop_, [&] { return p_.server.received.size() >= data.size(); }, 20000));
    EXPECT_TRUE(p_.server.received == data);
}

TEST_F(SslDataTest, CloseNotifyEndsTheStreamCleanly) {
    p_.client.send("bye");
    p_.client.shut_when_sent = true;
    ASSERT_TRUE(start());
    ASSERT_TRUE(run_until(loop_, [&] { return p_.server.eof() || p_.server.failed(); }));
    EXPECT_EQ(p_.server.received, "bye");
    EXPECT_FALSE(p_.server.failed()) << xprt::conn_show(p_.server.conn);
    EXPECT_TRUE(ssl::close_notify_received(p_.server.conn));
}

TEST_F(SslDataTest, BareFinIsAnOrdinaryEndOfStream) {
    p_.client.send("data");
    ASSERT_TRUE(start());
    ASSERT_TRUE(run_until(loop_, [&] { return p_.server.received == "data"; }));
    ASSERT_EQ(::shutdown(p_.client.conn.fd(), SHUT_WR), 0);  // TCP FIN, no close_notify
    ASSERT_TRUE(run_until(loop_, [&] { return p_.server.eof() || p_.server.failed(); }));
    EXPECT_FALSE(p_.server.failed()) << xprt::conn_show(p_.server.conn);
    EXPECT_FALSE(ssl::close_notify_received(p_.server.conn));
    EXPECT_EQ(p_.server.conn.err_code, conn_err::none);
}

TEST_F(SslDataTest, UncleanShutwSendsNoCloseNotify) {
    ASSERT_TRUE(start());
    ASSERT_TRUE(p_.run_handshakes());
    xprt::conn_shutw(p_.client.conn, false);
    ::shutdown(p_.client.conn.fd(), SHUT_WR);  // an unclean shutw leaves the FIN to the close
    ASSERT_TRUE(run_until(loop_, [&] { return p_.server.eof() || p_.server.failed(); }));
    EXPECT_FALSE(p_.server.failed());
    EXPECT_FALSE(ssl::close_notify_received(p_.server.conn));
}

TEST_F(SslDataTest, HalfCloseKeepsTheOtherDirection) {
    p_.client.send("request");
    p_.client.shut_when_sent = true;  // close_notify + FIN, then keep reading
    ASSERT_TRUE(start());
    ASSERT_TRUE(run_until(loop_, [&] { return p_.server.eof() || p_.server.failed(); }));
    ASSERT_EQ(p_.server.received, "request");
    ASSERT_TRUE(ssl::close_notify_received(p_.server.conn));
    const std::string response = pattern(300000, 3);
    p_.server.shut_when_sent = true;
    p_.server.send(response);
    ASSERT_TRUE(run_until(
        loop_, [&] { return p_.client.eof() || p_.client.failed(); }, 10000));
    EXPECT_FALSE(p_.client.failed()) << xprt::conn_show(p_.client.conn);
    EXPECT_FALSE(p_.server.failed()) << xprt::conn_show(p_.server.conn);
    EXPECT_TRUE(p_.client.received == response);
    EXPECT_TRUE(ssl::close_notify_received(p_.client.conn));
}

TEST_F(SslDataTest, SendAfterShutwFails) {
    ASSERT_TRUE(start());
    ASSERT_TRUE(p_.run_handshakes());
    xprt::conn_shutw(p_.client.conn, true);
    std::string s = "late";
    const auto b = xprt::buffer::holding(std::as_writable_bytes(std::span(s)), s.size());
    EXPECT_EQ(p_.client.conn.snd_buf(b, s.size()), 0u);
    EXPECT_TRUE(p_.client.conn.flags.has(conn_flag::error));
    EXPECT_EQ(p_.client.conn.err_code, conn_err::epipe);
}

TEST_F(SslDataTest, DataCallsReturnZeroDuringHandshake) {
    prepare_raw(p_.server.conn, p_.sp.release_a());
    ASSERT_TRUE(ssl::attach(p_.server.conn, srv_).has_value());
    ASSERT_TRUE(xprt::conn_xprt_start(p_.server.conn).has_value());
    std::string s = "early";
    const auto b = xprt::buffer::holding(std::as_writable_bytes(std::span(s)), s.size());
    EXPECT_EQ(p_.server.conn.snd_buf(b, s.size()), 0u);
    std::byte area[64];
    xprt::buffer in{std::span<std::byte>(area)};
    EXPECT_EQ(p_.server.conn.rcv_buf(in, sizeof area), 0u);
    EXPECT_FALSE(p_.server.conn.flags.has(conn_flag::error));
    EXPECT_EQ(p_.server.conn.alpn(), "");
    EXPECT_EQ(p_.server.conn.tls(), nullptr);
}

TEST_F(SslDataTest, ShowDescribesTheLayer) {
    ASSERT_TRUE(start());
    ASSERT_TRUE(p_.run_handshakes());
    const std::string s = xprt::conn_show(p_.client.conn);
    EXPECT_NE(s.find("SSL ctx="), std::string::npos) << s;
    EXPECT_NE(s.find("hs=done ver=TLSv1.3"), std::string::npos) << s;
}

// --- stacking -----------------------------------------------------------------------------------

TEST_F(SslDataTest, StacksOverAPassThroughLayer) {
    pass_layer pass;
    prepare_raw(p_.server.conn, p_.sp.release_a());
    prepare_raw(p_.client.conn, p_.sp.release_b());
    ASSERT_NE(xprt::conn_insert_xprt(p_.server.conn, pass), nullptr);
    ASSERT_NE(xprt::conn_insert_xprt(p_.client.conn, pass), nullptr);
    ASSERT_TRUE(ssl::attach(p_.server.conn, srv_).has_value());
    ASSERT_TRUE(ssl::attach(p_.client.conn, cli_, {.sni = "server.test"}).has_value());
    EXPECT_EQ(xprt::conn_chain(p_.server.conn), "SSL>PASS>RAW");
    EXPECT_EQ(xprt::conn_chain(p_.client.conn), "SSL>PASS>RAW");
    const std::string data = pattern(200000, 9);
    p_.server.echo = true;
    p_.client.send(data);
    ASSERT_TRUE(p_.launch());
    ASSERT_TRUE(run_until(
        loop_, [&] { return p_.client.received.size() >= data.size() || p_.client.failed(); },
        10000));
    EXPECT_TRUE(p_.client.received == data);
    EXPECT_EQ(p_.client.conn.tls()->peer_cn, "server.test");
    p_.server.close();
    p_.client.close();
    EXPECT_EQ(pass.live_contexts(), 0u);
}

TEST_F(SslDataTest, LayerInsertedBelowDuringTheHandshake) {
    // The server's handshake waits at raw for a ClientHello; a layer inserted below SSL then
    // must take over SSL's registration (one subscriber per layer).
    pass_layer pass;
    prepare_raw(p_.server.conn, p_.sp.release_a());
    prepare_raw(p_.client.conn, p_.sp.release_b());
    ASSERT_TRUE(ssl::attach(p_.server.conn, srv_).has_value());
    ASSERT_TRUE(xprt::conn_xprt_start(p_.server.conn).has_value());
    run_iterations(loop_, 3);  // the server tries, gets EAGAIN, subscribes
    ASSERT_NE(xprt::conn_insert_xprt(p_.server.conn, pass), nullptr);
    EXPECT_EQ(xprt::conn_chain(p_.server.conn), "SSL>PASS>RAW");
    ASSERT_TRUE(ssl::attach(p_.client.conn, cli_, {.sni = "server.test"}).has_value());
    ASSERT_TRUE(xprt::conn_xprt_start(p_.client.conn).has_value());
    ASSERT_TRUE(p_.run_handshakes());
    EXPECT_TRUE(p_.server.done()) << xprt::conn_show(p_.server.conn);
    EXPECT_TRUE(p_.client.done());
    p_.server.close();  // before `pass` goes away
    p_.client.close();
}

TEST_F(SslDataTest, LayerRemovedFromBelow) {
    call_log log;
    fake_layer mid("MID", &log);
    prepare_raw(p_.server.conn, p_.sp.release_a());
    prepare_raw(p_.client.conn, p_.sp.release_b());
    ASSERT_TRUE(ssl::attach(p_.server.conn, srv_).has_value());
    xprt::xprt_ctx* m = xprt::conn_insert_xprt(p_.server.conn, mid);
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(xprt::conn_chain(p_.server.conn), "SSL>MID>RAW");
    ASSERT_TRUE(xprt::conn_remove_xprt(p_.server.conn, m));
    EXPECT_EQ(xprt::conn_chain(p_.server.conn), "SSL>RAW");
    ASSERT_TRUE(ssl::attach(p_.client.conn, cli_, {.sni = "server.test"}).has_value());
    ASSERT_TRUE(p_.launch());
    ASSERT_TRUE(p_.run_handshakes());
    EXPECT_TRUE(p_.server.done());
}

TEST_F(SslDataTest, StartTlsOnARunningChain) {
    // Attaching to a started chain starts the handshake at once.
    prepare_raw(p_.server.conn, p_.sp.release_a());
    prepare_raw(p_.client.conn, p_.sp.release_b());
    ASSERT_TRUE(xprt::conn_xprt_start(p_.server.conn).has_value());
    ASSERT_TRUE(xprt::conn_xprt_start(p_.client.conn).has_value());
    ASSERT_TRUE(ssl::attach(p_.server.conn, srv_).has_value());
    ASSERT_TRUE(ssl::attach(p_.client.conn, cli_, {.sni = "server.test"}).has_value());
    ASSERT_TRUE(p_.run_handshakes());
    EXPECT_TRUE(p_.server.done());
    EXPECT_TRUE(p_.client.done());
}

// --- a fake lower layer: one byte at a time, EAGAIN in between
// ------------------------------------

class SslFakeLowerTest : public ::testing::TestWithParam<bool> {};

/// Moves bytes written on one fake into the other's receive script, one byte per read with a
/// "not ready" after each, and lets sends through one byte per call with a 0 in between.
struct fake_wire {
    fake_ctx& a;
    fake_ctx& b;
    std::size_t a_moved = 0;
    std::size_t b_moved = 0;
    bool slow_send = true;

    static void refill_send(fake_ctx& f) {
        while (f.snd_script.size() < 8) {
            f.accept_next(1);
            f.accept_next(0);
        }
    }
    static void move(fake_ctx& from, std::size_t& moved, fake_ctx& to) {
        for (; moved < from.sent.size(); ++moved) {
            to.feed(std::string_view(&from.sent[moved], 1));
            to.feed_not_ready();
        }
    }
    void tick() {
        if (slow_send) {
            refill_send(a);
            refill_send(b);
        }
        move(a, a_moved, b);
        move(b, b_moved, a);
        for (fake_ctx* f : {&a, &b}) {
            if (f->subscribed().has(xprt::sub_event::recv) && f->pending_bytes() > 0) {
                f->notify(xprt::sub_event::recv);
            }
            if (f->subscribed().has(xprt::sub_event::send)) {
                f->notify(xprt::sub_event::send);
            }
        }
    }
};

TEST_P(SslFakeLowerTest, EveryWantReadWantWriteInterleaving) {
    const bool slow_send = GetParam();
    event::loop loop;
    fake_layer bottom("FAKE", nullptr, xprt::xprt_id::raw);
    fake_ctrl ctrl;
    auto srv = make_server(server_config());
    auto cli = make_client(client_config());
    endpoint server(loop, xprt::conn_side::frontend);
    endpoint client(loop, xprt::conn_side::backend);
    ASSERT_TRUE(xprt::conn_prepare(server.conn, &ctrl, &bottom).has_value());
    fake_ctx& fs = fake_layer::ctx_of(server.conn.xprt.ctx);
    ASSERT_TRUE(xprt::conn_prepare(client.conn, &ctrl, &bottom).has_value());
    fake_ctx& fc = fake_layer::ctx_of(client.conn.xprt.ctx);
    ASSERT_TRUE(ssl::attach(server.conn, srv).has_value());
    ASSERT_TRUE(ssl::attach(client.conn, cli, {.sni = "server.test"}).has_value());
    fake_wire wire{fs, fc};
    wire.slow_send = slow_send;
    wire.tick();
    const std::string data = pattern(5000, 5);
    server.echo = true;
    client.send(data);
    ASSERT_TRUE(xprt::conn_xprt_start(server.conn).has_value());
    ASSERT_TRUE(xprt::conn_xprt_start(client.conn).has_value());
    server.task.wake();
    int ticks = 0;
    for (; ticks < 400000 && client.received.size() < data.size(); ++ticks) {
        if (server.failed() || client.failed()) {
            break;
        }
        wire.tick();
        loop.run_once(0);
    }
    EXPECT_FALSE(server.failed()) << xprt::conn_show(server.conn) << " "
                                  << ssl::failure_reason(server.conn);
    EXPECT_FALSE(client.failed()) << xprt::conn_show(client.conn) << " "
                                  << ssl::failure_reason(client.conn);
    EXPECT_TRUE(client.received == data)
        << client.received.size() << " bytes after " << ticks << " ticks";
    EXPECT_TRUE(client.done());
    EXPECT_TRUE(server.done());
    EXPECT_EQ(fs.violations, 0u);
    EXPECT_EQ(fc.violations, 0u);
    // The handshake and the data really went one byte per call.
    EXPECT_GT(fs.rcv_calls, 1000u);
    if (slow_send) {
        EXPECT_GT(fc.snd_calls, 1000u);
    }
    server.close();
    client.close();
    EXPECT_EQ(bottom.live_contexts(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Sends, SslFakeLowerTest, ::testing::Bool(), [](const auto& i) {
    return std::string(i.param ? "OneByteSends" : "WholeSends");
});

TEST(SslFakeLowerOnlyTest, ReadThatMustSendSubscribesForSend) {
    // TLS 1.3 post-handshake authentication: the client's SSL_read must answer the server's
    // CertificateRequest, and its lower layer takes no bytes: the read needs to SEND. The
    // application subscribes for recv; the layer below must be asked for send, and the
    // application woken (for its recv) when room comes.
    event::loop loop;
    fake_layer bottom("FAKE", nullptr, xprt::xprt_id::raw);
    fake_ctrl ctrl;
    auto srv = make_server(server_config());
    auto cli = make_client(client_config());
    endpoint server(loop, xprt::conn_side::frontend);
    endpoint client(loop, xprt::conn_side::backend);
    ASSERT_TRUE(xprt::conn_prepare(server.conn, &ctrl, &bottom).has_value());
    fake_ctx& fs = fake_layer::ctx_of(server.conn.xprt.ctx);
    ASSERT_TRUE(xprt::conn_prepare(client.conn, &ctrl, &bottom).has_value());
    fake_ctx& fc = fake_layer::ctx_of(client.conn.xprt.ctx);
    ASSERT_TRUE(ssl::attach(server.conn, srv).has_value());
    ASSERT_TRUE(ssl::attach(client.conn, cli, {.sni = "server.test"}).has_value());
    SSL* cl = static_cast<ssl::ssl_conn*>(client.conn.xprt.ctx)->ssl;
    SSL* sv = static_cast<ssl::ssl_conn*>(server.conn.xprt.ctx)->ssl;
    SSL_set_post_handshake_auth(cl, 1);
    fake_wire wire{fs, fc};
    wire.slow_send = false;
    server.echo = true;
    client.send("before");
    ASSERT_TRUE(xprt::conn_xprt_start(server.conn).has_value());
    ASSERT_TRUE(xprt::conn_xprt_start(client.conn).has_value());
    server.task.wake();
    for (int i = 0; i < 10000 && client.received != "before"; ++i) {
        wire.tick();
        loop.run_once(0);
    }
    ASSERT_EQ(client.received, "before");
    run_iterations(loop, 3);

    // The server asks for a certificate (sent before its next data); the client can send
    // nothing from now on.
    SSL_set_verify(sv, SSL_VERIFY_PEER, nullptr);
    ASSERT_EQ(SSL_verify_client_post_handshake(sv), 1);
    for (int i = 0; i < 64; ++i) {
        fc.accept_next(0);
    }
    server.send("x");
    // (The wire hands over one byte per read.)
    for (int i = 0; i < 5000 && !fc.subscribed().has(xprt::sub_event::send); ++i) {
        wire.move(fs, wire.a_moved, fc);
        if (fc.subscribed().has(xprt::sub_event::recv) && fc.pending_bytes() > 0) {
            fc.notify(xprt::sub_event::recv);
        }
        loop.run_once(0);
    }
    run_iterations(loop, 3);
    EXPECT_EQ(fc.subscribed(), xprt::sub_events(xprt::sub_event::send))
        << xprt::conn_show(client.conn);
    EXPECT_EQ(fc.subscriber, &static_cast<ssl::ssl_conn*>(client.conn.xprt.ctx)->own);
    EXPECT_TRUE(client.we.events.has(xprt::sub_event::recv));  // kept by the TLS layer
    EXPECT_GT(fc.pending_bytes(), 0u);                         // the data behind the request wait
    EXPECT_NE(xprt::conn_show(client.conn).find("rx_need=2"), std::string::npos);
    EXPECT_FALSE(client.failed()) << ssl::failure_reason(client.conn);

    // Room comes: the client's application is woken, the answer goes out, data flow on.
    fc.snd_script.clear();
    ASSERT_TRUE(fc.notify(xprt::sub_event::send));
    for (int i = 0; i < 1000 && client.received != "beforex"; ++i) {
        wire.tick();
        loop.run_once(0);
    }
    EXPECT_EQ(client.received, "beforex");
    EXPECT_FALSE(client.failed()) << ssl::failure_reason(client.conn);
    EXPECT_FALSE(server.failed()) << ssl::failure_reason(server.conn);
    EXPECT_EQ(fs.violations, 0u);
    EXPECT_EQ(fc.violations, 0u);
}

TEST(SslFakeLowerOnlyTest, LowerFailureDuringHandshakeKeepsItsCode) {
    event::loop loop;
    fake_layer bottom("FAKE", nullptr, xprt::xprt_id::raw);
    fake_ctrl ctrl;
    auto srv = make_server(server_config());
    endpoint server(loop, xprt::conn_side::frontend);
    ASSERT_TRUE(xprt::conn_prepare(server.conn, &ctrl, &bottom).has_value());
    fake_ctx& fs = fake_layer::ctx_of(server.conn.xprt.ctx);
    ASSERT_TRUE(ssl::attach(server.conn, srv).has_value());
    fs.feed(std::string("\x16\x03\x01", 3));
    fs.feed_error(conn_err::ereset);
    ASSERT_TRUE(xprt::conn_xprt_start(server.conn).has_value());
    server.task.wake();
    ASSERT_TRUE(run_until(loop, [&] { return server.failed(); }));
    EXPECT_EQ(server.conn.err_code, conn_err::ereset);
    EXPECT_EQ(fs.violations, 0u);
    EXPECT_EQ(fs.subscribed(), xprt::sub_events{});  // nothing left registered below
}

TEST(SslFakeLowerOnlyTest, CloseWakesTheUpperSubscriberAndClosesBelow) {
    event::loop loop;
    fake_layer bottom("FAKE", nullptr, xprt::xprt_id::raw);
    fake_ctrl ctrl;
    auto srv = make_server(server_config());
    xprt::connection c(loop);
    ASSERT_TRUE(xprt::conn_prepare(c, &ctrl, &bottom).has_value());
    ASSERT_TRUE(ssl::attach(c, srv).has_value());
    ASSERT_TRUE(xprt::conn_xprt_start(c).has_value());
    int runs = 0;
    event::tasklet t(
        loop, [](event::tasklet&, void* p) noexcept { ++*static_cast<int*>(p); }, &runs);
    xprt::wait_event w{&t, {}};
    c.subscribe(xprt::sub_event::recv, w);
    loop.run_once(0);  // the handshake waits for bytes
    EXPECT_EQ(runs, 0);
    xprt::conn_xprt_close(c);
    EXPECT_TRUE(w.events.empty());
    loop.run_once(0);
    EXPECT_EQ(runs, 1);
    EXPECT_EQ(bottom.live_contexts(), 0u);
}

// --- renegotiation
// --------------------------------------------------------------------------------

TEST_F(SslDataTest, ClientRenegotiationIsRefused) {
    auto sc = server_config();
    sc.max_version = ssl::tls_version::tls1_2;
    srv_ = make_server(sc);
    prepare_raw(p_.server.conn, p_.sp.release_a());
    ASSERT_TRUE(ssl::attach(p_.server.conn, srv_).has_value());
    p_.server.echo = true;
    ASSERT_TRUE(xprt::conn_xprt_start(p_.server.conn).has_value());
    p_.server.task.wake();

    // A plain OpenSSL client on the other end, allowed to renegotiate.
    SSL_CTX* cctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_max_proto_version(cctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(cctx, SSL_VERIFY_NONE, nullptr);
    SSL* cl = SSL_new(cctx);
    SSL_set_fd(cl, p_.sp.b());
    SSL_set_connect_state(cl);
    ASSERT_TRUE(run_until(loop_, [&] { return SSL_do_handshake(cl) == 1; }));
    ASSERT_TRUE(run_until(loop_, [&] { return p_.server.done(); }));
    ASSERT_EQ(SSL_renegotiate(cl), 1);
    int err = SSL_ERROR_NONE;
    ASSERT_TRUE(run_until(loop_, [&] {
        const int r = SSL_do_handshake(cl);
        err = r == 1 ? SSL_ERROR_NONE : SSL_get_error(cl, r);
        return r == 1 || (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE);
    }));
    EXPECT_EQ(err, SSL_ERROR_SSL);
    EXPECT_EQ(ERR_GET_REASON(ERR_peek_error()), SSL_R_NO_RENEGOTIATION);
    ERR_clear_error();
    EXPECT_EQ(p_.server.conn.tls()->version, "TLSv1.2");
    SSL_free(cl);
    SSL_CTX_free(cctx);
}

}  // namespace
}  // namespace xstack::test
