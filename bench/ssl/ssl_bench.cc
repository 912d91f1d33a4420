// bench/ssl/ssl_bench.cc - the TLS layer against OpenSSL used directly.
//
// Bulk: 1 MiB per iteration in 16 KiB writes from a client to a server, both ends in one thread
// over an AF_UNIX socketpair, TLS 1.3 with TLS_AES_256_GCM_SHA384 and the same OpenSSL settings
// (read-ahead, partial writes) on both sides:
//   BM_Ssl_Bulk16k      SSL>RAW through the library, driven by its event loop (tasklets,
//                       subscriptions, epoll when a socket buffer is full or empty); et:1 with
//                       the edge-triggered poller
//   BM_OpenSsl_Bulk16k  SSL_write/SSL_read on the socketpair fds, alternating without a poller
// The ratio of their bytes/s is the layer's cost (target >= 0.97).
//
// Handshakes: a full TLS 1.3 handshake per iteration (new socketpair, new connections, client
// verification on, no session cache), both ends in this thread, so one iteration is the CPU
// of one client plus one server handshake. ECDSA P-256 and RSA 2048 server certificates.
//
// Times are CPU times (the default): both ends run in this thread and the kernel's work happens
// inside its syscalls, so CPU time is the whole cost and is not inflated when other processes
// compete for the machine.
#include "ssl/ssl.h"

#include <array>
#include <cstdlib>
#include <memory>

#include <sys/socket.h>
#include <unistd.h>

#include <benchmark/benchmark.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "event/loop.h"
#include "raw/raw_sock.h"
#include "tests/ssl/test_certs.h"
#include "xprt/connection.h"

namespace {

using namespace xstack;

constexpr std::size_t chunk = 16384;
constexpr std::size_t per_iteration = std::size_t{1} << 20;
constexpr const char* suite = "TLS_AES_256_GCM_SHA384";

const test::tls::issued& cert_of(int rsa) {
    return rsa != 0 ? test::tls::certs().server_rsa : test::tls::certs().server_ec;
}

ssl::context server_ctx(int rsa) {
    ssl::server_config sc;
    ssl::certificate c;
    c.chain_pem = cert_of(rsa).cert_pem;
    c.key_pem = cert_of(rsa).key_pem;
    sc.certificates.push_back(c);
    sc.ciphersuites = suite;
    sc.min_version = ssl::tls_version::tls1_3;
    auto r = ssl::context::server(sc);
    if (!r) {
        std::abort();
    }
    return *r;
}

ssl::context client_ctx() {
    ssl::client_config cc;
    cc.ca_pem = test::tls::certs().ca.cert_pem;
    cc.ciphersuites = suite;
    cc.min_version = ssl::tls_version::tls1_3;
    cc.session_cache = false;  // every handshake is a full one
    auto r = ssl::context::client(cc);
    if (!r) {
        std::abort();
    }
    return *r;
}

void prepare(xprt::connection& c, int fd) {
    if (!xprt::conn_prepare(c, &raw::sock_ctrl(), &raw::ops())) {
        std::abort();
    }
    c.handle.fd = fd;
    xprt::conn_ctrl_init(c);
}

// --- bulk through the library ------------------------------------------------------------------

struct writer {
    explicit writer(event::loop& l)
        : task(l, run, this, "bulk-writer"), conn(l, xprt::conn_side::backend) {
        we.task = &task;
    }
    static void run(event::tasklet& /*t*/, void* p) noexcept {
        auto& w = *static_cast<writer*>(p);
        while (w.left > 0) {
            const std::size_t len = std::min(chunk - w.off, w.left);
            const auto b = xprt::buffer::holding(std::span<std::byte>(w.out).subspan(w.off), len);
            const std::size_t n = w.conn.snd_buf(b, len);
            w.off = (w.off + n) % chunk;
            w.left -= n;
            if (n < len) {
                break;
            }
        }
        if (w.left > 0 && !w.conn.flags.has(xprt::conn_flag::error)) {
            w.conn.subscribe(xprt::sub_event::send, w.we);
        }
    }
    event::tasklet task;  // outlives the connection: closing the chain wakes the subscriber
    xprt::connection conn;
    xprt::wait_event we;
    std::array<std::byte, chunk> out{};
    std::size_t off = 0;
    std::size_t left = 0;
};

struct reader {
    explicit reader(event::loop& l) : task(l, run, this, "bulk-reader"), conn(l) {
        we.task = &task;
    }
    static void run(event::tasklet& /*t*/, void* p) noexcept {
        auto& r = *static_cast<reader*>(p);
        for (;;) {
            xprt::buffer b{std::span<std::byte>(r.in)};
            const std::size_t n = r.conn.rcv_buf(b, chunk);
            r.got += n;
            if (n < chunk) {
                break;
            }
        }
        if (r.got >= r.target) {
            r.conn.loop().stop();  // run() returns without waiting for another event
        }
        if (!r.conn.flags.any(xprt::conn_flag::error | xprt::conn_flag::sock_rd_sh)) {
            r.conn.subscribe(xprt::sub_event::recv, r.we);
        }
    }
    event::tasklet task;
    xprt::connection conn;
    xprt::wait_event we;
    std::array<std::byte, chunk> in{};
    std::size_t got = 0;
    std::size_t target = 0;
};

void BM_Ssl_Bulk16k(benchmark::State& state) {
    auto srv = server_ctx(0);
    auto cli = client_ctx();
    event::loop_options lo;
    lo.poller = state.range(0) != 0 ? event::poller_kind::epoll_et : event::poller_kind::epoll;
    event::loop loop(lo);
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) {
        state.SkipWithError("socketpair");
        return;
    }
    auto r = std::make_unique<reader>(loop);
    auto w = std::make_unique<writer>(loop);
    prepare(r->conn, sv[0]);
    prepare(w->conn, sv[1]);
    if (!ssl::attach(r->conn, srv) || !ssl::attach(w->conn, cli, {.sni = "server.test"}) ||
        !xprt::conn_xprt_start(r->conn) || !xprt::conn_xprt_start(w->conn)) {
        state.SkipWithError("setup");
        return;
    }
    r->task.wake();
    while (w->conn.tls() == nullptr || r->conn.tls() == nullptr) {
        loop.run_once(100);
    }
    for (auto _ : state) {
        r->target += per_iteration;
        w->left += per_iteration;
        w->task.wake();
        while (r->got < r->target) {
            loop.run();
            if (r->conn.flags.has(xprt::conn_flag::error) ||
                w->conn.flags.has(xprt::conn_flag::error)) {
                state.SkipWithError("connection failed");
                return;
            }
        }
    }
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(per_iteration));
    state.SetLabel(r->conn.tls()->cipher);
    if (!r->we.events.empty()) {
        r->conn.unsubscribe(r->we.events, r->we);
    }
    if (!w->we.events.empty()) {
        w->conn.unsubscribe(w->we.events, w->we);
    }
}
BENCHMARK(BM_Ssl_Bulk16k)->Arg(0)->Arg(1)->ArgName("et")->Unit(benchmark::kMillisecond);

