// event/sys.cc - the counting / injecting side of the syscall seam.
#include "event/sys.h"

#include <algorithm>
#include <array>
#include <cerrno>

#include <sys/uio.h>

namespace xstack::sys {

std::string_view to_string(call c) noexcept {
    static constexpr std::array<std::string_view, call_count> names = {
        "recv",   "send",       "splice",     "epoll_create", "epoll_ctl", "epoll_wait",
        "poll",   "shutdown",   "connect",    "accept",       "socket",    "bind",
        "listen", "setsockopt", "getsockopt", "close",        "pipe",      "fcntl"};
    const auto i = static_cast<std::size_t>(c);
    return i < names.size() ? names[i] : "?";
}

#if XS_SYSCALL_HOOKS
namespace detail {
thread_local hooks* active = nullptr;
}  // namespace detail

hooks::hooks() noexcept : prev_(detail::active) {
    detail::active = this;
}

hooks::~hooks() {
    detail::active = prev_;
}
#else
hooks::hooks() noexcept : prev_(nullptr) {}
hooks::~hooks() = default;
#endif

void hooks::inject_errno(call c, int err, int fd, int times) {
    rules_.push_back({c, fd, times, rule::type::err, err});
}
void hooks::inject_result(call c, long ret, int fd, int times) {
    rules_.push_back({c, fd, times, rule::type::result, ret});
}
void hooks::inject_short(call c, std::size_t max_len, int fd, int times) {
    rules_.push_back({c, fd, times, rule::type::cap, static_cast<long>(max_len)});
}
void hooks::clear_injections() noexcept {
    rules_.clear();
}
std::size_t hooks::pending_injections() const noexcept {
    return rules_.size();
}

const hooks::rule* hooks::match(call c, int fd, int fd2) noexcept {
    for (auto it = rules_.begin(); it != rules_.end(); ++it) {
        if (it->kind != c || (it->fd >= 0 && it->fd != fd && it->fd != fd2)) {
            continue;
        }
        // Hand out a copy-stable pointer: keep the rule in a one-slot scratch so that erasing
        // a used-up rule does not invalidate what the caller reads.
        static thread_local rule scratch;
        scratch = *it;
        if (--it->times <= 0) {
            rules_.erase(it);
        }
        return &scratch;
    }
    return nullptr;
}

namespace {
bool matches(const record& r, int fd) noexcept {
    return fd < 0 || r.fd == fd || r.fd2 == fd;
}
}  // namespace

std::uint64_t hooks::count(call c, int fd) const noexcept {
    return static_cast<std::uint64_t>(std::count_if(
        log_.begin(), log_.end(), [&](const record& r) { return r.kind == c && matches(r, fd); }));
}

std::uint64_t hooks::failures(call c, int fd, int err) const noexcept {
    return static_cast<std::uint64_t>(std::count_if(log_.begin(), log_.end(), [&](const record& r) {
        return r.kind == c && matches(r, fd) && r.ret == -1 && (err == 0 || r.err == err);
    }));
}

std::uint64_t hooks::total(int fd) const noexcept {
    return static_cast<std::uint64_t>(
        std::count_if(log_.begin(), log_.end(), [&](const record& r) { return matches(r, fd); }));
}

#if XS_SYSCALL_HOOKS
namespace detail {
namespace {

// Runs `real` unless a rule replaces it; logs the outcome. `len` is what the call asks for;
// `cap` receives a length cap when a short-count rule applies (0 = none).
template <class F>
long hooked(call c, int fd, int flags, std::size_t len, std::size_t* cap, F&& real,
            int fd2 = -1) noexcept {
    hooks* h = active;
    long ret = 0;
    int err = 0;
    bool injected = false;
    if (const hooks::rule* r = h->match(c, fd, fd2)) {
        switch (r->what) {
        case hooks::rule::type::err:
            ret = -1;
            err = static_cast<int>(r->value);
            injected = true;
            break;
        case hooks::rule::type::result:
            ret = r->value;
            injected = true;
            break;
        case hooks::rule::type::cap:
            if (cap != nullptr) {
                *cap = static_cast<std::size_t>(r->value);
            }
            break;
        }
    }
    if (!injected) {
        ret = real();
        err = ret == -1 ? errno : 0;
    }
    try {
        h->note({c, fd, fd2, flags, len, ret, err, injected});
    } catch (...) {  // NOLINT(bugprone-empty-catch): logging is best effort in tests
    }
    if (ret == -1) {
        errno = err;
    }
    return ret;
}

std::size_t iov_total(const msghdr* m) noexcept {
    std::size_t n = 0;
    for (std::size_t i = 0; i < m->msg_iovlen; ++i) {
        n += m->msg_iov[i].iov_len;
    }
    return n;
}

// Applies a length cap to a message's iovecs in place; returns the originals to restore.
struct iov_cap {
    std::array<iovec, 8> saved{};
    std::size_t n = 0;
    msghdr* m = nullptr;
    void apply(msghdr* msg, std::size_t cap) noexcept {
        m = msg;
        n = std::min<std::size_t>(msg->msg_iovlen, saved.size());
        for (std::size_t i = 0; i < n; ++i) {
            saved[i] = msg->msg_iov[i];
            const std::size_t take = std::min(cap, msg->msg_iov[i].iov_len);
            msg->msg_iov[i].iov_len = take;
            cap -= take;
        }
    }
    ~iov_cap() {
        for (std::size_t i = 0; i < n; ++i) {
            m->msg_iov[i] = saved[i];
        }
    }
};

}  // namespace

ssize_t h_recvmsg(int fd, msghdr* m, int flags) noexcept {
    std::size_t cap = 0;
    // Peek at the rule first so a cap can be applied before the real call.
    iov_cap guard;
    return hooked(call::recvmsg, fd, flags, iov_total(m), &cap, [&]() -> long {
        if (cap != 0) {
            guard.apply(m, cap);
        }
        return ::recvmsg(fd, m, flags);
    });
}

ssize_t h_sendmsg(int fd, const msghdr* m, int flags) noexcept {
    std::size_t cap = 0;
    // `copy` first: the guard's destructor restores the iovecs through copy.msg_iov, so the
    // copy must still be alive then (destruction runs in reverse order of declaration).
    msghdr copy = *m;
    iov_cap guard;
    return hooked(call::sendmsg, fd, flags, iov_total(m), &cap, [&]() -> long {
        if (cap != 0) {
            guard.apply(&copy, cap);
        }
        return ::sendmsg(fd, &copy, flags);
    });
}

ssize_t h_recv(int fd, void* b, std::size_t len, int flags) noexcept {
    std::size_t cap = 0;
    return hooked(call::recv, fd, flags, len, &cap, [&]() -> long {
        return ::recv(fd, b, cap != 0 ? std::min(len, cap) : len, flags);
    });
}

ssize_t h_send(int fd, const void* b, std::size_t len, int flags) noexcept {
    std::size_t cap = 0;
    return hooked(call::send, fd, flags, len, &cap, [&]() -> long {
        return ::send(fd, b, cap != 0 ? std::min(len, cap) : len, flags);
    });
}

ssize_t h_splice(int fd_in, loff_t* off_in, int fd_out, loff_t* off_out, std::size_t len,
                 unsigned flags) noexcept {
    std::size_t cap = 0;
    return hooked(
        call::splice, fd_in, static_cast<int>(flags), len, &cap,
        [&]() -> long {
            return ::splice(fd_in, off_in, fd_out, off_out, cap != 0 ? std::min(len, cap) : len,
                            flags);
        },
        fd_out);
}

int h_epoll_create(int flags) noexcept {
    return static_cast<int>(
        hooked(call::epoll_create, -1, flags, 0, nullptr, [&] { return ::epoll_create1(flags); }));
}
int h_epoll_ctl(int epfd, int op, int fd, epoll_event* ev) noexcept {
    return static_cast<int>(hooked(call::epoll_ctl, fd, op, ev != nullptr ? ev->events : 0, nullptr,
                                   [&] { return ::epoll_ctl(epfd, op, fd, ev); }));
}
int h_epoll_wait(int epfd, epoll_event* evs, int max, int timeout) noexcept {
    return static_cast<int>(hooked(call::epoll_wait, -1, timeout, static_cast<std::size_t>(max),
                                   nullptr, [&] { return ::epoll_wait(epfd, evs, max, timeout); }));
}
int h_poll(pollfd* fds, nfds_t n, int timeout) noexcept {
    return static_cast<int>(
        hooked(call::poll, -1, timeout, n, nullptr, [&] { return ::poll(fds, n, timeout); }));
}
int h_shutdown(int fd, int how) noexcept {
    return static_cast<int>(
        hooked(call::shutdown, fd, how, 0, nullptr, [&] { return ::shutdown(fd, how); }));
}
int h_connect(int fd, const sockaddr* a, socklen_t l) noexcept {
    return static_cast<int>(
        hooked(call::connect, fd, 0, l, nullptr, [&] { return ::connect(fd, a, l); }));
}
int h_accept(int fd, sockaddr* a, socklen_t* l, int flags) noexcept {
    return static_cast<int>(
        hooked(call::accept, fd, flags, 0, nullptr, [&] { return ::accept4(fd, a, l, flags); }));
}
int h_socket(int dom, int type, int proto) noexcept {
    return static_cast<int>(
        hooked(call::socket, -1, type, 0, nullptr, [&] { return ::socket(dom, type, proto); }));
}
int h_bind(int fd, const sockaddr* a, socklen_t l) noexcept {
    return static_cast<int>(
        hooked(call::bind, fd, 0, l, nullptr, [&] { return ::bind(fd, a, l); }));
}
int h_listen(int fd, int backlog) noexcept {
    return static_cast<int>(
        hooked(call::listen, fd, backlog, 0, nullptr, [&] { return ::listen(fd, backlog); }));
}
int h_setsockopt(int fd, int lvl, int opt, const void* v, socklen_t l) noexcept {
    return static_cast<int>(hooked(call::setsockopt, fd, opt, l, nullptr,
                                   [&] { return ::setsockopt(fd, lvl, opt, v, l); }));
}
int h_getsockopt(int fd, int lvl, int opt, void* v, socklen_t* l) noexcept {
    return static_cast<int>(hooked(call::getsockopt, fd, opt, 0, nullptr,
                                   [&] { return ::getsockopt(fd, lvl, opt, v, l); }));
}
int h_close(int fd) noexcept {
    return static_cast<int>(hooked(call::close, fd, 0, 0, nullptr, [&] { return ::close(fd); }));
}
int h_pipe(int fds[2], int flags) noexcept {
    return static_cast<int>(
        hooked(call::pipe, -1, flags, 0, nullptr, [&] { return ::pipe2(fds, flags); }));
}
int h_fcntl(int fd, int cmd, long arg) noexcept {
    return static_cast<int>(
        hooked(call::fcntl, fd, cmd, 0, nullptr, [&] { return ::fcntl(fd, cmd, arg); }));
}

}  // namespace detail
#endif

}  // namespace xstack::sys
