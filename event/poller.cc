// event/poller.cc - epoll (level- and edge-triggered) and poll() pollers.
#include "event/poller.h"

#include <cerrno>
#include <vector>

#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "event/sys.h"

namespace xstack::event {

std::string_view to_string(poller_kind k) noexcept {
    switch (k) {
    case poller_kind::epoll:
        return "epoll";
    case poller_kind::epoll_et:
        return "epoll-et";
    case poller_kind::poll:
        return "poll";
    }
    return "?";
}

bool poller_kind_from_string(std::string_view s, poller_kind& out) noexcept {
    for (poller_kind k : {poller_kind::epoll, poller_kind::epoll_et, poller_kind::poll}) {
        if (s == to_string(k)) {
            out = k;
            return true;
        }
    }
    return false;
}

namespace {

fd_bits from_epoll(std::uint32_t ev) noexcept {
    fd_bits b;
    b.assign(fd_bit::poll_in, (ev & EPOLLIN) != 0);
    b.assign(fd_bit::poll_pri, (ev & EPOLLPRI) != 0);
    b.assign(fd_bit::poll_out, (ev & EPOLLOUT) != 0);
    b.assign(fd_bit::poll_err, (ev & EPOLLERR) != 0);
    b.assign(fd_bit::poll_hup, (ev & EPOLLHUP) != 0);
    b.assign(fd_bit::poll_rdhup, (ev & EPOLLRDHUP) != 0);
    return b;
}

std::uint32_t to_epoll(polled_bits p) noexcept {
    std::uint32_t ev = 0;
    if (p.has(polled_bit::r)) {
        ev |= EPOLLIN | EPOLLRDHUP;
    }
    if (p.has(polled_bit::w)) {
        ev |= EPOLLOUT;
    }
    return ev;
}

class epoll_poller final : public poller {
public:
    epoll_poller(int epfd, bool et, int max_events)
        : epfd_(epfd), et_(et), events_(static_cast<std::size_t>(max_events)) {}
    ~epoll_poller() override { (void)sys::close(epfd_); }
    epoll_poller(const epoll_poller&) = delete;
    epoll_poller& operator=(const epoll_poller&) = delete;

    [[nodiscard]] poller_kind kind() const noexcept override {
        return et_ ? poller_kind::epoll_et : poller_kind::epoll;
    }

    void update(fd_table& t, int fd) noexcept override {
        ++stats_.updates_seen;
        fd_entry& e = t.entry(fd);
        const std::uint64_t data =
            (static_cast<std::uint64_t>(e.gen) << 32) | static_cast<std::uint32_t>(fd);
        if (et_ && e.st.has(fd_bit::et)) {
            // Edge-triggered: register both directions once, the first time anything is
            // wanted, and never touch the registration again.
            if (e.polled.has(polled_bit::et) || !e.st.any(fd_bit::active_r | fd_bit::active_w)) {
                ++stats_.updates_noop;
                return;
            }
            epoll_event ev{};
            ev.events = EPOLLIN | EPOLLRDHUP | EPOLLOUT | EPOLLET;
            ev.data.u64 = data;
            bool ok = ctl(EPOLL_CTL_ADD, fd, ev);
            if (!ok && errno == EEXIST) {
                // Same socket back under the same number while a dup kept the old
                // registration (with a stale generation): adopt it, as level-triggered does.
                ok = ctl(EPOLL_CTL_MOD, fd, ev);
            }
            if (ok) {
                e.polled = polled_bit::r | polled_bit::w;
                e.polled.set(polled_bit::et);
            }
            return;
        }
        const polled_bits want = t.desired(fd);
        const polled_bits have = e.polled & (polled_bit::r | polled_bit::w);
        if (want == have) {
            ++stats_.updates_noop;
            return;
        }
        epoll_event ev{};
        ev.events = to_epoll(want);
        ev.data.u64 = data;
        bool ok = false;
        if (want.empty()) {
            ok = ctl(EPOLL_CTL_DEL, fd, ev);
            if (!ok && errno == ENOENT) {
                ok = true;  // already gone (closed elsewhere): the state is what we want
            }
        } else if (have.empty()) {
            ok = ctl(EPOLL_CTL_ADD, fd, ev);
            if (!ok && errno == EEXIST) {
                ok = ctl(EPOLL_CTL_MOD, fd, ev);  // registration left from a dup: adopt it
            }
        } else {
            ok = ctl(EPOLL_CTL_MOD, fd, ev);
            if (!ok && errno == ENOENT) {
                ok = ctl(EPOLL_CTL_ADD, fd, ev);
            }
        }
        if (ok) {
            e.polled = want;
        }
    }

