// proxy/server.cc - workers, the server's life cycle, counters, and run_main().
#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <new>

#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proxy/proxy_internal.h"
#include "raw/pipe_pool.h"
#include "raw/traffic.h"
#include "registry/registry.h"

namespace xstack::proxy {

namespace {

std::uint64_t monotonic_ms() noexcept {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1000u +
           static_cast<std::uint64_t>(ts.tv_nsec) / 1000000u;
}

const std::uint64_t process_start_ms = monotonic_ms();

event::loop_options loop_options_for(const options& o) noexcept {
    event::loop_options lo;
    switch (o.poller) {
    case poller_mode::epoll:
        lo.poller = event::poller_kind::epoll;
        break;
    case poller_mode::epoll_et:
        lo.poller = event::poller_kind::epoll_et;
        break;
    case poller_mode::poll:
        lo.poller = event::poller_kind::poll;
        break;
    }
    return lo;
}

/// The host part of "HOST:PORT" / "[V6]:PORT", without brackets.
std::string host_of(std::string_view text) {
    std::string_view host;
    std::string_view port;
    if (!xprt::split_host_port(text, host, port)) {
        return {};
    }
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    }
    return std::string(host);
}

}  // namespace

// --- worker -------------------------------------------------------------------------------

worker::worker(server::impl& s, int idx)
    : srv(s),
      index(idx),
      loop(loop_options_for(s.opts)),
      lst(loop, on_accept, this),
      log_task(loop, log_run, this, "log"),
      mbox_task(loop, mbox_run, this, "mbox") {
    mbox_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (mbox_fd >= 0 && loop.ok()) {
        loop.fd_insert(mbox_fd, mbox_iocb, this, false);
        loop.fds().cant_recv(mbox_fd);
        loop.fds().want_recv(mbox_fd);
    }
}

worker::~worker() {
    close_all();
    if (mbox_fd >= 0) {
        if (loop.ok() && loop.fds().in_use(mbox_fd)) {
            loop.fd_delete(mbox_fd);
        } else {
            ::close(mbox_fd);
        }
    }
}

void worker::close_all() noexcept {
    lst.close();
    if (stats_lst) {
        stats_lst->close();
    }
    while (!stats_sessions.empty()) {
        delete stats_sessions.back();  // its destructor removes it from the list
    }
    while (!streams.empty()) {
        stream* s = streams.back();
        s->finish("stopping", xprt::conn_err::none);
    }
    flush_log();
}

void worker::log_line(std::string_view line) noexcept {
    if (srv.log != nullptr) {
        srv.log(srv.log_ctx, line);
        return;
    }
    line = line.substr(0, log_buf.size() - 1);  // room for the newline
    if (log_len + line.size() + 1 > log_buf.size()) {
        flush_log();
    }
    std::copy(line.begin(), line.end(), log_buf.begin() + static_cast<std::ptrdiff_t>(log_len));
    log_len += line.size();
    log_buf[log_len++] = '\n';
    log_task.wake();  // after the other work of this pass
}

void worker::log_run(event::tasklet& /*t*/, void* ctx) noexcept {
    static_cast<worker*>(ctx)->flush_log();
}

void worker::flush_log() noexcept {
    std::size_t off = 0;
    while (off < log_len) {
        const ssize_t r = ::write(STDERR_FILENO, log_buf.data() + off, log_len - off);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            break;  // stderr is gone or full (non-blocking): the lines are dropped
        }
        off += static_cast<std::size_t>(r);
    }
    log_len = 0;
    log_task.cancel();
}

void worker::remove(stream* s) noexcept {
    const auto it = std::find(streams.begin(), streams.end(), s);
    if (it != streams.end()) {
        *it = streams.back();
        streams.pop_back();
        counters.add(counters.curr_conns, static_cast<std::uint64_t>(-1));
    }
}

void worker::on_accept(void* ctx, int fd, const xprt::sock_addr& peer) noexcept {
    auto* self = static_cast<worker*>(ctx);
    auto* s = new (std::nothrow) stream(*self);
    if (s == nullptr) {
        ::close(fd);
        return;
    }
    self->streams.push_back(s);
    self->counters.add(self->counters.curr_conns, 1);
    self->counters.add(self->counters.cum_conns, 1);
    if (!s->accept(fd, peer)) {
        s->finish("setup_failed", s->fe.err_code != xprt::conn_err::none
                                      ? s->fe.err_code
                                      : xprt::conn_err::internal);
    }
}

