// examples/echo_server - an echo server on xstack, built against the installed package:
//   echo_server [--listen ADDR] [--accept-proxy] [--tls-cert PEM] [--once]
// --accept-proxy requires a PROXY v1/v2 header first; --tls-cert terminates TLS (chain + key
// in one PEM file); with both the chain is SSL>HS>RAW while handshaking. Prints the address it
// listens on, then one line per connection with the client address (PROXY-derived) and the
// chain. --once exits after the first connection closes.
#include <cstdio>
#include <cstring>
#include <string>

#include "event/loop.h"
#include "handshake/hs.h"
#include "raw/raw_sock.h"
#include "raw/sock.h"
#include "registry/registry.h"
#include "xprt/buffer.h"
#include "xprt/connection.h"
#include "xstack/config.h"
#if XS_HAVE_OPENSSL
#include "ssl/ssl.h"
#endif

using namespace xstack;
using xprt::conn_flag;

namespace {

struct config {
    bool accept_proxy = false, once = false;
    handshake::hs_config hs;
#if XS_HAVE_OPENSSL
    ssl::context tls;
#endif
    event::loop* loop = nullptr;
};

// One client: read what comes, send it back; close once the client shut its side.
struct session {
    session(config& c, event::loop& l) : cfg(c), conn(l), task(l, run, this, "echo") {
        we.task = &task;
    }
    static void run(event::tasklet& /*t*/, void* p) noexcept {
        auto* s = static_cast<session*>(p);
        xprt::connection& c = s->conn;
        if (!s->announced && c.transport_usable()) {  // handshakes done: HS has left
            s->announced = true;
            std::printf("client %s chain %s\n", c.client_addr().to_string().c_str(),
                        xprt::conn_chain(c).c_str());
            std::fflush(stdout);
        }
        std::size_t moved = 1;
        while (moved > 0 && !c.flags.has(conn_flag::error)) {
            moved = 0;
            if (!c.flags.has(conn_flag::sock_rd_sh) && s->buf.alloc() && s->buf.room() > 0) {
                moved += c.rcv_buf(s->buf, s->buf.room());
            }
            const std::size_t n = s->buf.data() > 0 ? c.snd_buf(s->buf, s->buf.data()) : 0;
            s->buf.consume(n);
            moved += n;
        }
        if (c.flags.has(conn_flag::error) ||
            (c.flags.has(conn_flag::sock_rd_sh) && s->buf.empty())) {
            const std::string_view err = xprt::to_string(c.err_code);
            std::printf("closed %s error %.*s\n", c.client_addr().to_string().c_str(),
                        static_cast<int>(err.size()), err.data());
            std::fflush(stdout);
            if (s->cfg.once) {
                s->cfg.loop->request_stop();
            }
            xprt::conn_shutw(c, true);
            delete s;  // its connection closes in its destructor
            return;
        }
        s->buf.release_if_empty();
        xprt::sub_events ev = xprt::sub_event::recv;
        if (s->buf.data() > 0) {
            ev |= xprt::sub_event::send;
        }
        c.subscribe(ev, s->we);
    }
    config& cfg;
    xprt::connection conn;
    xprt::pool_buffer buf;
    event::tasklet task;
    xprt::wait_event we;
    bool announced = false;
};

void on_accept(void* p, int fd, const xprt::sock_addr& peer) noexcept {
    auto& cfg = *static_cast<config*>(p);
    auto* s = new session(cfg, *cfg.loop);
    (void)xprt::conn_prepare(s->conn, &raw::sock_ctrl(), registry::xprt_get(xprt::xprt_id::raw));
    raw::accept_init(s->conn, fd, peer);
#if XS_HAVE_OPENSSL
    if (cfg.tls && !ssl::attach(s->conn, cfg.tls)) {
        delete s;
        return;
    }
#endif
    if (cfg.accept_proxy) {
        s->conn.flags.set(conn_flag::accept_proxy);  // HS goes below SSL: SSL>HS>RAW
        (void)handshake::attach(s->conn, cfg.hs);
    }
    (void)xprt::conn_xprt_start(s->conn);
    s->task.wake();  // an error during attach shows up here and closes the session
}

}  // namespace

int main(int argc, char** argv) {
    config cfg;
    std::string listen = "127.0.0.1:0", cert;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--listen" && i + 1 < argc) {
            listen = argv[++i];
        } else if (a == "--tls-cert" && i + 1 < argc) {
            cert = argv[++i];
        } else if (a == "--accept-proxy" || a == "--once") {
            (a == "--once" ? cfg.once : cfg.accept_proxy) = true;
        } else {
            std::fprintf(stderr,
                         "usage: %s [--listen ADDR] [--accept-proxy] [--tls-cert PEM] "
                         "[--once]\n",
                         argv[0]);
            return 2;
        }
    }
    if (!cert.empty()) {
#if XS_HAVE_OPENSSL
        ssl::server_config sc;
        sc.certificates.push_back({.chain_file = cert});
        auto ctx = ssl::context::server(sc);
        if (!ctx) {
            std::fprintf(stderr, "echo_server: %s: %s\n", cert.c_str(), ctx.error().what);
            return 1;
        }
        cfg.tls = *ctx;
#else
        std::fprintf(stderr, "echo_server: this xstack was built without OpenSSL\n");
        return 2;
#endif
    }
    event::loop loop;
    cfg.loop = &loop;
    raw::listener lst(loop, on_accept, &cfg);
    const auto addr = xprt::sock_addr::parse(listen);
    if (!loop.ok() || !addr || !lst.open(*addr)) {
        std::fprintf(stderr, "echo_server: cannot listen on %s\n", listen.c_str());
        return 1;
    }
    std::printf("listening on %s\n", lst.address().to_string().c_str());
    std::fflush(stdout);
    loop.run();
    return 0;
}
