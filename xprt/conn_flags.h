// xprt/conn_flags.h - the connection's flag word: every bit named and documented.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "event/flag_set.h"

namespace xstack::xprt {

// X(enumerator, bit, "NAME", "meaning; who sets it; who clears it").
// Handshake bits sit together (16..20) so that `handshake` is one mask.
#define XS_CONN_FLAGS(X)                                                                      \
    X(wait_l4_conn, 0, "WAIT_L4_CONN",                                                        \
      "L4 not confirmed; set by connect, cleared by the transport that sees proof (a byte, "  \
      "read0, probe)")                                                                        \
    X(wait_l6_conn, 1, "WAIT_L6_CONN", "L6 (TLS) not confirmed; set and cleared by ssl only") \
    X(ctrl_ready, 2, "CTRL_READY", "control layer ready: fd registered with the loop")        \
    X(xprt_ready, 3, "XPRT_READY", "transport chain started")                                 \
    X(xprt_tracked, 4, "XPRT_TRACKED", "transport kept for late logging; blocks xprt close")  \
    X(sock_rd_sh, 5, "SOCK_RD_SH", "read shutdown seen at socket level (read0 or error)")     \
    X(sock_wr_sh, 6, "SOCK_WR_SH", "write shutdown done or forced at socket level")           \
    X(error, 7, "ERROR", "fatal error; the connection's error code says which")               \
    X(wait_room, 8, "WAIT_ROOM", "data sink full (splice pipe presumed full)")                \
    X(fdless, 9, "FDLESS", "the handle is an opaque id, not a file descriptor")               \
    X(ssl_wait_hs, 10, "SSL_WAIT_HS", "TLS handshake in progress")                            \
    X(rcvd_proxy, 11, "RCVD_PROXY", "a PROXY header was received")                            \
    X(want_drain, 12, "WANT_DRAIN", "drain unread input before close to avoid an RST")        \
    X(accept_proxy, 16, "ACCEPT_PROXY", "a PROXY header must be received")                    \
    X(send_proxy, 17, "SEND_PROXY", "a PROXY header must be sent")                            \
    X(accept_cip, 18, "ACCEPT_CIP", "a NetScaler CIP header must be received")                \
    X(socks4_send, 19, "SOCKS4_SEND", "a SOCKS4 request must be sent")                        \
    X(socks4_recv, 20, "SOCKS4_RECV", "a SOCKS4 reply must be received")

enum class conn_flag : std::uint32_t {
#define XS_X(e, bit, name, doc) e = 1u << (bit),
    XS_CONN_FLAGS(XS_X)
#undef XS_X
};
XS_FLAG_ENUM(conn_flag)

using conn_flags = flag_set<conn_flag>;

/// Composite masks (not bits of their own).
namespace conn_mask {
inline constexpr conn_flags wait_l4l6 = conn_flag::wait_l4_conn | conn_flag::wait_l6_conn;
inline constexpr conn_flags handshake = conn_flags(conn_flag::accept_proxy) |
                                        conn_flag::send_proxy | conn_flag::accept_cip |
                                        conn_flag::socks4_send | conn_flag::socks4_recv;
inline constexpr conn_flags socks4 = conn_flag::socks4_send | conn_flag::socks4_recv;
/// "transport not usable yet"
inline constexpr conn_flags wait_xprt = wait_l4l6 | handshake;
/// Conditions an upper layer must be told about.
inline constexpr conn_flags notify_done =
    conn_flags(conn_flag::sock_rd_sh) | conn_flag::sock_wr_sh | conn_flag::error;
/// Every named bit.
inline constexpr conn_flags all = conn_flags::from_bits(0
#define XS_X(e, bit, name, doc) | (1u << (bit))
                                                        XS_CONN_FLAGS(XS_X)
#undef XS_X
);
}  // namespace conn_mask

/// "NAME|NAME|..." for the set bits, unknown bits as one trailing "0x..." term; "0" if empty.
[[nodiscard]] std::string to_string(conn_flags f);
/// Name of a single flag, e.g. "WAIT_L4_CONN".
[[nodiscard]] std::string_view to_string(conn_flag f) noexcept;
/// Parses "A|B|0x10" (names as printed by to_string, or numbers); false on an unknown name.
[[nodiscard]] bool conn_flags_from_string(std::string_view s, conn_flags& out);
/// Documentation line of a flag (from the table above).
[[nodiscard]] std::string_view describe(conn_flag f) noexcept;

}  // namespace xstack::xprt