void worker::poke() const noexcept {
    if (mbox_fd >= 0) {
        const std::uint64_t one = 1;
        const ssize_t r = ::write(mbox_fd, &one, sizeof one);
        (void)r;
    }
}

void worker::mbox_iocb(void* owner, int fd) noexcept {
    auto* self = static_cast<worker*>(owner);
    std::uint64_t v = 0;
    while (::read(fd, &v, sizeof v) > 0) {
    }
    self->loop.fds().cant_recv(fd);
    self->mbox_task.wake();
}

void worker::mbox_run(event::tasklet& /*t*/, void* ctx) noexcept {
    auto* self = static_cast<worker*>(ctx);
    std::uint64_t want = 0;
    {
        std::lock_guard<std::mutex> g(self->mbox_mtx);
        if (self->dump_req_gen > self->dump_done_gen) {
            want = self->dump_req_gen;
        }
    }
    if (want != 0) {
        std::string text;
        try {
            text = self->dump_conns();
        } catch (...) {
            text = "# out of memory\n";
        }
        {
            std::lock_guard<std::mutex> g(self->mbox_mtx);
            self->dump_text = std::move(text);
            self->dump_done_gen = want;
        }
        if (self->index != 0) {
            self->srv.workers[0]->poke();
        }
    }
    if (self->index == 0) {
        for (stats_session* s : self->stats_sessions) {
            if (s->waiting_gen != 0) {
                s->task.wake();
            }
        }
    }
}

std::string worker::dump_conns() const {
    std::string out = "# thread " + std::to_string(index) + ": " + std::to_string(streams.size()) +
                      " connection(s)\n";
    for (stream* s : streams) {
        out += s->show();
    }
    return out;
}

// --- server -------------------------------------------------------------------------------

info_snapshot server::impl::info() const {
    info_snapshot r;
    for (const auto& w : workers) {
        const worker_counters& c = w->counters;
        r.curr_conns += c.curr_conns.load(std::memory_order_relaxed);
        r.cum_conns += c.cum_conns.load(std::memory_order_relaxed);
        r.bytes_in += c.bytes_in.load(std::memory_order_relaxed);
        r.bytes_out += c.bytes_out.load(std::memory_order_relaxed);
        r.backend_connect_errors += c.backend_connect_errors.load(std::memory_order_relaxed);
        r.spliced_streams += c.spliced_streams.load(std::memory_order_relaxed);
    }
    const raw::traffic_totals t = raw::traffic_sum(monotonic_ms());
    r.total_bytes_out = t.bytes_out;
    r.bytes_out_rate = t.bytes_out_rate;
    r.total_spliced_bytes_out = t.spliced_out;
    r.spliced_bytes_out_rate = t.spliced_out_rate;
    return r;
}

