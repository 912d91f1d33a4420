// tests/ssl/ssl_chain_test.cc - TLS stacked over the handshake layer over real sockets, through
// the event loop: SSL>HS>RAW on a listener (a PROXY v1/v2 header, then a ClientHello, delivered
// by separate writes, in one segment, or in 1-7 byte pieces), SSL>HS>RAW sending a PROXY header
// (with the v2 TLVs of a TLS session) before the ClientHello, and TLS through a SOCKS4 proxy.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "event/sys.h"
#include "handshake/hs.h"
#include "handshake/proxy.h"
#include "handshake/proxy_tls.h"
#include "handshake/proxy_v2.h"
#include "raw/raw_sock.h"
#include "raw/sock.h"
#include "ssl/ssl.h"
#include "tests/ssl/ssl_test_util.h"
#include "tests/ssl/test_certs.h"
#include "tests/support/pollers.h"
#include "tests/support/run_until.h"
#include "tests/support/socket_pair.h"
#include "xprt/connection.h"

namespace xstack::test {
namespace {

using xprt::conn_err;
using xprt::conn_flag;

std::span<const std::byte> as_bytes(std::string_view s) {
    return std::as_bytes(std::span<const char>(s.data(), s.size()));
}

const std::string v1_header = "PROXY TCP4 192.0.2.1 198.51.100.2 4000 443\r\n";

std::string v2_header() {
    handshake::proxy_v2_spec spec;
    spec.src = *xprt::sock_addr::parse("192.0.2.1:4000");
    spec.dst = *xprt::sock_addr::parse("198.51.100.2:443");
    spec.authority = "proxied.example";
    spec.crc32c = true;
    std::string out(handshake::proxy_v2_size(spec), '\0');
    const auto n = handshake::build_proxy_v2(
        spec, std::as_writable_bytes(std::span<char>(out.data(), out.size())));
    EXPECT_EQ(n, out.size());
    return out;
}

/// The peer address to give raw::accept_init for the accepted end of `fd`.
xprt::sock_addr peer_of(int fd) {
    auto r = raw::peer_address(fd);
    if (r && !r->empty()) {
        return *r;
    }
    xprt::sock_addr a;  // AF_UNIX socketpair: unnamed
    a.ss.ss_family = AF_UNIX;
    a.len = sizeof(sa_family_t);
    return a;
}

/// One send() of all of `data` (the kernel takes a few KiB on a fresh socket at once): the
/// bytes leave in a single write, so the receiver finds them together.
::testing::AssertionResult send_once(int fd, std::string_view data) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n != static_cast<ssize_t>(data.size())) {
        return ::testing::AssertionFailure() << "send returned " << n << " of " << data.size();
    }
    return ::testing::AssertionSuccess();
}

/// Bytes queued on `fd`, not consumed (MSG_PEEK).
std::string peek_available(int fd) {
    std::string s(65536, '\0');
    const ssize_t n = ::recv(fd, s.data(), s.size(), MSG_PEEK | MSG_DONTWAIT);
    s.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
    return s;
}

// --- a TLS client on OpenSSL memory BIOs ------------------------------------------------------

