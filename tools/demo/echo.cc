// tools/demo/echo.cc
#include "tools/demo/echo.h"

#include <algorithm>
#include <new>

#include <unistd.h>

#include "raw/raw_sock.h"
#include "registry/registry.h"

namespace xstack::demo {

using xprt::conn_flag;
using xprt::sub_event;
using xprt::sub_events;

namespace {

/// The byte expected at position `i` of every request (so echoes are checked, not assumed).
std::byte pattern(std::size_t i) noexcept {
    return static_cast<std::byte>('a' + static_cast<int>(i % 26));
}

/// Work done per wakeup is bounded so one busy connection cannot starve the loop.
constexpr int max_rounds_per_wake = 16;

}  // namespace

// --- server ---------------------------------------------------------------------------------

struct echo_server::session {
    session(echo_server& srv, event::loop& l) noexcept
        : server(srv), conn(l), task(l, run, this, "echo-session") {
        we.task = &task;
    }

    static void run(event::tasklet& /*t*/, void* ctx) noexcept {
        auto* s = static_cast<session*>(ctx);
        xprt::connection& c = s->conn;
        for (int round = 0; round < max_rounds_per_wake; ++round) {
            bool progress = false;
            if (!c.flags.has(conn_flag::sock_rd_sh) && s->buf.alloc() && s->buf.room() > 0) {
                const std::size_t n = c.rcv_buf(s->buf, s->buf.room());
                s->server.stats_.bytes_in += n;
                progress |= n > 0;
            }
            if (s->buf.data() > 0) {
                const std::size_t n = c.snd_buf(s->buf, s->buf.data());
                s->buf.consume(n);
                s->server.stats_.bytes_out += n;
                progress |= n > 0;
            }
            if (c.flags.has(conn_flag::error) ||
                (c.flags.has(conn_flag::sock_rd_sh) && s->buf.empty())) {
                if (!c.flags.has(conn_flag::error)) {
                    xprt::conn_shutw(c, true);
                }
                s->server.finished(s);  // deletes s (and its tasklet): return at once
                return;
            }
            if (!progress) {
                break;
            }
        }
        s->buf.release_if_empty();  // give the buffer back as soon as it is empty
        sub_events ev;
        if (!c.flags.has(conn_flag::sock_rd_sh) && (!s->buf.allocated() || s->buf.room() > 0)) {
            ev |= sub_event::recv;
        }
        if (s->buf.data() > 0) {
            ev |= sub_event::send;
        }
        c.subscribe(ev, s->we);
    }

