// tests/support/socket_pair.cc
#include "tests/support/socket_pair.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <utility>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <unistd.h>

namespace xstack::test {

namespace {

void close_fd(int& fd) noexcept {
    if (fd >= 0) {
        (void)::close(fd);
        fd = -1;
    }
}

int remaining_ms(std::chrono::steady_clock::time_point deadline) noexcept {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

// Polls `fd` for `events` until the deadline; true if any event (including ERR/HUP) came.
bool wait_for(int fd, short events, std::chrono::steady_clock::time_point deadline) noexcept {
    for (;;) {
        pollfd p{fd, events, 0};
        const int n = ::poll(&p, 1, remaining_ms(deadline));
        if (n > 0) {
            return true;
        }
        if (n == 0) {
            return false;
        }
        if (errno != EINTR) {
            return false;
        }
    }
}

}  // namespace

bool set_nonblocking(int fd, bool on) {
    const int fl = ::fcntl(fd, F_GETFL);
    if (fl < 0) {
        return false;
    }
    const int want = on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
    return want == fl || ::fcntl(fd, F_SETFL, want) == 0;
}

socket_pair::socket_pair() {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0) {
        a_ = sv[0];
        b_ = sv[1];
    }
}

socket_pair socket_pair::tcp(int family) {
    socket_pair p{no_init{}};
    sockaddr_storage ss{};
    socklen_t len = 0;
    if (family == AF_INET6) {
        auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
        in6->sin6_family = AF_INET6;
        in6->sin6_addr = in6addr_loopback;
        len = sizeof(sockaddr_in6);
    } else {
        auto* in = reinterpret_cast<sockaddr_in*>(&ss);
        in->sin_family = AF_INET;
        in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        len = sizeof(sockaddr_in);
    }
    int lfd = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lfd < 0) {
        return p;
    }
    auto* sa = reinterpret_cast<sockaddr*>(&ss);
    if (::bind(lfd, sa, len) != 0 || ::listen(lfd, 4) != 0 || ::getsockname(lfd, sa, &len) != 0) {
        close_fd(lfd);
        return p;
    }
    // A blocking connect to a listening loopback socket completes at once (the kernel
    // finishes the handshake from the backlog); then both ends become non-blocking.
    p.a_ = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (p.a_ < 0 || ::connect(p.a_, sa, len) != 0) {
        close_fd(p.a_);
        close_fd(lfd);
        return p;
    }
    p.b_ = ::accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    close_fd(lfd);
    if (p.b_ < 0 || !set_nonblocking(p.a_)) {
        close_fd(p.a_);
        close_fd(p.b_);
        return p;
    }
    const int one = 1;
    (void)::setsockopt(p.a_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    (void)::setsockopt(p.b_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return p;
}

socket_pair::~socket_pair() {
    close_fd(a_);
    close_fd(b_);
}

socket_pair::socket_pair(socket_pair&& o) noexcept
    : a_(std::exchange(o.a_, -1)), b_(std::exchange(o.b_, -1)) {}

socket_pair& socket_pair::operator=(socket_pair&& o) noexcept {
    if (this != &o) {
        close_fd(a_);
        close_fd(b_);
        a_ = std::exchange(o.a_, -1);
        b_ = std::exchange(o.b_, -1);
    }
    return *this;
}

int socket_pair::release_a() noexcept {
    return std::exchange(a_, -1);
}
int socket_pair::release_b() noexcept {
    return std::exchange(b_, -1);
}
void socket_pair::close_a() noexcept {
    close_fd(a_);
}
void socket_pair::close_b() noexcept {
    close_fd(b_);
}

bool write_all(int fd, std::string_view data, int timeout_ms) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (!data.empty()) {
        const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            data.remove_prefix(static_cast<std::size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!wait_for(fd, POLLOUT, deadline)) {
                return false;
            }
            continue;
        }
        return false;
    }
    return true;
}

std::string read_available(int fd, std::size_t max) {
    std::string out;
    char buf[65536];
    while (out.size() < max) {
        const std::size_t want = std::min(sizeof buf, max - out.size());
        const ssize_t n = ::recv(fd, buf, want, MSG_DONTWAIT);
        if (n > 0) {
            out.append(buf, static_cast<std::size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        break;
    }
    return out;
}

std::string read_exactly(int fd, std::size_t n, int timeout_ms) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    std::string out;
    while (out.size() < n) {
        const std::string got = read_available(fd, n - out.size());
        if (!got.empty()) {
            out += got;
            continue;
        }
        if (!wait_for(fd, POLLIN, deadline)) {
            break;
        }
        // Readable but nothing read: EOF or error. Stop rather than spin.
        char c = 0;
        const ssize_t r = ::recv(fd, &c, 1, MSG_DONTWAIT | MSG_PEEK);
        if (r <= 0 && !(r < 0 && (errno == EAGAIN || errno == EINTR))) {
            break;
        }
    }
    return out;
}

bool wait_readable(int fd, int timeout_ms) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    return wait_for(fd, POLLIN, deadline);
}

std::string unique_listen_address(std::string_view address) {
    std::string out(address);
    if (address.starts_with("unix:@")) {
        static std::atomic<unsigned> seq{0};
        out += "-" + std::to_string(::getpid()) + "-" + std::to_string(seq.fetch_add(1));
    }
    return out;
}

}  // namespace xstack::test
