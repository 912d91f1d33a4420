// tests/ssl/ssl_handshake_test.cc - TLS handshakes over socketpairs, both ends through the
// library in one loop: roles, certificates, SNI, ALPN, verification failures, resumption, client
// certificates, not-TLS peers, aborted handshakes and the handshake timeout.
#include <string>

#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "ssl/ssl.h"
#include "tests/ssl/ssl_test_util.h"
#include "tests/ssl/test_certs.h"
#include "tests/support/run_until.h"
#include "tests/support/socket_pair.h"
#include "xprt/connection.h"

namespace xstack::test {
namespace {

using xprt::conn_err;
using xprt::conn_flag;

class SslHandshakeTest : public ::testing::Test {
protected:
    event::loop loop_;
    tls_pair p_{loop_};
};

TEST_F(SslHandshakeTest, CompletesBothRolesAndCarriesData) {
    auto srv = make_server(server_config());
    auto cli = make_client(client_config());
    // Before start: the handshake flags are set at attach (init) time.
    prepare_raw(p_.server.conn, p_.sp.release_a());
    prepare_raw(p_.client.conn, p_.sp.release_b());
    ASSERT_TRUE(ssl::attach(p_.server.conn, srv).has_value());
    ASSERT_TRUE(ssl::attach(p_.client.conn, cli, {.sni = "server.test"}).has_value());
    EXPECT_EQ(xprt::conn_chain(p_.server.conn), "SSL>RAW");
    for (auto* e : {&p_.server, &p_.client}) {
        EXPECT_TRUE(e->conn.flags.has(conn_flag::ssl_wait_hs));
        EXPECT_TRUE(e->conn.flags.has(conn_flag::wait_l6_conn));
        EXPECT_FALSE(e->conn.connected());
        EXPECT_EQ(e->conn.tls(), nullptr);
    }
    p_.server.echo = true;
    p_.client.send("hello through TLS");
    ASSERT_TRUE(p_.launch());
    ASSERT_TRUE(
        run_until(loop_, [&] { return p_.client.received.size() == 17 || p_.client.failed(); }));
    EXPECT_EQ(p_.client.received, "hello through TLS");
    for (auto* e : {&p_.server, &p_.client}) {
        EXPECT_FALSE(e->failed()) << xprt::conn_show(e->conn);
        EXPECT_FALSE(e->conn.flags.any(conn_flag::ssl_wait_hs | conn_flag::wait_l6_conn |
                                       conn_flag::wait_l4_conn));
        EXPECT_TRUE(e->conn.connected());
        ASSERT_NE(e->conn.tls(), nullptr);
        EXPECT_EQ(e->conn.tls()->version, "TLSv1.3");
        EXPECT_FALSE(e->conn.tls()->cipher.empty());
        EXPECT_FALSE(e->conn.tls()->group.empty());
        EXPECT_EQ(e->conn.tls()->sni, "server.test");
        EXPECT_EQ(e->conn.can_splice(), xprt::splice_cap::cannot);
    }
    // The client sees the server's certificate.
    const xprt::tls_info& ci = *p_.client.conn.tls();
    EXPECT_EQ(ci.peer_cn, "server.test");
    EXPECT_EQ(ci.key_alg, "EC256");
    EXPECT_EQ(ci.sig_alg, "ecdsa-with-SHA256");
    EXPECT_EQ(ci.sig_scheme, "ecdsa_secp256r1_sha256");
    EXPECT_EQ(ci.verify_result, 0);
    EXPECT_FALSE(ci.resumed);
    EXPECT_TRUE(ci.client_cert);  // "the peer presented a certificate"
    // Each side also reports its own certificate (the client presented none).
    EXPECT_EQ(p_.server.conn.tls()->local_key_alg, "EC256");
    EXPECT_EQ(p_.server.conn.tls()->local_sig_alg, "ecdsa-with-SHA256");
    EXPECT_TRUE(ci.local_key_alg.empty());
    // No client certificate was asked for.
    EXPECT_FALSE(p_.server.conn.tls()->client_cert);
    EXPECT_TRUE(p_.server.conn.tls()->peer_cn.empty());
}

TEST_F(SslHandshakeTest, RsaCertificateAndTls12) {
    auto sc = server_config(tls::certs().server_rsa);
    sc.max_version = ssl::tls_version::tls1_2;
    auto srv = make_server(sc);
    auto cli = make_client(client_config());
    ASSERT_TRUE(p_.start(srv, cli, {.sni = "server.test"}));
    ASSERT_TRUE(p_.run_handshakes());
    ASSERT_FALSE(p_.client.failed()) << ssl::failure_reason(p_.client.conn);
    const xprt::tls_info& ci = *p_.client.conn.tls();
    EXPECT_EQ(ci.version, "TLSv1.2");
    EXPECT_EQ(ci.key_alg, "RSA2048");
    EXPECT_EQ(p_.server.conn.tls()->local_key_alg, "RSA2048");
    EXPECT_EQ(ci.sig_scheme, "rsa_pss_rsae_sha256");
    EXPECT_NE(ci.cipher.find("ECDHE"), std::string::npos) << ci.cipher;
}

TEST_F(SslHandshakeTest, CertificateAndKeyFromOneFileOrTwo) {
    const auto& s = tls::certs().server_ec;
    ssl::server_config one;
    one.certificates.push_back(
        {.chain_file = tls::write_temp_file("both.pem", s.cert_pem + s.key_pem)});
    ASSERT_TRUE(ssl::context::server(one).has_value());
    ssl::server_config two;
    two.certificates.push_back({.chain_file = tls::write_temp_file("crt.pem", s.cert_pem),
                                .key_file = tls::write_temp_file("key.pem", s.key_pem)});
    auto srv = make_server(two);
    ssl::client_config cc;
    cc.ca_file = tls::write_temp_file("ca.pem", tls::certs().ca.cert_pem);
    auto cli = make_client(cc);
    ASSERT_TRUE(p_.start(srv, cli, {.sni = "server.test"}));
    ASSERT_TRUE(p_.run_handshakes());
    EXPECT_TRUE(p_.client.done()) << ssl::failure_reason(p_.client.conn);

    // A key that does not match, a missing file: refused with a message.
    ssl::server_config bad;
    bad.certificates.push_back({.chain_pem = s.cert_pem, .key_pem = tls::certs().www.key_pem});
    EXPECT_FALSE(ssl::context::server(bad).has_value());
    ssl::server_config missing;
    missing.certificates.push_back({.chain_file = "/nonexistent/x.pem"});
    EXPECT_FALSE(ssl::context::server(missing).has_value());
}

TEST_F(SslHandshakeTest, VerifyingClientNeedsAHostName) {
    auto cli = make_client(client_config());
    xprt::connection c(loop_, xprt::conn_side::backend);
    socket_pair sp;
    prepare_raw(c, sp.release_a());
    auto r = ssl::attach(c, cli);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(xprt::conn_chain(c), "RAW");  // nothing changed
    // Explicit opt-out: no host needed.
    auto cc = client_config();
    cc.verify = false;
    auto open = make_client(cc);
    EXPECT_TRUE(ssl::attach(c, open).has_value());
    EXPECT_EQ(xprt::conn_chain(c), "SSL>RAW");
}

TEST_F(SslHandshakeTest, InitWithoutContextFails) {
    xprt::connection c(loop_);
    auto r = xprt::conn_prepare(c, nullptr, &ssl::ops());
    EXPECT_FALSE(r.has_value());
    EXPECT_EQ(c.err_code, conn_err::xprt_init);
    EXPECT_EQ(ssl::ops().name(), "SSL");
    EXPECT_EQ(ssl::ops().id(), xprt::xprt_id::ssl);
}

// --- verification failures ----------------------------------------------------------------------

struct verify_case {
    const char* name;
    const tls::issued* cert;
    const char* host;
    conn_err client_code;
};

class SslVerifyTest : public SslHandshakeTest, public ::testing::WithParamInterface<verify_case> {};

TEST_P(SslVerifyTest, ClientRefusesServerCertificate) {
    const verify_case& vc = GetParam();
    auto srv = make_server(server_config(*vc.cert));
    auto cli = make_client(client_config());
    ASSERT_TRUE(p_.start(srv, cli, {.sni = vc.host}));
    ASSERT_TRUE(p_.run_handshakes());
    ASSERT_TRUE(p_.client.failed());
    EXPECT_EQ(p_.client.conn.err_code, vc.client_code)
        << to_string(p_.client.conn.err_code) << " " << ssl::failure_reason(p_.client.conn);
    EXPECT_FALSE(ssl::failure_reason(p_.client.conn).empty());
    EXPECT_EQ(p_.client.conn.tls(), nullptr);
    // The server got the client's alert.
    ASSERT_TRUE(run_until(loop_, [&] { return p_.server.failed(); }));
    EXPECT_EQ(p_.server.conn.err_code, conn_err::ssl_handshake)
        << ssl::failure_reason(p_.server.conn);
}

INSTANTIATE_TEST_SUITE_P(Failures, SslVerifyTest,
                         ::testing::Values(verify_case{"UnknownCa", &tls::certs().untrusted_server,
                                                       "server.test", conn_err::ssl_ca_fail},
                                           verify_case{"Expired", &tls::certs().expired,
                                                       "server.test", conn_err::ssl_expired},
                                           verify_case{"HostMismatch", &tls::certs().server_ec,
                                                       "other.test", conn_err::ssl_mismatch}),
                         [](const auto& i) { return std::string(i.param.name); });

TEST_F(SslHandshakeTest, VerifiesIpAddressesWithoutSendingThemAsSni) {
    auto srv = make_server(server_config());
    auto cli = make_client(client_config());
    ASSERT_TRUE(p_.start(srv, cli, {.verify_host = "127.0.0.1"}));
    ASSERT_TRUE(p_.run_handshakes());
    ASSERT_TRUE(p_.client.done()) << ssl::failure_reason(p_.client.conn);
    EXPECT_TRUE(p_.server.conn.tls()->sni.empty());
}

TEST_F(SslHandshakeTest, VerificationOptOutAcceptsAnyCertificate) {
    auto srv = make_server(server_config(tls::certs().untrusted_server));
    auto cc = client_config();
    cc.verify = false;
    auto cli = make_client(cc);
    ASSERT_TRUE(p_.start(srv, cli, {.sni = "server.test"}));
    ASSERT_TRUE(p_.run_handshakes());
    EXPECT_TRUE(p_.client.done());
    EXPECT_NE(p_.client.conn.tls()->verify_result, 0);  // still reported
}

// --- ALPN --------------------------------------------------------------------------------------

TEST_F(SslHandshakeTest, AlpnSelectsServerPreference) {
    auto sc = server_config();
    sc.alpn = {"h2", "http/1.1"};
    auto cc = client_config();
    cc.alpn = {"http/1.1", "h2"};
    auto srv = make_server(sc);
    auto cli = make_client(cc);
    ASSERT_TRUE(p_.start(srv, cli, {.sni = "server.test"}));
    ASSERT_TRUE(p_.run_handshakes());
    EXPECT_EQ(p_.server.conn.alpn(), "h2");
    EXPECT_EQ(p_.client.conn.alpn(), "h2");
    EXPECT_EQ(p_.client.conn.tls()->alpn, "h2");
}

TEST_F(SslHandshakeTest, NoSharedAlpnFailsBothSides) {
    auto sc = server_config();
    sc.alpn = {"h2"};
    auto cc = client_config();
    cc.alpn = {"http/1.1"};
    auto srv = make_server(sc);
    auto cli = make_client(cc);
    ASSERT_TRUE(p_.start(srv, cli, {.sni = "server.test"}));
    ASSERT_TRUE(run_until(loop_, [&] { return p_.server.failed() && p_.client.failed(); }));
    EXPECT_EQ(p_.server.conn.err_code, conn_err::ssl_no_alpn);
    EXPECT_EQ(p_.client.conn.err_code, conn_err::ssl_no_alpn)
        << ssl::failure_reason(p_.client.conn);
}

TEST_F(SslHandshakeTest, AlpnMismatchCanBeTolerated) {
    auto sc = server_config();
    sc.alpn = {"h2"};
    sc.alpn_mismatch_fatal = false;
    auto cc = client_config();
    cc.alpn = {"http/1.1"};
    auto srv = make_server(sc);
    auto cli = make_client(cc);
    ASSERT_TRUE(p_.start(srv, cli, {.sni = "server.test"}));
    ASSERT_TRUE(p_.run_handshakes());
    EXPECT_TRUE(p_.client.done());
    EXPECT_EQ(p_.client.conn.alpn(), "");
}

// --- SNI ---------------------------------------------------------------------------------------

class SslSniTest : public SslHandshakeTest {
protected:
    ssl::server_config multi() {
        ssl::server_config sc = server_config();  // default: server.test
        sc.certificates.push_back(pem_cert(tls::certs().www));
        sc.certificates.push_back(pem_cert(tls::certs().wildcard));
        return sc;
    }
    std::string peer_cn_for(const ssl::server_config& sc, const char* sni) {
        auto srv = make_server(sc);
        auto cc = client_config();
        cc.verify = false;
        auto cli = make_client(cc);
        EXPECT_TRUE(p_.start(srv, cli, {.sni = sni}));
        EXPECT_TRUE(p_.run_handshakes());
        return p_.client.done() ? p_.client.conn.tls()->peer_cn : "failed";
    }
};

TEST_F(SslSniTest, SelectsExactName) {
    EXPECT_EQ(peer_cn_for(multi(), "www.example.test"), "www.example.test");
    EXPECT_EQ(p_.server.conn.tls()->sni, "www.example.test");
}

TEST_F(SslSniTest, SelectsWildcard) {
    EXPECT_EQ(peer_cn_for(multi(), "Foo.Wild.Test"), "*.wild.test");
}

TEST_F(SslSniTest, UnknownNameGetsDefault) {
    EXPECT_EQ(peer_cn_for(multi(), "nothing.test"), "server.test");
}

TEST_F(SslSniTest, StrictSniRefusesUnknownName) {
    auto sc = multi();
    sc.strict_sni = true;
    EXPECT_EQ(peer_cn_for(sc, "nothing.test"), "failed");
    ASSERT_TRUE(run_until(loop_, [&] { return p_.server.failed(); }));
    EXPECT_EQ(p_.server.conn.err_code, conn_err::ssl_mismatch_sni);
    EXPECT_EQ(p_.client.conn.err_code, conn_err::ssl_mismatch_sni);
}

TEST_F(SslSniTest, StrictSniAcceptsKnownName) {
    auto sc = multi();
    sc.strict_sni = true;
    EXPECT_EQ(peer_cn_for(sc, "www.example.test"), "www.example.test");
}

// --- resumption --------------------------------------------------------------------------------

class SslResumeTest : public ::testing::TestWithParam<ssl::tls_version> {};

TEST_P(SslResumeTest, SecondConnectionResumes) {
    auto sc = server_config();
    sc.max_version = GetParam();
    auto srv = make_server(sc);
    auto cli = make_client(client_config());
    event::loop loop;
    for (int round = 0; round < 2; ++round) {
        tls_pair p(loop);
        p.server.echo = true;
        p.client.send("ping");
        ASSERT_TRUE(p.start(srv, cli, {.sni = "server.test"}));
        // Reading the echo also reads the TLS 1.3 session tickets sent after the handshake.
        ASSERT_TRUE(
            run_until(loop, [&] { return p.client.received == "ping" || p.client.failed(); }));
        ASSERT_TRUE(p.client.done()) << ssl::failure_reason(p.client.conn);
        EXPECT_EQ(p.client.conn.tls()->resumed, round == 1) << "round " << round;
        EXPECT_EQ(p.server.conn.tls()->resumed, round == 1) << "round " << round;
        EXPECT_EQ(p.client.conn.tls()->peer_cn, "server.test");  // kept in the session
        EXPECT_GE(cli.cached_sessions(), 1u);
    }
}

TEST_P(SslResumeTest, CacheIsKeyedBySni) {
    auto sc = server_config();
    sc.max_version = GetParam();
    auto srv = make_server(sc);
    auto cli = make_client(client_config());
    event::loop loop;
    const char* names[] = {"server.test", "localhost"};
    for (const char* name : names) {
        tls_pair p(loop);
        p.server.echo = true;
        p.client.send("x");
        ASSERT_TRUE(p.start(srv, cli, {.sni = name}));
        ASSERT_TRUE(run_until(loop, [&] { return p.client.received == "x" || p.client.failed(); }));
        ASSERT_TRUE(p.client.done());
        EXPECT_FALSE(p.client.conn.tls()->resumed) << name;  // another name: no session yet
    }
    EXPECT_EQ(cli.cached_sessions(), 2u);
}

INSTANTIATE_TEST_SUITE_P(Versions, SslResumeTest,
                         ::testing::Values(ssl::tls_version::tls1_2, ssl::tls_version::tls1_3),
                         [](const auto& i) {
                             return std::string(i.param == ssl::tls_version::tls1_2 ? "Tls12"
                                                                                    : "Tls13");
                         });

// --- client certificates -----------------------------------------------------------------------

class SslClientCertTest : public SslHandshakeTest {
protected:
    ssl::server_config verifying(ssl::client_verify mode) {
        auto sc = server_config();
        sc.verify_client = mode;
        sc.client_ca_pem = tls::certs().ca.cert_pem;
        return sc;
    }
    ssl::client_config with_cert(const tls::issued* cert) {
        auto cc = client_config();
        if (cert != nullptr) {
            cc.client_cert = pem_cert(*cert);
        }
        return cc;
    }
};

TEST_F(SslClientCertTest, VerifiedClientCertificateIsExposed) {
    auto srv = make_server(verifying(ssl::client_verify::required));
    auto cli = make_client(with_cert(&tls::certs().client));
    p_.server.echo = true;
    p_.client.send("id");
    ASSERT_TRUE(p_.start(srv, cli, {.sni = "server.test"}));
    ASSERT_TRUE(run_until(loop_, [&] { return p_.client.received == "id" || p_.client.failed(); }));
    ASSERT_TRUE(p_.server.done()) << ssl::failure_reason(p_.server.conn);
    const xprt::tls_info& si = *p_.server.conn.tls();
    EXPECT_TRUE(si.client_cert);
    EXPECT_TRUE(si.client_cert_in_conn);
    EXPECT_EQ(si.peer_cn, "client.test");
    EXPECT_EQ(si.verify_result, 0);
    EXPECT_EQ(si.sig_scheme, "ecdsa_secp256r1_sha256");
}

TEST_F(SslClientCertTest, MissingRequiredCertificate) {
    auto srv = make_server(verifying(ssl::client_verify::required));
    auto cli = make_client(with_cert(nullptr));
    ASSERT_TRUE(p_.start(srv, cli, {.sni = "server.test"}));
    // TLS 1.3: the client finishes first; the server's verdict comes as an alert afterwards.
    ASSERT_TRUE(run_until(loop_, [&] { return p_.server.failed() && p_.client.failed(); }));
    EXPECT_EQ(p_.server.conn.err_code, conn_err::ssl_no_cert);
}

TEST_F(SslClientCertTest, OptionalAcceptsNoCertificate) {
    auto srv = make_server(verifying(ssl::client_verify::optional));
    auto cli = make_client(with_cert(nullptr));
    ASSERT_TRUE(p_.start(srv, cli, {.sni = "server.test"}));
    ASSERT_TRUE(p_.run_handshakes());
    ASSERT_TRUE(p_.server.done());
    EXPECT_FALSE(p_.server.conn.tls()->client_cert);
}

TEST_F(SslClientCertTest, UnknownCaIsRefused) {
    auto srv = make_server(verifying(ssl::client_verify::optional));
    auto cli = make_client(with_cert(&tls::certs().client_other_ca));
    ASSERT_TRUE(p_.start(srv, cli, {.sni = "server.test"}));
    ASSERT_TRUE(run_until(loop_, [&] { return p_.server.failed() && p_.client.failed(); }));
    EXPECT_EQ(p_.server.conn.err_code, conn_err::ssl_ca_fail)
        << ssl::failure_reason(p_.server.conn);
}

// --- peers that are not TLS, or go away ---------------------------------------------------------

class SslServerAbortTest : public ::testing::Test {
protected:
    void SetUp() override {
        srv_ = make_server(server_config());
        prepare_raw(server_.conn, sp_.release_a());
        ASSERT_TRUE(ssl::attach(server_.conn, srv_).has_value());
        ASSERT_TRUE(xprt::conn_xprt_start(server_.conn).has_value());
        server_.task.wake();
    }
    void run_to_failure() {
        ASSERT_TRUE(run_until(loop_, [&] { return server_.failed(); }));
        EXPECT_EQ(server_.conn.tls(), nullptr);
        EXPECT_FALSE(ssl::failure_reason(server_.conn).empty());
        EXPECT_NE(xprt::conn_show(server_.conn).find("hs=failed"), std::string::npos);
        // A subscription made after the failure is woken at once, events cleared.
        int runs = 0;
        event::tasklet t(
            loop_, [](event::tasklet&, void* p) noexcept { ++*static_cast<int*>(p); }, &runs);
        xprt::wait_event w{&t, {}};
        server_.conn.subscribe(xprt::sub_event::recv, w);
        EXPECT_TRUE(w.events.empty());
        run_iterations(loop_, 1);
        EXPECT_EQ(runs, 1);
    }
    event::loop loop_;
    socket_pair sp_;
    ssl::context srv_;
    endpoint server_{loop_, xprt::conn_side::frontend};
};

TEST_F(SslServerAbortTest, GarbageInsteadOfClientHello) {
    ASSERT_TRUE(write_all(sp_.b(), "GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    run_to_failure();
    EXPECT_EQ(server_.conn.err_code, conn_err::ssl_not_tls) << ssl::failure_reason(server_.conn);
}

TEST_F(SslServerAbortTest, PeerClosesBeforeAnyByte) {
    sp_.close_b();
    run_to_failure();
    EXPECT_EQ(server_.conn.err_code, conn_err::ssl_empty);
}

TEST_F(SslServerAbortTest, PeerClosesInsideClientHello) {
    // The first bytes of a ClientHello record, then a FIN.
    const std::string partial("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11);
    ASSERT_TRUE(write_all(sp_.b(), partial));
    sp_.close_b();
    run_to_failure();
    EXPECT_EQ(server_.conn.err_code, conn_err::ssl_abort);
}

TEST_F(SslServerAbortTest, MalformedHandshakeRecord) {
    const std::string bad("\x16\x03\x01\x00\x05\x01\x00\x00\x01\x00", 10);
    ASSERT_TRUE(write_all(sp_.b(), bad));
    run_to_failure();
    EXPECT_EQ(server_.conn.err_code, conn_err::ssl_handshake);
}

TEST(SslTimeoutTest, HandshakeTimesOut) {
    manual_clock clk;
    event::loop loop(clk.options());
    auto sc = server_config();
    sc.handshake_timeout_ms = 500;
    auto srv = make_server(sc);
    socket_pair sp;
    endpoint server(loop, xprt::conn_side::frontend);
    prepare_raw(server.conn, sp.release_a());
    ASSERT_TRUE(ssl::attach(server.conn, srv).has_value());
    ASSERT_TRUE(xprt::conn_xprt_start(server.conn).has_value());
    server.task.wake();
    run_iterations(loop, 5);
    EXPECT_FALSE(server.failed());
    clk.advance_ms(499);
    run_iterations(loop, 3);
    EXPECT_FALSE(server.failed());
    clk.advance_ms(2);
    run_iterations(loop, 3);
    ASSERT_TRUE(server.failed());
    EXPECT_EQ(server.conn.err_code, conn_err::ssl_timeout);
    EXPECT_EQ(ssl::failure_reason(server.conn), "handshake timeout");
}

TEST(SslTimeoutTest, PerConnectionOverride) {
    manual_clock clk;
    event::loop loop(clk.options());
    auto srv = make_server(server_config());  // 10 s by default
    socket_pair sp;
    endpoint server(loop, xprt::conn_side::frontend);
    prepare_raw(server.conn, sp.release_a());
    ASSERT_TRUE(ssl::attach(server.conn, srv, {.handshake_timeout_ms = 50}).has_value());
    ASSERT_TRUE(xprt::conn_xprt_start(server.conn).has_value());
    clk.advance_ms(51);
    run_iterations(loop, 3);
    EXPECT_EQ(server.conn.err_code, conn_err::ssl_timeout);
}

}  // namespace
}  // namespace xstack::test
