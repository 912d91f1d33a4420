// tests/proxy/proxy_robust_test.cc - xstack-proxy under stress and bad input, in-process:
// integrity of large bidirectional transfers (buffers and splice), half-close both ways, a
// thousand concurrent connections with no fd left behind, and malformed handshakes, resets and
// refused backends, each followed by a normal connection that must still be served.
//
// Sizes (the whole file takes ~6-15 s under ASan on 2 cores, ~2 s in dev): 64 MiB each way at
// once per splice mode, 3 MiB per half-close direction, 1000 connections of 4..16 KiB each.
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <future>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "raw/traffic.h"
#include "tests/proxy/proxy_test_util.h"
#include "xstack/config.h"

#if XS_HAVE_OPENSSL
#include "tests/ssl/openssl_peer.h"
#include "tests/ssl/test_certs.h"
#endif

namespace xstack::test {
namespace {

using namespace proxy_util;

// --- helpers ---------------------------------------------------------------------------------

/// FNV-1a 64 over a byte stream, with its length.
struct digest {
    std::uint64_t hash = 14695981039346656037ull;
    std::uint64_t bytes = 0;
    bool eof = false;  ///< the stream ended with EOF (not an error or a timeout)

    void add(const char* p, std::size_t n) noexcept {
        std::uint64_t h = hash;
        for (std::size_t i = 0; i < n; ++i) {
            h ^= static_cast<unsigned char>(p[i]);
            h *= 1099511628211ull;
        }
        hash = h;
        bytes += n;
    }
    static digest of(std::string_view s) {
        digest d;
        d.add(s.data(), s.size());
        d.eof = true;
        return d;
    }
    bool operator==(const digest& o) const noexcept {
        return hash == o.hash && bytes == o.bytes && eof == o.eof;
    }
};

std::ostream& operator<<(std::ostream& os, const digest& d) {
    return os << "{bytes=" << d.bytes << " hash=" << std::hex << d.hash << std::dec
              << " eof=" << d.eof << "}";
}

/// Receives until EOF (or error/timeout), hashing what arrives.
digest recv_digest(int fd) {
    digest d;
    std::vector<char> buf(1u << 16);
    for (;;) {
        const ssize_t r = ::recv(fd, buf.data(), buf.size(), 0);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r == 0) {
            d.eof = true;
        }
        if (r <= 0) {
            return d;
        }
        d.add(buf.data(), static_cast<std::size_t>(r));
    }
}

/// The value of `key=` in a log line ("" when absent).
std::string log_field(const std::string& line, std::string_view key) {
    const std::string needle = " " + std::string(key) + "=";
    const std::size_t p = line.find(needle);
    if (p == std::string::npos) {
        return {};
    }
    const std::size_t b = p + needle.size();
    return line.substr(b, line.find(' ', b) - b);
}

/// Polls `pred` until it holds or `timeout_ms` passed; the final value of `pred`.
bool wait_until(const std::function<bool()>& pred, int timeout_ms = wait_ms) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (!pred()) {
        if (std::chrono::steady_clock::now() >= deadline) {
            return pred();
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return true;
}

/// Open descriptors of this process (the directory stream's own fd included, every time).
int open_fd_count() {
    DIR* d = ::opendir("/proc/self/fd");
    if (d == nullptr) {
        return -1;
    }
    int n = 0;
    while (const dirent* e = ::readdir(d)) {
        if (e->d_name[0] != '.') {
            ++n;
        }
    }
    ::closedir(d);
    return n;
}

/// A PROXY v1 line of exactly `total` bytes (CRLF included): "PROXY UNKNOWN " + filler.
std::string v1_unknown_line(std::size_t total) {
    std::string s = "PROXY UNKNOWN ";
    s.append(total - s.size() - 2, 'x');
    s += "\r\n";
    return s;
}

/// One connection through a proxy configured with --accept-proxy: a valid header (the longest
/// v1 line allowed, 107 bytes) and a payload that the echo backend must send back.
void expect_good_proxied_echo(running_proxy& px, std::size_t log_index) {
    client_fd c(px.address());
    ASSERT_GE(c.fd, 0);
    const std::string payload = pattern(20000, 99);
    ASSERT_TRUE(send_all(c.fd, v1_unknown_line(107) + payload));
    EXPECT_TRUE(recv_exactly(c.fd, payload.size()) == payload);
    ::shutdown(c.fd, SHUT_WR);
    EXPECT_TRUE(wait_closed(c.fd));
    const auto logs = px.wait_logs(log_index + 1);
    ASSERT_EQ(logs.size(), log_index + 1);
    EXPECT_EQ(log_field(logs[log_index], "term"), "client_fin") << logs[log_index];
    EXPECT_EQ(log_field(logs[log_index], "code"), "NONE") << logs[log_index];
    EXPECT_EQ(log_field(logs[log_index], "bytes_in"), "20000") << logs[log_index];
}

/// One plain connection echoed through the proxy.
void expect_good_echo(running_proxy& px, std::size_t log_index) {
    client_fd c(px.address());
    ASSERT_GE(c.fd, 0);
    const std::string payload = pattern(30000, 98);
    ASSERT_TRUE(send_all(c.fd, payload));
    EXPECT_TRUE(recv_exactly(c.fd, payload.size()) == payload);
    ::shutdown(c.fd, SHUT_WR);
    EXPECT_TRUE(wait_closed(c.fd));
    const auto logs = px.wait_logs(log_index + 1);
    ASSERT_EQ(logs.size(), log_index + 1);
    EXPECT_EQ(log_field(logs[log_index], "code"), "NONE") << logs[log_index];
    EXPECT_EQ(log_field(logs[log_index], "bytes_out"), "30000") << logs[log_index];
}

// --- 1. 64 MiB each way at once ----------------------------------------------------------------

constexpr std::size_t big = std::size_t{64} << 20;

const std::string& upstream_data() {
    static const std::string s = pattern(big, 1001);
    return s;
}
const std::string& downstream_data() {
    static const std::string s = pattern(big, 2002);
    return s;
}

/// How a bulk transfer ends: each side shuts its write side as soon as it sent everything
/// (the FINs cross the other direction's data), or only once it also received everything the
/// peer sent (no direction is half-closed while the other still has data in flight).
enum class fin_at { sent, all_received };

struct bulk_case {
    const char* splice;
    fin_at fin;
};

class ProxyRobustBulkTest : public ::testing::TestWithParam<bulk_case> {};

/// Receives into `d` until EOF (or error/timeout), or until `until` bytes in all.
void recv_into(int fd, digest& d, std::uint64_t until = ~std::uint64_t{0}) {
    std::vector<char> buf(1u << 16);
    while (d.bytes < until) {
        const std::size_t want =
            static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), until - d.bytes));
        const ssize_t r = ::recv(fd, buf.data(), want, 0);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r == 0) {
            d.eof = true;
        }
        if (r <= 0) {
            return;
        }
        d.add(buf.data(), static_cast<std::size_t>(r));
    }
}

