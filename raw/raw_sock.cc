// raw/raw_sock.cc - the raw transport and the socket control layer.
#include "raw/raw_sock.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "event/sys.h"
#include "raw/pipe_pool.h"
#include "raw/traffic.h"
#include "xprt/assert.h"
#include "xprt/ledger.h"

namespace xstack::raw {

using event::fd_bit;
using event::fd_bits;
using event::fd_table;
using xprt::buffer;
using xprt::conn_err;
using xprt::conn_flag;
using xprt::conn_flags;
using xprt::connection;
using xprt::pipe_io;
using xprt::rcv_flag;
using xprt::rcv_flags;
using xprt::snd_flag;
using xprt::snd_flags;
using xprt::sub_event;
using xprt::sub_events;
using xprt::term_loc;
using xprt::term_type;
using xprt::wait_event;
using xprt::xprt_ctx;
using xprt::xprt_ref;

namespace {

constexpr int send_flags_base = MSG_DONTWAIT | MSG_NOSIGNAL;
constexpr unsigned splice_flags = SPLICE_F_MOVE | SPLICE_F_NONBLOCK;

bool would_block(int e) noexcept {
    return e == EAGAIN || e == EWOULDBLOCK || e == ENOTCONN;
}

/// Fails the connection in both directions with the code of `e` (R12, R21, R31).
void fail_errno(connection& c, int e, term_type what) noexcept {
    c.fail(xprt::conn_err_from_errno(e));
    c.report_term(term_loc::fd, what);
    errno = e;
}

/// read0 seen (R10, R25): shut the read side, the connection is proven.
void on_read0(connection& c) noexcept {
    xprt::conn_sock_read0(c);
    c.flags.clear(conn_flag::wait_l4_conn);
}

/// Fills `iov` with the buffer's free hunks (at most `max` bytes); returns the byte count.
std::size_t room_iov(const buffer& b, std::size_t max, iovec (&iov)[2], std::size_t& n) noexcept {
    const auto h = b.room_hunks(max);
    n = 0;
    for (const auto& s : h) {
        if (!s.empty()) {
            iov[n].iov_base = s.data();
            iov[n].iov_len = s.size();
            ++n;
        }
    }
    return h[0].size() + h[1].size();
}

std::size_t data_iov(const buffer& b, std::size_t max, iovec (&iov)[2], std::size_t& n) noexcept {
    const auto h = b.data_hunks(max);
    n = 0;
    for (const auto& s : h) {
        if (!s.empty()) {
            // sendmsg does not write through iov_base; the cast only satisfies the C type.
            iov[n].iov_base = const_cast<std::byte*>(s.data());  // NOLINT
            iov[n].iov_len = s.size();
            ++n;
        }
    }
    return h[0].size() + h[1].size();
}

class raw_ops final : public xprt::xprt_ops {
public:
    [[nodiscard]] xprt::xprt_id id() const noexcept override { return xprt::xprt_id::raw; }
    [[nodiscard]] std::string_view name() const noexcept override { return "RAW"; }

    result<void> init(connection& /*c*/, xprt_ctx*& ctx) const noexcept override {
        ctx = nullptr;  // raw keeps no per-connection state: the connection is its context
        return {};
    }

    result<void> start(connection& /*c*/, xprt_ctx* /*ctx*/) const noexcept override { return {}; }

    void close(connection& c, xprt_ctx* /*ctx*/) const noexcept override {
        // R33: cancel the socket-level subscription. The subscriber is the layer above, which
        // is the one closing the chain, so it is not woken.
        if (c.subs != nullptr) {
            unsubscribe(c, nullptr, c.subs->events, *c.subs);
        }
        c.subs = nullptr;
    }

