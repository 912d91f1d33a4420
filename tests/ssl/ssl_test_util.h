// tests/ssl/ssl_test_util.h - TLS test helpers: an application endpoint driving a connection
// through its chain, a server/client pair over a socketpair in one loop, ready-made contexts.
#pragma once

#include <algorithm>
#include <span>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "event/loop.h"
#include "raw/raw_sock.h"
#include "ssl/ssl.h"
#include "tests/ssl/test_certs.h"
#include "tests/support/run_until.h"
#include "tests/support/socket_pair.h"
#include "xprt/connection.h"

namespace xstack::test {

/// The application above a chain: reads everything into `received`, sends `out`, optionally
/// echoes, shuts its write side once `out` is sent when asked. Calls, then subscribes, like a
/// real upper layer.
struct endpoint {
    endpoint(event::loop& l, xprt::conn_side side) : conn(l, side), task(l, run, this, "tls-ep") {
        we.task = &task;
        area.resize(65536);
    }
    ~endpoint() { close(); }
    endpoint(const endpoint&) = delete;
    endpoint& operator=(const endpoint&) = delete;

    /// Closes the chain (unsubscribing first, as an application must).
    void close() {
        if (!we.events.empty() && conn.xprt) {
            conn.unsubscribe(we.events, we);
        }
        xprt::conn_full_close(conn);
    }

    static void run(event::tasklet& /*t*/, void* p) noexcept { static_cast<endpoint*>(p)->step(); }

    void step() noexcept {
        ++wakes;
        using xprt::conn_flag;
        for (int round = 0; round < 64; ++round) {
            bool progress = false;
            if (!conn.flags.any(conn_flag::sock_rd_sh | conn_flag::error) && reading) {
                xprt::buffer b(std::span<std::byte>(area.data(), area.size()));
                const std::size_t n = conn.rcv_buf(b, std::min(area.size(), rcv_max));
                if (n > 0) {
                    const auto* p = reinterpret_cast<const char*>(area.data());
                    received.append(p, n);
                    if (echo) {
                        out.append(p, n);
                    }
                    progress = true;
                }
            }
            if (out_off < out.size() && !conn.flags.has(conn_flag::error) && !shut_done) {
                auto* p = reinterpret_cast<std::byte*>(out.data() + out_off);
                const std::size_t len = std::min(out.size() - out_off, snd_max);
                const auto b = xprt::buffer::holding(std::span<std::byte>(p, len), len);
                const std::size_t n = conn.snd_buf(b, len);
                out_off += n;
                progress |= n > 0;
            }
            if (out_off == out.size() && shut_when_sent && !shut_done && conn.tls() != nullptr &&
                !conn.flags.has(conn_flag::error)) {
                xprt::conn_shutw(conn, true);
                shut_done = true;
            }
            if (!progress) {
                break;
            }
        }
        xprt::sub_events ev;
        if (reading && !conn.flags.any(conn_flag::sock_rd_sh | conn_flag::error)) {
            ev |= xprt::sub_event::recv;
        }
        if ((out_off < out.size() || (shut_when_sent && !shut_done)) &&
            !conn.flags.has(conn_flag::error)) {
            ev |= xprt::sub_event::send;
        }
        if (!ev.empty() && conn.xprt) {
            conn.subscribe(ev, we);
        }
    }

    void send(const std::string& s) {
        out += s;
        task.wake();
    }
    [[nodiscard]] bool done() const noexcept { return conn.tls() != nullptr; }
    [[nodiscard]] bool failed() const noexcept { return conn.flags.has(xprt::conn_flag::error); }
    [[nodiscard]] bool ended() const noexcept { return done() || failed(); }
    [[nodiscard]] bool eof() const noexcept { return conn.flags.has(xprt::conn_flag::sock_rd_sh); }

    xprt::connection conn;
    event::tasklet task;
    xprt::wait_event we;
    std::vector<std::byte> area;
    std::string received;
    std::string out;
    std::size_t out_off = 0;
    std::size_t rcv_max = 65536;
    std::size_t snd_max = 1 << 20;
    std::size_t wakes = 0;
    bool reading = true;
    bool echo = false;
    bool shut_when_sent = false;
    bool shut_done = false;
};

/// Prepares `c` as a raw connection on `fd`, registered with its loop (CTRL_READY).
inline void prepare_raw(xprt::connection& c, int fd) {
    ASSERT_TRUE(xprt::conn_prepare(c, &raw::sock_ctrl(), &raw::ops()).has_value());
    c.handle.fd = fd;
    xprt::conn_ctrl_init(c);
}

/// A TLS server (on a()) and client (on b()) over a socketpair, both in one loop.
struct tls_pair {
    explicit tls_pair(event::loop& l)
        : loop(l), server(l, xprt::conn_side::frontend), client(l, xprt::conn_side::backend) {}

    /// SSL>RAW on both sides, started. Returns false (with a gtest failure) on setup errors.
    bool start(const ssl::context& sctx, const ssl::context& cctx,
               const ssl::conn_options& copt = {}) {
        if (!sp.ok()) {
            ADD_FAILURE() << "socketpair";
            return false;
        }
        prepare_raw(server.conn, sp.release_a());
        prepare_raw(client.conn, sp.release_b());
        if (auto r = ssl::attach(server.conn, sctx); !r) {
            ADD_FAILURE() << "server attach: " << r.error().what;
            return false;
        }
        if (auto r = ssl::attach(client.conn, cctx, copt); !r) {
            ADD_FAILURE() << "client attach: " << r.error().what;
            return false;
        }
        return launch();
    }

    /// Starts both chains and wakes both applications.
    bool launch() {
        if (!xprt::conn_xprt_start(server.conn) || !xprt::conn_xprt_start(client.conn)) {
            ADD_FAILURE() << "start";
            return false;
        }
        server.task.wake();
        client.task.wake();
        return true;
    }

    bool run_handshakes(int timeout_ms = 5000) {
        return run_until(
            loop, [&] { return server.ended() && client.ended(); }, timeout_ms);
    }

    event::loop& loop;
    socket_pair sp;
    endpoint server;
    endpoint client;
};

// --- contexts ---------------------------------------------------------------------------------

inline ssl::certificate pem_cert(const tls::issued& i) {
    ssl::certificate c;
    c.chain_pem = i.cert_pem;
    c.key_pem = i.key_pem;
    return c;
}

inline ssl::server_config server_config(const tls::issued& cert = tls::certs().server_ec) {
    ssl::server_config sc;
    sc.certificates.push_back(pem_cert(cert));
    return sc;
}

inline ssl::client_config client_config() {
    ssl::client_config cc;
    cc.ca_pem = tls::certs().ca.cert_pem;
    return cc;
}

inline ssl::context make_server(const ssl::server_config& sc) {
    auto r = ssl::context::server(sc);
    EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().what);
    return r ? *r : ssl::context{};
}

inline ssl::context make_client(const ssl::client_config& cc) {
    auto r = ssl::context::client(cc);
    EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().what);
    return r ? *r : ssl::context{};
}

}  // namespace xstack::test