/// One end of the bulk exchange on `fd`: sends `out` from a thread while receiving, shuts its
/// write side as `fin` says, returns what it received (until EOF).
digest exchange(int fd, const std::string& out, fin_at fin, bool& sent) {
    std::promise<void> all_in;
    auto all_in_f = all_in.get_future();
    std::thread writer([&] {
        sent = send_all(fd, out);
        if (fin == fin_at::all_received) {
            (void)all_in_f.wait_for(std::chrono::milliseconds(wait_ms));
        }
        ::shutdown(fd, SHUT_WR);
    });
    digest d;
    recv_into(fd, d, big);
    all_in.set_value();
    recv_into(fd, d);
    writer.join();
    return d;
}

TEST_P(ProxyRobustBulkTest, SixtyFourMebibytesEachWayAtOnceArriveIntact) {
    const bulk_case bc = GetParam();
    const std::string& up = upstream_data();
    const std::string& down = downstream_data();
    static const digest up_want = digest::of(up);
    static const digest down_want = digest::of(down);

    // The backend sends its own 64 MiB stream while it receives the client's.
    std::promise<digest> backend_got;
    auto backend_fut = backend_got.get_future();
    bool backend_sent = false;
    backend be([&](int fd) {
        backend_got.set_value(exchange(fd, down, bc.fin, backend_sent));
        ::close(fd);
    });
    const std::uint64_t spliced_before = raw::traffic_sum(0).spliced_out;
    running_proxy px;
    ASSERT_EQ(px.start({"--listen", "127.0.0.1:0", "--connect", be.address_text(), "--splice",
                        bc.splice}),
              "");
    client_fd c(px.address());
    ASSERT_GE(c.fd, 0);
    bool client_sent = false;
    const digest client_got = exchange(c.fd, up, bc.fin, client_sent);
    EXPECT_TRUE(client_sent);
    EXPECT_EQ(client_got, down_want) << "backend -> client";
    ASSERT_EQ(backend_fut.wait_for(std::chrono::milliseconds(wait_ms)), std::future_status::ready);
    EXPECT_EQ(backend_fut.get(), up_want) << "client -> backend";
    EXPECT_TRUE(backend_sent);

    const auto logs = px.wait_logs(1);
    ASSERT_EQ(logs.size(), 1u);
    EXPECT_EQ(log_field(logs[0], "bytes_in"), std::to_string(big)) << logs[0];
    EXPECT_EQ(log_field(logs[0], "bytes_out"), std::to_string(big)) << logs[0];
    EXPECT_EQ(log_field(logs[0], "code"), "NONE") << logs[0];
    const auto info = px.srv().info();
    const std::uint64_t spliced = raw::traffic_sum(0).spliced_out - spliced_before;
    if (std::string_view(bc.splice) == "always") {
        EXPECT_EQ(info.spliced_streams, 1u);
        // Both directions went through pipes, except client bytes that arrived before the
        // backend was connected: they wait in a buffer (one at most, 16 KiB).
        EXPECT_GE(spliced, 2u * big - 16384u);
    } else if (std::string_view(bc.splice) == "never") {
        EXPECT_EQ(info.spliced_streams, 0u);
        EXPECT_EQ(spliced, 0u);
    }
}