// --- bulk with OpenSSL directly
// -------------------------------------------------------------------

SSL_CTX* plain_ctx(bool server, int rsa) {
    SSL_CTX* c = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
    SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION);
    SSL_CTX_set_ciphersuites(c, suite);
    SSL_CTX_set_options(
        c, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_read_ahead(c, 1);
    if (server) {
        const auto& crt = cert_of(rsa);
        BIO* b = BIO_new_mem_buf(crt.cert_pem.data(), static_cast<int>(crt.cert_pem.size()));
        X509* x = PEM_read_bio_X509(b, nullptr, nullptr, nullptr);
        BIO_free(b);
        b = BIO_new_mem_buf(crt.key_pem.data(), static_cast<int>(crt.key_pem.size()));
        EVP_PKEY* k = PEM_read_bio_PrivateKey(b, nullptr, nullptr, nullptr);
        BIO_free(b);
        SSL_CTX_use_certificate(c, x);
        SSL_CTX_use_PrivateKey(c, k);
        X509_free(x);
        EVP_PKEY_free(k);
        SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
    } else {
        BIO* b = BIO_new_mem_buf(test::tls::certs().ca.cert_pem.data(),
                                 static_cast<int>(test::tls::certs().ca.cert_pem.size()));
        X509* ca = PEM_read_bio_X509(b, nullptr, nullptr, nullptr);
        BIO_free(b);
        X509_STORE_add_cert(SSL_CTX_get_cert_store(c), ca);
        X509_free(ca);
        SSL_CTX_set_verify(c, SSL_VERIFY_PEER, nullptr);
        SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
    }
    return c;
}

/// Both handshakes, alternating on non-blocking fds. False on failure.
bool plain_handshake(SSL* s, SSL* c) {
    int rs = 0;
    int rc = 0;
    for (int i = 0; i < 10000 && (rs != 1 || rc != 1); ++i) {
        if (rc != 1) {
            rc = SSL_do_handshake(c);
        }
        if (rs != 1) {
            rs = SSL_do_handshake(s);
        }
    }
    return rs == 1 && rc == 1;
}