std::string server::impl::show_info() const {
    const info_snapshot i = info();
    std::string out;
    char line[160];
    auto kv = [&](const char* key, std::uint64_t v) {
        (void)std::snprintf(line, sizeof line, "%s: %" PRIu64 "\n", key, v);
        out += line;
    };
    out += "Name: xstack-proxy\n";
    out += "Version: " XS_VERSION_STRING "\n";
    kv("Pid", static_cast<std::uint64_t>(::getpid()));
    kv("Nbthread", static_cast<std::uint64_t>(workers.size()));
    kv("Uptime_sec", (monotonic_ms() - process_start_ms) / 1000u);
    kv("CurrConns", i.curr_conns);
    kv("CumConns", i.cum_conns);
    kv("BytesIn", i.bytes_in);
    kv("BytesOut", i.bytes_out);
    kv("BackendConnectErrors", i.backend_connect_errors);
    kv("TotalBytesOut", i.total_bytes_out);
    kv("BytesOutRate", i.bytes_out_rate);
    kv("TotalSplicedBytesOut", i.total_spliced_bytes_out);
    kv("SplicedStreams", i.spliced_streams);
    kv("SplicedBytesOutRate", i.spliced_bytes_out_rate);
    out += "Splice: ";
    out += to_string(opts.splice);
    out += "\nPoller: ";
    out += to_string(opts.poller);
    out += "\n";
    const handshake::hs_stats hs = handshake::hs_stats_sum();
    kv("HsProxyV1", hs[handshake::hs_counter::proxy_v1]);
    kv("HsProxyV2", hs[handshake::hs_counter::proxy_v2]);
    kv("HsProxyLocal", hs[handshake::hs_counter::proxy_local]);
    kv("HsSentV1", hs[handshake::hs_counter::sent_v1]);
    kv("HsSentV2", hs[handshake::hs_counter::sent_v2]);
    kv("HsFailed", hs[handshake::hs_counter::failed]);
    for (std::size_t e = 1; e < xprt::conn_err_count; ++e) {
        if (hs.errors[e] != 0) {
            const std::string key =
                "HsErr_" + std::string(xprt::to_string(static_cast<xprt::conn_err>(e)));
            kv(key.c_str(), hs.errors[e]);
        }
    }
    return out;
}

server::server(std::unique_ptr<impl> i) noexcept : impl_(std::move(i)) {}

server::~server() {
    if (impl_->started) {
        request_stop();
        wait();
    }
}

std::unique_ptr<server> server::create(const options& opts, std::string& err) {
    auto im = std::make_unique<impl>();
    im->opts = opts;
    auto be = raw::resolve(opts.connect);
    if (!be) {
        err = "--connect " + opts.connect + ": " + be.error().what;
        return nullptr;
    }
    im->backend = be->front();
    im->backend_host = host_of(opts.connect);

    im->hs_front.timeout_ms = opts.handshake_timeout_ms;
    im->hs_back.timeout_ms = opts.handshake_timeout_ms;

    const bool want_tls = opts.frontend_tls() || opts.tls;
    if (want_tls && !registry::has_tls()) {
        err = "TLS is not available in this build (no OpenSSL)";
        return nullptr;
    }
#if XS_HAVE_OPENSSL
    if (opts.frontend_tls()) {
        ssl::server_config sc;
        sc.certificates.push_back({.chain_file = opts.tls_cert, .key_file = opts.tls_key});
        sc.alpn = opts.alpn;
        sc.handshake_timeout_ms = opts.handshake_timeout_ms;
        auto ctx = ssl::context::server(sc);
        if (!ctx) {
            err = std::string("--tls-cert: ") + ctx.error().what;
            return nullptr;
        }
        im->tls_server = std::move(*ctx);
    }
    if (opts.tls) {
        ssl::client_config cc;
        cc.verify = !opts.tls_no_verify;
        cc.ca_file = opts.tls_ca;
        cc.handshake_timeout_ms = opts.handshake_timeout_ms;
        auto ctx = ssl::context::client(cc);
        if (!ctx) {
            err = std::string("--tls: ") + ctx.error().what;
            return nullptr;
        }
        im->tls_client = std::move(*ctx);
    }
#endif
    for (int i = 0; i < opts.threads; ++i) {
        auto w = std::make_unique<worker>(*im, i);
        if (!w->loop.ok() || w->mbox_fd < 0) {
            err = "cannot create an event loop";
            return nullptr;
        }
        im->workers.push_back(std::move(w));
    }
    return std::unique_ptr<server>(new server(std::move(im)));
}

void server::set_log(log_fn fn, void* ctx) noexcept {
    impl_->log = fn;
    impl_->log_ctx = ctx;
}

const xprt::sock_addr& server::address() const noexcept {
    return impl_->bound;
}