    std::size_t rcv_buf(connection& c, xprt_ctx* /*ctx*/, buffer& buf, std::size_t count,
                        rcv_flags fl) const noexcept override;
    std::size_t snd_buf(connection& c, xprt_ctx* /*ctx*/, const buffer& buf, std::size_t count,
                        snd_flags fl) const noexcept override;
    pipe_io rcv_pipe(connection& c, xprt_ctx* ctx, xprt::pipe& p,
                     std::size_t count) const noexcept override;
    pipe_io snd_pipe(connection& c, xprt_ctx* ctx, xprt::pipe& p,
                     std::size_t count) const noexcept override;

    void subscribe(connection& c, xprt_ctx* /*ctx*/, sub_events ev,
                   wait_event& w) const noexcept override {
        // R32. One subscriber at socket level.
        XS_ASSERT(c.subs == nullptr || c.subs == &w);
        XS_ASSERT(!ev.any(~xprt::sub_both));
        if (!c.flags.has(conn_flag::ctrl_ready) || c.flags.has(conn_flag::fdless)) {
            w.events |= ev;
            c.subs = &w;
            return;
        }
        fd_table& ft = c.loop().fds();
        const int fd = c.fd();
        bool wake_now = false;
        if (ev.has(sub_event::recv) && !w.events.has(sub_event::recv)) {
            if (ft.recv_ready(fd)) {
                wake_now = true;  // already ready: no poller involvement at all
            } else {
                w.events |= sub_event::recv;
                ft.want_recv(fd);
            }
        }
        if (ev.has(sub_event::send) && !w.events.has(sub_event::send)) {
            if (ft.send_ready(fd)) {
                wake_now = true;
            } else {
                w.events |= sub_event::send;
                ft.want_send(fd);
            }
        }
        c.subs = w.events.empty() ? (c.subs == &w ? nullptr : c.subs) : &w;
        if (wake_now && w.task != nullptr) {
            w.task->wake();
        }
    }

    void unsubscribe(connection& c, xprt_ctx* /*ctx*/, sub_events ev,
                     wait_event& w) const noexcept override {
        XS_ASSERT(c.subs == nullptr || c.subs == &w);
        const sub_events had = w.events & ev;
        w.events.clear(ev);
        if (c.flags.has(conn_flag::ctrl_ready) && !c.flags.has(conn_flag::fdless)) {
            fd_table& ft = c.loop().fds();
            if (had.has(sub_event::recv)) {
                ft.stop_recv(c.fd());
            }
            if (had.has(sub_event::send)) {
                ft.stop_send(c.fd());
            }
        }
        if (w.events.empty() && c.subs == &w) {
            c.subs = nullptr;
        }
    }

    bool add_xprt(connection& /*c*/, xprt_ctx* /*ctx*/, xprt_ref /*to_add*/,
                  xprt_ref* /*old*/) const noexcept override {
        return false;  // raw is always the bottom
    }

    bool remove_xprt(connection& /*c*/, xprt_ctx* /*ctx*/, const xprt_ctx* /*to_remove*/,
                     xprt_ref /*replacement*/) const noexcept override {
        XS_ASSERT(false && "remove_xprt reached raw: the layer is not in the chain");  // R34
        return false;
    }

    void shutw(connection& /*c*/, xprt_ctx* /*ctx*/, bool /*clean*/) const noexcept override {
        // R36: the socket's shutdown is conn_sock_shutw's job.
    }

    [[nodiscard]] xprt_ref below(const xprt_ctx* /*ctx*/) const noexcept override { return {}; }

    [[nodiscard]] xprt::splice_cap can_splice(const connection& /*c*/,
                                              const xprt_ctx* /*ctx*/) const noexcept override {
        return xprt::splice_cap::can;  // R35
    }

    [[nodiscard]] std::string_view alpn(const connection& /*c*/,
                                        const xprt_ctx* /*ctx*/) const noexcept override {
        return {};
    }