// fin_at::sent (each side shuts its write side as soon as it has sent everything) lost data
// before fd_table::deliver kept input possible on a HUP that arrived while Rx was not polled:
// bytes queued behind the peer's FIN were dropped (about half of the runs with "always").
INSTANTIATE_TEST_SUITE_P(
    Splice, ProxyRobustBulkTest,
    ::testing::Values(bulk_case{"never", fin_at::all_received},
                      bulk_case{"always", fin_at::all_received},
                      bulk_case{"auto", fin_at::all_received}, bulk_case{"never", fin_at::sent},
                      bulk_case{"always", fin_at::sent}, bulk_case{"auto", fin_at::sent}),
    [](const ::testing::TestParamInfo<bulk_case>& i) {
        return std::string(i.param.splice) +
               (i.param.fin == fin_at::sent ? "_FinWhenSent" : "_FinWhenAllReceived");
    });

class ProxyRobustSpliceTest : public ::testing::TestWithParam<const char*> {};

// --- 2. half-close, both ways ------------------------------------------------------------------

constexpr std::size_t half_size = std::size_t{3} << 20;

TEST_P(ProxyRobustSpliceTest, ClientShutsItsWriteSideAndStillReceivesTheWholeResponse) {
    const std::string request = pattern(half_size, 31);
    const std::string response = pattern(half_size, 32);
    std::promise<digest> backend_got;
    auto backend_fut = backend_got.get_future();
    backend be([&](int fd) {
        const digest d = recv_digest(fd);  // the request ends with the client's FIN
        backend_got.set_value(d);
        if (d.eof) {
            send_all(fd, response);
        }
        ::shutdown(fd, SHUT_WR);
        ::close(fd);
    });
    running_proxy px;
    ASSERT_EQ(px.start({"--listen", "127.0.0.1:0", "--connect", be.address_text(), "--splice",
                        GetParam()}),
              "");
    client_fd c(px.address());
    ASSERT_GE(c.fd, 0);
    ASSERT_TRUE(send_all(c.fd, request));  // the backend reads everything before answering
    ASSERT_EQ(::shutdown(c.fd, SHUT_WR), 0);
    EXPECT_EQ(recv_digest(c.fd), digest::of(response));
    ASSERT_EQ(backend_fut.wait_for(std::chrono::milliseconds(wait_ms)), std::future_status::ready);
    EXPECT_EQ(backend_fut.get(), digest::of(request));
    const auto logs = px.wait_logs(1);
    ASSERT_EQ(logs.size(), 1u);
    EXPECT_EQ(log_field(logs[0], "term"), "client_fin") << logs[0];
    EXPECT_EQ(log_field(logs[0], "code"), "NONE") << logs[0];
    EXPECT_EQ(log_field(logs[0], "bytes_in"), std::to_string(half_size)) << logs[0];
    EXPECT_EQ(log_field(logs[0], "bytes_out"), std::to_string(half_size)) << logs[0];
}

TEST_P(ProxyRobustSpliceTest, BackendShutsFirstAndStillReceivesWhatTheClientSendsAfterEof) {
    const std::string before_eof = pattern(half_size, 41);  // sent while the response flows
    const std::string after_eof = pattern(half_size, 42);   // sent once the client saw EOF
    const std::string response = pattern(half_size, 43);
    std::promise<digest> backend_got;
    auto backend_fut = backend_got.get_future();
    backend be([&](int fd) {
        std::thread writer([&, fd] {
            send_all(fd, response);
            ::shutdown(fd, SHUT_WR);  // done talking, still listening
        });
        backend_got.set_value(recv_digest(fd));
        writer.join();
        ::close(fd);
    });
    running_proxy px;
    ASSERT_EQ(px.start({"--listen", "127.0.0.1:0", "--connect", be.address_text(), "--splice",
                        GetParam()}),
              "");
    client_fd c(px.address());
    ASSERT_GE(c.fd, 0);
    bool sent_before = false;
    std::thread writer([&] { sent_before = send_all(c.fd, before_eof); });
    const digest got = recv_digest(c.fd);  // the whole response, then the backend's FIN
    writer.join();
    EXPECT_TRUE(sent_before);
    EXPECT_EQ(got, digest::of(response));
    ASSERT_TRUE(send_all(c.fd, after_eof)) << "the client side must stay open for writing";
    ASSERT_EQ(::shutdown(c.fd, SHUT_WR), 0);
    ASSERT_EQ(backend_fut.wait_for(std::chrono::milliseconds(wait_ms)), std::future_status::ready);
    EXPECT_EQ(backend_fut.get(), digest::of(before_eof + after_eof));
    EXPECT_TRUE(wait_closed(c.fd));
    const auto logs = px.wait_logs(1);
    ASSERT_EQ(logs.size(), 1u);
    EXPECT_EQ(log_field(logs[0], "term"), "server_fin") << logs[0];
    EXPECT_EQ(log_field(logs[0], "code"), "NONE") << logs[0];
    EXPECT_EQ(log_field(logs[0], "bytes_in"), std::to_string(2 * half_size)) << logs[0];
    EXPECT_EQ(log_field(logs[0], "bytes_out"), std::to_string(half_size)) << logs[0];
}

