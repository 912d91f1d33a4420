// raw/raw_sock.h - the bottom transport ("RAW"): the only code that calls recv/send/splice on
// a socket, and the socket control layer (fd registration, connect probe, shutdown, close).
//
// Rules (each has a test named after it in tests/raw/raw_sock_test.cc, and a line in
// docs/internals/raw-rules.md):
//   R1  no syscall unless CTRL_READY            R2  no syscall when the direction is known not
//   R3  WAIT_ROOM and errno cleared on entry        ready (or after read0 on the read side)
//   R4  poll-report shortcuts: HUP without IN => read0, ERR while connecting => failure, both
//       without a syscall
//   R5  one syscall covers the whole free space (recv, or recvmsg when it wraps); EINTR retried
//   R6  short read => recv not ready            R7  short read + HUP/RDHUP known => read0 now
//   R8  short read on an fd with linger risk, RDHUP not known: one more recv to catch the FIN
//   R9  READ_ONCE: one syscall (PEEK: bytes stay queued, readiness unchanged; ALL_QUEUED: a
//       full read of what a short peek showed leaves recv not ready)
//   R10 read0 => SOCK_RD_SH, linger risk cleared,
//       WAIT_L4_CONN cleared; a queued POLL_ERR is reported only if no data came in this call
//   R11 EAGAIN/EWOULDBLOCK/ENOTCONN => not ready, no error
//   R12 other errno => ERROR|SOCK_RD_SH|SOCK_WR_SH and the matching code
//   R13 TRY_HARDER: read on after short reads; a read of exactly `count` peeks one byte for FIN
//   R14 a byte received clears WAIT_L4_CONN
//   R15 send with POLL_ERR known => failure without a syscall (errno EPIPE)
//   R16 send after SOCK_WR_SH => ERROR, EPIPE, no syscall (snd_buf and snd_pipe)
//   R17 MSG_DONTWAIT|MSG_NOSIGNAL always; one syscall (send, or sendmsg when the data wrap)
//   R18 snd_flag::more => MSG_MORE             R19 short write => send not ready; complete
//       write => write interest dropped
//   R20 send 0, EAGAIN/EWOULDBLOCK/ENOTCONN/EINPROGRESS => not ready, no error
//   R21 other errno => ERROR|SOCK_RD_SH|SOCK_WR_SH + code    R22 a byte sent clears WAIT_L4_CONN
//   R23 bytes sent counted per thread, rate in 32-byte units
//   R24 rcv_pipe: same preconditions; SPLICE_F_MOVE|SPLICE_F_NONBLOCK; at most 1 GiB per call
//   R25 splice 0 => read0                       R26 EAGAIN with data in the pipe => WAIT_ROOM
//       (pipe presumed full); with an empty pipe => recv not ready
//   R27 ENOSYS/EBADF before anything moved => not supported; EINVAL => stop without error
//   R28 stop before a certain EAGAIN: pipe holding its slot count x 1448 bytes, or one splice
//       >= 7 x 1448 bytes => WAIT_ROOM
//   R29 spliced bytes counted as sent and as spliced
//   R30 snd_pipe: preconditions, EPIPE rule, count capped to the pipe; short splice => not ready
//   R31 every errno failure sets its code        R32 subscribe/unsubscribe at socket level; an
//       already-ready direction wakes at once
//   R33 close cancels the socket-level subscription   R34 remove_xprt reaching raw is a bug
//   R35 can_splice => can                        R36 socket shutdowns are connection helpers
#pragma once

#include <cstddef>

#include "xprt/connection.h"
#include "xprt/xprt_ops.h"

namespace xstack::raw {

/// The raw transport's operations (registry slot xprt_id::raw).
[[nodiscard]] const xprt::xprt_ops& ops() noexcept;

/// The socket control layer: registers the fd with the connection's loop using the
/// connection I/O callback, closes with the linger rules, shuts down, drains.
[[nodiscard]] const xprt::ctrl_ops& sock_ctrl() noexcept;

/// Tunables of the splice path.
inline constexpr std::size_t typical_mss = 1448;
inline constexpr std::size_t recv_enough = 7 * typical_mss;
inline constexpr std::size_t max_splice_at_once = std::size_t{1} << 30;

/// Bytes above which a pipe of `capacity` bytes is presumed full: one MSS per pipe slot (a
/// slot per page; a 64 KiB pipe holds 16 segments of 1448 bytes, i.e. 23,168 bytes).
[[nodiscard]] constexpr std::size_t pipe_full_hint(std::size_t capacity) noexcept {
    const std::size_t slots = capacity >= 4096 ? capacity / 4096 : 16;
    return slots * typical_mss;
}

/// The connect probe, run by the I/O callback while WAIT_L4_CONN is set and a direction is
/// ready: true once connected (WAIT_L4_CONN cleared, send ready, recv ready unless polled);
/// false while still connecting or on failure (then ERROR is set with the code).
bool conn_probe(xprt::connection& c) noexcept;

}  // namespace xstack::raw
