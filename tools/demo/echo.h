// tools/demo/echo.h - a keep-alive echo server and a request/response client built on the
// transport chain: what the demo runs and what the end-to-end tests measure.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "event/loop.h"
#include "handshake/hs.h"
#include "raw/sock.h"
#include "xprt/buffer.h"
#include "xprt/connection.h"
#include "xprt/proxy_info.h"

namespace xstack::demo {

struct echo_server_stats {
    std::uint64_t sessions = 0;  ///< accepted (ever)
    std::uint64_t closed = 0;    ///< finished (ever)
    std::uint64_t bytes_in = 0;
    std::uint64_t bytes_out = 0;
};

/// Echoes every byte back on each accepted connection; closes once the client has shut its
/// side and everything was sent back.
class echo_server {
public:
    explicit echo_server(event::loop& l) noexcept;
    ~echo_server();
    echo_server(const echo_server&) = delete;
    echo_server& operator=(const echo_server&) = delete;

    result<void> open(const xprt::sock_addr& addr, const raw::listen_options& opt = {});
    [[nodiscard]] const xprt::sock_addr& address() const noexcept { return listener_.address(); }
    [[nodiscard]] const echo_server_stats& stats() const noexcept { return stats_; }
    [[nodiscard]] std::size_t open_sessions() const noexcept { return sessions_.size(); }
    /// The fd of the most recently accepted connection (-1 before the first).
    [[nodiscard]] int last_fd() const noexcept { return last_fd_; }
    /// The connection of an open session, for inspection (nullptr if none).
    [[nodiscard]] const xprt::connection* session_conn(std::size_t i) const noexcept;

    /// Every connection accepted from now on must start with a PROXY header (v1 or v2): the
    /// handshake layer is attached with ACCEPT_PROXY (HS>RAW until the header is in, then RAW)
    /// and the header's source becomes the connection's client_addr(). nullptr: plain RAW.
    /// `cfg` must outlive the server.
    void set_accept_proxy(const handshake::hs_config* cfg) noexcept { accept_proxy_ = cfg; }
    /// The chain of the most recently accepted connection as built at accept ("HS>RAW").
    [[nodiscard]] const std::string& accept_chain() const noexcept { return accept_chain_; }
    /// The client address of the most recently finished session (the PROXY header's source
    /// when one was received, else the TCP peer) and where it came from.
    [[nodiscard]] const xprt::sock_addr& last_client() const noexcept { return last_client_; }
    [[nodiscard]] xprt::proxy_source last_client_source() const noexcept {
        return last_client_source_;
    }

    struct session;  // one accepted connection (echo.cc)

private:
    static void on_accept(void* ctx, int fd, const xprt::sock_addr& peer) noexcept;
    void finished(session* s) noexcept;

    event::loop& loop_;
    raw::listener listener_;
    std::vector<session*> sessions_;
    echo_server_stats stats_;
    int last_fd_ = -1;
    const handshake::hs_config* accept_proxy_ = nullptr;
    std::string accept_chain_;
    xprt::sock_addr last_client_;
    xprt::proxy_source last_client_source_ = xprt::proxy_source::none;
};

/// Sends `requests` requests of `size` bytes one after the other on one connection, waiting
/// for each echo (checked byte by byte) before sending the next, then shuts down and waits for
/// the server's close. When done (or failed) it stops the loop, so `loop.run()` returns.
class echo_client {
public:
    echo_client(event::loop& l, std::size_t size, std::size_t requests) noexcept;
    ~echo_client();
    echo_client(const echo_client&) = delete;
    echo_client& operator=(const echo_client&) = delete;

    /// Called by start() once the chain is prepared (RAW) and before the connect, to add
    /// layers: handshake::attach (SEND_PROXY), ssl::attach (TLS). An error aborts start().
    using setup_fn = result<void> (*)(xprt::connection& c, void* ctx) noexcept;
    void set_setup(setup_fn fn, void* ctx) noexcept {
        setup_ = fn;
        setup_ctx_ = ctx;
    }

    result<void> start(const xprt::sock_addr& to);
    [[nodiscard]] bool done() const noexcept { return done_; }
    [[nodiscard]] bool failed() const noexcept { return failed_; }
    [[nodiscard]] std::size_t completed() const noexcept { return completed_; }
    [[nodiscard]] int fd() const noexcept { return fd_; }
    [[nodiscard]] const xprt::connection& conn() const noexcept { return conn_; }
    /// Error code if failed (first writer wins), or NONE.
    [[nodiscard]] xprt::conn_err error() const noexcept { return err_; }

private:
    static void run(event::tasklet& t, void* ctx) noexcept;
    void step() noexcept;
    void finish(bool ok) noexcept;

    event::loop& loop_;
    xprt::connection conn_;
    xprt::pool_buffer buf_;
    event::tasklet task_;
    xprt::wait_event we_;
    std::size_t size_;
    std::size_t requests_;
    std::size_t completed_ = 0;
    std::size_t got_ = 0;
    bool sending_ = true;
    bool shut_ = false;
    bool done_ = false;
    bool failed_ = false;
    int fd_ = -1;
    xprt::conn_err err_ = xprt::conn_err::none;
    setup_fn setup_ = nullptr;
    void* setup_ctx_ = nullptr;
};

}  // namespace xstack::demo