// --- 9. a client resetting mid-transfer ----------------------------------------------------------

TEST_P(ProxyRobustSpliceTest, ClientResetMidTransferClosesTheBackendSide) {
    // The first connection streams until the proxy closes it; the next ones are echoed.
    std::atomic<int> conns{0};
    std::promise<int> stream_end;  // errno of the failed send (EAGAIN: nobody closed it)
    auto stream_fut = stream_end.get_future();
    backend be([&](int fd) {
        if (conns.fetch_add(1) != 0) {
            backend::echo(fd);
            return;
        }
        const std::string chunk = pattern(1u << 16, 5);
        int err = 0;
        for (std::size_t total = 0; total < (std::size_t{1} << 30); total += chunk.size()) {
            if (!send_all(fd, chunk)) {
                err = errno;
                break;
            }
        }
        stream_end.set_value(err);
        ::close(fd);
    });
    running_proxy px;
    ASSERT_EQ(px.start({"--listen", "127.0.0.1:0", "--connect", be.address_text(), "--splice",
                        GetParam()}),
              "");
    {
        client_fd c(px.address());
        ASSERT_GE(c.fd, 0);
        ASSERT_EQ(recv_exactly(c.fd, 1u << 20).size(), 1u << 20);  // the transfer is flowing
        const linger lg{1, 0};
        ASSERT_EQ(::setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
    }  // closed with unread data and linger 0: an RST
    ASSERT_EQ(stream_fut.wait_for(std::chrono::milliseconds(wait_ms + 2000)),
              std::future_status::ready);
    const int err = stream_fut.get();
    EXPECT_TRUE(err == EPIPE || err == ECONNRESET)
        << "the backend's send ended with errno " << err << " (EAGAIN: still open)";
    const auto logs = px.wait_logs(1);
    ASSERT_EQ(logs.size(), 1u);
    EXPECT_EQ(log_field(logs[0], "term"), "client_error") << logs[0];
    // ERESET nearly always. About one run in a hundred, with --splice always under load, the
    // first call to meet the dead socket is the splice into it and it reports EPIPE (before
    // SIGPIPE was blocked for splicing threads, that run killed the test process). The cause
    // of the EPIPE ordering is not understood yet; both say the client went away.
    const std::string code = log_field(logs[0], "code");
    EXPECT_TRUE(code == "ERESET" || (code == "EPIPE" && std::string(GetParam()) == "always"))
        << logs[0];
    EXPECT_TRUE(wait_until([&] { return px.srv().info().curr_conns == 0; }))
        << px.srv().show_info();

    expect_good_echo(px, 1);
    EXPECT_EQ(conns.load(), 2);
}

INSTANTIATE_TEST_SUITE_P(Splice, ProxyRobustSpliceTest, ::testing::Values("never", "always"),
                         [](const ::testing::TestParamInfo<const char*>& i) {
                             return std::string(i.param);
                         });

// --- 3. a thousand concurrent connections --------------------------------------------------------

/// An echo server on 127.0.0.1:0 driving every connection from one epoll thread (a thread per
/// connection would mean a thousand threads). On EOF, once everything was echoed, it shuts its
/// write side and closes.
class epoll_echo {
public:
    epoll_echo() {
        addr_ = *xprt::sock_addr::parse("127.0.0.1:0");
        lfd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        ep_ = ::epoll_create1(EPOLL_CLOEXEC);
        stop_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (lfd_ < 0 || ep_ < 0 || stop_ < 0 || ::bind(lfd_, addr_.sa(), addr_.len) != 0 ||
            ::listen(lfd_, 4096) != 0) {
            std::abort();
        }
        addr_.len = sizeof addr_.ss;
        ::getsockname(lfd_, addr_.sa(), &addr_.len);
        add(lfd_, EPOLLIN);
        add(stop_, EPOLLIN);
        thread_ = std::thread([this] { run(); });
    }
    ~epoll_echo() {
        const std::uint64_t one = 1;
        (void)!::write(stop_, &one, sizeof one);
        thread_.join();
        for (auto& [fd, c] : conns_) {
            ::close(fd);
        }
        ::close(lfd_);
        ::close(ep_);
        ::close(stop_);
    }
    epoll_echo(const epoll_echo&) = delete;
    epoll_echo& operator=(const epoll_echo&) = delete;

    [[nodiscard]] std::string address_text() const { return addr_.to_string(); }
    [[nodiscard]] int open_conns() const noexcept { return open_.load(); }
    [[nodiscard]] int accepted() const noexcept { return accepted_.load(); }
    [[nodiscard]] int errors() const noexcept { return errors_.load(); }

private:
    struct conn {
        std::string pending;
        bool eof = false;
    };

    void add(int fd, std::uint32_t ev) const {
        epoll_event e{};
        e.events = ev;
        e.data.fd = fd;
        ::epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &e);
    }
    void close_conn(int fd, bool error) {
        if (error) {
            errors_.fetch_add(1);
        } else {
            ::shutdown(fd, SHUT_WR);
        }
        ::epoll_ctl(ep_, EPOLL_CTL_DEL, fd, nullptr);
        ::close(fd);
        conns_.erase(fd);
        open_.fetch_sub(1);
    }
    /// Sends what is pending; false on a hard error.
    bool flush(int fd, conn& c) const {
        while (!c.pending.empty()) {
            const ssize_t n = ::send(fd, c.pending.data(), c.pending.size(), MSG_NOSIGNAL);
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n < 0 && errno == EAGAIN) {
                break;
            }
            if (n <= 0) {
                return false;
            }
            c.pending.erase(0, static_cast<std::size_t>(n));
        }
        epoll_event e{};
        e.events = (c.eof ? 0u : static_cast<std::uint32_t>(EPOLLIN)) |
                   (c.pending.empty() ? 0u : static_cast<std::uint32_t>(EPOLLOUT));
        e.data.fd = fd;
        ::epoll_ctl(ep_, EPOLL_CTL_MOD, fd, &e);
        return true;
    }
    void run() {
        std::vector<char> buf(1u << 16);
        epoll_event evs[256];
        for (;;) {
            const int n = ::epoll_wait(ep_, evs, 256, -1);
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n < 0) {
                return;
            }
            for (int i = 0; i < n; ++i) {
                const int fd = evs[i].data.fd;
                if (fd == stop_) {
                    return;
                }
                if (fd == lfd_) {
                    for (;;) {
                        const int cfd =
                            ::accept4(lfd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
                        if (cfd < 0) {
                            break;
                        }
                        accepted_.fetch_add(1);
                        open_.fetch_add(1);
                        conns_.emplace(cfd, conn{});
                        add(cfd, EPOLLIN);
                    }
                    continue;
                }
                const auto it = conns_.find(fd);
                if (it == conns_.end()) {
                    continue;
                }
                conn& c = it->second;
                bool failed = false;
                if ((evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0 && !c.eof) {
                    for (;;) {
                        const ssize_t r = ::recv(fd, buf.data(), buf.size(), 0);
                        if (r > 0) {
                            c.pending.append(buf.data(), static_cast<std::size_t>(r));
                            continue;
                        }
                        if (r == 0) {
                            c.eof = true;
                        } else if (errno != EAGAIN && errno != EINTR) {
                            failed = true;
                        }
                        break;
                    }
                }
                if (failed || !flush(fd, c)) {
                    close_conn(fd, true);
                } else if (c.eof && c.pending.empty()) {
                    close_conn(fd, false);
                }
            }
        }
    }

    xprt::sock_addr addr_;
    int lfd_ = -1;
    int ep_ = -1;
    int stop_ = -1;
    std::thread thread_;
    std::unordered_map<int, conn> conns_;  // loop thread only
    std::atomic<int> open_{0};
    std::atomic<int> accepted_{0};
    std::atomic<int> errors_{0};
};

