// tests/ssl/ssl_alloc_test.cc - once a TLS connection is established, the layer's data path
// allocates nothing: no operator new (counted by tests/support/alloc_hook), and no more OpenSSL
// allocations (counted through CRYPTO_set_mem_functions, installed before OpenSSL's first
// allocation) than SSL_read/SSL_write used directly. OpenSSL 3.0 itself allocates a few bytes per
// record written (the WPACKET sub-packet of its record writer): that is the floor, not ours.
#include <array>
#include <cstdio>
#include <cstdlib>

#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "ssl/ssl.h"
#include "tests/ssl/ssl_test_util.h"
#include "tests/support/alloc_counter.h"

namespace xstack::test {
namespace {

thread_local std::uint64_t t_crypto_allocs = 0;

void* crypto_malloc(std::size_t n, const char* /*file*/, int /*line*/) {
    ++t_crypto_allocs;
    return std::malloc(n);
}
void* crypto_realloc(void* p, std::size_t n, const char* /*file*/, int /*line*/) {
    ++t_crypto_allocs;
    return std::realloc(p, n);
}
void crypto_free(void* p, const char* /*file*/, int /*line*/) {
    std::free(p);
}

// Static initialisation: before any test touches OpenSSL (it refuses once it has allocated).
const bool g_crypto_hooked =
    CRYPTO_set_mem_functions(crypto_malloc, crypto_realloc, crypto_free) == 1;

constexpr std::size_t chunk = 16384;

/// Echoes through a fixed ring buffer.
struct echo_server {
    explicit echo_server(event::loop& l) : task(l, run, this, "echo"), conn(l) { we.task = &task; }
    static void run(event::tasklet& /*t*/, void* p) noexcept {
        auto& s = *static_cast<echo_server*>(p);
        for (int i = 0; i < 8; ++i) {
            const std::size_t in = s.conn.rcv_buf(s.ring, s.ring.room());
            const std::size_t out = s.conn.snd_buf(s.ring, s.ring.data());
            s.ring.consume(out);
            if (in == 0 && out == 0) {
                break;
            }
        }
        xprt::sub_events ev;
        if (s.ring.room() > 0) {
            ev |= xprt::sub_event::recv;
        }
        if (s.ring.data() > 0) {
            ev |= xprt::sub_event::send;
        }
        if (!s.conn.flags.has(xprt::conn_flag::error)) {
            s.conn.subscribe(ev, s.we);
        }
    }
    // The tasklet outlives the connection: closing the chain wakes the subscriber.
    event::tasklet task;
    xprt::connection conn;
    xprt::wait_event we;
    std::array<std::byte, 4 * chunk> area{};
    xprt::buffer ring{std::span<std::byte>(area)};
};

/// Sends 16 KiB, waits for it to come back, again.
struct echo_client {
    explicit echo_client(event::loop& l)
        : task(l, run, this, "cli"), conn(l, xprt::conn_side::backend) {
        we.task = &task;
    }
    static void run(event::tasklet& /*t*/, void* p) noexcept {
        auto& s = *static_cast<echo_client*>(p);
        for (int i = 0; i < 8; ++i) {
            std::size_t moved = 0;
            if (s.sent < chunk) {
                const auto b = xprt::buffer::holding(std::span<std::byte>(s.out).subspan(s.sent),
                                                     chunk - s.sent);
                const std::size_t n = s.conn.snd_buf(b, chunk - s.sent);
                s.sent += n;
                moved += n;
            }
            xprt::buffer in{std::span<std::byte>(s.in)};
            const std::size_t n = s.conn.rcv_buf(in, s.in.size());
            s.got += n;
            moved += n;
            if (s.got >= chunk) {
                ++s.rounds;
                s.got -= chunk;
                s.sent = 0;
            }
            if (moved == 0) {
                break;
            }
        }
        xprt::sub_events ev = xprt::sub_event::recv;
        if (s.sent < chunk) {
            ev |= xprt::sub_event::send;
        }
        if (!s.conn.flags.has(xprt::conn_flag::error)) {
            s.conn.subscribe(ev, s.we);
        }
    }
    // The tasklet outlives the connection: closing the chain wakes the subscriber.
    event::tasklet task;
    xprt::connection conn;
    xprt::wait_event we;
    std::array<std::byte, chunk> out{};
    std::array<std::byte, chunk> in{};
    std::size_t sent = 0;
    std::size_t got = 0;
    std::size_t rounds = 0;
};

/// OpenSSL allocations made by `rounds` 16 KiB echoes with SSL_read/SSL_write used directly on
/// a socketpair (after the same warm-up), with the layer's OpenSSL settings.
std::uint64_t direct_openssl_allocs(std::size_t rounds) {
    auto ctx = [](bool server) {
        SSL_CTX* c = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
        SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
        SSL_CTX_set_read_ahead(c, 1);
        if (server) {
            const auto& crt = tls::certs().server_ec;
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
        }
        return c;
    };
    SSL_CTX* sc = ctx(true);
    SSL_CTX* cc = ctx(false);
    int sv[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    SSL* s = SSL_new(sc);
    SSL* c = SSL_new(cc);
    SSL_set_fd(s, sv[0]);
    SSL_set_fd(c, sv[1]);
    SSL_set_accept_state(s);
    SSL_set_connect_state(c);
    for (int i = 0; i < 1000 && (SSL_do_handshake(s) != 1 || SSL_do_handshake(c) != 1); ++i) {
    }
    std::array<unsigned char, chunk> out{};
    std::array<unsigned char, 4 * chunk> mid{};
    std::array<unsigned char, chunk> in{};
    auto round = [&] {
        std::size_t csent = 0;
        std::size_t mid_len = 0;
        std::size_t ssent = 0;
        std::size_t cgot = 0;
        for (int guard = 0; cgot < chunk && guard < 100000; ++guard) {
            std::size_t n = 0;
            if (csent < chunk && SSL_write_ex(c, out.data() + csent, chunk - csent, &n) == 1) {
                csent += n;
            }
            if (SSL_read_ex(s, mid.data() + mid_len, mid.size() - mid_len, &n) == 1) {
                mid_len += n;
            }
            if (ssent < mid_len && SSL_write_ex(s, mid.data() + ssent, mid_len - ssent, &n) == 1) {
                ssent += n;
            }
            if (SSL_read_ex(c, in.data(), in.size(), &n) == 1) {
                cgot += n;
            }
        }
    };
    for (int i = 0; i < 50; ++i) {
        round();
    }
    const std::uint64_t before = t_crypto_allocs;
    for (std::size_t i = 0; i < rounds; ++i) {
        round();
    }
    const std::uint64_t used = t_crypto_allocs - before;
    SSL_free(s);
    SSL_free(c);
    SSL_CTX_free(sc);
    SSL_CTX_free(cc);
    ::close(sv[0]);
    ::close(sv[1]);
    return used;
}

TEST(SslAllocTest, EstablishedConnectionAllocatesNothing) {
    ASSERT_TRUE(g_crypto_hooked) << "OpenSSL allocated before the test could hook it";
    auto srv = make_server(server_config());
    auto cli = make_client(client_config());
    event::loop loop;
    socket_pair sp;
    echo_server s(loop);
    echo_client c(loop);
    prepare_raw(s.conn, sp.release_a());
    prepare_raw(c.conn, sp.release_b());
    ASSERT_TRUE(ssl::attach(s.conn, srv).has_value());
    ASSERT_TRUE(ssl::attach(c.conn, cli, {.sni = "server.test"}).has_value());
    ASSERT_TRUE(xprt::conn_xprt_start(s.conn).has_value());
    ASSERT_TRUE(xprt::conn_xprt_start(c.conn).has_value());
    s.task.wake();
    c.task.wake();
    auto run_rounds = [&](std::size_t target) {
        for (int i = 0;
             i < 100000 && c.rounds < target && !c.conn.flags.has(xprt::conn_flag::error); ++i) {
            loop.run_once(100);
        }
    };
    run_rounds(50);  // handshake, session tickets, OpenSSL's buffers: all allocated by now
    ASSERT_EQ(c.rounds, 50u) << xprt::conn_show(c.conn);
    const std::uint64_t news = allocations();
    const std::uint64_t cryptos = t_crypto_allocs;
    run_rounds(250);
    ASSERT_EQ(c.rounds, 250u);
    const std::uint64_t ours = t_crypto_allocs - cryptos;
    EXPECT_EQ(allocations() - news, 0u) << "operator new during 200 x 16 KiB echoes";
    const std::uint64_t direct = direct_openssl_allocs(200);
    EXPECT_LE(ours, direct) << "OpenSSL allocations during 200 x 16 KiB echoes, through the layer ("
                            << ours << ") and with SSL_read/SSL_write used directly (" << direct
                            << ")";
    std::printf("OpenSSL allocations per 200 echoes: layer %llu, direct %llu\n",
                static_cast<unsigned long long>(ours), static_cast<unsigned long long>(direct));
    if (!s.we.events.empty()) {
        s.conn.unsubscribe(s.we.events, s.we);
    }
    if (!c.we.events.empty()) {
        c.conn.unsubscribe(c.we.events, c.we);
    }
}

}  // namespace
}  // namespace xstack::test
