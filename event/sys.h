// event/sys.h - the syscall seam: every socket, epoll, poll and splice syscall the library makes.
//
// In builds with XS_SYSCALL_HOOKS=1 (dev, asan, no-openssl presets) each wrapper first checks a
// thread-local pointer: when a test has installed a `sys::hooks` object on this thread, the call
// is counted, logged, and may be replaced by an injected result (errno, return value, or a
// shortened length performed for real). With XS_SYSCALL_HOOKS=0 (release preset) every wrapper
// is an inline direct call: no branch, no counter (bench/event/sys_bench.cc shows it).
//
// The wrappers are 1:1 with syscalls: they never retry EINTR themselves, so that counts are exact
// and callers' EINTR loops can be tested. Callers read errno right after the call.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include "xstack/config.h"

namespace xstack::sys {

/// Kinds of syscall routed through the seam.
enum class call : std::uint8_t {
    recv,            ///< recv() or recvmsg(): one receive syscall
    send,            ///< send() or sendmsg(): one send syscall
    recvmsg = recv,  ///< alias
    sendmsg = send,  ///< alias
    splice,
    epoll_create,
    epoll_ctl,
    epoll_wait,
    poll,
    shutdown,
    connect,
    accept,
    socket,
    bind,
    listen,
    setsockopt,
    getsockopt,
    close,
    pipe,
    fcntl,
    count_
};
inline constexpr std::size_t call_count = static_cast<std::size_t>(call::count_);
[[nodiscard]] std::string_view to_string(call c) noexcept;

/// True when this build routes syscalls through the seam.
inline constexpr bool hooks_compiled = XS_SYSCALL_HOOKS != 0;

/// One syscall as seen by the seam.
struct record {
    call kind;
    int fd;           ///< fd argument (epoll_ctl: the target fd; splice: the input fd)
    int fd2;          ///< splice: the output fd; -1 for other calls
    int flags;        ///< MSG_* for recv/send, SPLICE_F_* for splice, op for epoll_ctl
    std::size_t len;  ///< bytes asked (recv/send/splice), events mask for epoll_ctl
    long ret;         ///< return value
    int err;          ///< errno when ret == -1, else 0
    bool injected;    ///< the result was injected, the kernel was not called
};

/// Counts and fault injection for the syscalls made on the installing thread.
///
/// Construct one in a test: it installs itself on the current thread (the previous one, if any,
/// is restored by the destructor). Injection rules match on the call kind and, optionally, the
/// fd; each rule applies to its next `times` matching calls, in the order rules were added.
class hooks {
public:
    hooks() noexcept;
    ~hooks();
    hooks(const hooks&) = delete;
    hooks& operator=(const hooks&) = delete;

    /// The next `times` calls of kind `c` (on `fd`, or any fd when fd < 0) fail with `err`
    /// without reaching the kernel.
    void inject_errno(call c, int err, int fd = -1, int times = 1);
    /// The next `times` calls return `ret` without reaching the kernel (errno untouched).
    void inject_result(call c, long ret, int fd = -1, int times = 1);
    /// The next `times` recv/send/splice calls are performed for real with their length capped
    /// to `max_len` (a short read or write the kernel would not produce on demand).
    void inject_short(call c, std::size_t max_len, int fd = -1, int times = 1);
    /// Drops every pending injection rule.
    void clear_injections() noexcept;
    /// Number of rules not yet used up.
    [[nodiscard]] std::size_t pending_injections() const noexcept;

    /// Calls of kind `c` made (injected ones included), on `fd` (either end of a splice) or on
    /// any fd when fd < 0.
    [[nodiscard]] std::uint64_t count(call c, int fd = -1) const noexcept;
    /// Calls that returned -1, optionally only those with errno == err (err == 0: any errno).
    [[nodiscard]] std::uint64_t failures(call c, int fd = -1, int err = 0) const noexcept;
    /// Total of every call kind (on `fd` or any fd).
    [[nodiscard]] std::uint64_t total(int fd = -1) const noexcept;
    /// Every call, in order.
    [[nodiscard]] const std::vector<record>& log() const noexcept { return log_; }
    /// Forgets the log (and so every count); injection rules stay.
    void reset_counts() noexcept { log_.clear(); }