/// Raises RLIMIT_NOFILE's soft limit to the hard limit; returns the soft limit then in force.
rlim_t raise_fd_limit() {
    rlimit rl{};
    ::getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &rl);
        ::getrlimit(RLIMIT_NOFILE, &rl);
    }
    return rl.rlim_cur;
}

TEST(ProxyRobustTest, ThousandConcurrentConnectionsLoseNothingAndLeaveNoFdBehind) {
    constexpr int n_conns = 1000;
    // Per connection: the client socket, the proxy's two, the backend's one; plus headroom for
    // listeners, epoll/eventfds, threads, the test runner.
    constexpr rlim_t needed = 4 * n_conns + 256;
    const rlim_t limit = raise_fd_limit();
    ASSERT_GE(limit, needed) << "RLIMIT_NOFILE hard limit " << limit << " is too low for "
                             << n_conns << " concurrent proxied connections (need " << needed
                             << "); raise it (ulimit -Hn) to run this test";

    epoll_echo be;
    running_proxy px;
    ASSERT_EQ(px.start({"--listen", "127.0.0.1:0", "--connect", be.address_text(), "--threads", "2",
                        "--splice", "never"}),
              "");
    const int fds_before = open_fd_count();
    ASSERT_GT(fds_before, 0);

    struct client {
        int fd = -1;
        std::string data;
        std::size_t sent = 0;
        digest got;
        bool shut = false;
        bool done = false;  ///< EOF seen, fd closed
        bool failed = false;
    };
    std::vector<client> cs(n_conns);
    std::uint64_t total = 0;
    const int ep = ::epoll_create1(EPOLL_CLOEXEC);
    ASSERT_GE(ep, 0);
    for (int i = 0; i < n_conns; ++i) {
        client& c = cs[static_cast<std::size_t>(i)];
        c.data = pattern(4096 + static_cast<std::size_t>(i) * 7919 % 12289,
                         static_cast<unsigned>(i) + 100);
        total += c.data.size();
        c.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        ASSERT_GE(c.fd, 0) << "socket " << i << ": errno " << errno;
        const int rc = ::connect(c.fd, px.address().sa(), px.address().len);
        ASSERT_TRUE(rc == 0 || errno == EINPROGRESS) << "connect " << i << ": errno " << errno;
        epoll_event e{};
        e.events = EPOLLIN | EPOLLOUT;
        e.data.u32 = static_cast<std::uint32_t>(i);
        ASSERT_EQ(::epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &e), 0);
    }

    // Drives every client until `goal` holds for all of them (or the deadline passes).
    std::vector<char> buf(1u << 16);
    auto drive = [&](const std::function<bool(const client&)>& goal, int timeout_ms) {
        const auto deadline =
            std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
        epoll_event evs[256];
        for (;;) {
            if (std::all_of(cs.begin(), cs.end(),
                            [&](const client& c) { return c.failed || goal(c); })) {
                return true;
            }
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) {
                return false;
            }
            const int n = ::epoll_wait(ep, evs, 256, static_cast<int>(left.count()));
            for (int k = 0; k < n; ++k) {
                client& c = cs[evs[k].data.u32];
                if (c.done || c.failed) {
                    continue;
                }
                if ((evs[k].events & EPOLLOUT) != 0 && c.sent < c.data.size()) {
                    const ssize_t w =
                        ::send(c.fd, c.data.data() + c.sent, c.data.size() - c.sent, MSG_NOSIGNAL);
                    if (w > 0) {
                        c.sent += static_cast<std::size_t>(w);
                    } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
                        c.failed = true;
                        continue;
                    }
                    if (c.sent == c.data.size()) {
                        epoll_event e{};
                        e.events = EPOLLIN;
                        e.data.u32 = evs[k].data.u32;
                        ::epoll_ctl(ep, EPOLL_CTL_MOD, c.fd, &e);
                    }
                }
                if ((evs[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0) {
                    for (;;) {
                        const ssize_t r = ::recv(c.fd, buf.data(), buf.size(), 0);
                        if (r > 0) {
                            c.got.add(buf.data(), static_cast<std::size_t>(r));
                            continue;
                        }
                        if (r == 0) {
                            c.got.eof = true;
                            c.done = true;
                            ::epoll_ctl(ep, EPOLL_CTL_DEL, c.fd, nullptr);
                            ::close(c.fd);
                            c.fd = -1;
                        } else if (errno != EAGAIN && errno != EINTR) {
                            c.failed = true;
                        }
                        break;
                    }
                }
            }
        }
    };

    // Phase 1: every client sent its data and got all of it back; all 1000 are open at once.
    const bool echoed = drive([](const client& c) { return c.got.bytes == c.data.size(); }, 40000);
    const auto failed =
        std::count_if(cs.begin(), cs.end(), [](const client& c) { return c.failed || c.done; });
    const auto echoed_count = std::count_if(
        cs.begin(), cs.end(), [](const client& c) { return c.got.bytes == c.data.size(); });
    EXPECT_TRUE(echoed) << echoed_count << " of " << n_conns << " echoed in time";
    EXPECT_EQ(failed, 0) << "clients failed or closed early";
    EXPECT_EQ(px.srv().info().curr_conns, static_cast<std::uint64_t>(n_conns));
    EXPECT_EQ(be.open_conns(), n_conns);

    // Phase 2: every client shuts its write side and must then see EOF.
    for (client& c : cs) {
        if (c.fd >= 0 && !c.failed) {
            ::shutdown(c.fd, SHUT_WR);
        }
    }
    const bool closed = drive([](const client& c) { return c.done; }, 20000);
    EXPECT_TRUE(closed);
    for (client& c : cs) {
        if (c.fd >= 0) {
            ::close(c.fd);
            c.fd = -1;
        }
    }
    ::close(ep);
    int mismatched = 0;
    for (std::size_t i = 0; i < cs.size(); ++i) {
        if (!(cs[i].got == digest::of(cs[i].data))) {
            if (++mismatched <= 5) {
                ADD_FAILURE() << "connection " << i << ": got " << cs[i].got << ", sent "
                              << digest::of(cs[i].data);
            }
        }
    }
    EXPECT_EQ(mismatched, 0);

    const auto logs = px.wait_logs(n_conns, 20000);
    ASSERT_EQ(logs.size(), static_cast<std::size_t>(n_conns));
    int clean = 0;
    for (const auto& l : logs) {
        clean += log_field(l, "term") == "client_fin" && log_field(l, "code") == "NONE";
    }
    EXPECT_EQ(clean, n_conns) << logs.front();
    EXPECT_EQ(be.accepted(), n_conns);
    EXPECT_EQ(be.errors(), 0);
    EXPECT_TRUE(wait_until([&] { return px.srv().info().curr_conns == 0; }))
        << px.srv().show_info();
    EXPECT_TRUE(wait_until([&] { return be.open_conns() == 0; })) << be.open_conns();
    const auto info = px.srv().info();
    EXPECT_EQ(info.bytes_in, total);
    EXPECT_EQ(info.bytes_out, total);
    EXPECT_EQ(info.cum_conns, static_cast<std::uint64_t>(n_conns));
    // Every stream's descriptors are closed once the streams are gone (a stream logs just
    // before it closes its sockets, hence the bounded wait).
    int fds_after = -1;
    EXPECT_TRUE(wait_until([&] { return (fds_after = open_fd_count()) == fds_before; }))
        << "open fds: " << fds_after << " now, " << fds_before << " before the connections";
}

