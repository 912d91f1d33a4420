// tests/proxy/proxy_test_util.cc
#include "tests/proxy/proxy_test_util.h"

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "proxy/options.h"

namespace xstack::test::proxy_util {

namespace {

void set_timeouts(int fd) {
    timeval tv{};
    tv.tv_sec = wait_ms / 1000;
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

}  // namespace

int connect_to(const xprt::sock_addr& a) {
    const int fd = ::socket(a.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -1;
    }
    set_timeouts(fd);
    if (::connect(fd, a.sa(), a.len) != 0) {
        ::close(fd);
        return -1;
    }
    if (a.family() != AF_UNIX) {
        int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    return fd;
}

bool send_all(int fd, std::string_view data) {
    while (!data.empty()) {
        const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

std::string recv_exactly(int fd, std::size_t n) {
    std::string out(n, '\0');
    std::size_t got = 0;
    while (got < n) {
        const ssize_t r = ::recv(fd, out.data() + got, n - got, 0);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            break;
        }
        got += static_cast<std::size_t>(r);
    }
    out.resize(got);
    return out;
}

std::string recv_until_eof(int fd, bool* eof, std::size_t max) {
    std::string out;
    char buf[65536];
    if (eof != nullptr) {
        *eof = false;
    }
    while (out.size() < max) {
        const ssize_t r = ::recv(fd, buf, sizeof buf, 0);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r == 0 && eof != nullptr) {
            *eof = true;
        }
        if (r <= 0) {
            break;
        }
        out.append(buf, static_cast<std::size_t>(r));
    }
    return out;
}

bool wait_closed(int fd) {
    char c;
    for (;;) {
        const ssize_t r = ::recv(fd, &c, 1, 0);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r == 0) {
            return true;
        }
        if (r < 0) {
            return errno == ECONNRESET;  // EAGAIN: the receive timeout expired
        }
        return false;  // unexpected data
    }
}

xprt::sock_addr unused_port() {
    xprt::sock_addr a = *xprt::sock_addr::parse("127.0.0.1:0");
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ::bind(fd, a.sa(), a.len);
    a.len = sizeof a.ss;
    ::getsockname(fd, a.sa(), &a.len);
    ::close(fd);  // never listened: connecting is refused
    return a;
}

std::string pattern(std::size_t n, unsigned seed) {
    std::string s(n, '\0');
    std::uint32_t x = seed * 2654435761u + 1;
    for (std::size_t i = 0; i < n; ++i) {
        x = x * 1664525u + 1013904223u;
        s[i] = static_cast<char>(x >> 24);
    }
    return s;
}

// --- backend ------------------------------------------------------------------------------

backend::backend(handler_fn h) : handler_(std::move(h)) {
    addr_ = *xprt::sock_addr::parse("127.0.0.1:0");
    lfd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(lfd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    ::bind(lfd_, addr_.sa(), addr_.len);
    ::listen(lfd_, 128);
    addr_.len = sizeof addr_.ss;
    ::getsockname(lfd_, addr_.sa(), &addr_.len);
    if (::pipe2(stop_pipe_, O_CLOEXEC) != 0) {
        std::abort();
    }
    acceptor_ = std::thread([this] { accept_loop(); });
}

backend::backend(handler_fn h, const xprt::sock_addr& at) : handler_(std::move(h)) {
    addr_ = at;
    lfd_ = ::socket(addr_.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(lfd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(lfd_, addr_.sa(), addr_.len) != 0 || ::listen(lfd_, 128) != 0) {
        std::abort();  // test setup: the address must be free
    }
    addr_.len = sizeof addr_.ss;
    ::getsockname(lfd_, addr_.sa(), &addr_.len);
    if (::pipe2(stop_pipe_, O_CLOEXEC) != 0) {
        std::abort();
    }
    acceptor_ = std::thread([this] { accept_loop(); });
}

backend::~backend() {
    const char c = 'x';
    (void)!::write(stop_pipe_[1], &c, 1);
    acceptor_.join();
    std::vector<std::thread> conns;
    {
        std::lock_guard<std::mutex> g(m_);
        conns.swap(conns_);
    }
    for (auto& t : conns) {
        t.join();
    }
    ::close(lfd_);
    ::close(stop_pipe_[0]);
    ::close(stop_pipe_[1]);
}

void backend::accept_loop() {
    for (;;) {
        pollfd p[2] = {{lfd_, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
        const int n = ::poll(p, 2, -1);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 || p[1].revents != 0) {
            return;
        }
        const int fd = ::accept4(lfd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) {
            continue;
        }
        set_timeouts(fd);
        accepted_.fetch_add(1);
        std::lock_guard<std::mutex> g(m_);
        conns_.emplace_back([this, fd] { handler_(fd); });
    }
}

void backend::echo(int fd) {
    char buf[65536];
    for (;;) {
        const ssize_t r = ::recv(fd, buf, sizeof buf, 0);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            break;
        }
        if (!send_all(fd, std::string_view(buf, static_cast<std::size_t>(r)))) {
            break;
        }
    }
    ::shutdown(fd, SHUT_WR);
    ::close(fd);
}

// --- running_proxy --------------------------------------------------------------------------

running_proxy::~running_proxy() {
    stop();
}

std::string running_proxy::start(const std::vector<std::string>& args) {
    const auto p = xstack::proxy::parse_args(args, true);
    if (p.what != xstack::proxy::parse_outcome::kind::run) {
        return "parse: " + p.message;
    }
    std::string err;
    srv_ = xstack::proxy::server::create(p.opts, err);
    if (!srv_) {
        return "create: " + err;
    }
    srv_->set_log(on_log, this);
    if (!srv_->start(err)) {
        srv_.reset();
        return "start: " + err;
    }
    return {};
}

void running_proxy::stop() {
    if (srv_) {
        srv_->request_stop();
        srv_->wait();
    }
}

void running_proxy::on_log(void* ctx, std::string_view line) noexcept {
    auto* self = static_cast<running_proxy*>(ctx);
    {
        std::lock_guard<std::mutex> g(self->m_);
        self->lines_.emplace_back(line);
    }
    self->cv_.notify_all();
}

std::vector<std::string> running_proxy::wait_logs(std::size_t n, int timeout_ms) {
    std::unique_lock<std::mutex> g(m_);
    cv_.wait_for(g, std::chrono::milliseconds(timeout_ms), [&] { return lines_.size() >= n; });
    return lines_;
}

std::vector<std::string> running_proxy::logs() {
    std::lock_guard<std::mutex> g(m_);
    return lines_;
}

std::string stats_command(const std::string& path, std::string_view cmd) {
    auto a = xprt::sock_addr::unix_path(path);
    if (!a) {
        return {};
    }
    const int fd = connect_to(*a);
    if (fd < 0) {
        return {};
    }
    std::string line(cmd);
    line += '\n';
    std::string out;
    if (send_all(fd, line)) {
        out = recv_until_eof(fd);
    }
    ::close(fd);
    return out;
}

long long info_value(const std::string& info, std::string_view key) {
    const std::string needle = "\n" + std::string(key) + ": ";
    const std::string hay = "\n" + info;
    const std::size_t p = hay.find(needle);
    if (p == std::string::npos) {
        return -1;
    }
    return std::strtoll(hay.c_str() + p + needle.size(), nullptr, 10);
}

std::string temp_dir() {
    char tmpl[] = "/tmp/xstack-proxy-test.XXXXXX";
    const char* d = ::mkdtemp(tmpl);
    if (d == nullptr) {
        std::abort();
    }
    static std::vector<std::string>* made = [] {
        auto* v = new std::vector<std::string>();
        std::atexit([] {
            for (const auto& p : *made) {
                std::error_code ec;
                std::filesystem::remove_all(p, ec);
            }
            delete made;
        });
        return v;
    }();
    made->emplace_back(d);
    return d;
}

}  // namespace xstack::test::proxy_util
