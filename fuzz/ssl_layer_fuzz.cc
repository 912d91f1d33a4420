// fuzz/ssl_layer_fuzz.cc - arbitrary bytes fed to a server-side TLS layer (SSL>FEED) whose lower
// layer serves the input in pieces chosen by the input itself, with "not ready" answers in
// between: the ClientHello parser, SNI/ALPN callbacks, client-certificate path, alerts and every
// WANT_READ/WANT_WRITE resumption of the layer.
//
// Input: byte 0 picks the delivery (0: all at once; 1: one byte per call with "not ready" in
// between; else: pieces of 1..64 bytes sized by the following bytes); the rest is the peer's
// byte stream, then end of input.
//
// Invariants (abort on violation): an ERROR always has a TLS error code; the layer never
// completes a handshake nobody could have made; nothing stays subscribed after close.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include <openssl/crypto.h>

#include "event/loop.h"
#include "ssl/ssl.h"
#include "tests/ssl/test_certs.h"
#include "xprt/connection.h"

namespace {

using namespace xstack;
using xprt::conn_flag;

[[noreturn]] void broken(const char* what) {
    std::fprintf(stderr, "ssl_layer_fuzz: invariant broken: %s\n", what);
    std::abort();
}

/// The lower layer: serves the fuzz input as the peer's bytes, swallows what TLS sends.
struct feed_ctx : xprt::xprt_ctx {
    const std::uint8_t* data = nullptr;
    std::size_t size = 0;
    std::size_t off = 0;
    std::uint8_t mode = 0;
    bool pause = false;  ///< next rcv_buf answers "not ready"
    xprt::wait_event* sub = nullptr;
    std::size_t sent = 0;
};

class feed_ops final : public xprt::xprt_ops {
public:
    [[nodiscard]] xprt::xprt_id id() const noexcept override { return xprt::xprt_id::raw; }
    [[nodiscard]] std::string_view name() const noexcept override { return "FEED"; }
    result<void> init(xprt::connection& /*c*/, xprt::xprt_ctx*& ctx) const noexcept override {
        if (ctx == nullptr) {
            ctx = new (std::nothrow) feed_ctx;
        }
        return {};
    }
    void close(xprt::connection& /*c*/, xprt::xprt_ctx* ctx) const noexcept override {
        auto* f = static_cast<feed_ctx*>(ctx);
        if (f->sub != nullptr && !f->sub->events.empty()) {
            broken("the TLS layer left a subscription below at close");
        }
        delete f;
    }
    std::size_t rcv_buf(xprt::connection& c, xprt::xprt_ctx* ctx, xprt::buffer& buf,
                        std::size_t count, xprt::rcv_flags /*flags*/) const noexcept override {
        auto* f = static_cast<feed_ctx*>(ctx);
        if (f->off == f->size) {
            c.flags.set(conn_flag::sock_rd_sh);
            return 0;
        }
        if (f->pause) {
            f->pause = false;
            return 0;
        }
        std::size_t n = f->size - f->off;
        if (f->mode == 1) {
            n = 1;
            f->pause = true;
        } else if (f->mode > 1) {
            n = std::min<std::size_t>(n, 1 + f->data[f->off] % 64);
            f->pause = (f->data[f->off] & 0x80) != 0;
        }
        n = std::min({n, count, buf.room()});
        buf.put(
            std::span<const std::byte>(reinterpret_cast<const std::byte*>(f->data + f->off), n));
        f->off += n;
        return n;
    }
    std::size_t snd_buf(xprt::connection& /*c*/, xprt::xprt_ctx* ctx, const xprt::buffer& buf,
                        std::size_t count, xprt::snd_flags /*flags*/) const noexcept override {
        auto* f = static_cast<feed_ctx*>(ctx);
        const std::size_t n = std::min(count, buf.data());
        f->sent += n;
        return n;
    }
    void subscribe(xprt::connection& /*c*/, xprt::xprt_ctx* ctx, xprt::sub_events ev,
                   xprt::wait_event& w) const noexcept override {
        auto* f = static_cast<feed_ctx*>(ctx);
        if (f->sub != nullptr && f->sub != &w && !f->sub->events.empty()) {
            broken("two subscribers on the lower layer");
        }
        w.events |= ev;
        f->sub = &w;
    }
    void unsubscribe(xprt::connection& /*c*/, xprt::xprt_ctx* ctx, xprt::sub_events ev,
                     xprt::wait_event& w) const noexcept override {
        auto* f = static_cast<feed_ctx*>(ctx);
        if (f->sub != nullptr && f->sub != &w) {
            broken("unsubscribe with another wait_event");
        }
        w.events.clear(ev);
    }
};

const feed_ops g_feed;
ssl::context* g_server = nullptr;
event::loop* g_loop = nullptr;

void noop(event::tasklet& /*t*/, void* ctx) noexcept {
    ++*static_cast<int*>(ctx);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
    const auto& certs = test::tls::certs();
    ssl::server_config sc;
    for (const auto* i : {&certs.server_ec, &certs.www, &certs.wildcard}) {
        ssl::certificate c;
        c.chain_pem = i->cert_pem;
        c.key_pem = i->key_pem;
        sc.certificates.push_back(c);
    }
    sc.alpn = {"h2", "http/1.1"};
    sc.verify_client = ssl::client_verify::optional;
    sc.client_ca_pem = certs.ca.cert_pem;
    auto r = ssl::context::server(sc);
    if (!r) {
        broken("server context");
    }
    g_server = new ssl::context(std::move(*r));
    g_loop = new event::loop;
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) {
        return 0;
    }
    event::loop& loop = *g_loop;
    int upper_runs = 0;
    event::tasklet upper(loop, noop, &upper_runs, "fuzz-upper");
    xprt::wait_event we{&upper, {}};
    {
        xprt::connection c(loop);
        if (!xprt::conn_prepare(c, nullptr, &g_feed)) {
            broken("prepare");
        }
        auto* f = static_cast<feed_ctx*>(c.xprt.ctx);
        f->mode = data[0];
        f->data = data + 1;
        f->size = size - 1;
        if (!ssl::attach(c, *g_server) || !xprt::conn_xprt_start(c)) {
            broken("attach/start");
        }
        std::byte area[4096];
        // Every step either consumes input or ends the handshake; bound it anyway.
        for (std::size_t step = 0; step < 4 * size + 64; ++step) {
            if (c.flags.has(conn_flag::error) || c.tls() != nullptr) {
                break;
            }
            // The application polls like an upper layer: call, then subscribe.
            xprt::buffer b{std::span<std::byte>(area)};
            if (c.rcv_buf(b, sizeof area) == 0 && we.events.empty() &&
                !c.flags.any(conn_flag::error | conn_flag::sock_rd_sh)) {
                c.subscribe(xprt::sub_event::recv, we);
            }
            // The "socket" reports readiness to whoever waits below.
            if (f->sub != nullptr && !f->sub->events.empty()) {
                xprt::wait_event* w = f->sub;
                w->events.reset();
                f->sub = nullptr;
                w->task->wake();
            }
            loop.run_once(0);
        }
        if (c.flags.has(conn_flag::error) &&
            (c.err_code < xprt::conn_err::ssl_empty || c.err_code > xprt::conn_err::ssl_fatal)) {
            broken("ERROR without a TLS error code");
        }
        if (c.tls() != nullptr) {
            broken("a handshake completed without a client");
        }
        if (!we.events.empty()) {
            c.unsubscribe(we.events, we);
        }
        xprt::conn_full_close(c);
    }
    loop.run_once(0);  // tasklets woken by the close
    return 0;
}