    void forget(int fd, polled_bits was, bool closing) noexcept override {
        // close() removes the registration of an fd that was not duplicated: no syscall then.
        if (!closing && was.any(polled_bit::r | polled_bit::w)) {
            epoll_event ev{};
            (void)ctl(EPOLL_CTL_DEL, fd, ev);
        }
    }

    int wait(fd_table& t, int timeout_ms) noexcept override {
        ++stats_.waits;
        const int n =
            sys::epoll_wait(epfd_, events_.data(), static_cast<int>(events_.size()), timeout_ms);
        if (n < 0) {
            return errno == EINTR ? 0 : -1;
        }
        for (int i = 0; i < n; ++i) {
            const epoll_event& ev = events_[static_cast<std::size_t>(i)];
            const int fd = static_cast<int>(ev.data.u64 & 0xffffffffu);
            const auto gen = static_cast<std::uint32_t>(ev.data.u64 >> 32);
            if ((ev.events & EPOLLRDHUP) != 0) {
                rdhup_known_ = true;
            }
            if (t.deliver(fd, gen, from_epoll(ev.events))) {
                ++stats_.events;
            }
        }
        return n;
    }

private:
    bool ctl(int op, int fd, epoll_event& ev) noexcept {
        if (op == EPOLL_CTL_ADD) {
            ++stats_.ctl_add;
        } else if (op == EPOLL_CTL_MOD) {
            ++stats_.ctl_mod;
        } else {
            ++stats_.ctl_del;
        }
        return sys::epoll_ctl(epfd_, op, fd, &ev) == 0;
    }

    int epfd_;
    bool et_;
    std::vector<epoll_event> events_;
};

class poll_poller final : public poller {
public:
    explicit poll_poller(int max_events) { pfds_.reserve(static_cast<std::size_t>(max_events)); }

    [[nodiscard]] poller_kind kind() const noexcept override { return poller_kind::poll; }

    void update(fd_table& t, int fd) noexcept override {
        ++stats_.updates_seen;
        fd_entry& e = t.entry(fd);
        const polled_bits want = t.desired(fd);
        const polled_bits have = e.polled & (polled_bit::r | polled_bit::w);
        if (want == have) {
            ++stats_.updates_noop;
            return;
        }
        e.polled = want;
        const std::size_t ufd = static_cast<std::size_t>(fd);
        if (pos_.size() <= ufd) {
            pos_.resize(ufd + 1, npos);
        }
        if (want.empty()) {
            drop(fd);
            return;
        }
        short events = 0;
        if (want.has(polled_bit::r)) {
            events = static_cast<short>(events | POLLIN | POLLRDHUP);
        }
        if (want.has(polled_bit::w)) {
            events = static_cast<short>(events | POLLOUT);
        }
        if (pos_[ufd] == npos) {
            pos_[ufd] = pfds_.size();
            pfds_.push_back({fd, events, 0});
            gens_.push_back(e.gen);
        } else {
            pfds_[pos_[ufd]].events = events;
            gens_[pos_[ufd]] = e.gen;
        }
    }

    void forget(int fd, polled_bits /*was*/, bool /*closing*/) noexcept override { drop(fd); }

