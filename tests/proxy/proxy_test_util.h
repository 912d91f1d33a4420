// tests/proxy/proxy_test_util.h - what the xstack-proxy tests share: a proxy running in-process
// on its own threads with its log captured, blocking test clients with bounded waits, and test
// backends (echo, scripted) on loopback port 0.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <unistd.h>

#include "proxy/proxy.h"
#include "xprt/sock_addr.h"

namespace xstack::test::proxy_util {

/// Every wait in these tests is bounded by this (milliseconds).
inline constexpr int wait_ms = 10000;

/// A connected blocking TCP socket with send/receive timeouts of wait_ms; -1 on failure.
int connect_to(const xprt::sock_addr& a);

/// A connected client fd closed by the destructor.
struct client_fd {
    int fd = -1;
    explicit client_fd(const xprt::sock_addr& a) : fd(connect_to(a)) {}
    ~client_fd() {
        if (fd >= 0) {
            ::close(fd);
        }
    }
    client_fd(const client_fd&) = delete;
    client_fd& operator=(const client_fd&) = delete;
};
/// Sends everything; false on error/timeout.
bool send_all(int fd, std::string_view data);
/// Receives exactly n bytes (less on EOF, error or timeout).
std::string recv_exactly(int fd, std::size_t n);
/// Receives until EOF; `eof` says whether EOF (not an error/timeout) ended it.
std::string recv_until_eof(int fd, bool* eof = nullptr, std::size_t max = 64u << 20);
/// True once the peer closed (EOF or reset) with no data pending, within wait_ms.
bool wait_closed(int fd);
/// A loopback address where nothing listens (bound, never listened, closed).
xprt::sock_addr unused_port();
/// Random-looking but deterministic bytes.
std::string pattern(std::size_t n, unsigned seed = 1);

/// A TCP server on 127.0.0.1:0 running `handler(fd)` on a thread per connection (blocking
/// fd with timeouts; the handler owns and closes it).
class backend {
public:
    using handler_fn = std::function<void(int fd)>;
    explicit backend(handler_fn h);
    /// The same, listening on `at` (e.g. a port unused_port() returned, to start listening
    /// where connections were refused until now).
    backend(handler_fn h, const xprt::sock_addr& at);
    ~backend();
    backend(const backend&) = delete;
    backend& operator=(const backend&) = delete;

    [[nodiscard]] const xprt::sock_addr& address() const noexcept { return addr_; }
    [[nodiscard]] std::string address_text() const { return addr_.to_string(); }
    [[nodiscard]] int accepted() const noexcept { return accepted_.load(); }

    /// Echoes until EOF, then shuts its write side and closes.
    static void echo(int fd);

private:
    void accept_loop();
    handler_fn handler_;
    int lfd_ = -1;
    int stop_pipe_[2] = {-1, -1};
    xprt::sock_addr addr_;
    std::atomic<int> accepted_{0};
    std::thread acceptor_;
    std::mutex m_;
    std::vector<std::thread> conns_;
};

/// An xstack-proxy server running in this process, its log lines captured.
class running_proxy {
public:
    running_proxy() = default;
    ~running_proxy();
    running_proxy(const running_proxy&) = delete;
    running_proxy& operator=(const running_proxy&) = delete;

    /// Parses `args` like the command line, creates and starts the server; the error text
    /// otherwise (empty on success).
    std::string start(const std::vector<std::string>& args);
    void stop();

    [[nodiscard]] xstack::proxy::server& srv() { return *srv_; }
    [[nodiscard]] const xprt::sock_addr& address() const { return srv_->address(); }
    /// Waits until `n` log lines were written; returns them (all of them).
    std::vector<std::string> wait_logs(std::size_t n, int timeout_ms = wait_ms);
    [[nodiscard]] std::vector<std::string> logs();

private:
    static void on_log(void* ctx, std::string_view line) noexcept;
    std::unique_ptr<xstack::proxy::server> srv_;
    std::mutex m_;
    std::condition_variable cv_;
    std::vector<std::string> lines_;
};

/// Sends one command to a stats socket and returns the whole answer ("" on failure).
std::string stats_command(const std::string& path, std::string_view cmd);
/// The value of "Key: value" in a show info answer, or -1.
long long info_value(const std::string& info, std::string_view key);

/// A fresh temporary directory (removed at process exit).
std::string temp_dir();

}  // namespace xstack::test::proxy_util
