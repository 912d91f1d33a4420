// xprt/xprt_ops.h - THE TRANSPORT CONTRACT. Every transport (raw, ssl, handshake, test fakes)
// implements xprt_ops; this header is the one place where the contract is written down.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "event/flag_set.h"
#include "xprt/buffer.h"
#include "xprt/pipe.h"
#include "xprt/result.h"
#include "xprt/tls_info.h"
#include "xprt/wait_event.h"

namespace xstack::xprt {

class connection;

/// Registry slot of a transport. Values are stable; the array has room for more.
enum class xprt_id : std::uint8_t {
    raw = 0,        ///< the socket
    ssl = 1,        ///< OpenSSL over the layer below
    handshake = 2,  ///< PROXY / CIP / SOCKS4 pseudo-transport (removes itself when done)
    test = 7,       ///< reserved for test fakes
};
inline constexpr std::size_t xprt_id_count = 8;
[[nodiscard]] std::string_view to_string(xprt_id id) noexcept;

/// Receive flags (library flags; never raw MSG_* values).
enum class rcv_flag : std::uint8_t {
    read_once = 1,   ///< at most one syscall, even after a full read
    peek = 2,        ///< copy without consuming: the bytes stay queued below
    try_harder = 4,  ///< don't stop on a short read; after reading exactly `count`, peek one
                     ///< byte to detect an immediately following FIN
    all_queued = 8,  ///< the caller knows (from a short peek) that `count` bytes were all that
                     ///< was queued: a read of exactly `count` leaves recv "not ready", so the
                     ///< next wait costs no failed recv
};
XS_FLAG_ENUM(rcv_flag)
using rcv_flags = flag_set<rcv_flag>;

/// Send flags.
enum class snd_flag : std::uint8_t {
    more = 1,       ///< more data follow soon: the socket may delay (kernel MSG_MORE)
    streamer = 2,   ///< continuous stream: layers may use large records
    last_data = 4,  ///< a shutdown follows these data
};
XS_FLAG_ENUM(snd_flag)
using snd_flags = flag_set<snd_flag>;

/// Answer to "can this chain splice?".
enum class splice_cap : std::uint8_t {
    cannot,       ///< never on this connection
    could_later,  ///< not now (e.g. a layer still holds data or is handshaking), maybe later
    can,          ///< yes: no user-space layer transforms the bytes
};

/// Base of every per-connection layer context. A stacking layer keeps its lower layer here.
/// Identity matters: chain surgery finds a layer by comparing context pointers.
struct xprt_ctx {
    const class xprt_ops* below_ops = nullptr;
    xprt_ctx* below = nullptr;
};

/// A layer of a chain: its (stateless) operations and its (per-connection) context. The
/// bottom transport `raw` has no context (ctx == nullptr).
struct xprt_ref {
    const class xprt_ops* ops = nullptr;
    xprt_ctx* ctx = nullptr;
    [[nodiscard]] explicit operator bool() const noexcept { return ops != nullptr; }
    bool operator==(const xprt_ref&) const noexcept = default;
};

/// The operations of one transport: one static, stateless instance per transport, registered
/// under its xprt_id.
///
/// Chain
///   A connection holds the TOP layer (connection::xprt). Each layer's context keeps the layer
///   below; `raw` is always the bottom and is the only code that touches the socket. Upper code
///   (an application, the proxy's stream, a test) always calls the top layer; each layer calls
///   the one below. Example chains: "RAW", "HS>RAW", "SSL>RAW", "SSL>HS>RAW" (the PROXY header
///   precedes TLS on the wire, so the handshake layer sits below ssl).
///
/// Threading
///   A connection and all its layers are used only by the thread of the loop that owns it.
///
/// Data path (rcv_buf, snd_buf, rcv_pipe, snd_pipe, subscribe, unsubscribe)
///   noexcept; no heap allocation; no blocking call; one indirect call per layer. The return
///   value only counts bytes. Every other outcome is reported through connection flags:
///     - conn_flag::sock_rd_sh   the peer will send nothing more (read0, or error)
///     - conn_flag::sock_wr_sh   nothing can be sent any more
///     - conn_flag::error        the connection failed; connection::err_code says why (always
///                               set with ERROR; errno == 0 with ERROR means "see SO_ERROR")
///     - conn_flag::wait_l4_conn cleared by the layer that sees proof of connectivity
///     - conn_flag::wait_room    rcv_pipe stopped because the pipe is (presumed) full
///   So after a call that returned 0 the caller checks, in order: ERROR (give up), SOCK_RD_SH
///   (end of input), else subscribe and wait. A call returning > 0 may also have set SOCK_RD_SH
///   (data followed by a FIN): process the data, then see the flag.
///
/// Subscriptions (subscribe / unsubscribe with a wait_event)
///   - Subscribe only after an operation returned less than wanted (0, or a short transfer).
///   - One subscriber per layer: while a wait_event has events registered, no other wait_event
///     may subscribe to the same layer; unsubscribe must pass the same pointer.
///   - Events are one-shot: when delivered, the layer clears the event's bit in the wait_event
///     and wakes its tasklet; the woken code calls the layer again and re-subscribes if needed.
///   - If the direction is already known ready, subscribe wakes the tasklet at once (no poller
///     syscall) instead of recording the event.
///   - A layer busy with its own handshake only records the upper subscriber and wakes it when
///     the handshake ends (or fails); afterwards it forwards subscriptions downward.
///   - On error, subscribers are woken (with their events cleared) so they can see ERROR.
///   - Never subscribe or unsubscribe a wait_event from inside the same layer's delivery of it
///     other than by the woken tasklet itself (the wake is deferred through the run queue, so a
///     tasklet may always re-subscribe when it runs).
///
/// Life cycle
///   init (no I/O) for each layer, bottom-up as the chain is built -> start on the top layer
///   once the whole chain exists (each layer starts the one below first) -> data calls ->
///   close on the top layer (each layer closes the one below). connection.h has the helpers
///   that enforce the order with connection flags (CTRL_READY, XPRT_READY, XPRT_TRACKED).
class xprt_ops {
public:
    virtual ~xprt_ops() = default;
    xprt_ops() = default;
    xprt_ops(const xprt_ops&) = delete;
    xprt_ops& operator=(const xprt_ops&) = delete;