// --- 4.-7. bad PROXY headers, each followed by a good connection ---------------------------------

/// Sends `bad` to a proxy with --accept-proxy (and the extra options), expects the client to
/// be closed with `term`/`code` in the log and the backend never contacted, then a good
/// connection to be served.
void bad_header_then_good(std::string_view bad, std::string_view term, std::string_view code,
                          const std::vector<std::string>& extra = {}) {
    backend be(backend::echo);
    running_proxy px;
    std::vector<std::string> args = {"--listen", "127.0.0.1:0", "--connect", be.address_text(),
                                     "--accept-proxy"};
    args.insert(args.end(), extra.begin(), extra.end());
    ASSERT_EQ(px.start(args), "");
    {
        client_fd c(px.address());
        ASSERT_GE(c.fd, 0);
        ASSERT_TRUE(send_all(c.fd, bad));
        EXPECT_TRUE(wait_closed(c.fd));
    }
    auto logs = px.wait_logs(1);
    ASSERT_EQ(logs.size(), 1u);
    EXPECT_EQ(log_field(logs[0], "term"), term) << logs[0];
    EXPECT_EQ(log_field(logs[0], "code"), code) << logs[0];
    EXPECT_EQ(log_field(logs[0], "be"), "-") << logs[0];
    EXPECT_EQ(be.accepted(), 0);
    expect_good_proxied_echo(px, 1);
    EXPECT_EQ(be.accepted(), 1);
}

