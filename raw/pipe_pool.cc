// raw/pipe_pool.cc
#include "raw/pipe_pool.h"

#include <cerrno>
#include <new>

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "event/sys.h"

namespace xstack::raw {

namespace {

struct pool_state {
    xprt::pipe* head = nullptr;
    bool sigpipe_blocked = false;  ///< this thread's mask blocks SIGPIPE (set by pipe_get)
    std::size_t pipe_size = 0;
    std::size_t max_cached = 64;
    std::size_t max_pipes = 0;
    pipe_pool_stats st{};
};
thread_local pool_state pool;

void destroy(xprt::pipe* p) noexcept {
    (void)sys::close(p->prod);
    (void)sys::close(p->cons);
    delete p;
    ++pool.st.destroyed;
}

struct pool_reaper {
    ~pool_reaper() { pipe_pool_trim(); }
};
thread_local pool_reaper reaper;

sigset_t sigpipe_set() noexcept {
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGPIPE);
    return s;
}

/// fs.pipe-max-size: the largest pipe an unprivileged process may ask for; 0 if unknown.
std::size_t pipe_max_size() noexcept {
    const int fd = ::open("/proc/sys/fs/pipe-max-size", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return 0;
    }
    char text[32] = {};
    const ssize_t n = ::read(fd, text, sizeof text - 1);
    ::close(fd);
    if (n <= 0) {
        return 0;
    }
    std::size_t v = 0;
    for (ssize_t i = 0; i < n && text[i] >= '0' && text[i] <= '9'; ++i) {
        v = v * 10 + static_cast<std::size_t>(text[i] - '0');
    }
    return v;
}

}  // namespace

void pipe_pool_configure(std::size_t pipe_size, std::size_t max_cached,
                         std::size_t max_pipes) noexcept {
    pipe_pool_trim();
    pool.pipe_size = pipe_size;
    pool.max_cached = max_cached;
    pool.max_pipes = max_pipes;
}

xprt::pipe* pipe_get() noexcept {
    (void)&reaper;
    if (pool.head != nullptr) {
        xprt::pipe* p = pool.head;
        pool.head = p->next;
        p->next = nullptr;
        --pool.st.cached;
        ++pool.st.in_use;
        return p;
    }
    if (!pool.sigpipe_blocked) {
        const sigset_t s = sigpipe_set();
        pool.sigpipe_blocked = ::pthread_sigmask(SIG_BLOCK, &s, nullptr) == 0;
    }
    if (pool.max_pipes != 0 && pool.st.in_use + pool.st.cached >= pool.max_pipes) {
        ++pool.st.failures;
        return nullptr;
    }
    int fds[2];
    if (sys::pipe(fds, O_NONBLOCK | O_CLOEXEC) != 0) {
        ++pool.st.failures;
        return nullptr;
    }
    auto* p = new (std::nothrow) xprt::pipe;
    if (p == nullptr) {
        (void)sys::close(fds[0]);
        (void)sys::close(fds[1]);
        ++pool.st.failures;
        return nullptr;
    }
    p->cons = fds[0];
    p->prod = fds[1];
    if (pool.pipe_size != 0 &&
        sys::fcntl(p->prod, F_SETPIPE_SZ, static_cast<long>(pool.pipe_size)) < 0 &&
        errno == EPERM) {
        // Above fs.pipe-max-size without CAP_SYS_RESOURCE: take the largest size allowed rather
        // than keep the kernel's 64 KiB default, and ask for that from now on.
        const std::size_t max = pipe_max_size();
        if (max != 0 && max < pool.pipe_size) {
            pool.pipe_size = max;
            (void)sys::fcntl(p->prod, F_SETPIPE_SZ, static_cast<long>(max));
        }
    }
    const int sz = sys::fcntl(p->prod, F_GETPIPE_SZ, 0);
    p->capacity = sz > 0 ? static_cast<std::size_t>(sz) : 65536;
    ++pool.st.created;
    ++pool.st.in_use;
    return p;
}

void pipe_put(xprt::pipe* p) noexcept {
    if (p == nullptr) {
        return;
    }
    --pool.st.in_use;
    if (p->data != 0 || pool.st.cached >= pool.max_cached) {
        destroy(p);
        return;
    }
    p->next = pool.head;
    pool.head = p;
    ++pool.st.cached;
}

void discard_sigpipe() noexcept {
    if (!pool.sigpipe_blocked) {
        return;  // not blocked here: nothing of ours can be pending
    }
    const sigset_t s = sigpipe_set();
    const timespec zero{};
    (void)::sigtimedwait(&s, nullptr, &zero);  // a standard signal is pending at most once
}

pipe_pool_stats pipe_pool_get_stats() noexcept {
    return pool.st;
}

void pipe_pool_trim() noexcept {
    while (pool.head != nullptr) {
        xprt::pipe* p = pool.head;
        pool.head = p->next;
        --pool.st.cached;
        destroy(p);
    }
}

}  // namespace xstack::raw