/// A TLS client driven with OpenSSL directly over memory BIOs: its first flight (the
/// ClientHello) can be taken out and written by the test itself, behind a PROXY header, in one
/// send or in pieces. The rest of the handshake and the data then run over a raw connection in
/// the loop (attach()), like an application reading and writing through RAW.
struct membio_client {
    explicit membio_client(event::loop& l)
        : conn(l, xprt::conn_side::backend), task(l, run, this, "membio") {
        we.task = &task;
        area.resize(16384);
        ctx = SSL_CTX_new(TLS_client_method());
        EXPECT_NE(ctx, nullptr);
        const std::string& ca = tls::certs().ca.cert_pem;
        BIO* b = BIO_new_mem_buf(ca.data(), static_cast<int>(ca.size()));
        X509* x = PEM_read_bio_X509(b, nullptr, nullptr, nullptr);
        EXPECT_NE(x, nullptr);
        EXPECT_EQ(X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), x), 1);
        X509_free(x);
        BIO_free(b);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
        ssl = SSL_new(ctx);
        BIO* rb = BIO_new(BIO_s_mem());
        BIO* wb = BIO_new(BIO_s_mem());
        rbio = rb;
        wbio = wb;
        SSL_set_bio(ssl, rb, wb);
        SSL_set_connect_state(ssl);
        EXPECT_EQ(SSL_set_tlsext_host_name(ssl, "server.test"), 1);
        EXPECT_EQ(SSL_set1_host(ssl, "server.test"), 1);
    }
    ~membio_client() {
        if (!we.events.empty() && conn.xprt) {
            conn.unsubscribe(we.events, we);
        }
        xprt::conn_full_close(conn);
        SSL_free(ssl);
        SSL_CTX_free(ctx);
    }
    membio_client(const membio_client&) = delete;
    membio_client& operator=(const membio_client&) = delete;

    /// Runs the handshake until it needs the server: returns the ClientHello record(s).
    std::string first_flight() {
        const int r = SSL_do_handshake(ssl);
        EXPECT_EQ(r, -1);
        EXPECT_EQ(SSL_get_error(ssl, r), SSL_ERROR_WANT_READ);
        return take_output();
    }

    /// From now on the client reads and writes `fd` through a raw connection in the loop.
    void attach(int fd) {
        prepare_raw(conn, fd);
        ASSERT_TRUE(xprt::conn_xprt_start(conn).has_value());
        task.wake();
    }

    static void run(event::tasklet& /*t*/, void* p) noexcept {
        static_cast<membio_client*>(p)->step();
    }

    std::string take_output() {
        std::string s;
        char tmp[4096];
        int n;
        while ((n = BIO_read(wbio, tmp, sizeof tmp)) > 0) {
            s.append(tmp, static_cast<std::size_t>(n));
        }
        return s;
    }

    void step() noexcept {
        using xprt::conn_flag;
        // Everything the socket has, into OpenSSL.
        while (!conn.flags.any(conn_flag::error | conn_flag::sock_rd_sh)) {
            xprt::buffer b(std::span<std::byte>(area.data(), area.size()));
            const std::size_t n = conn.rcv_buf(b, area.size());
            if (n == 0) {
                break;
            }
            (void)BIO_write(rbio, area.data(), static_cast<int>(n));
        }
        if (!handshake_done && !failed) {
            const int r = SSL_do_handshake(ssl);
            if (r == 1) {
                handshake_done = true;
            } else if (const int e = SSL_get_error(ssl, r);
                       e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
                failed = true;
                ERR_clear_error();
            }
        }
        if (handshake_done && !failed) {
            if (!to_send.empty()) {
                const int w = SSL_write(ssl, to_send.data(), static_cast<int>(to_send.size()));
                if (w > 0) {
                    to_send.erase(0, static_cast<std::size_t>(w));
                }
            }
            char tmp[4096];
            int n;
            while ((n = SSL_read(ssl, tmp, sizeof tmp)) > 0) {
                received.append(tmp, static_cast<std::size_t>(n));
            }
            ERR_clear_error();
        }
        out += take_output();
        while (!out.empty() && !conn.flags.has(conn_flag::error)) {
            auto* p = reinterpret_cast<std::byte*>(out.data());
            const auto b = xprt::buffer::holding(std::span<std::byte>(p, out.size()), out.size());
            const std::size_t n = conn.snd_buf(b, out.size());
            if (n == 0) {
                break;
            }
            out.erase(0, n);
        }
        xprt::sub_events ev;
        if (!conn.flags.any(conn_flag::error | conn_flag::sock_rd_sh)) {
            ev |= xprt::sub_event::recv;
        }
        if (!out.empty() && !conn.flags.has(conn_flag::error)) {
            ev |= xprt::sub_event::send;
        }
        if (!ev.empty() && conn.xprt) {
            conn.subscribe(ev, we);
        }
    }

    void send(std::string_view s) {
        to_send += s;
        task.wake();
    }

    xprt::connection conn;
    event::tasklet task;
    xprt::wait_event we;
    std::vector<std::byte> area;
    SSL_CTX* ctx = nullptr;
    SSL* ssl = nullptr;
    BIO* rbio = nullptr;  // owned by ssl
    BIO* wbio = nullptr;
    std::string to_send;  // application data, sent once the handshake is done
    std::string out;      // TLS records not yet taken by the socket
    std::string received;
    bool handshake_done = false;
    bool failed = false;
};

/// What the handshake layer's on_done callback saw, at the moment the layer left.
struct hs_done_record {
    int calls = 0;
    bool ok = false;
    std::string chain;
    bool tls_done = false;
    bool had_proxy = false;

    static void on_done(xprt::connection& c, bool ok, void* arg) noexcept {
        auto* r = static_cast<hs_done_record*>(arg);
        ++r->calls;
        r->ok = ok;
        r->chain = xprt::conn_chain(c);
        r->tls_done = c.tls() != nullptr;
        r->had_proxy = c.proxy != nullptr;
    }
};

// --- a. SSL>HS>RAW on the accepting side --------------------------------------------------------

enum class delivery { separate, one_segment, fragmented };
enum class transport { unix_pair, tcp };

