// raw/sock.h - stream sockets (TCP over IPv4/IPv6, UNIX): listen, accept, connect with TCP
// Fast Open, name resolution, and a listener that accepts from the event loop.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "event/loop.h"
#include "xprt/connection.h"
#include "xprt/result.h"
#include "xprt/sock_addr.h"

namespace xstack::raw {

struct listen_options {
    int backlog = 1024;
    bool reuseport = false;  ///< SO_REUSEPORT: one listener per thread on the same address
    int tfo_queue = 0;       ///< > 0: TCP_FASTOPEN with this queue length
    bool v6only = false;
    bool unlink_unix = true;  ///< UNIX: remove a stale socket file before bind
    int unix_mode = 0;        ///< UNIX: chmod the socket file to this mode when non-zero
    /// TCP: TCP_NODELAY on the listening socket. Linux copies it to every accepted socket, so
    /// accept_init from a `listener` saves one setsockopt per connection.
    bool nodelay = true;
};

/// A non-blocking, close-on-exec listening socket bound to `addr` (port 0: any free port).
result<int> listen_socket(const xprt::sock_addr& addr, const listen_options& opt = {}) noexcept;

/// The address a socket is bound to (getsockname).
result<xprt::sock_addr> local_address(int fd) noexcept;
/// The peer of a connected socket (getpeername).
result<xprt::sock_addr> peer_address(int fd) noexcept;

/// Accepts one pending connection (non-blocking, close-on-exec). Returns the fd, or -1 with
/// errno (EAGAIN when none is pending).
int accept_socket(int lfd, xprt::sock_addr* peer) noexcept;

/// Resolves "HOST:PORT", "[V6]:PORT" or "unix:PATH"; HOST may be a name (getaddrinfo: a
/// blocking control-path call). Numeric forms never touch the resolver.
result<std::vector<xprt::sock_addr>> resolve(std::string_view host_port);

struct connect_options {
    bool tfo = false;           ///< TCP Fast Open, used only when data_pending (see below)
    bool data_pending = false;  ///< data will be sent right away (TFO puts them in the SYN)
    bool nodelay = true;        ///< TCP_NODELAY
    bool linger_risk = true;    ///< TCP: close with RST while unread input remains (until FIN)
    /// Learn the local address (`src`) with getsockname right away. A caller that needs it only
    /// for display can say false and save the syscall; `src` then stays empty (see
    /// fill_local_address).
    bool fetch_source = true;
    const xprt::sock_addr* source = nullptr;  ///< bind to this address first
};

/// Creates a socket towards `to` and connects it without blocking. On return the connection
/// has its fd, `dst` (and `src` when known), is registered with the loop (conn_ctrl_init) and
/// has WAIT_L4_CONN set unless the connect completed at once. TFO is requested with
/// TCP_FASTOPEN_CONNECT only when `tfo && data_pending` (otherwise a later connect() probe
/// could be told EINPROGRESS instead of EISCONN). The chain must be prepared (conn_prepare)
/// before, and started (conn_xprt_start) after. On failure the connection has ERROR and a code.
result<void> connect_socket(xprt::connection& c, const xprt::sock_addr& to,
                            const connect_options& opt = {}) noexcept;

class listener;

/// Sets up an accepted socket on `c`: fd, addresses, TCP_NODELAY, ctrl init (both directions
/// ready: the first recv is speculative). The chain must be prepared first. `from` is the
/// listener that accepted `fd`, if any. Its address, when it names one address (not a wildcard
/// such as 0.0.0.0 or ::), is the connection's `dst`, so no getsockname is needed; and when the
/// listener has TCP_NODELAY (listen_options::nodelay), the accepted socket inherited it, so no
/// setsockopt is needed. Without `from`, both calls are made.
void accept_init(xprt::connection& c, int fd, const xprt::sock_addr& peer,
                 const listener* from = nullptr) noexcept;

/// Fills `c.src` with getsockname if it is still empty (connect_options::fetch_source false).
void fill_local_address(xprt::connection& c) noexcept;

/// True if this kernel accepts TCP_FASTOPEN_CONNECT (checked once).
[[nodiscard]] bool tfo_client_supported() noexcept;

/// A listening socket driven by a loop: the fd callback wakes a tasklet that accepts in
/// batches and hands each fd to `on_accept`. Accepting pauses for 100 ms when the process is
/// out of fds (EMFILE/ENFILE) instead of spinning.
class listener {
public:
    using accept_fn = void (*)(void* ctx, int fd, const xprt::sock_addr& peer) noexcept;

    listener(event::loop& l, accept_fn fn, void* ctx) noexcept;
    ~listener();
    listener(const listener&) = delete;
    listener& operator=(const listener&) = delete;

    /// Binds, listens and starts accepting.
    result<void> open(const xprt::sock_addr& addr, const listen_options& opt = {}) noexcept;
    /// Stops accepting and closes the socket.
    void close() noexcept;
    [[nodiscard]] int fd() const noexcept { return fd_; }
    [[nodiscard]] const xprt::sock_addr& address() const noexcept { return addr_; }
    /// True when the listening socket has TCP_NODELAY (read back at open): accepted sockets
    /// inherit it.
    [[nodiscard]] bool nodelay() const noexcept { return nodelay_; }

    struct stats_t {
        std::uint64_t accepted = 0;
        std::uint64_t errors = 0;
        std::uint64_t paused = 0;
    };
    [[nodiscard]] const stats_t& stats() const noexcept { return stats_; }
    /// Connections accepted per wakeup at most (then the tasklet yields to the loop).
    void set_batch(int n) noexcept { batch_ = n > 0 ? n : 1; }

private:
    static void iocb(void* owner, int fd) noexcept;
    static void run(event::tasklet& t, void* ctx) noexcept;

    event::loop& loop_;
    accept_fn fn_;
    void* ctx_;
    int fd_ = -1;
    int batch_ = 64;
    xprt::sock_addr addr_;
    bool nodelay_ = false;
    event::tasklet task_;
    event::timer pause_;
    stats_t stats_;
};

}  // namespace xstack::raw
