// proxy/proxy_internal.h - the pieces of xstack-proxy: workers (a loop, a listener, streams),
// forwarding streams, stats sessions. Private to proxy/.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "event/loop.h"
#include "handshake/hs.h"
#include "proxy/proxy.h"
#include "raw/sock.h"
#include "xprt/buffer.h"
#include "xprt/connection.h"
#include "xstack/config.h"

#if XS_HAVE_OPENSSL
#include "ssl/ssl.h"
#endif

namespace xstack::proxy {

struct worker;
struct stream;
struct stats_session;

/// Per-worker counters: written by the worker's thread, read by any thread.
struct worker_counters {
    std::atomic<std::uint64_t> curr_conns{0};
    std::atomic<std::uint64_t> cum_conns{0};
    std::atomic<std::uint64_t> bytes_in{0};
    std::atomic<std::uint64_t> bytes_out{0};
    std::atomic<std::uint64_t> backend_connect_errors{0};
    std::atomic<std::uint64_t> spliced_streams{0};  ///< streams that spliced at least once

    void add(std::atomic<std::uint64_t>& c, std::uint64_t n) noexcept {
        c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }
};

/// One event loop on its own thread: a listener, the streams it accepted, and a mailbox (an
/// eventfd) through which other threads ask it for a "show conn" dump.
struct worker {
    worker(server::impl& s, int idx);
    ~worker();
    worker(const worker&) = delete;
    worker& operator=(const worker&) = delete;

    static void on_accept(void* ctx, int fd, const xprt::sock_addr& peer) noexcept;
    static void mbox_iocb(void* owner, int fd) noexcept;
    static void mbox_run(event::tasklet& t, void* ctx) noexcept;
    /// Called from another thread: makes the mailbox tasklet run on this worker's loop.
    void poke() const noexcept;
    /// This worker's connections, one block per stream (this worker's thread only).
    [[nodiscard]] std::string dump_conns() const;
    void remove(stream* s) noexcept;
    void close_all() noexcept;
    /// One closed connection's log line. With the default logger (stderr) lines are batched:
    /// written once per loop pass, or sooner when 4 KiB have gathered, instead of one write per
    /// connection. A batch never exceeds PIPE_BUF, so a pipe never interleaves it with another
    /// thread's. A logger set with server::set_log gets each line at once.
    void log_line(std::string_view line) noexcept;
    void flush_log() noexcept;
    static void log_run(event::tasklet& t, void* ctx) noexcept;

    server::impl& srv;
    int index;
    event::loop loop;
    raw::listener lst;
    std::vector<stream*> streams;
    worker_counters counters;
    std::array<char, 4096> log_buf{};  // PIPE_BUF on Linux
    std::size_t log_len = 0;
    event::tasklet log_task;
    std::thread thread;

    int mbox_fd = -1;
    event::tasklet mbox_task;
    // "show conn" requests from worker 0's stats sessions (guarded by mbox_mtx).
    std::mutex mbox_mtx;
    std::uint64_t dump_req_gen = 0;
    std::uint64_t dump_done_gen = 0;
    std::string dump_text;

    // Worker 0 only: the stats socket and its sessions.
    std::unique_ptr<raw::listener> stats_lst;
    std::vector<stats_session*> stats_sessions;
    std::uint64_t dump_gen = 0;
};

/// The server's shared, read-only-after-start configuration and its workers.
struct server::impl {
    options opts;
    xprt::sock_addr backend;
    std::string backend_host;  ///< host part of --connect (certificate name by default)
    xprt::sock_addr bound;
    handshake::hs_config hs_front;
    handshake::hs_config hs_back;
#if XS_HAVE_OPENSSL
    ssl::context tls_server;
    ssl::context tls_client;
#endif
    log_fn log = nullptr;
    void* log_ctx = nullptr;
    std::vector<std::unique_ptr<worker>> workers;
    bool started = false;
    bool stats_unlink = false;

    [[nodiscard]] info_snapshot info() const;
    [[nodiscard]] std::string show_info() const;
};

/// A forwarding stream: the client connection, the backend connection, a buffer per direction.
struct stream {
    explicit stream(worker& w) noexcept;
    ~stream();
    stream(const stream&) = delete;
    stream& operator=(const stream&) = delete;

    /// Sets up the accepted connection (fd given to the stream). False: the stream is unusable
    /// (the caller deletes it).
    bool accept(int fd, const xprt::sock_addr& peer) noexcept;
    static void run(event::tasklet& t, void* ctx) noexcept;
    void step() noexcept;
    bool start_backend() noexcept;
    /// One direction, one round: receive from `src`, send to `dst` (through `buf`, or through
    /// the kernel pipe `p` when splicing), propagate the end of input. True on progress.
    bool forward(xprt::connection& src, xprt::connection& dst, xprt::pool_buffer& buf,
                 xprt::pipe*& p, bool& bulk, bool dst_usable, bool& shut_done,
                 std::uint64_t& counter, std::atomic<std::uint64_t>& total) noexcept;
    /// The splice half of forward(): -1 when splicing turned out impossible (fall back).
    int forward_pipe(xprt::connection& src, xprt::connection& dst, xprt::pipe*& p, bool& shut_done,
                     std::uint64_t& counter, std::atomic<std::uint64_t>& total) noexcept;
    [[nodiscard]] bool splice_allowed(bool bulk) const noexcept;
    void subscribe_all() noexcept;
    /// Logs, closes both connections, deletes the stream.
    void finish(const char* reason, xprt::conn_err code) noexcept;
    [[nodiscard]] std::string show();

    worker& w;
    xprt::connection fe;
    xprt::connection be;
    xprt::pool_buffer req;           ///< client -> backend
    xprt::pool_buffer res;           ///< backend -> client
    xprt::pipe* req_pipe = nullptr;  ///< client -> backend, while splicing and holding data
    xprt::pipe* res_pipe = nullptr;
    event::tasklet task;
    xprt::wait_event we_fe;
    xprt::wait_event we_be;
    event::timer hs_timer;
    event::timer idle_timer;

    std::uint64_t start_ns = 0;
    std::uint64_t hs_done_ns = 0;
    std::uint64_t bytes_in = 0;
    std::uint64_t bytes_out = 0;
    std::string fe_chain;
    std::string be_chain;
    std::string client;
    bool fe_ready = false;
    bool be_started = false;
    bool be_ready = false;
    bool req_shut = false;
    bool res_shut = false;
    bool req_bulk = false;  ///< --splice auto: a read filled the buffer (bulk transfer)
    bool res_bulk = false;
    bool spliced = false;     ///< spliced at least once (counted in SplicedStreams)
    bool splice_off = false;  ///< splicing refused once: buffers only from now on
    const char* first_fin = nullptr;
};

/// A client of the stats socket: reads one command line, answers, closes.
struct stats_session {
    stats_session(worker& w) noexcept;
    ~stats_session();
    stats_session(const stats_session&) = delete;
    stats_session& operator=(const stats_session&) = delete;

    static void run(event::tasklet& t, void* ctx) noexcept;
    void step() noexcept;
    void execute(std::string_view cmd);
    void finish() noexcept;
    bool dump_ready() noexcept;

    worker& w;
    xprt::connection conn;
    xprt::pool_buffer buf;
    event::tasklet task;
    xprt::wait_event we;
    event::timer timer;
    std::string in;
    std::string out;
    std::size_t sent = 0;
    std::uint64_t waiting_gen = 0;  ///< show conn: the dump generation awaited
    bool answering = false;
};

void stats_on_accept(void* ctx, int fd, const xprt::sock_addr& peer) noexcept;

}  // namespace xstack::proxy