void PrintTo(delivery d, std::ostream* os) {
    *os << (d == delivery::separate      ? "separate"
            : d == delivery::one_segment ? "one_segment"
                                         : "fragmented");
}
void PrintTo(transport t, std::ostream* os) {
    *os << (t == transport::tcp ? "tcp" : "unix");
}

/// PROXY version, how the header and the ClientHello arrive, socket kind, poller (the bytes
/// left behind the header must reach TLS with every poller, edge-triggered epoll included).
using accept_param = std::tuple<int, delivery, transport, event::poller_kind>;

class SslOverProxyAcceptTest : public ::testing::TestWithParam<accept_param> {
protected:
    static event::loop_options loop_opts() {
        event::loop_options o;
        o.poller = std::get<3>(GetParam());
        return o;
    }

    void SetUp() override {
        version_ = std::get<0>(GetParam());
        delivery_ = std::get<1>(GetParam());
        if (std::get<2>(GetParam()) == transport::tcp) {
            sp_ = socket_pair::tcp(AF_INET);
            const int one = 1;
            // The test's own writes (pieces of 1-7 bytes) must not wait for Nagle.
            ASSERT_EQ(::setsockopt(sp_.a(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one), 0);
        }
        ASSERT_TRUE(sp_.ok());
        header_ = version_ == 1 ? v1_header : v2_header();
        srv_ = make_server(server_config());
        cfg_.on_done = &hs_done_record::on_done;
        cfg_.on_done_arg = &done_;
    }

    /// The server: SSL>HS>RAW on the accepted end, started, echoing.
    void start_server() {
        xprt::connection& c = server_.conn;
        ASSERT_TRUE(xprt::conn_prepare(c, &raw::sock_ctrl(), &raw::ops()).has_value());
        const int fd = sp_.release_b();
        server_fd_ = fd;
        raw::accept_init(c, fd, peer_of(fd));
        ASSERT_TRUE(ssl::attach(c, srv_).has_value());
        c.flags.set(conn_flag::accept_proxy);
        ASSERT_NE(handshake::attach(c, cfg_), nullptr) << xprt::to_string(c.err_code);
        ASSERT_EQ(xprt::conn_chain(c), "SSL>HS>RAW");
        ASSERT_TRUE(xprt::conn_xprt_start(c).has_value());
        server_.echo = true;
        server_.task.wake();
    }

    /// The handshake is still waiting for the header: nothing has changed.
    void expect_waiting_for_header(std::size_t delivered) {
        const xprt::connection& c = server_.conn;
        EXPECT_EQ(done_.calls, 0) << delivered;
        EXPECT_EQ(xprt::conn_chain(c), "SSL>HS>RAW") << delivered;
        EXPECT_TRUE(c.flags.has(conn_flag::accept_proxy)) << delivered;
        EXPECT_TRUE(c.flags.has(conn_flag::ssl_wait_hs)) << delivered;
        EXPECT_FALSE(c.flags.has(conn_flag::error))
            << delivered << " " << xprt::to_string(c.err_code);
        EXPECT_EQ(c.proxy, nullptr) << delivered;
        EXPECT_EQ(c.tls(), nullptr) << delivered;
    }

    /// The header was read: HS left, TLS still waits for the rest of the handshake.
    void expect_header_done() {
        EXPECT_EQ(done_.calls, 1);
        EXPECT_TRUE(done_.ok);
        EXPECT_EQ(done_.chain, "SSL>RAW");  // HS removed itself from the middle of the chain
        EXPECT_FALSE(done_.tls_done);       // the server still needs the client's Finished
        EXPECT_TRUE(done_.had_proxy);
    }

    /// The end state: proxy info from the header, TLS done, data both ways.
    void expect_established(const std::string& client_received) {
        const xprt::connection& c = server_.conn;
        ASSERT_FALSE(server_.failed()) << xprt::conn_show(c) << " " << ssl::failure_reason(c);
        EXPECT_EQ(xprt::conn_chain(c), "SSL>RAW");
        EXPECT_FALSE(c.flags.any(xprt::conn_mask::handshake));
        EXPECT_TRUE(c.flags.has(conn_flag::rcvd_proxy));
        EXPECT_TRUE(c.connected());
        ASSERT_NE(c.proxy, nullptr);
        EXPECT_EQ(c.proxy->source,
                  version_ == 1 ? xprt::proxy_source::proxy_v1 : xprt::proxy_source::proxy_v2);
        EXPECT_TRUE(c.proxy->addresses_used);
        EXPECT_EQ(c.client_addr().to_string(), "192.0.2.1:4000");
        EXPECT_EQ(c.client_dst_addr().to_string(), "198.51.100.2:443");
        EXPECT_NE(c.src.to_string(), "192.0.2.1:4000");  // the real peer is kept apart
        if (version_ == 2) {
            const handshake::tlv_list tlvs(c.proxy->tlv_bytes());
            ASSERT_TRUE(tlvs.find(handshake::tlv_type::authority).has_value());
            EXPECT_EQ(tlvs.find(handshake::tlv_type::authority)->text(), "proxied.example");
        }
        ASSERT_NE(c.tls(), nullptr);
        EXPECT_EQ(c.tls()->sni, "server.test");
        EXPECT_EQ(c.tls()->version, "TLSv1.3");
        EXPECT_EQ(server_.received, "ping through PROXY and TLS");
        EXPECT_EQ(client_received, "ping through PROXY and TLS");
    }

    int version_ = 1;
    int server_fd_ = -1;
    delivery delivery_ = delivery::separate;
    std::string header_;
    event::loop loop_{loop_opts()};
    socket_pair sp_;
    ssl::context srv_;
    handshake::hs_config cfg_;
    hs_done_record done_;
    endpoint server_{loop_, xprt::conn_side::frontend};
};

TEST_P(SslOverProxyAcceptTest, HeaderThenTlsThenDataBothWays) {
    sys::hooks h;  // counts the server's syscalls
    ASSERT_NO_FATAL_FAILURE(start_server());
    const std::string msg = "ping through PROXY and TLS";

    if (delivery_ == delivery::separate) {
        // The header by the test, then a client-side ssl layer over its own raw socket.
        ASSERT_TRUE(write_all(sp_.a(), header_));
        run_iterations(loop_, 4);
        ASSERT_TRUE(run_until(loop_, [&] { return done_.calls > 0; }));
        expect_header_done();
        endpoint client(loop_, xprt::conn_side::backend);
        auto cli = make_client(client_config());
        prepare_raw(client.conn, sp_.release_a());
        ASSERT_TRUE(ssl::attach(client.conn, cli, {.sni = "server.test"}).has_value());
        client.send(msg);
        ASSERT_TRUE(xprt::conn_xprt_start(client.conn).has_value());
        ASSERT_TRUE(run_until(loop_, [&] {
            return client.received.size() >= msg.size() || client.failed() || server_.failed();
        }));
        EXPECT_FALSE(client.failed()) << ssl::failure_reason(client.conn);
        expect_established(client.received);
        EXPECT_EQ(h.failures(sys::call::recv, server_fd_), 0u);
        return;
    }

    membio_client client(loop_);
    const std::string hello = client.first_flight();
    ASSERT_GE(hello.size(), 6u);
    ASSERT_EQ(static_cast<std::uint8_t>(hello[0]), 0x16);  // a handshake record
    ASSERT_EQ(static_cast<std::uint8_t>(hello[5]), 0x01);  // ClientHello
    const std::string wire = header_ + hello;

    if (delivery_ == delivery::one_segment) {
        ASSERT_TRUE(send_once(sp_.a(), wire));
    } else {
        run_iterations(loop_, 2);  // the server runs before any byte is there
        ASSERT_NO_FATAL_FAILURE(expect_waiting_for_header(0));
        // 1, 2, ... 7, 1, 2, ... byte pieces, the loop running between them.
        std::size_t off = 0;
        for (std::size_t piece = 1; off < wire.size(); piece = piece % 7 + 1) {
            const std::size_t n = std::min(piece, wire.size() - off);
            ASSERT_TRUE(send_once(sp_.a(), std::string_view(wire).substr(off, n)));
            off += n;
            if (off < header_.size()) {
                run_iterations(loop_, 3);
                ASSERT_NO_FATAL_FAILURE(expect_waiting_for_header(off));
            } else {
                ASSERT_TRUE(run_until(loop_, [&] { return done_.calls > 0; })) << off;
                run_iterations(loop_, 2);
                // A partial ClientHello: TLS waits, nothing fails, nothing is answered.
                ASSERT_FALSE(server_.conn.flags.has(conn_flag::error))
                    << off << " " << xprt::to_string(server_.conn.err_code);
                if (off < wire.size()) {
                    ASSERT_EQ(server_.conn.tls(), nullptr);
                    ASSERT_EQ(peek_available(sp_.a()), "") << off;
                }
            }
        }
    }
    ASSERT_TRUE(run_until(loop_, [&] { return done_.calls > 0; }));
    expect_header_done();
    client.send(msg);
    client.attach(sp_.release_a());
    ASSERT_TRUE(run_until(loop_, [&] {
        return client.received.size() >= msg.size() || client.failed || server_.failed();
    }));
    EXPECT_TRUE(client.handshake_done);
    EXPECT_FALSE(client.failed);
    expect_established(client.received);
    if (delivery_ == delivery::one_segment) {
        // Peek, consume exactly the header, read the ClientHello behind it, answer, wait: the
        // server never asks the kernel for bytes that are not there. (Fragmented input costs
        // EAGAINs by nature: a speculative first peek, reads that end exactly on a piece.)
        EXPECT_EQ(h.failures(sys::call::recv, server_fd_), 0u);
    }
}

std::string accept_name(const ::testing::TestParamInfo<accept_param>& i) {
    static constexpr const char* d[] = {"Separate", "OneSegment", "Fragmented"};
    return "V" + std::to_string(std::get<0>(i.param)) + d[static_cast<int>(std::get<1>(i.param))] +
           (std::get<2>(i.param) == transport::tcp ? "Tcp" : "Unix") +
           poller_param_name(::testing::TestParamInfo<event::poller_kind>(std::get<3>(i.param), 0));
}

INSTANTIATE_TEST_SUITE_P(Chains, SslOverProxyAcceptTest,
                         ::testing::Combine(::testing::Values(1, 2),
                                            ::testing::Values(delivery::separate,
                                                              delivery::one_segment,
                                                              delivery::fragmented),
                                            ::testing::Values(transport::unix_pair, transport::tcp),
                                            all_pollers()),
                         accept_name);

// A header that fails under TLS: the TLS layer above does not start a handshake on the bytes.
TEST(SslOverProxyAccept, BadHeaderFailsWithItsCodeAndNoTlsAnswer) {
    event::loop loop;
    socket_pair sp = socket_pair::tcp(AF_INET);
    ASSERT_TRUE(sp.ok());
    auto srv = make_server(server_config());
    endpoint server(loop, xprt::conn_side::frontend);
    handshake::hs_config cfg;
    ASSERT_TRUE(xprt::conn_prepare(server.conn, &raw::sock_ctrl(), &raw::ops()).has_value());
    const int fd = sp.release_b();
    raw::accept_init(server.conn, fd, peer_of(fd));
    ASSERT_TRUE(ssl::attach(server.conn, srv).has_value());
    server.conn.flags.set(conn_flag::accept_proxy);
    ASSERT_NE(handshake::attach(server.conn, cfg), nullptr);
    ASSERT_TRUE(xprt::conn_xprt_start(server.conn).has_value());
    server.task.wake();
    membio_client client(loop);
    // A ClientHello without the required header.
    ASSERT_TRUE(send_once(sp.a(), client.first_flight()));
    ASSERT_TRUE(run_until(loop, [&] { return server.failed(); }));
    EXPECT_EQ(server.conn.err_code, conn_err::prx_not_hdr);
    EXPECT_EQ(server.conn.tls(), nullptr);
    EXPECT_GT(server.wakes, 0u);  // the application was told
    run_iterations(loop, 3);
    EXPECT_EQ(read_available(sp.a()), "");  // no ServerHello, no alert
}

// --- b. SSL>HS>RAW sending a PROXY header before the ClientHello --------------------------------

class SslSendProxyTest : public ::testing::TestWithParam<int> {
protected:
    void SetUp() override {
        ASSERT_TRUE(sp_.ok());
        // The frontend: a client with a certificate, verified by the server, ALPN h2. Its TLS
        // session is what the backend's PROXY v2 header describes.
        auto fsc = server_config();
        fsc.verify_client = ssl::client_verify::required;
        fsc.client_ca_pem = tls::certs().ca.cert_pem;
        fsc.alpn = {"h2"};
        auto fcc = client_config();
        fcc.client_cert = pem_cert(tls::certs().client);
        fcc.alpn = {"h2"};
        front_srv_ = make_server(fsc);
        front_cli_ = make_client(fcc);
        ASSERT_TRUE(front_.start(front_srv_, front_cli_, {.sni = "server.test"}));
        ASSERT_TRUE(front_.run_handshakes());
        ASSERT_NE(front_.server.conn.tls(), nullptr) << ssl::failure_reason(front_.server.conn);
        srv_ = make_server(server_config());
        cli_ = make_client(client_config());
    }