    /// Registry slot.
    [[nodiscard]] virtual xprt_id id() const noexcept = 0;
    /// Short stable name (at most 8 characters, upper case): "RAW", "SSL", "HS".
    [[nodiscard]] virtual std::string_view name() const noexcept = 0;

    // --- life cycle --------------------------------------------------------------------

    /// Creates this layer's context for `c` into `ctx`. Idempotent: when `ctx` is already set,
    /// returns success without doing anything. Does no I/O. Control path (may allocate).
    /// @return success, or an error whose `code` is also set on the connection.
    virtual result<void> init(connection& c, xprt_ctx*& ctx) const noexcept = 0;

    /// Called once the whole chain exists (on the top layer, by conn_xprt_start): starts the
    /// layer below first, then begins this layer's own work. Handshakes start speculatively,
    /// without waiting for a poll event (they wake their own tasklet).
    virtual result<void> start(connection& c, xprt_ctx* ctx) const noexcept;

    /// Releases this layer exactly once: unsubscribes its own wait_event from the layer below,
    /// wakes an upper subscriber (with its events cleared), closes the layer below, frees the
    /// context. After close the layer must not be used; `ctx` is dangling.
    virtual void close(connection& c, xprt_ctx* ctx) const noexcept = 0;

    // --- data ---------------------------------------------------------------------------

    /// Appends at most `count` bytes to the tail of `buf` (never more than its free space;
    /// a wrapped free space is filled in one go).
    /// @return bytes appended. 0 means "nothing now"; the reason is in the connection flags
    ///         (see the class comment): nothing available yet (subscribe to sub_event::recv),
    ///         read0 (SOCK_RD_SH), failure (ERROR), or the layer is still in a handshake
    ///         (subscribe; you will be woken when it ends).
    /// @note rcv_flag::peek leaves the bytes queued below (handshake layers peek, then consume
    ///       exactly what belongs to their header) and does not change readiness, except that
    ///       nothing queued means not ready and a FIN at the head means read0. Layers in a
    ///       handshake return 0.
    virtual std::size_t rcv_buf(connection& c, xprt_ctx* ctx, buffer& buf, std::size_t count,
                                rcv_flags flags) const noexcept = 0;

