// tests/proxy/proxy_tls_test.cc - xstack-proxy with TLS: terminating (--tls-cert, --alpn, with
// and without a PROXY header before TLS) and originating (--tls, --tls-ca, --tls-sni,
// --tls-no-verify), against blocking OpenSSL peers (tests/ssl/openssl_peer.h). Built only
// with OpenSSL.
#include <chrono>
#include <future>
#include <string>

#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "tests/proxy/proxy_test_util.h"
#include "tests/ssl/openssl_peer.h"
#include "tests/ssl/test_certs.h"

namespace xstack::test {
namespace {

using namespace proxy_util;

struct files {
    std::string ca;
    std::string chain;  ///< server.test: leaf
    std::string key;
    std::string both;  ///< leaf + key in one file
    std::string untrusted_chain;
    std::string untrusted_key;
};

const files& cert_files() {
    static const files f = [] {
        const auto& c = tls::certs();
        files r;
        r.ca = tls::write_temp_file("ca.pem", c.ca.cert_pem);
        r.chain = tls::write_temp_file("server.pem", c.server_ec.cert_pem);
        r.key = tls::write_temp_file("server.key", c.server_ec.key_pem);
        r.both = tls::write_temp_file("both.pem", c.server_ec.cert_pem + c.server_ec.key_pem);
        r.untrusted_chain = tls::write_temp_file("untrusted.pem", c.untrusted_server.cert_pem);
        r.untrusted_key = tls::write_temp_file("untrusted.key", c.untrusted_server.key_pem);
        return r;
    }();
    return f;
}

bool contains(const std::string& s, std::string_view what) {
    return s.find(what) != std::string::npos;
}

using tls::openssl_client;

void tls_echo(int fd, const std::string& chain, const std::string& key) {
    tls::openssl_echo(fd, chain, key);
}

TEST(ProxyTlsTest, TerminatesTlsWithAlpnAndForwardsPlainBytes) {
    backend be(backend::echo);
    const files& f = cert_files();
    running_proxy px;
    ASSERT_EQ(px.start({"--listen", "127.0.0.1:0", "--connect", be.address_text(), "--tls-cert",
                        f.chain, "--tls-key", f.key, "--alpn", "h2,http/1.1"}),
              "");
    {
        openssl_client c(connect_to(px.address()), cert_files().ca, "server.test",
                         std::string_view("\x08http/1.1\x02h2", 12));
        ASSERT_TRUE(c.handshake());
        EXPECT_EQ(c.alpn(), "h2");
        const std::string msg = pattern(100000, 5);
        ASSERT_TRUE(c.write(msg));
        EXPECT_TRUE(c.read_exactly(msg.size()) == msg);
        c.shutdown_tls();
        ::shutdown(c.fd(), SHUT_WR);
        EXPECT_EQ(c.read_exactly(1), "");  // close_notify / FIN comes back
    }
    const auto logs = px.wait_logs(1);
    ASSERT_EQ(logs.size(), 1u);
    EXPECT_TRUE(contains(logs[0], "fe=SSL>RAW")) << logs[0];
    EXPECT_TRUE(contains(logs[0], "be=RAW")) << logs[0];
    EXPECT_TRUE(contains(logs[0], "bytes_in=100000 bytes_out=100000")) << logs[0];
}

TEST(ProxyTlsTest, CertificateAndKeyInOneFileAndProxyHeaderBeforeTls) {
    backend be(backend::echo);
    running_proxy px;
    ASSERT_EQ(px.start({"--listen", "127.0.0.1:0", "--connect", be.address_text(), "--tls-cert",
                        cert_files().both, "--accept-proxy"}),
              "");
    const int fd = connect_to(px.address());
    ASSERT_TRUE(send_all(fd, "PROXY TCP4 203.0.113.9 127.0.0.1 5555 443\r\n"));
    {
        openssl_client c(fd, cert_files().ca, "server.test");
        ASSERT_TRUE(c.handshake());
        ASSERT_TRUE(c.write("over tls"));
        EXPECT_EQ(c.read_exactly(8), "over tls");
    }
    const auto logs = px.wait_logs(1);
    ASSERT_EQ(logs.size(), 1u);
    // The chain after the handshakes: the PROXY layer removed itself.
    EXPECT_EQ(logs[0].rfind("203.0.113.9:5555 fe=SSL>RAW ", 0), 0u) << logs[0];
}

TEST(ProxyTlsTest, PlainClientOnTlsFrontendFailsWithACode) {
    backend be(backend::echo);
    running_proxy px;
    ASSERT_EQ(px.start({"--listen", "127.0.0.1:0", "--connect", be.address_text(), "--tls-cert",
                        cert_files().both}),
              "");
    const int fd = connect_to(px.address());
    ASSERT_TRUE(send_all(fd, "GET / HTTP/1.0\r\n\r\n"));
    EXPECT_TRUE(wait_closed(fd));
    ::close(fd);
    const auto logs = px.wait_logs(1);
    ASSERT_EQ(logs.size(), 1u);
    EXPECT_TRUE(contains(logs[0], "term=client_handshake_failed code=SSL_NOT_TLS")) << logs[0];
    EXPECT_EQ(be.accepted(), 0);
}

TEST(ProxyTlsTest, OriginatesVerifiedTlsToTheBackend) {
    const files& f = cert_files();
    backend be([&](int fd) { tls_echo(fd, f.chain, f.key); });
    running_proxy px;
    ASSERT_EQ(px.start({"--listen", "127.0.0.1:0", "--connect", be.address_text(), "--tls",
                        "--tls-ca", f.ca, "--tls-sni", "server.test"}),
              "");
    const int fd = connect_to(px.address());
    const std::string msg = pattern(300000, 9);
    ASSERT_TRUE(send_all(fd, msg));
    EXPECT_TRUE(recv_exactly(fd, msg.size()) == msg);
    ::shutdown(fd, SHUT_WR);
    EXPECT_TRUE(wait_closed(fd));
    ::close(fd);
    const auto logs = px.wait_logs(1);
    ASSERT_EQ(logs.size(), 1u);
    EXPECT_TRUE(contains(logs[0], "fe=RAW")) << logs[0];
    EXPECT_TRUE(contains(logs[0], "be=SSL>RAW")) << logs[0];
    EXPECT_TRUE(contains(logs[0], "term=client_fin")) << logs[0];
}

TEST(ProxyTlsTest, VerifiesTheConnectHostByDefault) {
    // server.test's certificate also names 127.0.0.1: without --tls-sni the --connect host (an
    // IP literal here) is what the certificate must match.
    const files& f = cert_files();
    backend be([&](int fd) { tls_echo(fd, f.chain, f.key); });
    running_proxy px;
    ASSERT_EQ(px.start({"--listen", "127.0.0.1:0", "--connect", be.address_text(), "--tls",
                        "--tls-ca", f.ca}),
              "");
    const int fd = connect_to(px.address());
    ASSERT_TRUE(send_all(fd, "by ip"));
    EXPECT_EQ(recv_exactly(fd, 5), "by ip");
    ::close(fd);
    const auto logs = px.wait_logs(1);
    ASSERT_EQ(logs.size(), 1u);
    EXPECT_TRUE(contains(logs[0], "be=SSL>RAW")) << logs[0];
}

TEST(ProxyTlsTest, SilentTlsClientHitsTheHandshakeTimeout) {
    backend be(backend::echo);
    running_proxy px;
    ASSERT_EQ(px.start({"--listen", "127.0.0.1:0", "--connect", be.address_text(), "--tls-cert",
                        cert_files().both, "--handshake-timeout", "150"}),
              "");
    const int fd = connect_to(px.address());
    EXPECT_TRUE(wait_closed(fd));
    ::close(fd);
    const auto logs = px.wait_logs(1);
    ASSERT_EQ(logs.size(), 1u);
    EXPECT_TRUE(contains(logs[0], "code=SSL_TIMEOUT")) << logs[0];
    EXPECT_EQ(be.accepted(), 0);
}

TEST(ProxyTlsTest, SilentTlsBackendHitsTheHandshakeTimeout) {
    std::promise<void> release;
    auto released = release.get_future().share();
    backend be([released](int fd) {  // accepts, never answers the ClientHello
        released.wait_for(std::chrono::milliseconds(wait_ms));
        ::close(fd);
    });
    running_proxy px;
    ASSERT_EQ(px.start({"--listen", "127.0.0.1:0", "--connect", be.address_text(), "--tls",
                        "--tls-ca", cert_files().ca, "--handshake-timeout", "150"}),
              "");
    const int fd = connect_to(px.address());
    ASSERT_TRUE(send_all(fd, "hello"));
    EXPECT_TRUE(wait_closed(fd));
    ::close(fd);
    const auto logs = px.wait_logs(1);
    release.set_value();
    ASSERT_EQ(logs.size(), 1u);
    EXPECT_TRUE(contains(logs[0], "code=SSL_TIMEOUT")) << logs[0];
    EXPECT_TRUE(contains(logs[0], "term=backend_")) << logs[0];
}

TEST(ProxyTlsTest, BackendNameMismatchClosesTheClient) {
    const files& f = cert_files();
    backend be([&](int fd) { tls_echo(fd, f.chain, f.key); });
    running_proxy px;
    ASSERT_EQ(px.start({"--listen", "127.0.0.1:0", "--connect", be.address_text(), "--tls",
                        "--tls-ca", f.ca, "--tls-sni", "other.test"}),
              "");
    const int fd = connect_to(px.address());
    ASSERT_TRUE(send_all(fd, "hello"));
    EXPECT_TRUE(wait_closed(fd));
    ::close(fd);
    const auto logs = px.wait_logs(1);
    ASSERT_EQ(logs.size(), 1u);
    EXPECT_TRUE(contains(logs[0], "term=backend_connect_failed code=SSL_MISMATCH")) << logs[0];
}

TEST(ProxyTlsTest, NoVerifyAcceptsAnUntrustedBackend) {
    const files& f = cert_files();
    backend be([&](int fd) { tls_echo(fd, f.untrusted_chain, f.untrusted_key); });
    running_proxy px;
    ASSERT_EQ(px.start({"--listen", "127.0.0.1:0", "--connect", be.address_text(), "--tls",
                        "--tls-no-verify"}),
              "");
    const int fd = connect_to(px.address());
    ASSERT_TRUE(send_all(fd, "abc"));
    EXPECT_EQ(recv_exactly(fd, 3), "abc");
    ::shutdown(fd, SHUT_WR);
    EXPECT_TRUE(wait_closed(fd));
    ::close(fd);
    const auto logs = px.wait_logs(1);
    ASSERT_EQ(logs.size(), 1u);
    EXPECT_TRUE(contains(logs[0], "be=SSL>RAW")) << logs[0];
}

TEST(ProxyTlsTest, ProxyHeaderPrecedesBackendTls) {
    const files& f = cert_files();
    std::promise<std::string> header;
    auto got = header.get_future();
    backend be([&](int fd) {
        std::string h;
        char ch = 0;
        while (h.size() < 108 && ::recv(fd, &ch, 1, 0) == 1) {  // v1: up to CRLF, in clear
            h += ch;
            if (h.size() >= 2 && h.compare(h.size() - 2, 2, "\r\n") == 0) {
                break;
            }
        }
        header.set_value(h);
        tls_echo(fd, f.chain, f.key);
    });
    running_proxy px;
    ASSERT_EQ(px.start({"--listen", "127.0.0.1:0", "--connect", be.address_text(), "--tls",
                        "--tls-ca", f.ca, "--tls-sni", "server.test", "--send-proxy"}),
              "");
    const int fd = connect_to(px.address());
    ASSERT_TRUE(send_all(fd, "through"));
    EXPECT_EQ(recv_exactly(fd, 7), "through");
    ASSERT_EQ(got.wait_for(std::chrono::milliseconds(wait_ms)), std::future_status::ready);
    EXPECT_EQ(got.get().rfind("PROXY TCP4 127.0.0.1 127.0.0.1 ", 0), 0u);
    ::close(fd);
    const auto logs = px.wait_logs(1);
    ASSERT_EQ(logs.size(), 1u);
    EXPECT_TRUE(contains(logs[0], "be=SSL>RAW")) << logs[0];
}

}  // namespace
}  // namespace xstack::test