    // Used by the wrappers.
    struct rule {
        call kind;
        int fd;
        int times;
        enum class type : std::uint8_t { err, result, cap } what;
        long value;
    };
    const rule* match(call c, int fd, int fd2) noexcept;
    void note(const record& r) { log_.push_back(r); }

private:
    hooks* prev_;
    std::vector<rule> rules_;
    std::vector<record> log_;
};

namespace detail {
#if XS_SYSCALL_HOOKS
extern thread_local hooks* active;
ssize_t h_recvmsg(int fd, msghdr* m, int flags) noexcept;
ssize_t h_sendmsg(int fd, const msghdr* m, int flags) noexcept;
ssize_t h_recv(int fd, void* b, std::size_t len, int flags) noexcept;
ssize_t h_send(int fd, const void* b, std::size_t len, int flags) noexcept;
ssize_t h_splice(int fd_in, loff_t* off_in, int fd_out, loff_t* off_out, std::size_t len,
                 unsigned flags) noexcept;
int h_epoll_create(int flags) noexcept;
int h_epoll_ctl(int epfd, int op, int fd, epoll_event* ev) noexcept;
int h_epoll_wait(int epfd, epoll_event* evs, int max, int timeout) noexcept;
int h_poll(pollfd* fds, nfds_t n, int timeout) noexcept;
int h_shutdown(int fd, int how) noexcept;
int h_connect(int fd, const sockaddr* a, socklen_t l) noexcept;
int h_accept(int fd, sockaddr* a, socklen_t* l, int flags) noexcept;
int h_socket(int dom, int type, int proto) noexcept;
int h_bind(int fd, const sockaddr* a, socklen_t l) noexcept;
int h_listen(int fd, int backlog) noexcept;
int h_setsockopt(int fd, int lvl, int opt, const void* v, socklen_t l) noexcept;
int h_getsockopt(int fd, int lvl, int opt, void* v, socklen_t* l) noexcept;
int h_close(int fd) noexcept;
int h_pipe(int fds[2], int flags) noexcept;
int h_fcntl(int fd, int cmd, long arg) noexcept;
#define XS_SYS_HOOK(expr)                         \
    if (detail::active != nullptr) [[unlikely]] { \
        return detail::expr;                      \
    }
#else
#define XS_SYS_HOOK(expr)
#endif
}  // namespace detail

inline ssize_t recv(int fd, void* b, std::size_t len, int flags) noexcept {
    XS_SYS_HOOK(h_recv(fd, b, len, flags))
    return ::recv(fd, b, len, flags);
}
inline ssize_t send(int fd, const void* b, std::size_t len, int flags) noexcept {
    XS_SYS_HOOK(h_send(fd, b, len, flags))
    return ::send(fd, b, len, flags);
}
inline ssize_t recvmsg(int fd, msghdr* m, int flags) noexcept {
    XS_SYS_HOOK(h_recvmsg(fd, m, flags))
    return ::recvmsg(fd, m, flags);
}
inline ssize_t sendmsg(int fd, const msghdr* m, int flags) noexcept {
    XS_SYS_HOOK(h_sendmsg(fd, m, flags))
    return ::sendmsg(fd, m, flags);
}
inline ssize_t splice(int fd_in, loff_t* off_in, int fd_out, loff_t* off_out, std::size_t len,
                      unsigned flags) noexcept {
    XS_SYS_HOOK(h_splice(fd_in, off_in, fd_out, off_out, len, flags))
    return ::splice(fd_in, off_in, fd_out, off_out, len, flags);
}
inline int epoll_create(int flags) noexcept {
    XS_SYS_HOOK(h_epoll_create(flags))
    return ::epoll_create1(flags);
}
inline int epoll_ctl(int epfd, int op, int fd, epoll_event* ev) noexcept {
    XS_SYS_HOOK(h_epoll_ctl(epfd, op, fd, ev))
    return ::epoll_ctl(epfd, op, fd, ev);
}
inline int epoll_wait(int epfd, epoll_event* evs, int max, int timeout) noexcept {
    XS_SYS_HOOK(h_epoll_wait(epfd, evs, max, timeout))
    return ::epoll_wait(epfd, evs, max, timeout);
}
inline int poll(pollfd* fds, nfds_t n, int timeout) noexcept {
    XS_SYS_HOOK(h_poll(fds, n, timeout))
    return ::poll(fds, n, timeout);
}
inline int shutdown(int fd, int how) noexcept {
    XS_SYS_HOOK(h_shutdown(fd, how))
    return ::shutdown(fd, how);
}
inline int connect(int fd, const sockaddr* a, socklen_t l) noexcept {
    XS_SYS_HOOK(h_connect(fd, a, l))
    return ::connect(fd, a, l);
}
inline int accept(int fd, sockaddr* a, socklen_t* l, int flags) noexcept {
    XS_SYS_HOOK(h_accept(fd, a, l, flags))
    return ::accept4(fd, a, l, flags);
}
inline int socket(int dom, int type, int proto) noexcept {
    XS_SYS_HOOK(h_socket(dom, type, proto))
    return ::socket(dom, type, proto);
}
inline int bind(int fd, const sockaddr* a, socklen_t l) noexcept {
    XS_SYS_HOOK(h_bind(fd, a, l))
    return ::bind(fd, a, l);
}
inline int listen(int fd, int backlog) noexcept {
    XS_SYS_HOOK(h_listen(fd, backlog))
    return ::listen(fd, backlog);
}
inline int setsockopt(int fd, int lvl, int opt, const void* v, socklen_t l) noexcept {
    XS_SYS_HOOK(h_setsockopt(fd, lvl, opt, v, l))
    return ::setsockopt(fd, lvl, opt, v, l);
}
inline int getsockopt(int fd, int lvl, int opt, void* v, socklen_t* l) noexcept {
    XS_SYS_HOOK(h_getsockopt(fd, lvl, opt, v, l))
    return ::getsockopt(fd, lvl, opt, v, l);
}
inline int close(int fd) noexcept {
    XS_SYS_HOOK(h_close(fd))
    return ::close(fd);
}
inline int pipe(int fds[2], int flags) noexcept {
    XS_SYS_HOOK(h_pipe(fds, flags))
    return ::pipe2(fds, flags);
}
inline int fcntl(int fd, int cmd, long arg) noexcept {
    XS_SYS_HOOK(h_fcntl(fd, cmd, arg))
    return ::fcntl(fd, cmd, arg);
}

#undef XS_SYS_HOOK

}  // namespace xstack::sys