bool server::start(std::string& err) {
    impl& im = *impl_;
    auto la = raw::resolve(im.opts.listen);
    if (!la) {
        err = "--listen " + im.opts.listen + ": " + la.error().what;
        return false;
    }
    raw::listen_options lo;
    lo.reuseport = im.workers.size() > 1;
    lo.tfo_queue = im.opts.tfo ? 256 : 0;
    auto r = im.workers[0]->lst.open(la->front(), lo);
    if (!r) {
        err = "--listen " + im.opts.listen + ": " + r.error().what;
        if (r.error().sys_errno != 0) {
            err += " (errno " + std::to_string(r.error().sys_errno) + ")";
        }
        return false;
    }
    im.bound = im.workers[0]->lst.address();
    for (std::size_t i = 1; i < im.workers.size(); ++i) {
        r = im.workers[i]->lst.open(im.bound, lo);
        if (!r) {
            err = "--listen " + im.bound.to_string() + " (thread " + std::to_string(i) +
                  "): " + r.error().what;
            return false;
        }
    }
    if (!im.opts.stats_socket.empty()) {
        auto sa = xprt::sock_addr::unix_path(im.opts.stats_socket);
        if (!sa) {
            err = "--stats-socket: invalid path";
            return false;
        }
        worker& w0 = *im.workers[0];
        w0.stats_lst = std::make_unique<raw::listener>(w0.loop, stats_on_accept, &w0);
        raw::listen_options so;
        so.unix_mode = 0600;
        so.backlog = 16;
        // The socket file is created with mode 0600 from the start (no window where other
        // users could connect before the chmod).
        const mode_t old = ::umask(0177);
        r = w0.stats_lst->open(*sa, so);
        ::umask(old);
        if (!r) {
            err = "--stats-socket " + im.opts.stats_socket + ": " + r.error().what;
            return false;
        }
        im.stats_unlink = im.opts.stats_socket.front() != '@';
    }
    for (auto& w : im.workers) {
        worker* wp = w.get();
        const std::size_t pipe_size = im.opts.pipe_size;
        wp->thread = std::thread([wp, pipe_size] {
            // Large pipes: fewer, larger splices (a 64 KiB pipe needs 16 times more).
            raw::pipe_pool_configure(pipe_size, 64);
            wp->loop.run();
            wp->close_all();  // on the loop's own thread: buffers go back to its pool
        });
    }
    im.started = true;
    return true;
}

void server::request_stop() noexcept {
    for (auto& w : impl_->workers) {
        w->loop.request_stop();
    }
}

void server::wait() {
    for (auto& w : impl_->workers) {
        if (w->thread.joinable()) {
            w->thread.join();
        }
    }
    if (impl_->stats_unlink) {
        (void)::unlink(impl_->opts.stats_socket.c_str());
        impl_->stats_unlink = false;
    }
    impl_->started = false;
}

info_snapshot server::info() const {
    return impl_->info();
}
std::string server::show_info() const {
    return impl_->show_info();
}

// --- main ---------------------------------------------------------------------------------

namespace {

std::atomic<server*> g_server{nullptr};

void on_signal(int /*sig*/) {
    server* s = g_server.load();
    if (s != nullptr) {
        s->request_stop();
    }
}

}  // namespace

int run_main(int argc, const char* const* argv) {
    const parse_outcome p = parse_args(argc, argv, registry::has_tls());
    if (p.what == parse_outcome::kind::help) {
        const std::string u = usage_text();
        (void)std::fwrite(u.data(), 1, u.size(), stdout);
        return 0;
    }
    if (p.what == parse_outcome::kind::error) {
        (void)std::fprintf(stderr, "xstack-proxy: %s\n(try --help)\n", p.message.c_str());
        return 2;
    }
    std::string err;
    auto srv = server::create(p.opts, err);
    if (!srv) {
        (void)std::fprintf(stderr, "xstack-proxy: %s\n", err.c_str());
        return 1;
    }
    // Signals: block them while the workers start (they inherit the mask), so only this
    // thread takes them.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    (void)std::signal(SIGPIPE, SIG_IGN);
    g_server.store(srv.get());
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
    if (!srv->start(err)) {
        (void)std::fprintf(stderr, "xstack-proxy: %s\n", err.c_str());
        g_server.store(nullptr);
        return 1;
    }
    (void)std::fprintf(stderr, "xstack-proxy: listening on %s, backend %s, %d thread(s)\n",
                       srv->address().to_string().c_str(), p.opts.connect.c_str(), p.opts.threads);
    (void)std::fflush(stderr);
    pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
    srv->wait();
    g_server.store(nullptr);
    return 0;
}

}  // namespace xstack::proxy