    void show(const connection& c, const xprt_ctx* /*ctx*/, std::string& out) const override {
        char buf[128];
        if (c.flags.has(conn_flag::ctrl_ready) && !c.flags.has(conn_flag::fdless)) {
            const fd_bits st = c.loop().fds().state(c.fd());
            std::snprintf(buf, sizeof buf, "RAW fd=%d st=0x%x subs=%u", c.fd(),
                          static_cast<unsigned>(st.bits()),
                          c.subs != nullptr ? static_cast<unsigned>(c.subs->events.bits()) : 0u);
        } else {
            std::snprintf(buf, sizeof buf, "RAW fd=%d (not registered)", c.fd());
        }
        out += buf;
    }
};

std::size_t raw_ops::rcv_buf(connection& c, xprt_ctx* /*ctx*/, buffer& buf, std::size_t count,
                             rcv_flags fl) const noexcept {
    if (!c.flags.has(conn_flag::ctrl_ready)) {
        return 0;  // R1
    }
    XS_ASSERT_HOT(!c.flags.has(conn_flag::fdless));
    const int fd = c.fd();
    fd_table& ft = c.loop().fds();
    if (!ft.recv_ready(fd)) {
        return 0;  // R2
    }
    if (c.flags.has(conn_flag::sock_rd_sh)) {
        // After a read0 nothing more can come: no syscall. A reset queued behind the FIN is
        // still reported (R10), from the poller's sticky ERR.
        if (ft.state(fd).has(fd_bit::poll_err) && !c.flags.has(conn_flag::error)) {
            c.fail(conn_err::pollerr);
            c.report_term(term_loc::fd, term_type::poll_err);
        }
        return 0;
    }
    c.flags.clear(conn_flag::wait_room);  // R3
    errno = 0;

    const fd_bits st = ft.state(fd);
    if (!st.has(fd_bit::poll_in)) {  // R4: the poller already told us
        if (st.has(fd_bit::poll_hup) && !st.has(fd_bit::poll_err)) {
            on_read0(c);
            return 0;
        }
        if (st.has(fd_bit::poll_err) && c.flags.has(conn_flag::wait_l4_conn)) {
            c.fail(conn_err::pollerr);
            c.report_term(term_loc::fd, term_type::poll_err);
            return 0;
        }
    }

    const bool peek = fl.has(rcv_flag::peek);
    const bool try_harder = fl.has(rcv_flag::try_harder);
    // R8: an fd closed with RST when input is left unread must see a pending FIN; without
    // RDHUP reports, one more recv after a short read finds it.
    bool probe_fin = ft.linger_risk(fd) && !c.loop().rdhup_known() && !peek;
    const std::size_t asked = count;
    std::size_t done = 0;
    bool read0 = false;

    while (count > 0) {
        iovec iov[2];
        std::size_t niov = 0;
        const std::size_t want = room_iov(buf, count, iov, niov);
        if (want == 0) {
            break;  // buffer full
        }
        // R5: one syscall for the whole free space; recv() for one hunk (cheaper than
        // recvmsg(), which copies a msghdr and an iovec array in), recvmsg() when it wraps.
        ssize_t ret = 0;
        if (niov == 1) {
            ret = sys::recv(fd, iov[0].iov_base, iov[0].iov_len, peek ? MSG_PEEK : 0);
        } else {
            msghdr m{};
            m.msg_iov = iov;
            m.msg_iovlen = niov;
            ret = sys::recvmsg(fd, &m, peek ? MSG_PEEK : 0);
        }
        if (ret > 0) {
            const auto n = static_cast<std::size_t>(ret);
            buf.commit(n);
            done += n;
            count -= n;
            if (peek) {
                break;  // the bytes stay queued: readiness unchanged; a second peek is useless
            }
            if (n < want) {
                // R6: the kernel queue is drained.
                if (ft.state(fd).any(fd_bit::poll_hup | fd_bit::poll_rdhup)) {
                    // R7: the peer's FIN is known, so the queue ends with it. An edge-triggered
                    // poller reports that FIN once: marking the fd not ready here would lose it.
                    read0 = true;
                    break;
                }
                if (try_harder) {
                    continue;  // R13a: read until EAGAIN or read0
                }
                if (probe_fin) {
                    probe_fin = false;  // R8: exactly one extra recv
                    continue;
                }
                ft.cant_recv(fd);
                break;
            }
            if (fl.has(rcv_flag::all_queued) && count == 0) {
                ft.cant_recv(fd);  // the caller's short peek said this was everything
                break;
            }
            if (fl.has(rcv_flag::read_once)) {
                break;  // R9
            }
            continue;  // full: the loop ends when count or the buffer's room is exhausted
        }
        if (ret == 0) {
            read0 = true;  // R10
            break;
        }
        const int e = errno;
        if (e == EINTR) {
            continue;  // R5
        }
        if (would_block(e)) {
            ft.cant_recv(fd);  // R11
            break;
        }
        fail_errno(c, e, term_type::rcv_err);  // R12
        xprt::ledger_io(xprt::xprt_id::raw, false, done, false);
        return done;
    }

    if (!read0 && try_harder && done == asked && done > 0) {
        // R13b: exactly what was asked; is a FIN right behind?
        std::byte probe{};
        for (;;) {
            const ssize_t r = sys::recv(fd, &probe, 1, MSG_PEEK);
            if (r == 0) {
                read0 = true;
            } else if (r < 0) {
                const int e = errno;
                if (e == EINTR) {
                    continue;
                }
                if (!would_block(e)) {
                    fail_errno(c, e, term_type::rcv_err);
                }
            }
            break;
        }
    }

    if (read0) {
        on_read0(c);
        // A reset after a shutdown queues both HUP and ERR: report the error only when no
        // data came in this call, so the data are processed first.
        if (done == 0 && ft.state(fd).has(fd_bit::poll_err)) {
            c.fail(conn_err::pollerr);
            c.report_term(term_loc::fd, term_type::poll_err);
        }
    }
    if (done > 0) {
        c.flags.clear(conn_flag::wait_l4_conn);  // R14
    }
    xprt::ledger_io(xprt::xprt_id::raw, false, done,
                    !read0 && !c.flags.has(conn_flag::error));  // 0 bytes: EAGAIN
    return done;
}

std::size_t raw_ops::snd_buf(connection& c, xprt_ctx* /*ctx*/, const buffer& buf, std::size_t count,
                             snd_flags fl) const noexcept {
    if (!c.flags.has(conn_flag::ctrl_ready)) {
        return 0;  // R1
    }
    XS_ASSERT_HOT(!c.flags.has(conn_flag::fdless));
    const int fd = c.fd();
    fd_table& ft = c.loop().fds();
    if (!ft.send_ready(fd)) {
        return 0;  // R2
    }
    errno = 0;
    if (ft.state(fd).has(fd_bit::poll_err)) {  // R15
        c.fail(conn_err::pollerr);
        c.report_term(term_loc::fd, term_type::poll_err);
        errno = EPIPE;
        return 0;
    }
    if (c.flags.has(conn_flag::sock_wr_sh)) {  // R16
        c.flags.set(conn_flags(conn_flag::error) | conn_flag::sock_rd_sh);
        c.set_errcode(conn_err::epipe);
        errno = EPIPE;
        return 0;
    }

    iovec iov[2];
    std::size_t niov = 0;
    const std::size_t want = data_iov(buf, count, iov, niov);
    if (want == 0) {
        return 0;
    }
    msghdr m{};
    m.msg_iov = iov;
    m.msg_iovlen = niov;
    const int mf = send_flags_base | (fl.has(snd_flag::more) ? MSG_MORE : 0);  // R17, R18
    std::size_t done = 0;
    for (;;) {
        // send() for one hunk, sendmsg() when the data wrap: one syscall either way.
        const ssize_t ret = niov == 1 ? sys::send(fd, iov[0].iov_base, iov[0].iov_len, mf)
                                      : sys::sendmsg(fd, &m, mf);
        if (ret > 0) {
            done = static_cast<std::size_t>(ret);
            if (done < want) {
                ft.cant_send(fd);  // R19: short write
            } else {
                ft.stop_send(fd);  // R19: complete write, nothing more to poll for
            }
            break;
        }
        if (ret == 0) {
            ft.cant_send(fd);  // R20
            break;
        }
        const int e = errno;
        if (e == EINTR) {
            continue;
        }
        if (would_block(e) || e == EINPROGRESS) {
            ft.cant_send(fd);  // R20 (EINPROGRESS: TFO SYN with data in flight)
            break;
        }
        fail_errno(c, e, term_type::snd_err);  // R21
        xprt::ledger_io(xprt::xprt_id::raw, true, 0, false);
        return 0;
    }
    if (done > 0) {
        c.flags.clear(conn_flag::wait_l4_conn);  // R22
        count_out(done, c.loop().now_ms());      // R23
    }
    xprt::ledger_io(xprt::xprt_id::raw, true, done, true);  // 0 bytes: EAGAIN
    return done;
}

pipe_io raw_ops::rcv_pipe(connection& c, xprt_ctx* /*ctx*/, xprt::pipe& p,
                          std::size_t count) const noexcept {
    if (!c.flags.has(conn_flag::ctrl_ready)) {
        return {};  // R24 (R1)
    }
    const int fd = c.fd();
    fd_table& ft = c.loop().fds();
    if (!ft.recv_ready(fd) || c.flags.has(conn_flag::sock_rd_sh)) {
        return {};  // R24 (R2; after a read0 nothing more can come)
    }
    c.flags.clear(conn_flag::wait_room);
    errno = 0;
    const fd_bits st = ft.state(fd);
    if (!st.has(fd_bit::poll_in)) {
        if (st.has(fd_bit::poll_hup) && !st.has(fd_bit::poll_err)) {
            on_read0(c);
            return {};
        }
        if (st.has(fd_bit::poll_err) && c.flags.has(conn_flag::wait_l4_conn)) {
            c.fail(conn_err::pollerr);
            c.report_term(term_loc::fd, term_type::poll_err);
            return {};
        }
    }

    const std::size_t full = pipe_full_hint(p.capacity);
    std::size_t done = 0;
    bool read0 = false;
    while (count > 0) {
        const std::size_t n = std::min(count, max_splice_at_once);
        const ssize_t ret = sys::splice(fd, nullptr, p.prod, nullptr, n, splice_flags);
        if (ret > 0) {
            const auto got = static_cast<std::size_t>(ret);
            p.data += got;
            done += got;
            count -= got;
            if (p.data >= full || got >= recv_enough) {
                c.flags.set(conn_flag::wait_room);  // R28: the next splice would say EAGAIN
                break;
            }
            continue;
        }
        if (ret == 0) {
            read0 = true;  // R25
            break;
        }
        const int e = errno;
        if (e == EINTR) {
            continue;
        }
        if (e == EAGAIN) {  // R26: socket drained, or pipe full?
            if (p.data != 0) {
                c.flags.set(conn_flag::wait_room);
            } else {
                ft.cant_recv(fd);
            }
            break;
        }
        if ((e == ENOSYS || e == EBADF) && done == 0) {
            return pipe_io::unsupported();  // R27
        }
        if (e == EINVAL || e == ENOSYS || e == EBADF) {
            break;  // R27: stop here, keep what moved, no error
        }
        fail_errno(c, e, term_type::rcv_err);
        break;
    }
    if (read0) {
        on_read0(c);
    }
    if (done > 0) {
        c.flags.clear(conn_flag::wait_l4_conn);
        count_spliced(done, c.loop().now_ms());  // R29
    }
    xprt::ledger_io(xprt::xprt_id::raw, false, done, !read0 && !c.flags.has(conn_flag::error));
    return {done, false};
}

pipe_io raw_ops::snd_pipe(connection& c, xprt_ctx* /*ctx*/, xprt::pipe& p,
                          std::size_t count) const noexcept {
    if (!c.flags.has(conn_flag::ctrl_ready)) {
        return {};  // R30 (R1)
    }
    const int fd = c.fd();
    fd_table& ft = c.loop().fds();
    if (!ft.send_ready(fd)) {
        return {};  // R30 (R2)
    }
    errno = 0;
    if (c.flags.has(conn_flag::sock_wr_sh)) {  // R30 (R16)
        c.flags.set(conn_flags(conn_flag::error) | conn_flag::sock_rd_sh);
        c.set_errcode(conn_err::epipe);
        errno = EPIPE;
        return {};
    }
    count = std::min(count, p.data);
    std::size_t done = 0;
    while (count > 0) {
        const ssize_t ret = sys::splice(p.cons, nullptr, fd, nullptr, count, splice_flags);
        if (ret > 0) {
            const auto n = static_cast<std::size_t>(ret);
            p.data -= n;
            done += n;
            count -= n;
            if (count > 0) {
                ft.cant_send(fd);  // short splice: the socket buffer is full
                break;
            }
            ft.stop_send(fd);
            break;
        }
        if (ret == 0) {
            ft.cant_send(fd);
            break;
        }
        const int e = errno;
        if (e == EINTR) {
            continue;
        }
        if (e == EAGAIN) {
            ft.cant_send(fd);
            break;
        }
        if ((e == ENOSYS || e == EBADF) && done == 0) {
            return pipe_io::unsupported();
        }
        if (e == EPIPE) {
            discard_sigpipe();  // splice has no MSG_NOSIGNAL: take the SIGPIPE it raised
        }
        fail_errno(c, e, term_type::snd_err);
        break;
    }
    if (done > 0) {
        c.flags.clear(conn_flag::wait_l4_conn);
    }
    xprt::ledger_io(xprt::xprt_id::raw, true, done, !c.flags.has(conn_flag::error));
    return {done, false};
}

const raw_ops raw_instance;

// --- control layer ---------------------------------------------------------------------------

/// The connection's fd callback: never does I/O (only the connect probe). Wakes the socket-level
/// subscriber for each ready and active direction, and disables that direction: the woken
/// code re-subscribes if it still needs to.
void conn_iocb(void* owner, int fd) noexcept {
    auto& c = *static_cast<connection*>(owner);
    fd_table& ft = c.loop().fds();

    if (c.flags.has(conn_flag::wait_l4_conn) &&
        ((ft.send_ready(fd) && ft.send_active(fd)) || (ft.recv_ready(fd) && ft.recv_active(fd)))) {
        if (!conn_probe(c) && !c.flags.has(conn_flag::error)) {
            return;  // still connecting
        }
    }
    if (ft.send_ready(fd) && ft.send_active(fd)) {
        if (c.subs != nullptr && c.subs->events.has(sub_event::send)) {
            c.subs->events.clear(sub_event::send);
            wait_event* w = c.subs;
            if (w->events.empty()) {
                c.subs = nullptr;
            }
            w->task->wake();
        }
        ft.stop_send(fd);
    }
    if (ft.recv_ready(fd) && ft.recv_active(fd)) {
        if (c.subs != nullptr && c.subs->events.has(sub_event::recv)) {
            c.subs->events.clear(sub_event::recv);
            wait_event* w = c.subs;
            if (w->events.empty()) {
                c.subs = nullptr;
            }
            w->task->wake();
        }
        ft.stop_recv(fd);
    }
    if (c.flags.has(conn_flag::error)) {
        ft.stop_both(fd);
        if (c.subs != nullptr) {
            wait_event* w = c.subs;
            w->events.reset();
            c.subs = nullptr;
            w->task->wake();
        }
    }
}

class sock_ctrl_ops final : public xprt::ctrl_ops {
public:
    [[nodiscard]] std::string_view name() const noexcept override { return "sock"; }