    event::loop loop_;
    tls_pair front_{loop_};
    ssl::context front_srv_;
    ssl::context front_cli_;
    ssl::context srv_;
    ssl::context cli_;
    socket_pair sp_;
};

TEST_P(SslSendProxyTest, HeaderInClearBeforeTheClientHelloThenTls) {
    const int version = GetParam();
    const std::string msg = "request to the origin";

    // The backend connection: SSL>HS>RAW with SEND_PROXY.
    endpoint back(loop_, xprt::conn_side::backend);
    prepare_raw(back.conn, sp_.release_b());
    back.conn.flags.set(conn_flag::send_proxy);
    ASSERT_TRUE(ssl::attach(back.conn, cli_, {.sni = "server.test"}).has_value());
    handshake::hs_send send;
    send.proxy_version = static_cast<std::uint8_t>(version);
    send.v2.src = *xprt::sock_addr::parse("192.0.2.1:4000");
    send.v2.dst = *xprt::sock_addr::parse("198.51.100.2:443");
    handshake::proxy_tls_tlvs tlvs;
    handshake::add_tls_tlvs(send.v2, tlvs, front_.server.conn.tls(),
                            {.ssl = true, .ssl_cn = true, .alpn = true, .authority = true});
    handshake::hs_config cfg;
    ASSERT_NE(handshake::attach(back.conn, cfg, &send), nullptr);
    EXPECT_EQ(xprt::conn_chain(back.conn), "SSL>HS>RAW");
    back.send(msg);
    ASSERT_TRUE(xprt::conn_xprt_start(back.conn).has_value());
    back.task.wake();

    // The origin reads raw bytes, without consuming them: the header, then a TLS record.
    handshake::parse_result<handshake::proxy_header> hdr;
    std::string seen;
    ASSERT_TRUE(run_until(loop_, [&] {
        seen = peek_available(sp_.a());
        hdr = handshake::parse_proxy(as_bytes(seen));
        return hdr.failed() || (hdr.complete() && seen.size() >= hdr.length + 6);
    })) << seen.size();
    ASSERT_TRUE(hdr.complete()) << xprt::to_string(hdr.error);
    EXPECT_EQ(hdr.value.version, version);
    EXPECT_EQ(static_cast<std::uint8_t>(seen[hdr.length]), 0x16);  // TLS handshake record
    EXPECT_EQ(static_cast<std::uint8_t>(seen[hdr.length + 1]), 0x03);
    EXPECT_EQ(static_cast<std::uint8_t>(seen[hdr.length + 5]), 0x01);  // ClientHello
    EXPECT_EQ(xprt::conn_chain(back.conn), "SSL>RAW");                 // HS has left
    EXPECT_EQ(back.conn.tls(), nullptr);
    EXPECT_EQ(to_sock_addr(hdr.value.src).to_string(), "192.0.2.1:4000");
    EXPECT_EQ(to_sock_addr(hdr.value.dst).to_string(), "198.51.100.2:443");
    if (version == 1) {
        EXPECT_EQ(seen.substr(0, hdr.length), v1_header);
    } else {
        const auto s = hdr.value.ssl();
        ASSERT_TRUE(s.has_value());
        EXPECT_EQ(s->client, handshake::ssl_client_ssl | handshake::ssl_client_cert_conn |
                                 handshake::ssl_client_cert_sess);
        EXPECT_EQ(s->verify, 0u);
        EXPECT_EQ(s->cn(), "client.test");
        EXPECT_EQ(s->version(), "TLSv1.3");
        EXPECT_EQ(s->cipher(), front_.server.conn.tls()->cipher);
        EXPECT_EQ(hdr.value.authority(), "server.test");
        ASSERT_TRUE(hdr.value.alpn().has_value());
        EXPECT_EQ(std::string_view(reinterpret_cast<const char*>(hdr.value.alpn()->data()),
                                   hdr.value.alpn()->size()),
                  "h2");
    }

    // The origin: SSL>HS>RAW accepting the same bytes from the start, echoing.
    endpoint origin(loop_, xprt::conn_side::frontend);
    ASSERT_TRUE(xprt::conn_prepare(origin.conn, &raw::sock_ctrl(), &raw::ops()).has_value());
    const int fd = sp_.release_a();
    raw::accept_init(origin.conn, fd, peer_of(fd));
    ASSERT_TRUE(ssl::attach(origin.conn, srv_).has_value());
    origin.conn.flags.set(conn_flag::accept_proxy);
    handshake::hs_config acfg;
    ASSERT_NE(handshake::attach(origin.conn, acfg), nullptr);
    ASSERT_TRUE(xprt::conn_xprt_start(origin.conn).has_value());
    origin.echo = true;
    origin.task.wake();
    ASSERT_TRUE(run_until(loop_, [&] {
        return back.received.size() >= msg.size() || back.failed() || origin.failed();
    }));
    ASSERT_FALSE(back.failed()) << xprt::conn_show(back.conn) << ssl::failure_reason(back.conn);
    ASSERT_FALSE(origin.failed()) << xprt::conn_show(origin.conn)
                                  << ssl::failure_reason(origin.conn);
    EXPECT_EQ(back.received, msg);
    EXPECT_EQ(origin.received, msg);
    EXPECT_EQ(xprt::conn_chain(origin.conn), "SSL>RAW");
    ASSERT_NE(origin.conn.proxy, nullptr);
    EXPECT_EQ(origin.conn.client_addr().to_string(), "192.0.2.1:4000");
    if (version == 2) {
        const handshake::tlv_list got(origin.conn.proxy->tlv_bytes());
        const auto ssl_tlv = got.find(handshake::tlv_type::ssl);
        ASSERT_TRUE(ssl_tlv.has_value());
        const auto s = handshake::decode_ssl_tlv(ssl_tlv->value);
        ASSERT_TRUE(s.has_value());
        EXPECT_EQ(s->cn(), "client.test");
    }
    ASSERT_NE(back.conn.tls(), nullptr);
    EXPECT_EQ(back.conn.tls()->peer_cn, "server.test");
    EXPECT_TRUE(back.conn.connected());
}

INSTANTIATE_TEST_SUITE_P(Chains, SslSendProxyTest, ::testing::Values(1, 2),
                         [](const auto& i) { return "V" + std::to_string(i.param); });

// The TLVs of a real frontend session: a client certificate on the first connection, a
// resumed session on the second (the certificate is in the session, not on this connection).
class SslSessionTlvTest : public ::testing::TestWithParam<ssl::tls_version> {};

TEST_P(SslSessionTlvTest, ResumedSessionSetsCertSessWithoutCertConn) {
    auto sc = server_config();
    sc.max_version = GetParam();
    sc.verify_client = ssl::client_verify::required;
    sc.client_ca_pem = tls::certs().ca.cert_pem;
    auto srv = make_server(sc);
    auto cc = client_config();
    cc.client_cert = pem_cert(tls::certs().client);
    auto cli = make_client(cc);
    event::loop loop;
    for (int round = 0; round < 2; ++round) {
        tls_pair p(loop);
        p.server.echo = true;
        p.client.send("ping");
        ASSERT_TRUE(p.start(srv, cli, {.sni = "server.test"}));
        // Reading the echo also reads the TLS 1.3 session tickets sent after the handshake.
        ASSERT_TRUE(
            run_until(loop, [&] { return p.client.received == "ping" || p.client.failed(); }));
        ASSERT_TRUE(p.server.done()) << ssl::failure_reason(p.server.conn);
        const xprt::tls_info& si = *p.server.conn.tls();
        ASSERT_EQ(si.resumed, round == 1) << round;
        EXPECT_TRUE(si.client_cert) << round;
        EXPECT_EQ(si.client_cert_in_conn, round == 0) << round;
        EXPECT_EQ(si.verify_result, 0) << round;

        handshake::proxy_v2_spec spec;
        spec.src = *xprt::sock_addr::parse("192.0.2.1:4000");
        spec.dst = *xprt::sock_addr::parse("198.51.100.2:443");
        handshake::proxy_tls_tlvs tlvs;
        handshake::add_tls_tlvs(spec, tlvs, &si, {.ssl = true, .ssl_cn = true});
        std::vector<std::byte> out(handshake::proxy_v2_size(spec));
        ASSERT_EQ(handshake::build_proxy_v2(spec, out), out.size());
        const auto r = handshake::parse_proxy_v2(out);
        ASSERT_TRUE(r.complete()) << xprt::to_string(r.error);
        const auto s = r.value.ssl();
        ASSERT_TRUE(s.has_value());
        const unsigned conn_bit = round == 0 ? unsigned{handshake::ssl_client_cert_conn} : 0u;
        EXPECT_EQ(s->client, handshake::ssl_client_ssl | handshake::ssl_client_cert_sess | conn_bit)
            << round;
        EXPECT_EQ(s->verify, 0u) << round;
        EXPECT_EQ(s->cn(), "client.test") << round;
        EXPECT_EQ(s->version(), si.version) << round;
    }
}

INSTANTIATE_TEST_SUITE_P(Versions, SslSessionTlvTest,
                         ::testing::Values(ssl::tls_version::tls1_2, ssl::tls_version::tls1_3),
                         [](const auto& i) {
                             return std::string(i.param == ssl::tls_version::tls1_2 ? "Tls12"
                                                                                    : "Tls13");
                         });

// --- c. TLS to an upstream through a SOCKS4 proxy ---------------------------------------------

class SslOverSocks4Test : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_TRUE(sp_.ok());
        srv_ = make_server(server_config());
        cli_ = make_client(client_config());
        send_.socks4_target = *xprt::sock_addr::parse("203.0.113.9:443");
        prepare_raw(client_.conn, sp_.release_b());
        client_.conn.flags.set(xprt::conn_mask::socks4);
        // HS first this time: TLS attached afterwards goes on top all the same.
        ASSERT_NE(handshake::attach(client_.conn, cfg_, &send_), nullptr);
        ASSERT_EQ(xprt::conn_chain(client_.conn), "HS>RAW");
        ASSERT_TRUE(ssl::attach(client_.conn, cli_, {.sni = "server.test"}).has_value());
        ASSERT_EQ(xprt::conn_chain(client_.conn), "SSL>HS>RAW");
        client_.send(msg_);
        ASSERT_TRUE(xprt::conn_xprt_start(client_.conn).has_value());
        client_.task.wake();
    }

    /// The tiny SOCKS4 server: reads the 16-byte request and checks it.
    void read_request() {
        std::string req;
        ASSERT_TRUE(run_until(loop_, [&] {
            req += read_available(sp_.a());
            return req.size() >= 16;
        }));
        const std::string expected = std::string("\x04\x01\x01\xbb\xcb\x00\x71\x09", 8) +
                                     std::string("HAProxy\0", 8);  // CONNECT 203.0.113.9:443
        EXPECT_EQ(req, expected);
        // Nothing else before the reply: no ClientHello yet.
        run_iterations(loop_, 4);
        EXPECT_EQ(read_available(sp_.a()), "");
        EXPECT_TRUE(client_.conn.flags.has(conn_flag::socks4_recv));
        EXPECT_EQ(xprt::conn_chain(client_.conn), "SSL>HS>RAW");
    }

    const std::string msg_ = "hello upstream";
    event::loop loop_;
    socket_pair sp_ = socket_pair::tcp(AF_INET);
    ssl::context srv_;
    ssl::context cli_;
    handshake::hs_config cfg_;
    handshake::hs_send send_;
    endpoint client_{loop_, xprt::conn_side::backend};
};

