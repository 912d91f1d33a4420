// xprt/connection.h - the connection: handle, flags, error code, termination log, the top of
// its transport chain, and the life-cycle helpers that enforce the order of init and close.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "event/loop.h"
#include "xprt/conn_error.h"
#include "xprt/conn_flags.h"
#include "xprt/proxy_info.h"
#include "xprt/sock_addr.h"
#include "xprt/term_log.h"
#include "xprt/xprt_ops.h"

namespace xstack::xprt {

class connection;

/// Which side of a proxy a connection is on (for logs and the termination log).
enum class conn_side : std::uint8_t { frontend, backend };

/// The control layer: how the connection's handle is registered with the loop and released.
/// raw provides the socket implementation (raw::sock_ctrl()).
class ctrl_ops {
public:
    virtual ~ctrl_ops() = default;
    ctrl_ops() = default;
    ctrl_ops(const ctrl_ops&) = delete;
    ctrl_ops& operator=(const ctrl_ops&) = delete;

    [[nodiscard]] virtual std::string_view name() const noexcept = 0;
    /// Registers the handle with the connection's loop (with the connection's I/O callback).
    /// Both directions start ready, except while connecting (WAIT_L4_CONN): then send is
    /// active but not ready and recv is not ready, until the connect is confirmed.
    virtual void ctrl_init(connection& c) const noexcept = 0;
    /// Unregisters and closes the handle (with an RST if the linger risk is still set).
    virtual void ctrl_close(connection& c) const noexcept = 0;
    /// The socket's write shutdown (shutdown(SHUT_WR)).
    virtual void sock_shutw(connection& c) const noexcept = 0;
    /// Reads and discards pending input before a close (WANT_DRAIN). Returns true if the input
    /// ended (read0 or error), i.e. the close will not turn into an RST.
    virtual bool drain(connection& c) const noexcept = 0;
};

/// A connection. Layers share its flags and error code; only the owner's thread touches it.
///
/// Connected is derived, never stored: connected() == !(flags & (WAIT_L4_CONN|WAIT_L6_CONN)).
/// The layer that sees proof of connectivity clears WAIT_L4_CONN; only ssl clears WAIT_L6_CONN.
///
/// Destroying a connection that is still open force-closes it.
class connection {
public:
    explicit connection(event::loop& l, conn_side which = conn_side::frontend) noexcept
        : side(which), loop_(&l) {}
    ~connection();
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;

    [[nodiscard]] event::loop& loop() const noexcept { return *loop_; }

    // --- shared state (read and written by the layers) --------------------------------------

    /// The handle: an fd, or (with FDLESS) an opaque id; nothing above raw may assume an fd.
    union handle_t {
        int fd;
        std::uint64_t id;
    } handle{.fd = -1};
    conn_flags flags;
    conn_err err_code = conn_err::none;
    term_log term;
    /// The top of the chain. Upper code calls this layer.
    xprt_ref xprt;
    const ctrl_ops* ctrl = nullptr;
    /// The socket-level subscriber (managed by the bottom transport).
    wait_event* subs = nullptr;
    /// Real endpoints: src = peer for accepted connections, local for outgoing ones; dst the
    /// other end. A received PROXY header never overwrites them.
    sock_addr src;
    sock_addr dst;
    conn_side side;
    /// What a received PROXY / CIP header said (set by the handshake layer; nullptr if none).
    std::unique_ptr<proxy_info> proxy;
    /// Free for the owner (the application, the proxy's stream).
    void* owner = nullptr;

    // --- derived state ---------------------------------------------------------------------

    [[nodiscard]] int fd() const noexcept { return handle.fd; }
    [[nodiscard]] bool connected() const noexcept { return !flags.any(conn_mask::wait_l4l6); }
    /// No handshake, L4 or L6 wait pending: the transport carries application data.
    [[nodiscard]] bool transport_usable() const noexcept {
        return !flags.any(conn_mask::wait_xprt);
    }
    [[nodiscard]] bool is_backend() const noexcept { return side == conn_side::backend; }
    /// The original client: the source announced by a received PROXY/CIP header when it
    /// carried usable addresses, else the real peer (`src`).
    [[nodiscard]] const sock_addr& client_addr() const noexcept {
        return proxy && proxy->addresses_used ? proxy->src : src;
    }
    /// The address the client connected to (announced destination, else the real one).
    [[nodiscard]] const sock_addr& client_dst_addr() const noexcept {
        return proxy && proxy->addresses_used ? proxy->dst : dst;
    }

    /// Sets the error code unless one is already set (first writer wins). Does not set ERROR.
    void set_errcode(conn_err e) noexcept {
        if (err_code == conn_err::none) {
            err_code = e;
        }
    }
    /// Sets the code matching `err` (errno value), first writer wins.
    void set_errno_code(int err) noexcept { set_errcode(conn_err_from_errno(err)); }
    /// Marks the connection failed in both directions with `e` (first writer wins).
    void fail(conn_err e) noexcept {
        flags.set(conn_flags(conn_flag::error) | conn_flag::sock_rd_sh | conn_flag::sock_wr_sh);
        set_errcode(e);
    }
    /// Records a termination event at `where` on this connection's side.
    void report_term(term_loc where, term_type what) noexcept {
        term.add(where, what, is_backend());
    }