    void ctrl_init(connection& c) const noexcept override {
        fd_table& ft = c.loop().fds();
        c.loop().fd_insert(c.fd(), conn_iocb, &c, true);
        if (c.flags.has(conn_flag::wait_l4_conn)) {
            // Connecting: poll for writability; recv stays not ready until the connect is
            // confirmed (saves a failed recv per outgoing connection).
            ft.cant_send(c.fd());
            ft.cant_recv(c.fd());
            ft.want_send(c.fd());
        }
    }

    void ctrl_close(connection& c) const noexcept override {
        if (c.fd() >= 0) {
            c.loop().fd_delete(c.fd());
            c.handle.fd = -1;
        }
    }

    void sock_shutw(connection& c) const noexcept override { (void)sys::shutdown(c.fd(), SHUT_WR); }

    bool drain(connection& c) const noexcept override {
        // Up to two non-blocking reads discarding the data (MSG_TRUNC: no copy on TCP).
        char scratch[4096];
        for (int i = 0; i < 2; ++i) {
            const ssize_t r = sys::recv(c.fd(), scratch, sizeof scratch, MSG_TRUNC | MSG_DONTWAIT);
            if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
                c.loop().fds().set_linger_risk(c.fd(), false);
                return true;
            }
            if (r < 0 && errno == EAGAIN) {
                c.loop().fds().cant_recv(c.fd());
                return false;
            }
        }
        return false;
    }
};

const sock_ctrl_ops sock_ctrl_instance;

}  // namespace

