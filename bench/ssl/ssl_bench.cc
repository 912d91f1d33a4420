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
#include <ctime>
#include <memory>
#include <string>

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

/// SSL>RAW over a socketpair, both ends on one event loop; transfer() moves bytes from the
/// client (writer) to the server (reader) by running the loop.
class layer_bulk {
public:
    explicit layer_bulk(bool edge_triggered)
        : srv_(server_ctx(0)), cli_(client_ctx()), loop_(options(edge_triggered)) {
        int sv[2];
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) {
            return;
        }
        r_ = std::make_unique<reader>(loop_);
        w_ = std::make_unique<writer>(loop_);
        prepare(r_->conn, sv[0]);
        prepare(w_->conn, sv[1]);
        if (!ssl::attach(r_->conn, srv_) || !ssl::attach(w_->conn, cli_, {.sni = "server.test"}) ||
            !xprt::conn_xprt_start(r_->conn) || !xprt::conn_xprt_start(w_->conn)) {
            return;
        }
        r_->task.wake();
        for (int i = 0; i < 1000 && (w_->conn.tls() == nullptr || r_->conn.tls() == nullptr); ++i) {
            loop_.run_once(100);
        }
        ok_ = w_->conn.tls() != nullptr && r_->conn.tls() != nullptr;
    }
    layer_bulk(const layer_bulk&) = delete;
    layer_bulk& operator=(const layer_bulk&) = delete;
    ~layer_bulk() {
        if (r_ && !r_->we.events.empty()) {
            r_->conn.unsubscribe(r_->we.events, r_->we);
        }
        if (w_ && !w_->we.events.empty()) {
            w_->conn.unsubscribe(w_->we.events, w_->we);
        }
    }

    [[nodiscard]] bool ok() const { return ok_; }
    [[nodiscard]] std::string cipher() const { return r_->conn.tls()->cipher; }

    /// Moves `bytes` through the two layers. False if a connection failed.
    [[gnu::noinline]] bool transfer(std::size_t bytes) {
        r_->target += bytes;
        w_->left += bytes;
        w_->task.wake();
        while (r_->got < r_->target) {
            loop_.run();
            if (r_->conn.flags.has(xprt::conn_flag::error) ||
                w_->conn.flags.has(xprt::conn_flag::error)) {
                return false;
            }
        }
        return true;
    }

private:
    static event::loop_options options(bool edge_triggered) {
        event::loop_options lo;
        lo.poller = edge_triggered ? event::poller_kind::epoll_et : event::poller_kind::epoll;
        return lo;
    }

    ssl::context srv_;
    ssl::context cli_;
    event::loop loop_;
    std::unique_ptr<reader> r_;
    std::unique_ptr<writer> w_;
    bool ok_ = false;
};

// --- bulk with OpenSSL directly ------------------------------------------------------------------

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

/// SSL_write/SSL_read on the two socketpair fds, alternating without a poller: the writer
/// writes until WANT_WRITE, the reader reads until WANT_READ.
class direct_bulk {
public:
    direct_bulk() : sc_(plain_ctx(true, 0)), cc_(plain_ctx(false, 0)) {
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv_) != 0) {
            return;
        }
        s_ = SSL_new(sc_);
        c_ = SSL_new(cc_);
        SSL_set_fd(s_, sv_[0]);
        SSL_set_fd(c_, sv_[1]);
        SSL_set_accept_state(s_);
        SSL_set_connect_state(c_);
        SSL_set1_host(c_, "server.test");
        ok_ = plain_handshake(s_, c_);
    }
    direct_bulk(const direct_bulk&) = delete;
    direct_bulk& operator=(const direct_bulk&) = delete;
    ~direct_bulk() {
        SSL_free(s_);
        SSL_free(c_);
        SSL_CTX_free(sc_);
        SSL_CTX_free(cc_);
        if (sv_[0] >= 0) {
            ::close(sv_[0]);
            ::close(sv_[1]);
        }
    }

    [[nodiscard]] bool ok() const { return ok_; }
    [[nodiscard]] std::string cipher() const {
        return SSL_CIPHER_get_name(SSL_get_current_cipher(s_));
    }

    [[gnu::noinline]] bool transfer(std::size_t bytes) {
        std::size_t left = bytes;
        std::size_t got = 0;
        while (got < bytes) {
            while (left > 0) {
                std::size_t n = 0;
                const std::size_t len = std::min(chunk - off_, left);
                if (SSL_write_ex(c_, out_.data() + off_, len, &n) != 1) {
                    break;  // WANT_WRITE: the socket buffer is full
                }
                off_ = (off_ + n) % chunk;
                left -= n;
            }
            std::size_t n = 0;
            int rc = 0;
            while ((rc = SSL_read_ex(s_, in_.data(), in_.size(), &n)) == 1) {
                got += n;
            }
            if (SSL_get_error(s_, rc) != SSL_ERROR_WANT_READ) {
                return false;
            }
        }
        return true;
    }