    // --- data calls on the top layer ------------------------------------------------------

    std::size_t rcv_buf(buffer& b, std::size_t count, rcv_flags f = {}) noexcept {
        return xprt.ops->rcv_buf(*this, xprt.ctx, b, count, f);
    }
    std::size_t snd_buf(const buffer& b, std::size_t count, snd_flags f = {}) noexcept {
        return xprt.ops->snd_buf(*this, xprt.ctx, b, count, f);
    }
    pipe_io rcv_pipe(pipe& p, std::size_t count) noexcept {
        return xprt.ops->rcv_pipe(*this, xprt.ctx, p, count);
    }
    pipe_io snd_pipe(pipe& p, std::size_t count) noexcept {
        return xprt.ops->snd_pipe(*this, xprt.ctx, p, count);
    }
    void subscribe(sub_events ev, wait_event& w) noexcept {
        xprt.ops->subscribe(*this, xprt.ctx, ev, w);
    }
    void unsubscribe(sub_events ev, wait_event& w) noexcept {
        xprt.ops->unsubscribe(*this, xprt.ctx, ev, w);
    }
    [[nodiscard]] splice_cap can_splice() const noexcept {
        return xprt.ops->can_splice(*this, xprt.ctx);
    }
    [[nodiscard]] std::string_view alpn() const noexcept { return xprt.ops->alpn(*this, xprt.ctx); }
    /// The chain's TLS session details, nullptr without TLS (or before its handshake ends).
    [[nodiscard]] const tls_info* tls() const noexcept {
        return xprt ? xprt.ops->tls(*this, xprt.ctx) : nullptr;
    }

private:
    event::loop* loop_;
};

// --- life cycle ---------------------------------------------------------------------------
//
// Accept side:  fd accepted -> conn_prepare(ctrl, xprt) -> conn_ctrl_init -> [handshake layers
//               inserted] -> conn_xprt_start.
// Connect side: conn_prepare(ctrl, xprt) -> [handshake layers] -> socket + connect (raw::
//               tcp_connect sets the fd, WAIT_L4_CONN, and calls conn_ctrl_init) ->
//               conn_xprt_start.
// Close:        conn_full_close = conn_xprt_close (top-down, unless XPRT_TRACKED) then
//               conn_ctrl_close (only once the transport is closed).
// Flags (CTRL_READY, XPRT_READY), not pointers, say what is initialised.

/// Sets the control layer and initialises `top` as the chain's only layer (no I/O). With a
/// null `top` (transport not built in) fails with NO_XPRT.
result<void> conn_prepare(connection& c, const ctrl_ops* ctrl, const xprt_ops* top) noexcept;
/// Registers the handle with the loop (sets CTRL_READY). Idempotent.
void conn_ctrl_init(connection& c) noexcept;
/// Starts the chain (sets XPRT_READY on success). Idempotent.
result<void> conn_xprt_start(connection& c) noexcept;
/// Closes the chain top-down unless XPRT_TRACKED; clears XPRT_READY and the top.
void conn_xprt_close(connection& c) noexcept;
/// Releases the handle once the chain is closed: drains if WANT_DRAIN and no read0, then
/// unregisters and closes (RST if the linger risk remains). Clears CTRL_READY.
void conn_ctrl_close(connection& c) noexcept;
/// conn_xprt_close then conn_ctrl_close.
void conn_full_close(connection& c) noexcept;
/// Clears XPRT_TRACKED and fully closes (error paths, forced kills).
void conn_force_close(connection& c) noexcept;
/// Write shutdown at socket level: sets SOCK_WR_SH and, if `clean` and no read0 was seen,
/// calls shutdown(SHUT_WR) (after a read0 the close that follows sends the FIN).
void conn_sock_shutw(connection& c, bool clean) noexcept;
/// Read shutdown seen at socket level: sets SOCK_RD_SH and clears the fd's linger risk (the
/// peer's FIN was seen, the port will not be stuck).
void conn_sock_read0(connection& c) noexcept;
/// Layer-level write shutdown of the whole chain (TLS close_notify), then the socket's.
void conn_shutw(connection& c, bool clean) noexcept;

// --- chain surgery ------------------------------------------------------------------------

/// Inits a layer of `ops` and inserts it: above the top when the top is raw, otherwise just
/// below the top (so a TLS listener with a handshake layer gives SSL>HS>RAW). Refused once
/// ERROR is set. The new layer's context is returned (nullptr on failure, with err_code).
xprt_ctx* conn_insert_xprt(connection& c, const xprt_ops& ops) noexcept;
/// Unlinks the layer whose context is `ctx` (does not close or free it): when it is the top,
/// its lower layer becomes the top; otherwise the layer above it takes its lower layer.
/// Returns false if no such layer is in the chain.
bool conn_remove_xprt(connection& c, const xprt_ctx* ctx) noexcept;
/// The chain from the top, e.g. "SSL>HS>RAW" ("-" when there is none).
[[nodiscard]] std::string conn_chain(const connection& c);
/// Number of layers in the chain.
[[nodiscard]] std::size_t conn_chain_depth(const connection& c) noexcept;
/// One line per layer plus the connection's state, for "show conn".
[[nodiscard]] std::string conn_show(const connection& c);

}  // namespace xstack::xprt