const xprt::xprt_ops& ops() noexcept {
    return raw_instance;
}

const xprt::ctrl_ops& sock_ctrl() noexcept {
    return sock_ctrl_instance;
}

bool conn_probe(connection& c) noexcept {
    fd_table& ft = c.loop().fds();
    const int fd = c.fd();
    fd_bits st = ft.state(fd);

    const auto connected = [&]() {
        c.flags.clear(conn_flag::wait_l4_conn);
        ft.may_send(fd);
        ft.cond_recv(fd);
        errno = 0;
        return true;
    };
    const auto failed = [&](int e) {
        c.fail(xprt::conn_err_from_errno(e));
        c.report_term(term_loc::fd, term_type::connect_err);
        ft.set_linger_risk(fd, false);
        ft.stop_both(fd);
        errno = e;
        return false;
    };

    if (!st.any(fd_bit::poll_err | fd_bit::poll_hup) &&
        st.any(fd_bit::poll_in | fd_bit::poll_out)) {
        return connected();  // the poller reports readiness without error
    }
    if (!st.any(fd_bit::poll_in | fd_bit::poll_out | fd_bit::poll_err | fd_bit::poll_hup)) {
        return false;  // nothing reported yet
    }
    if (st.has(fd_bit::poll_hup) && !st.has(fd_bit::poll_err)) {
        // Some kernels report HUP alone on a connecting socket; ignore it and probe.
        ft.entry(fd).st.clear(fd_bit::poll_hup);
        st = ft.state(fd);
    }
    // Probe with a second connect(): unlike getsockopt(SO_ERROR) it leaves the error pending
    // for whoever wants to read it.
    for (;;) {
        if (sys::connect(fd, c.dst.sa(), c.dst.len) == 0) {
            return connected();
        }
        const int e = errno;
        if (e == EINTR) {
            continue;
        }
        if (e == EISCONN) {
            return connected();
        }
        if (e == EALREADY || e == EINPROGRESS) {
            if (st.has(fd_bit::poll_err)) {
                int soerr = 0;
                socklen_t sl = sizeof soerr;
                (void)sys::getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
                return failed(soerr != 0 ? soerr : ECONNREFUSED);
            }
            ft.cant_send(fd);
            ft.want_send(fd);
            return false;
        }
        return failed(e);
    }
}

}  // namespace xstack::raw