    echo_server& server;
    xprt::connection conn;
    xprt::pool_buffer buf;
    event::tasklet task;
    xprt::wait_event we;
};

echo_server::echo_server(event::loop& l) noexcept : loop_(l), listener_(l, on_accept, this) {}

echo_server::~echo_server() {
    listener_.close();
    for (session* s : sessions_) {
        delete s;  // the connection's destructor force-closes it
    }
}

result<void> echo_server::open(const xprt::sock_addr& addr, const raw::listen_options& opt) {
    return listener_.open(addr, opt);
}

const xprt::connection* echo_server::session_conn(std::size_t i) const noexcept {
    return i < sessions_.size() ? &sessions_[i]->conn : nullptr;
}

void echo_server::on_accept(void* ctx, int fd, const xprt::sock_addr& peer) noexcept {
    auto* self = static_cast<echo_server*>(ctx);
    auto* s = new (std::nothrow) session(*self, self->loop_);
    if (s == nullptr) {
        ::close(fd);
        return;
    }
    if (!xprt::conn_prepare(s->conn, &raw::sock_ctrl(), registry::xprt_get(xprt::xprt_id::raw))) {
        ::close(fd);
        delete s;
        return;
    }
    raw::accept_init(s->conn, fd, peer, &self->listener_);
    if (self->accept_proxy_ != nullptr) {
        s->conn.flags.set(conn_flag::accept_proxy);
        if (handshake::attach(s->conn, *self->accept_proxy_) == nullptr) {
            delete s;  // the connection's destructor closes fd
            return;
        }
    }
    self->accept_chain_ = xprt::conn_chain(s->conn);
    (void)xprt::conn_xprt_start(s->conn);
    self->sessions_.push_back(s);
    ++self->stats_.sessions;
    self->last_fd_ = fd;
    s->task.wake();  // speculative: the request is often already there
}

void echo_server::finished(session* s) noexcept {
    sessions_.erase(std::remove(sessions_.begin(), sessions_.end(), s), sessions_.end());
    ++stats_.closed;
    last_client_ = s->conn.client_addr();
    last_client_source_ =
        s->conn.proxy != nullptr ? s->conn.proxy->source : xprt::proxy_source::none;
    delete s;
}

// --- client ---------------------------------------------------------------------------------

echo_client::echo_client(event::loop& l, std::size_t size, std::size_t requests) noexcept
    : loop_(l),
      conn_(l, xprt::conn_side::backend),
      task_(l, run, this, "echo-client"),
      size_(size),
      requests_(requests) {
    we_.task = &task_;
}

echo_client::~echo_client() {
    if (!we_.events.empty() && conn_.xprt) {
        conn_.unsubscribe(we_.events, we_);
    }
}

result<void> echo_client::start(const xprt::sock_addr& to) {
    if (size_ == 0 || size_ > xprt::buffer_pool::area_size()) {
        return error_info{"request size must be between 1 and the buffer size", 0};
    }
    auto r = xprt::conn_prepare(conn_, &raw::sock_ctrl(), registry::xprt_get(xprt::xprt_id::raw));
    if (!r) {
        return r;
    }
    if (setup_ != nullptr) {
        r = setup_(conn_, setup_ctx_);
        if (!r) {
            return r;
        }
    }
    r = raw::connect_socket(conn_, to);
    if (!r) {
        return r;
    }
    fd_ = conn_.fd();
    r = xprt::conn_xprt_start(conn_);
    if (!r) {
        return r;
    }
    task_.wake();  // try to send at once: the connect may already be done
    return {};
}

void echo_client::run(event::tasklet& /*t*/, void* ctx) noexcept {
    static_cast<echo_client*>(ctx)->step();
}

void echo_client::finish(bool ok) noexcept {
    failed_ = !ok;
    done_ = true;
    err_ = conn_.err_code;
    buf_.release();
    xprt::conn_full_close(conn_);
    loop_.stop();  // lets loop.run() return
}

void echo_client::step() noexcept {
    if (done_) {
        return;
    }
    for (int round = 0; round < max_rounds_per_wake; ++round) {
        if (conn_.flags.has(conn_flag::error)) {
            finish(false);
            return;
        }
        if (completed_ == requests_) {
            // Everything echoed: shut our side, wait for the server's close.
            if (!shut_) {
                xprt::conn_shutw(conn_, true);
                shut_ = true;
            }
            if (!buf_.alloc()) {
                finish(false);
                return;
            }
            buf_.reset();
            const std::size_t n = conn_.rcv_buf(buf_, buf_.room());
            if (conn_.flags.has(conn_flag::sock_rd_sh)) {
                finish(n == 0);
                return;
            }
            break;
        }
        if (sending_) {
            if (!buf_.alloc()) {
                finish(false);
                return;
            }
            if (buf_.empty() && got_ == 0) {
                std::byte chunk[256];
                for (std::size_t off = 0; off < size_; off += sizeof chunk) {
                    const std::size_t len = std::min(sizeof chunk, size_ - off);
                    for (std::size_t i = 0; i < len; ++i) {
                        chunk[i] = pattern(off + i);
                    }
                    buf_.put(std::span<const std::byte>(chunk, len));
                }
            }
            const std::size_t n = conn_.snd_buf(buf_, buf_.data());
            buf_.consume(n);
            if (!buf_.empty()) {
                break;  // socket full or still connecting
            }
            sending_ = false;
            got_ = 0;
        }
        // Receiving the echo.
        if (!buf_.alloc()) {
            finish(false);
            return;
        }
        // Ask for all the room, not just the expected size: a read shorter than asked is what
        // tells raw the socket is drained, so the next wait needs no failed recv.
        const std::size_t n = conn_.rcv_buf(buf_, buf_.room());
        if (n == 0) {
            if (conn_.flags.has(conn_flag::sock_rd_sh)) {
                finish(false);  // closed before the whole echo came back
                return;
            }
            break;
        }
        if (got_ + n > size_) {
            finish(false);  // more than was sent: the server echoed something else
            return;
        }
        std::byte tmp[256];
        for (std::size_t off = 0; off < n; off += sizeof tmp) {
            const std::size_t len = buf_.peek(off, tmp);
            for (std::size_t i = 0; i < len && off + i < n; ++i) {
                if (tmp[i] != pattern(got_ + off + i)) {
                    finish(false);  // corrupted echo
                    return;
                }
            }
        }
        buf_.consume(n);
        got_ += n;
        if (got_ == size_) {
            ++completed_;
            got_ = 0;
            sending_ = true;
        }
    }
    if (completed_ != requests_ && !sending_ && buf_.empty()) {
        buf_.release_if_empty();
    }
    sub_events ev;
    if (sending_ && completed_ != requests_) {
        ev |= sub_event::send;
    } else {
        ev |= sub_event::recv;
    }
    conn_.subscribe(ev, we_);
}

}  // namespace xstack::demo