void BM_OpenSsl_Bulk16k(benchmark::State& state) {
    SSL_CTX* sc = plain_ctx(true, 0);
    SSL_CTX* cc = plain_ctx(false, 0);
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) {
        state.SkipWithError("socketpair");
        return;
    }
    SSL* s = SSL_new(sc);
    SSL* c = SSL_new(cc);
    SSL_set_fd(s, sv[0]);
    SSL_set_fd(c, sv[1]);
    SSL_set_accept_state(s);
    SSL_set_connect_state(c);
    SSL_set1_host(c, "server.test");
    if (!plain_handshake(s, c)) {
        state.SkipWithError("handshake");
        return;
    }
    std::array<unsigned char, chunk> out{};
    std::array<unsigned char, chunk> in{};
    std::size_t off = 0;
    for (auto _ : state) {
        std::size_t left = per_iteration;
        std::size_t got = 0;
        while (got < per_iteration) {
            while (left > 0) {
                std::size_t n = 0;
                const std::size_t len = std::min(chunk - off, left);
                if (SSL_write_ex(c, out.data() + off, len, &n) != 1) {
                    break;  // WANT_WRITE: the socket buffer is full
                }
                off = (off + n) % chunk;
                left -= n;
            }
            std::size_t n = 0;
            while (SSL_read_ex(s, in.data(), in.size(), &n) == 1) {
                got += n;
            }
        }
    }
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(per_iteration));
    state.SetLabel(SSL_CIPHER_get_name(SSL_get_current_cipher(s)));
    SSL_free(s);
    SSL_free(c);
    SSL_CTX_free(sc);
    SSL_CTX_free(cc);
    ::close(sv[0]);
    ::close(sv[1]);
}
BENCHMARK(BM_OpenSsl_Bulk16k)->Unit(benchmark::kMillisecond);

// --- handshakes ----------------------------------------------------------------------------------

/// Subscribed on both ends during their handshakes: woken when each ends, stops the loop
/// after the second.
struct hs_watch {
    static void run(event::tasklet& t, void* p) noexcept {
        auto& w = *static_cast<hs_watch*>(p);
        if (++w.ended == 2) {
            t.owner_loop().stop();
        }
    }
    int ended = 0;
};

void BM_Ssl_Handshake(benchmark::State& state) {
    const int rsa = static_cast<int>(state.range(0));
    auto srv = server_ctx(rsa);
    auto cli = client_ctx();
    event::loop loop;
    hs_watch watch;
    event::tasklet ts(loop, hs_watch::run, &watch, "hs-watch-s");
    event::tasklet tc(loop, hs_watch::run, &watch, "hs-watch-c");
    for (auto _ : state) {
        int sv[2];
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) {
            state.SkipWithError("socketpair");
            return;
        }
        xprt::connection s(loop);
        xprt::connection c(loop, xprt::conn_side::backend);
        prepare(s, sv[0]);
        prepare(c, sv[1]);
        if (!ssl::attach(s, srv) || !ssl::attach(c, cli, {.sni = "server.test"}) ||
            !xprt::conn_xprt_start(s) || !xprt::conn_xprt_start(c)) {
            state.SkipWithError("setup");
            return;
        }
        watch.ended = 0;
        xprt::wait_event ws{&ts, {}};
        xprt::wait_event wc{&tc, {}};
        s.subscribe(xprt::sub_event::recv, ws);  // recorded: woken when the handshake ends
        c.subscribe(xprt::sub_event::recv, wc);
        loop.run();
        if (s.tls() == nullptr || c.tls() == nullptr) {
            state.SkipWithError("handshake failed");
            return;
        }
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
    state.SetLabel(rsa != 0 ? "RSA 2048" : "ECDSA P-256");
}
BENCHMARK(BM_Ssl_Handshake)->Arg(0)->Arg(1)->ArgName("rsa")->Unit(benchmark::kMicrosecond);

void BM_OpenSsl_Handshake(benchmark::State& state) {
    const int rsa = static_cast<int>(state.range(0));
    SSL_CTX* sc = plain_ctx(true, rsa);
    SSL_CTX* cc = plain_ctx(false, rsa);
    for (auto _ : state) {
        int sv[2];
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) {
            state.SkipWithError("socketpair");
            return;
        }
        SSL* s = SSL_new(sc);
        SSL* c = SSL_new(cc);
        SSL_set_fd(s, sv[0]);
        SSL_set_fd(c, sv[1]);
        SSL_set_accept_state(s);
        SSL_set_connect_state(c);
        SSL_set_tlsext_host_name(c, "server.test");
        SSL_set1_host(c, "server.test");
        const bool ok = plain_handshake(s, c);
        SSL_free(s);
        SSL_free(c);
        ::close(sv[0]);
        ::close(sv[1]);
        if (!ok) {
            state.SkipWithError("handshake failed");
            return;
        }
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
    state.SetLabel(rsa != 0 ? "RSA 2048" : "ECDSA P-256");
    SSL_CTX_free(sc);
    SSL_CTX_free(cc);
}
BENCHMARK(BM_OpenSsl_Handshake)->Arg(0)->Arg(1)->ArgName("rsa")->Unit(benchmark::kMicrosecond);

}  // namespace
