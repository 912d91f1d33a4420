// tests/support/socket_pair.h - two connected, non-blocking stream sockets for hermetic tests.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <sys/socket.h>

namespace xstack::test {

/// Two connected stream sockets, both non-blocking and close-on-exec, closed by the destructor.
///
/// The default constructor makes an AF_UNIX socketpair. tcp() makes a loopback TCP pair:
/// it listens on 127.0.0.1:0 (or [::1]:0), connects, accepts and closes the listener; `a()`
/// is the connecting side, `b()` the accepted one. The setup syscalls go straight to the
/// kernel (not through xstack::sys), so they never show up in a test's syscall counts.
/// ok() is false when the kernel refused (e.g. no IPv6 on this machine): skip the test then.
class socket_pair {
public:
    socket_pair();
    /// A connected TCP pair over loopback; `family` is AF_INET or AF_INET6.
    static socket_pair tcp(int family = AF_INET);

    ~socket_pair();
    socket_pair(socket_pair&& o) noexcept;
    socket_pair& operator=(socket_pair&& o) noexcept;
    socket_pair(const socket_pair&) = delete;
    socket_pair& operator=(const socket_pair&) = delete;

    [[nodiscard]] bool ok() const noexcept { return a_ >= 0 && b_ >= 0; }
    [[nodiscard]] int a() const noexcept { return a_; }
    [[nodiscard]] int b() const noexcept { return b_; }

    /// Gives up ownership of one end (e.g. to a connection whose ctrl_close closes it).
    [[nodiscard]] int release_a() noexcept;
    [[nodiscard]] int release_b() noexcept;
    /// Closes one end now.
    void close_a() noexcept;
    void close_b() noexcept;

private:
    struct no_init {};
    explicit socket_pair(no_init) noexcept {}
    int a_ = -1;
    int b_ = -1;
};

/// Writes all of `data` to a non-blocking fd (retrying EINTR/EAGAIN up to a deadline of
/// `timeout_ms`, polling for writability, no sleeps). False on error or timeout.
bool write_all(int fd, std::string_view data, int timeout_ms = 2000);
/// Reads what is available now on a non-blocking fd (up to `max` bytes), without waiting.
std::string read_available(int fd, std::size_t max = 1 << 20);
/// Reads exactly `n` bytes, polling for readability up to `timeout_ms`; returns what it got.
std::string read_exactly(int fd, std::size_t n, int timeout_ms = 2000);
/// True once `fd` is readable (or shut/failed), polling up to `timeout_ms`.
bool wait_readable(int fd, int timeout_ms = 2000);
/// Sets or clears O_NONBLOCK; false on failure.
bool set_nonblocking(int fd, bool on = true);
/// A listen address safe to bind while other test processes run: an abstract UNIX name
/// ("unix:@name") gets the process id and a per-process sequence number appended, as port 0
/// does for TCP. Other addresses are returned unchanged.
std::string unique_listen_address(std::string_view address);

}  // namespace xstack::test