    int wait(fd_table& t, int timeout_ms) noexcept override {
        ++stats_.waits;
        const int n = sys::poll(pfds_.data(), pfds_.size(), timeout_ms);
        if (n < 0) {
            return errno == EINTR ? 0 : -1;
        }
        // Snapshot first: delivering may change the set (iocbs queue updates, tasklets later
        // remove fds), and the reported generation keeps stale entries recognisable.
        ready_.clear();
        for (std::size_t i = 0; i < pfds_.size() && ready_.size() < static_cast<std::size_t>(n);
             ++i) {
            if (pfds_[i].revents != 0) {
                ready_.push_back({pfds_[i].fd, gens_[i], pfds_[i].revents});
            }
        }
        for (const auto& r : ready_) {
            fd_bits b;
            b.assign(fd_bit::poll_in, (r.revents & POLLIN) != 0);
            b.assign(fd_bit::poll_pri, (r.revents & POLLPRI) != 0);
            b.assign(fd_bit::poll_out, (r.revents & POLLOUT) != 0);
            b.assign(fd_bit::poll_err, (r.revents & (POLLERR | POLLNVAL)) != 0);
            b.assign(fd_bit::poll_hup, (r.revents & POLLHUP) != 0);
            b.assign(fd_bit::poll_rdhup, (r.revents & POLLRDHUP) != 0);
            if ((r.revents & POLLRDHUP) != 0) {
                rdhup_known_ = true;
            }
            if (t.deliver(r.fd, r.gen, b)) {
                ++stats_.events;
            }
        }
        return n;
    }

private:
    static constexpr std::size_t npos = static_cast<std::size_t>(-1);
    struct ready_ev {
        int fd;
        std::uint32_t gen;
        short revents;
    };

    void drop(int fd) noexcept {
        const auto ufd = static_cast<std::size_t>(fd);
        if (ufd >= pos_.size() || pos_[ufd] == npos) {
            return;
        }
        const std::size_t i = pos_[ufd];
        const std::size_t last = pfds_.size() - 1;
        if (i != last) {
            pfds_[i] = pfds_[last];
            gens_[i] = gens_[last];
            pos_[static_cast<std::size_t>(pfds_[i].fd)] = i;
        }
        pfds_.pop_back();
        gens_.pop_back();
        pos_[ufd] = npos;
    }

    std::vector<pollfd> pfds_;
    std::vector<std::uint32_t> gens_;
    std::vector<std::size_t> pos_;
    std::vector<ready_ev> ready_;
};

}  // namespace

std::unique_ptr<poller> poller::create(poller_kind k, int max_events, bool probe_rdhup) {
    std::unique_ptr<poller> p;
    if (k == poller_kind::poll) {
        p = std::make_unique<poll_poller>(max_events);
    } else {
        const int epfd = sys::epoll_create(EPOLL_CLOEXEC);
        if (epfd < 0) {
            return nullptr;
        }
        p = std::make_unique<epoll_poller>(epfd, k == poller_kind::epoll_et, max_events);
    }
    if (probe_rdhup) {
        p->rdhup_known_ = kernel_reports_rdhup();
    }
    return p;
}

bool poller::kernel_reports_rdhup() noexcept {
    // A peer's shutdown(SHUT_WR) must show up as EPOLLRDHUP. Direct syscalls: this one-time
    // probe is not part of any connection's syscall budget.
    static const bool known = [] {
        int sv[2];
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
            return false;
        }
        bool ok = false;
        const int ep = ::epoll_create1(EPOLL_CLOEXEC);
        if (ep >= 0) {
            epoll_event ev{};
            ev.events = EPOLLIN | EPOLLRDHUP;
            if (::epoll_ctl(ep, EPOLL_CTL_ADD, sv[0], &ev) == 0 &&
                ::shutdown(sv[1], SHUT_WR) == 0) {
                epoll_event out{};
                ok = ::epoll_wait(ep, &out, 1, 0) == 1 && (out.events & EPOLLRDHUP) != 0;
            }
            ::close(ep);
        }
        ::close(sv[0]);
        ::close(sv[1]);
        return ok;
    }();
    return known;
}

}  // namespace xstack::event