TEST(ProxyRobustHeaderTest, GarbageInsteadOfAProxyHeaderIsRefused) {
    // Binary, with a NUL: the first byte is neither 'P' (v1) nor '\r' (v2).
    bad_header_then_good(std::string("\x16\x03\x01\x02\x00 not a PROXY header at all", 31),
                         "client_handshake_failed", "PRX_NOT_HDR");
}

TEST(ProxyRobustHeaderTest, TruncatedV2HeaderThenSilenceTimesOut) {
    // The v2 signature, PROXY over TCP4 with 12 address bytes announced, only 4 of them sent.
    const std::string truncated("\r\n\r\n\0\r\nQUIT\n\x21\x11\x00\x0c\xc0\x00\x02\x01", 20);
    const auto t0 = std::chrono::steady_clock::now();
    bad_header_then_good(truncated, "client_handshake_timeout", "PRX_TIMEOUT",
                         {"--handshake-timeout", "200"});
    EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(200));
}

TEST(ProxyRobustHeaderTest, V1LineOverOneHundredSevenBytesIsRefused) {
    // 108 bytes: one more than the longest v1 line (the good connection then uses 107).
    bad_header_then_good(v1_unknown_line(108), "client_handshake_failed", "PRX_LINE_TOO_LONG");
}

TEST(ProxyRobustHeaderTest, V1LineWithoutCrlfIsRefusedWithoutWaitingForMore) {
    // 300 bytes and still no CRLF: refused, not waited on (no handshake timeout here).
    bad_header_then_good("PROXY UNKNOWN " + std::string(286, 'y'), "client_handshake_failed",
                         "PRX_LINE_TOO_LONG", {"--handshake-timeout", "0"});
}

