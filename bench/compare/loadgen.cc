// bench/compare/loadgen.cc - the load generator and sink of the proxy comparison
// (bench/compare/run.sh), for the two loads wrk cannot make: one bulk connection and many idle
// ones. Plain POSIX sockets, on purpose: it is the instrument, not the thing measured, and must
// cost the same whichever proxy sits in the middle.
//
//   xstack-loadgen sink HOST:PORT       accept forever, read and discard, close on EOF; prints
//                                       "port N" once listening. SIGTERM ends it.
//   xstack-loadgen send HOST:PORT BYTES one connection: write BYTES, shut the write side, wait
//                                       for the peer's close; prints "bytes=B seconds=S MBps=R"
//   xstack-loadgen hold HOST:PORT N     open N connections, send nothing; prints "held N" and
//                                       keeps them until SIGTERM
//
// Exit status: 0 done, 1 a socket error (with a message), 2 bad usage.
#include <cerrno>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace {

constexpr std::size_t io_size = std::size_t{256} * 1024;

// The program is single-threaded: strerror and exit are safe here.
[[noreturn]] void die(const char* what) {
    (void)std::fprintf(stderr, "xstack-loadgen: %s: %s\n", what,
                       std::strerror(errno));  // NOLINT(concurrency-mt-unsafe)
    std::exit(1);                              // NOLINT(concurrency-mt-unsafe)
}

[[noreturn]] void usage() {
    (void)std::fprintf(
        stderr,
        "usage: xstack-loadgen sink HOST:PORT | send HOST:PORT BYTES | hold HOST:PORT N\n"
        "       (HOST is an IPv4 literal)\n");
    std::exit(2);  // NOLINT(concurrency-mt-unsafe)
}

std::uint64_t parse_u64(std::string_view s) {
    std::uint64_t v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || end != s.data() + s.size()) {
        usage();
    }
    return v;
}

sockaddr_in parse_addr(std::string_view s) {
    const auto colon = s.rfind(':');
    if (colon == std::string_view::npos) {
        usage();
    }
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    const std::string host(s.substr(0, colon));
    if (inet_pton(AF_INET, host.c_str(), &sa.sin_addr) != 1) {
        usage();
    }
    const auto port = parse_u64(s.substr(colon + 1));
    if (port > 65535) {
        usage();
    }
    sa.sin_port = htons(static_cast<std::uint16_t>(port));
    return sa;
}

int connect_to(const sockaddr_in& sa) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        die("socket");
    }
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0) {
        die("connect");
    }
    return fd;
}

volatile std::sig_atomic_t stop_requested = 0;
void on_signal(int) {
    stop_requested = 1;
}

int run_sink(const sockaddr_in& sa) {
    const int lfd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (lfd < 0) {
        die("socket");
    }
    const int one = 1;
    ::setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(lfd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0) {
        die("bind");
    }
    if (::listen(lfd, 4096) != 0) {
        die("listen");
    }
    sockaddr_in bound{};
    socklen_t len = sizeof bound;
    ::getsockname(lfd, reinterpret_cast<sockaddr*>(&bound), &len);
    (void)std::printf("port %u\n", ntohs(bound.sin_port));
    (void)std::fflush(stdout);

    const int ep = ::epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) {
        die("epoll_create1");
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = lfd;
    if (::epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) != 0) {
        die("epoll_ctl");
    }
    std::vector<char> buf(io_size);
    std::vector<epoll_event> evs(256);
    while (stop_requested == 0) {
        const int n = ::epoll_wait(ep, evs.data(), static_cast<int>(evs.size()), 200);
        if (n < 0 && errno != EINTR) {
            die("epoll_wait");
        }
        for (int i = 0; i < n; ++i) {
            const int fd = evs[static_cast<std::size_t>(i)].data.fd;
            if (fd == lfd) {
                for (;;) {
                    const int c = ::accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
                    if (c < 0) {
                        break;  // EAGAIN, or EMFILE: the next wakeup retries
                    }
                    epoll_event cev{};
                    cev.events = EPOLLIN;
                    cev.data.fd = c;
                    if (::epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev) != 0) {
                        ::close(c);
                    }
                }
                continue;
            }
            for (;;) {
                const ssize_t r = ::recv(fd, buf.data(), buf.size(), 0);
                if (r > 0) {
                    continue;
                }
                if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
                    break;
                }
                ::close(fd);  // EOF or error: closing also removes it from the epoll set
                break;
            }
        }
    }
    return 0;
}

int run_send(const sockaddr_in& sa, std::uint64_t bytes) {
    std::vector<char> buf(io_size, 'x');
    const auto t0 = std::chrono::steady_clock::now();
    const int fd = connect_to(sa);
    std::uint64_t left = bytes;
    while (left > 0) {
        const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(left, buf.size()));
        const ssize_t w = ::send(fd, buf.data(), n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            die("send");
        }
        left -= static_cast<std::uint64_t>(w);
    }
    if (::shutdown(fd, SHUT_WR) != 0) {
        die("shutdown");
    }
    // The sink closes once it has read everything: the transfer is complete at our EOF.
    for (;;) {
        const ssize_t r = ::recv(fd, buf.data(), buf.size(), 0);
        if (r == 0) {
            break;
        }
        if (r < 0 && errno != EINTR) {
            die("recv (waiting for the sink's close)");
        }
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ::close(fd);
    (void)std::printf("bytes=%llu seconds=%.6f MBps=%.1f\n", static_cast<unsigned long long>(bytes),
                      s, static_cast<double>(bytes) / s / 1e6);
    return 0;
}

int run_hold(const sockaddr_in& sa, std::uint64_t n) {
    std::vector<int> fds;
    fds.reserve(n);
    for (std::uint64_t i = 0; i < n; ++i) {
        fds.push_back(connect_to(sa));
    }
    (void)std::printf("held %llu\n", static_cast<unsigned long long>(n));
    (void)std::fflush(stdout);
    while (stop_requested == 0) {
        (void)::poll(nullptr, 0, 200);
    }
    for (const int fd : fds) {
        ::close(fd);
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        usage();
    }
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    ::sigaction(SIGTERM, &sa, nullptr);
    ::sigaction(SIGINT, &sa, nullptr);
    const std::string_view cmd = argv[1];
    const sockaddr_in addr = parse_addr(argv[2]);
    if (cmd == "sink" && argc == 3) {
        return run_sink(addr);
    }
    if (cmd == "send" && argc == 4) {
        return run_send(addr, parse_u64(argv[3]));
    }
    if (cmd == "hold" && argc == 4) {
        return run_hold(addr, parse_u64(argv[3]));
    }
    usage();
}