TEST_F(SslOverSocks4Test, GrantedThenTlsThroughTheSameSocket) {
    ASSERT_NO_FATAL_FAILURE(read_request());
    ASSERT_TRUE(write_all(sp_.a(), std::string("\x00\x5a\x00\x00\x00\x00\x00\x00", 8)));
    // The ClientHello follows the grant on the same socket.
    std::string seen;
    ASSERT_TRUE(run_until(loop_, [&] {
        seen = peek_available(sp_.a());
        return seen.size() >= 6;
    }));
    EXPECT_EQ(static_cast<std::uint8_t>(seen[0]), 0x16);
    EXPECT_EQ(static_cast<std::uint8_t>(seen[5]), 0x01);
    EXPECT_FALSE(client_.conn.flags.any(xprt::conn_mask::socks4));
    EXPECT_EQ(xprt::conn_chain(client_.conn), "SSL>RAW");

    // The upstream: a TLS server over the rest of the stream, echoing.
    endpoint upstream(loop_, xprt::conn_side::frontend);
    prepare_raw(upstream.conn, sp_.release_a());
    ASSERT_TRUE(ssl::attach(upstream.conn, srv_).has_value());
    upstream.echo = true;
    ASSERT_TRUE(xprt::conn_xprt_start(upstream.conn).has_value());
    upstream.task.wake();
    ASSERT_TRUE(run_until(loop_, [&] {
        return client_.received.size() >= msg_.size() || client_.failed() || upstream.failed();
    }));
    ASSERT_FALSE(client_.failed())
        << xprt::conn_show(client_.conn) << ssl::failure_reason(client_.conn);
    ASSERT_FALSE(upstream.failed()) << ssl::failure_reason(upstream.conn);
    EXPECT_EQ(client_.received, msg_);
    EXPECT_EQ(upstream.received, msg_);
    ASSERT_NE(client_.conn.tls(), nullptr);
    EXPECT_EQ(client_.conn.tls()->peer_cn, "server.test");
    EXPECT_EQ(client_.conn.proxy, nullptr);  // SOCKS4 announces nothing about the client
}

TEST_F(SslOverSocks4Test, DeniedEndsWithSocks4DenyAndNoTlsBytes) {
    ASSERT_NO_FATAL_FAILURE(read_request());
    ASSERT_TRUE(write_all(sp_.a(), std::string("\x00\x5b\x00\x00\x00\x00\x00\x00", 8)));
    ASSERT_TRUE(run_until(loop_, [&] { return client_.failed(); }));
    EXPECT_EQ(client_.conn.err_code, conn_err::socks4_deny);
    EXPECT_EQ(client_.conn.tls(), nullptr);
    EXPECT_EQ(xprt::conn_chain(client_.conn), "SSL>RAW");  // HS left on failure too
    run_iterations(loop_, 4);
    EXPECT_EQ(read_available(sp_.a()), "");  // no ClientHello, no alert
    EXPECT_TRUE(client_.received.empty());
}

}  // namespace
}  // namespace xstack::test