TEST(ProxyRobustHeaderTest, V2HeaderWithAnInvalidFamilyIsRefused) {
    // Family/protocol byte 0x99 (neither UNSPEC, INET, INET6 nor UNIX), 12 bytes announced.
    std::string hdr("\r\n\r\n\0\r\nQUIT\n\x21\x99\x00\x0c", 16);
    hdr += std::string(12, '\x01');
    bad_header_then_good(hdr, "client_handshake_failed", "PRX_BAD_PROTO");
}

// --- 8. garbage instead of a ClientHello -------------------------------------------------------

#if XS_HAVE_OPENSSL
TEST(ProxyRobustTlsTest, GarbageInsteadOfAClientHelloIsRefused) {
    const auto& certs = tls::certs();
    const std::string both =
        tls::write_temp_file("robust-both.pem", certs.server_ec.cert_pem + certs.server_ec.key_pem);
    const std::string ca = tls::write_temp_file("robust-ca.pem", certs.ca.cert_pem);
    backend be(backend::echo);
    running_proxy px;
    ASSERT_EQ(
        px.start({"--listen", "127.0.0.1:0", "--connect", be.address_text(), "--tls-cert", both}),
        "");
    {
        client_fd c(px.address());
        ASSERT_GE(c.fd, 0);
        ASSERT_TRUE(send_all(c.fd, "GET / HTTP/1.1\r\nHost: server.test\r\n\r\n"));
        EXPECT_TRUE(wait_closed(c.fd));
    }
    const auto logs = px.wait_logs(1);
    ASSERT_EQ(logs.size(), 1u);
    EXPECT_EQ(log_field(logs[0], "term"), "client_handshake_failed") << logs[0];
    EXPECT_EQ(log_field(logs[0], "code"), "SSL_NOT_TLS") << logs[0];
    EXPECT_EQ(be.accepted(), 0);

    // A real TLS client is then served.
    client_fd c(px.address());
    ASSERT_GE(c.fd, 0);
    tls::openssl_client t(::dup(c.fd), ca, "server.test");  // its own fd on the socket
    EXPECT_TRUE(t.handshake());
    const std::string payload = pattern(5000, 77);
    EXPECT_TRUE(t.write(payload));
    const std::string got = t.read_exactly(payload.size());
    EXPECT_TRUE(got == payload) << got.size() << " bytes echoed";
    t.shutdown_tls();
    ::shutdown(c.fd, SHUT_WR);
    const auto logs2 = px.wait_logs(2);
    ASSERT_EQ(logs2.size(), 2u);
    EXPECT_EQ(log_field(logs2[1], "fe"), "SSL>RAW") << logs2[1];
    EXPECT_EQ(log_field(logs2[1], "code"), "NONE") << logs2[1];
    EXPECT_EQ(log_field(logs2[1], "bytes_in"), "5000") << logs2[1];
}
#endif

// --- 10. a backend refusing connections
// ------------------------------------------------------------

TEST(ProxyRobustTest, RefusedBackendClosesTheClientThenAListeningBackendIsServed) {
    const xprt::sock_addr dead = unused_port();
    running_proxy px;
    ASSERT_EQ(px.start({"--listen", "127.0.0.1:0", "--connect", dead.to_string()}), "");
    {
        client_fd c(px.address());
        ASSERT_GE(c.fd, 0);
        ASSERT_TRUE(send_all(c.fd, "hello?"));
        EXPECT_TRUE(wait_closed(c.fd));
    }
    const auto logs = px.wait_logs(1);
    ASSERT_EQ(logs.size(), 1u);
    EXPECT_EQ(log_field(logs[0], "term"), "backend_connect_failed") << logs[0];
    EXPECT_EQ(log_field(logs[0], "code"), "EREFUSED") << logs[0];
    EXPECT_EQ(log_field(logs[0], "bytes_in"), "0") << logs[0];
    EXPECT_EQ(px.srv().info().backend_connect_errors, 1u);
    EXPECT_TRUE(wait_until([&] { return px.srv().info().curr_conns == 0; }));

    // The same address now listens: the next client is forwarded.
    backend be(backend::echo, dead);
    expect_good_echo(px, 1);
    EXPECT_EQ(be.accepted(), 1);
    EXPECT_EQ(px.srv().info().backend_connect_errors, 1u);
}

}  // namespace
}  // namespace xstack::test
