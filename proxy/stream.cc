// proxy/stream.cc - the forwarding stream: one client connection, one backend connection.
#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <new>

#include <unistd.h>

#include "proxy/proxy_internal.h"
#include "raw/pipe_pool.h"
#include "raw/raw_sock.h"
#include "registry/registry.h"

namespace xstack::proxy {

using xprt::conn_err;
using xprt::conn_flag;
using xprt::sub_event;
using xprt::sub_events;

namespace {

/// Rounds of receive/send per wakeup: one busy stream cannot starve the loop.
constexpr int max_rounds_per_wake = 16;

std::uint64_t ms_between(std::uint64_t from_ns, std::uint64_t to_ns) noexcept {
    return to_ns > from_ns ? (to_ns - from_ns) / 1000000u : 0;
}

/// The error code for a handshake phase that ran out of time, from what is still pending.
conn_err timeout_code(const xprt::connection& c) noexcept {
    if (c.flags.has(conn_flag::wait_l4_conn)) {
        return conn_err::connect_timeout;
    }
    if (c.flags.any(conn_flag::accept_proxy | conn_flag::send_proxy)) {
        return conn_err::prx_timeout;
    }
    if (c.flags.any(conn_flag::ssl_wait_hs | conn_flag::wait_l6_conn)) {
        return conn_err::ssl_timeout;
    }
    return conn_err::connect_timeout;
}

void unsubscribe_if(xprt::connection& c, xprt::wait_event& we) noexcept {
    if (!we.events.empty() && c.xprt) {
        c.unsubscribe(we.events, we);
    }
}

}  // namespace

stream::stream(worker& wk) noexcept
    : w(wk),
      fe(wk.loop, xprt::conn_side::frontend),
      be(wk.loop, xprt::conn_side::backend),
      task(wk.loop, run, this, "proxy-stream"),
      hs_timer(task),
      idle_timer(task) {
    we_fe.task = &task;
    we_be.task = &task;
    fe.owner = this;
    be.owner = this;
}

stream::~stream() {
    for (xprt::pipe** p : {&req_pipe, &res_pipe}) {
        if (*p != nullptr) {
            raw::pipe_put(*p);  // a pipe still holding data is destroyed, not cached
            *p = nullptr;
        }
    }
    unsubscribe_if(fe, we_fe);
    unsubscribe_if(be, we_be);
    w.loop.disarm(hs_timer);
    w.loop.disarm(idle_timer);
    xprt::conn_force_close(be);
    xprt::conn_force_close(fe);
}

bool stream::accept(int fd, const xprt::sock_addr& peer) noexcept {
    const server::impl& s = w.srv;
    start_ns = w.loop.now_ns();
    if (!xprt::conn_prepare(fe, &raw::sock_ctrl(), registry::xprt_get(xprt::xprt_id::raw))) {
        ::close(fd);
        return false;
    }
    raw::accept_init(fe, fd, peer, &w.lst);
#if XS_HAVE_OPENSSL
    if (s.tls_server) {
        ssl::conn_options co;
        co.handshake_timeout_ms = s.opts.handshake_timeout_ms;
        if (!ssl::attach(fe, s.tls_server, co)) {
            return false;
        }
    }
#endif
    if (s.opts.accept_proxy) {
        fe.flags.set(conn_flag::accept_proxy);
        if (handshake::attach(fe, s.hs_front) == nullptr) {
            return false;
        }
    }
    fe_chain = xprt::conn_chain(fe);
    if (!xprt::conn_xprt_start(fe)) {
        return false;
    }
    if (s.opts.handshake_timeout_ms != 0 && !fe.transport_usable()) {
        w.loop.arm_in(hs_timer, s.opts.handshake_timeout_ms);
    }
    if (s.opts.idle_timeout_ms != 0) {
        w.loop.arm_in(idle_timer, s.opts.idle_timeout_ms);
    }
    task.wake();  // speculative: the first bytes (or the handshake) are often already there
    return true;
}

bool stream::start_backend() noexcept {
    const server::impl& s = w.srv;
    be_started = true;
    if (!xprt::conn_prepare(be, &raw::sock_ctrl(), registry::xprt_get(xprt::xprt_id::raw))) {
        return false;
    }
#if XS_HAVE_OPENSSL
    if (s.tls_client) {
        ssl::conn_options co;
        co.handshake_timeout_ms = s.opts.handshake_timeout_ms;
        // SNI and the name verified: --tls-sni, else the --connect host (an IP literal is
        // verified as an address and not sent in SNI).
        co.sni = s.opts.tls_sni.empty() ? std::string_view(s.backend_host)
                                        : std::string_view(s.opts.tls_sni);
        if (!ssl::attach(be, s.tls_client, co)) {
            be.set_errcode(conn_err::xprt_init);
            return false;
        }
    }
#endif
    if (s.opts.send_proxy != 0) {
        be.flags.set(conn_flag::send_proxy);
        handshake::hs_send hs;
        hs.proxy_version = static_cast<std::uint8_t>(s.opts.send_proxy);
        hs.v2.command = handshake::proxy_command::proxy;
        hs.v2.src = fe.client_addr();
        hs.v2.dst = fe.client_dst_addr();
        if (handshake::attach(be, s.hs_back, &hs) == nullptr) {
            be.set_errcode(conn_err::prx_send);
            return false;
        }
    }
    raw::connect_options co;
    co.tfo = s.opts.tfo;
    co.data_pending = !req.empty();
    co.fetch_source = false;  // only `show conn` prints it: fetched there (one syscall less)
    if (!raw::connect_socket(be, s.backend, co)) {
        if (be.err_code == conn_err::none) {
            be.set_errcode(conn_err::sock_err);
        }
        return false;
    }
    if (!xprt::conn_xprt_start(be)) {
        return false;
    }
    be_chain = xprt::conn_chain(be);
    if (s.opts.handshake_timeout_ms != 0) {
        w.loop.arm_in(hs_timer, s.opts.handshake_timeout_ms);
    }
    return true;
}

void stream::run(event::tasklet& /*t*/, void* ctx) noexcept {
    static_cast<stream*>(ctx)->step();
}

bool stream::splice_allowed(bool bulk) const noexcept {
    const splice_mode m = w.srv.opts.splice;
    if (m == splice_mode::never || splice_off || (m == splice_mode::auto_ && !bulk)) {
        return false;
    }
    // Only between two chains that do not transform bytes (no TLS, handshakes done).
    return fe.can_splice() == xprt::splice_cap::can && be.can_splice() == xprt::splice_cap::can;
}

int stream::forward_pipe(xprt::connection& src, xprt::connection& dst, xprt::pipe*& p,
                         bool& shut_done, std::uint64_t& counter,
                         std::atomic<std::uint64_t>& total) noexcept {
    if (p == nullptr) {
        p = raw::pipe_get();
        if (p == nullptr) {
            splice_off = true;  // no pipe available: buffers from now on
            return -1;
        }
        if (!spliced) {
            spliced = true;
            w.counters.add(w.counters.spliced_streams, 1);
        }
    }
    bool progress = false;
    if (!src.flags.has(conn_flag::sock_rd_sh)) {
        const xprt::pipe_io r = src.rcv_pipe(*p, raw::max_splice_at_once);
        if (r.not_supported) {
            splice_off = true;
            if (p->data == 0) {
                raw::pipe_put(p);
                p = nullptr;
                return -1;
            }
        }
        progress |= r.bytes > 0;
        if (src.flags.has(conn_flag::sock_rd_sh) && first_fin == nullptr) {
            first_fin = &src == &fe ? "client_fin" : "server_fin";
        }
    }
    if (p->data > 0 && !dst.flags.has(conn_flag::error)) {
        const xprt::pipe_io r = dst.snd_pipe(*p, p->data);
        if (r.not_supported) {
            dst.fail(conn_err::internal);  // bytes stuck in the pipe: cannot continue
            return 0;
        }
        counter += r.bytes;
        w.counters.add(total, r.bytes);
        progress |= r.bytes > 0;
    }
    if (p->data == 0) {
        raw::pipe_put(p);  // hold a pipe only while it holds data
        p = nullptr;
        if (!shut_done && src.flags.has(conn_flag::sock_rd_sh) &&
            !src.flags.has(conn_flag::error) && !dst.flags.has(conn_flag::error)) {
            xprt::conn_shutw(dst, true);
            shut_done = true;
            progress = true;
        }
    }
    return progress ? 1 : 0;
}

bool stream::forward(xprt::connection& src, xprt::connection& dst, xprt::pool_buffer& buf,
                     xprt::pipe*& p, bool& bulk, bool dst_usable, bool& shut_done,
                     std::uint64_t& counter, std::atomic<std::uint64_t>& total) noexcept {
    // Bytes already in a pipe go first; a buffer holding bytes is emptied before splicing
    // starts (order is kept either way).
    if (p != nullptr || (buf.empty() && dst_usable && !src.flags.has(conn_flag::sock_rd_sh) &&
                         splice_allowed(bulk))) {
        const int r = forward_pipe(src, dst, p, shut_done, counter, total);
        if (r >= 0) {
            buf.release_if_empty();
            return r > 0;
        }
    }
    bool progress = false;
    // Once a direction has shown bulk, its next buffers are the large ones (256 KiB): 16 times
    // fewer syscalls per byte when it is not spliced. Small exchanges keep 16 KiB buffers.
    if (!src.flags.has(conn_flag::sock_rd_sh) && buf.alloc(bulk) && buf.room() > 0) {
        const std::size_t n = src.rcv_buf(buf, buf.room());
        progress |= n > 0;
        if (n == buf.size()) {
            bulk = true;  // a whole buffer at once: worth splicing (--splice auto)
        }
        if (src.flags.has(conn_flag::sock_rd_sh) && first_fin == nullptr) {
            first_fin = &src == &fe ? "client_fin" : "server_fin";
        }
    }
    if (buf.data() > 0 && dst_usable && !dst.flags.has(conn_flag::error)) {
        // No MSG_MORE here: a full read does not prove more bytes follow, and when none do the
        // kernel holds the corked tail for 200 ms (a 16 KiB request/response stalled so). The
        // hint is given where the sender knows data follow: HS sends the PROXY header with it
        // when the upper layer waits to send, ssl when a call spans several records.
        const std::size_t n = dst.snd_buf(buf, buf.data());
        buf.consume(n);
        counter += n;
        w.counters.add(total, n);
        progress |= n > 0;
    }
    // Half-close: the source ended and everything it sent was delivered.
    if (!shut_done && buf.empty() && src.flags.has(conn_flag::sock_rd_sh) && dst_usable &&
        !src.flags.has(conn_flag::error) && !dst.flags.has(conn_flag::error)) {
        xprt::conn_shutw(dst, true);
        shut_done = true;
        progress = true;
    }
    buf.release_if_empty();
    return progress;
}

void stream::step() noexcept {
    const server::impl& s = w.srv;

    // Timers first: a fired timer is why we run, or a deadline passed while we were busy.
    if (idle_timer.fired()) {
        finish("idle_timeout", conn_err::idle_timeout);
        return;
    }
    if (hs_timer.fired()) {
        if (!fe_ready && !fe.transport_usable()) {
            fe.fail(timeout_code(fe));
            finish("client_handshake_timeout", fe.err_code);
            return;
        }
        if (fe_ready && !be_ready && !be.transport_usable()) {
            be.fail(timeout_code(be));
            w.counters.add(w.counters.backend_connect_errors, 1);
            finish("backend_timeout", be.err_code);
            return;
        }
    }

    // Phase 1: the client's handshakes (PROXY header, TLS).
    if (!fe_ready) {
        if (fe.flags.has(conn_flag::error)) {
            finish("client_handshake_failed", fe.err_code);
            return;
        }
        if (!fe.transport_usable()) {
            if (fe.flags.has(conn_flag::sock_rd_sh)) {
                finish("client_handshake_aborted", fe.err_code);
                return;
            }
            fe.subscribe(sub_event::recv, we_fe);
            return;
        }
        fe_ready = true;
        hs_done_ns = w.loop.now_ns();
        fe_chain = xprt::conn_chain(fe);
        client = fe.client_addr().to_string();
        w.loop.disarm(hs_timer);
    }

    // Phase 2: the backend connection, once the client address is known.
    if (!be_started) {
        if (s.opts.tfo && req.alloc()) {
            // TCP Fast Open carries the client's first bytes in the SYN: read them now.
            (void)fe.rcv_buf(req, req.room());
        }
        if (!start_backend()) {
            w.counters.add(w.counters.backend_connect_errors, 1);
            be.flags.set(conn_flag::error);
            finish("backend_connect_failed", be.err_code);
            return;
        }
    }
    if (!be_ready) {
        if (be.flags.has(conn_flag::error)) {
            w.counters.add(w.counters.backend_connect_errors, 1);
            finish("backend_connect_failed", be.err_code);
            return;
        }
        if (be.transport_usable()) {
            be_ready = true;
            be_chain = xprt::conn_chain(be);
            if (hs_timer.armed()) {
                w.loop.disarm(hs_timer);
            }
        }
    }

    // Phase 3: forwarding.
    bool any = false;
    for (int round = 0; round < max_rounds_per_wake; ++round) {
        bool progress = forward(fe, be, req, req_pipe, req_bulk, be_ready, req_shut, bytes_in,
                                w.counters.bytes_in);
        if (be_ready) {
            progress |= forward(be, fe, res, res_pipe, res_bulk, true, res_shut, bytes_out,
                                w.counters.bytes_out);
        }
        if (fe.flags.has(conn_flag::error)) {
            finish("client_error", fe.err_code);
            return;
        }
        if (be.flags.has(conn_flag::error)) {
            finish(be_ready ? "server_error" : "backend_connect_failed", be.err_code);
            return;
        }
        if (!be_ready && be.transport_usable()) {
            be_ready = true;
            be_chain = xprt::conn_chain(be);
            w.loop.disarm(hs_timer);
            progress = true;
        }
        if (req_shut && res_shut) {
            finish(first_fin != nullptr ? first_fin : "closed", conn_err::none);
            return;
        }
        any |= progress;
        if (!progress) {
            break;
        }
    }
    if (any && s.opts.idle_timeout_ms != 0) {
        w.loop.arm_in(idle_timer, s.opts.idle_timeout_ms);
    }
    subscribe_all();
}

void stream::subscribe_all() noexcept {
    // A source is read when its buffer has room, or its pipe is not presumed full.
    auto can_take = [](const xprt::connection& src, const xprt::pool_buffer& b,
                       const xprt::pipe* p) {
        if (src.flags.has(conn_flag::sock_rd_sh)) {
            return false;
        }
        if (p != nullptr) {
            return !src.flags.has(conn_flag::wait_room);
        }
        return !b.allocated() || b.room() > 0;
    };
    auto pending = [](const xprt::pool_buffer& b, const xprt::pipe* p) {
        return b.data() > 0 || (p != nullptr && p->data > 0);
    };
    sub_events fe_ev;
    if (can_take(fe, req, req_pipe)) {
        fe_ev |= sub_event::recv;
    }
    if (pending(res, res_pipe)) {
        fe_ev |= sub_event::send;
    }
    sub_events be_ev;
    if (!be_ready) {
        be_ev = xprt::sub_both;  // woken when the connect and the handshakes end (or fail)
    } else {
        if (can_take(be, res, res_pipe)) {
            be_ev |= sub_event::recv;
        }
        if (pending(req, req_pipe)) {
            be_ev |= sub_event::send;
        }
    }
    // Drop registrations no longer wanted (a full buffer must not wake us for its source).
    const sub_events fe_drop = we_fe.events & ~fe_ev;
    if (!fe_drop.empty()) {
        fe.unsubscribe(fe_drop, we_fe);
    }
    const sub_events be_drop = we_be.events & ~be_ev;
    if (!be_drop.empty() && be.xprt) {
        be.unsubscribe(be_drop, we_be);
    }
    if (!fe_ev.empty()) {
        fe.subscribe(fe_ev, we_fe);
    }
    if (!be_ev.empty() && be.xprt) {
        be.subscribe(be_ev, we_be);
    }
}

void stream::finish(const char* reason, conn_err code) noexcept {
    const std::uint64_t now = w.loop.now_ns();
    if (client.empty()) {
        client = fe.client_addr().to_string();
    }
    if (fe_ready) {
        fe_chain = fe_chain.empty() ? xprt::conn_chain(fe) : fe_chain;
    }
    if (be_chain.empty() && be.xprt) {
        be_chain = xprt::conn_chain(be);
    }
    const std::uint64_t hs_ms = ms_between(start_ns, hs_done_ns != 0 ? hs_done_ns : now);
    char line[768];
    const int n = std::snprintf(
        line, sizeof line,
        "%s fe=%s -> %s be=%s bytes_in=%" PRIu64 " bytes_out=%" PRIu64 " hs_ms=%" PRIu64
        " total_ms=%" PRIu64 " term=%s code=%s fe_term=%s be_term=%s",
        client.c_str(), fe_chain.empty() ? "-" : fe_chain.c_str(),
        w.srv.backend.to_string().c_str(), be_chain.empty() ? "-" : be_chain.c_str(), bytes_in,
        bytes_out, hs_ms, ms_between(start_ns, now), reason,
        std::string(xprt::to_string(code)).c_str(), fe.term.to_string().c_str(),
        be.term.to_string().c_str());
    if (n > 0) {
        w.log_line(std::string_view(line, std::min(static_cast<std::size_t>(n), sizeof line - 1)));
    }
    w.remove(this);
    delete this;
}

std::string stream::show() {
    std::string out;
    char head[256];
    (void)std::snprintf(head, sizeof head,
                        "stream %p client=%s age_ms=%" PRIu64 " in=%" PRIu64 " out=%" PRIu64 "\n",
                        static_cast<const void*>(this),
                        client.empty() ? fe.src.to_string().c_str() : client.c_str(),
                        ms_between(start_ns, w.loop.now_ns()), bytes_in, bytes_out);
    out += head;
    out += "  fe: ";
    out += xprt::conn_show(fe);
    if (!out.empty() && out.back() != '\n') {
        out += '\n';
    }
    out += "  be: ";
    raw::fill_local_address(be);
    out += be.xprt ? xprt::conn_show(be) : std::string("not connected");
    if (!out.empty() && out.back() != '\n') {
        out += '\n';
    }
    return out;
}

}  // namespace xstack::proxy
