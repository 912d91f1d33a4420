// proxy/proxy.h - xstack-proxy as a library: an L4 TCP proxy on the transport chain.
//
// A server owns N worker threads, each with its own event loop and SO_REUSEPORT listener.
// Every accepted connection becomes a forwarding stream: the client connection (RAW, HS>RAW,
// SSL>RAW or SSL>HS>RAW) and a backend connection (RAW, HS>RAW, SSL>RAW, SSL>HS>RAW), one pool
// buffer per direction, data moved with rcv_buf/snd_buf on the top of each chain, half-close
// propagated each way. The optional stats socket is served by the loop of worker 0.
//
// Life cycle (control path, one controlling thread):
//   auto s = server::create(opts, err);   // resolves, loads certificates, creates the loops
//   s->start(err);                          // binds (address() is then known), starts threads
//   ... s->request_stop() from anywhere (async-signal-safe) ...
//   s->wait();                              // joins the threads; every connection is closed
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "proxy/options.h"
#include "xprt/sock_addr.h"

namespace xstack::proxy {

/// Receives each log line (without the trailing newline). Called from worker threads,
/// possibly concurrently: the sink must be thread-safe. Default: one write(2) to stderr.
using log_fn = void (*)(void* ctx, std::string_view line) noexcept;

/// Counters summed over every worker (what "show info" prints, as numbers).
struct info_snapshot {
    std::uint64_t curr_conns = 0;
    std::uint64_t cum_conns = 0;
    std::uint64_t bytes_in = 0;   ///< client -> backend bytes forwarded
    std::uint64_t bytes_out = 0;  ///< backend -> client bytes forwarded
    std::uint64_t backend_connect_errors = 0;
    std::uint64_t spliced_streams = 0;  ///< streams that used splice in a direction
    std::uint64_t total_bytes_out = 0;  ///< raw: every byte sent by the process
    std::uint64_t bytes_out_rate = 0;
    std::uint64_t total_spliced_bytes_out = 0;
    std::uint64_t spliced_bytes_out_rate = 0;
};

class server {
public:
    /// Validates and prepares everything that can fail before binding: resolves the backend,
    /// builds the TLS contexts, creates the loops. nullptr with `err` set on failure.
    static std::unique_ptr<server> create(const options& opts, std::string& err);
    ~server();
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    /// Sets the log sink (before start()).
    void set_log(log_fn fn, void* ctx) noexcept;

    /// Binds the listeners (and the stats socket) and starts the worker threads.
    bool start(std::string& err);
    /// The address the listeners are bound to (valid after start()).
    [[nodiscard]] const xprt::sock_addr& address() const noexcept;
    /// Asks every loop to stop. Async-signal-safe and thread-safe.
    void request_stop() noexcept;
    /// Waits for the workers to stop; connections are closed, listeners and the stats socket
    /// removed.
    void wait();

    /// Summed counters (any thread).
    [[nodiscard]] info_snapshot info() const;
    /// The "show info" text.
    [[nodiscard]] std::string show_info() const;

    struct impl;

private:
    explicit server(std::unique_ptr<impl> i) noexcept;
    std::unique_ptr<impl> impl_;
};

/// Runs the proxy until SIGTERM/SIGINT: what main() does. Returns the exit status.
int run_main(int argc, const char* const* argv);

}  // namespace xstack::proxy