private:
    SSL_CTX* sc_;
    SSL_CTX* cc_;
    int sv_[2] = {-1, -1};
    SSL* s_ = nullptr;
    SSL* c_ = nullptr;
    bool ok_ = false;
    std::array<unsigned char, chunk> out_{};
    std::array<unsigned char, chunk> in_{};
    std::size_t off_ = 0;
};

/// 1 MiB through `b` per iteration.
template <class Bulk>
void run_bulk(benchmark::State& state, Bulk& b) {
    if (!b.ok()) {
        state.SkipWithError("setup");
        return;
    }
    for (auto _ : state) {
        if (!b.transfer(per_iteration)) {
            state.SkipWithError("connection failed");
            return;
        }
    }
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(per_iteration));
    state.SetLabel(b.cipher());
}

void BM_Ssl_Bulk16k(benchmark::State& state) {
    layer_bulk b(state.range(0) != 0);
    run_bulk(state, b);
}
BENCHMARK(BM_Ssl_Bulk16k)->Arg(0)->Arg(1)->ArgName("et")->Unit(benchmark::kMillisecond);

void BM_OpenSsl_Bulk16k(benchmark::State& state) {
    direct_bulk b;
    run_bulk(state, b);
}
BENCHMARK(BM_OpenSsl_Bulk16k)->Unit(benchmark::kMillisecond);

double thread_cpu_seconds() {
    timespec ts{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

/// Both of the above in one benchmark, 1 MiB each per iteration, alternating which goes first:
/// the two see the same machine within a millisecond of each other, so the ratio holds still
/// on a shared machine where two separate benchmarks drift apart by more than the gap.
/// Counters: layer and direct MB/s (CPU time of this thread) and ratio = layer / direct.
void BM_Ssl_Bulk16k_Paired(benchmark::State& state) {
    layer_bulk lay(state.range(0) != 0);
    direct_bulk dir;
    if (!lay.ok() || !dir.ok()) {
        state.SkipWithError("setup");
        return;
    }
    double t_layer = 0;
    double t_direct = 0;
    bool layer_first = true;
    for (auto _ : state) {
        double t0 = thread_cpu_seconds();
        bool ok = layer_first ? lay.transfer(per_iteration) : dir.transfer(per_iteration);
        const double t1 = thread_cpu_seconds();
        ok = (layer_first ? dir.transfer(per_iteration) : lay.transfer(per_iteration)) && ok;
        const double t2 = thread_cpu_seconds();
        if (!ok) {
            state.SkipWithError("connection failed");
            return;
        }
        t_layer += layer_first ? t1 - t0 : t2 - t1;
        t_direct += layer_first ? t2 - t1 : t1 - t0;
        layer_first = !layer_first;
    }
    const double mb =
        static_cast<double>(state.iterations()) * static_cast<double>(per_iteration) / 1e6;
    state.counters["layer_MBps"] = mb / t_layer;
    state.counters["direct_MBps"] = mb / t_direct;
    state.counters["ratio"] = t_direct / t_layer;
    state.SetBytesProcessed(state.iterations() * 2 * static_cast<std::int64_t>(per_iteration));
    state.SetLabel(lay.cipher());
}
BENCHMARK(BM_Ssl_Bulk16k_Paired)->Arg(0)->Arg(1)->ArgName("et")->Unit(benchmark::kMillisecond);

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