    /// Sends at most `count` bytes from the head of `buf` (a wrapped buffer in one go). The
    /// buffer is not modified: the caller consumes what was sent.
    /// @return bytes sent. Less than `count` means the layer below cannot take more now
    ///         (subscribe to sub_event::send) or failed (ERROR). After SOCK_WR_SH, a send fails
    ///         with ERROR and err_code EPIPE, without a syscall.
    /// @note snd_flag::more says more data follow (raw maps it to kernel MSG_MORE).
    virtual std::size_t snd_buf(connection& c, xprt_ctx* ctx, const buffer& buf, std::size_t count,
                                snd_flags flags) const noexcept = 0;

    /// Splices up to `count` bytes from the connection into `p` (p.data grows).
    /// @return bytes moved; `not_supported` when this chain cannot splice (nothing was moved;
    ///         fall back to buffers and do not call again). Stops early with WAIT_ROOM when the
    ///         pipe is presumed full. Default: not supported.
    virtual pipe_io rcv_pipe(connection& c, xprt_ctx* ctx, pipe& p,
                             std::size_t count) const noexcept;

    /// Splices up to min(count, p.data) bytes from `p` to the connection (p.data shrinks).
    /// Same answers as rcv_pipe. Default: not supported.
    virtual pipe_io snd_pipe(connection& c, xprt_ctx* ctx, pipe& p,
                             std::size_t count) const noexcept;

    /// Registers `w` for `events` (see the class comment for the rules).
    virtual void subscribe(connection& c, xprt_ctx* ctx, sub_events events,
                           wait_event& w) const noexcept = 0;
    /// Removes `events` from `w`'s registration (w must be the subscribed wait_event).
    virtual void unsubscribe(connection& c, xprt_ctx* ctx, sub_events events,
                             wait_event& w) const noexcept = 0;

    /// Layer-level write shutdown (TLS: close_notify when `clean`). The socket's
    /// shutdown(SHUT_WR) is conn_sock_shutw's job, not a transport's. Default: forward down.
    virtual void shutw(connection& c, xprt_ctx* ctx, bool clean) const noexcept;

    // --- chain surgery (by context identity) ---------------------------------------------

    /// Makes `to_add` this layer's lower layer; the previous lower layer is returned in
    /// `old` (if non-null). Returns false if this layer refuses. Default: accept, using the
    /// xprt_ctx links (a layer without context, such as raw, refuses).
    virtual bool add_xprt(connection& c, xprt_ctx* ctx, xprt_ref to_add,
                          xprt_ref* old) const noexcept;
    /// If this layer's lower context is `to_remove`, replaces the lower layer by `replacement`
    /// and returns true; otherwise forwards the request downward. Reaching raw is a bug
    /// (asserted) and returns false.
    virtual bool remove_xprt(connection& c, xprt_ctx* ctx, const xprt_ctx* to_remove,
                             xprt_ref replacement) const noexcept;

    // --- introspection --------------------------------------------------------------------

    /// The layer below (empty for raw). Default: the xprt_ctx links.
    [[nodiscard]] virtual xprt_ref below(const xprt_ctx* ctx) const noexcept;
    /// can: no layer from here down transforms bytes. Default: ask the layer below (right for a
    /// pass-through layer); a layer that transforms bytes must answer cannot or could_later.
    [[nodiscard]] virtual splice_cap can_splice(const connection& c,
                                                const xprt_ctx* ctx) const noexcept;
    /// Negotiated application protocol (ALPN), empty if none. Default: ask the layer below.
    [[nodiscard]] virtual std::string_view alpn(const connection& c,
                                                const xprt_ctx* ctx) const noexcept;
    /// The TLS session of the nearest TLS layer from here down, or nullptr (no TLS, or its
    /// handshake has not completed). Default: ask the layer below.
    [[nodiscard]] virtual const tls_info* tls(const connection& c,
                                              const xprt_ctx* ctx) const noexcept;
    /// Appends a one-line debug description of this layer's state (control path).
    virtual void show(const connection& c, const xprt_ctx* ctx, std::string& out) const;
};

}  // namespace xstack::xprt
