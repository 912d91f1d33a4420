// tests/event/poller_test.cc - every poller kind against real sockets, through a loop: the same
// suite runs on epoll (level-triggered), epoll_et and poll.
#include "event/poller.h"

#include <memory>
#include <vector>

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "event/loop.h"
#include "event/sys.h"
#include "tests/support/pollers.h"
#include "tests/support/run_until.h"
#include "tests/support/socket_pair.h"

namespace xstack::event {
namespace {

using test::run_iterations;
using test::run_until;
using test::socket_pair;

/// An fd owner whose iocb does what the connection iocb does: no I/O; for each ready+active
/// direction, count a wake and disable the direction (the consumer re-arms).
///
/// `calls` counts every iocb call; an edge-triggered registration also reports the directions
/// that were already ready when it was made, so tests wait for wakes, not calls.
struct watcher {
    explicit watcher(loop* lp) noexcept : l(lp) {}
    loop* l;
    int calls = 0;
    int recv_wakes = 0;
    int send_wakes = 0;
    fd_bits last;

    static void iocb(void* owner, int fd) noexcept {
        auto* w = static_cast<watcher*>(owner);
        fd_table& t = w->l->fds();
        ++w->calls;
        w->last = t.state(fd);
        if (t.recv_ready(fd) && t.recv_active(fd)) {
            ++w->recv_wakes;
            t.stop_recv(fd);
        }
        if (t.send_ready(fd) && t.send_active(fd)) {
            ++w->send_wakes;
            t.stop_send(fd);
        }
    }
};

/// Writes into `fd` until the kernel says EAGAIN; returns the bytes written.
std::size_t fill(int fd) {
    static const std::string chunk(65536, 'f');
    std::size_t total = 0;
    for (;;) {
        const ssize_t n = ::send(fd, chunk.data(), chunk.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n <= 0) {
            return total;
        }
        total += static_cast<std::size_t>(n);
    }
}

/// Arms `fd` for receiving as a reader does after EAGAIN.
void arm_recv(loop& l, int fd) {
    l.fds().cant_recv(fd);
    l.fds().want_recv(fd);
}

class PollerTest : public ::testing::TestWithParam<poller_kind> {
protected:
    [[nodiscard]] loop_options opts() const {
        loop_options o;
        o.poller = GetParam();
        o.probe_rdhup = false;  // learnt from the first report (tested below)
        return o;
    }
    [[nodiscard]] bool is_epoll() const { return GetParam() != poller_kind::poll; }
    [[nodiscard]] bool is_et() const { return GetParam() == poller_kind::epoll_et; }
};

TEST_P(PollerTest, LoopRunsTheRequestedPoller) {
    loop l(opts());
    ASSERT_TRUE(l.ok());
    EXPECT_EQ(l.kind(), GetParam());
}

TEST_P(PollerTest, ReadinessIsDeliveredToTheIocb) {
    loop l(opts());
    socket_pair sp;
    watcher w{&l};
    l.fd_insert(sp.a(), watcher::iocb, &w);
    arm_recv(l, sp.a());
    run_iterations(l, 3);
    EXPECT_EQ(w.recv_wakes, 0) << "nothing to read yet";

    ASSERT_TRUE(test::write_all(sp.b(), "x"));
    ASSERT_TRUE(run_until(l, [&] { return w.recv_wakes == 1; }));
    EXPECT_TRUE(w.last.has(fd_bit::poll_in));
    EXPECT_TRUE(l.fds().recv_ready(sp.a()));
    EXPECT_GE(l.the_poller().stats().events, 1u);
    l.fd_forget(sp.a());
}

TEST_P(PollerTest, WritabilityIsDeliveredToTheIocb) {
    loop l(opts());
    socket_pair sp;
    watcher w{&l};
    l.fd_insert(sp.a(), watcher::iocb, &w);
    l.fds().cant_send(sp.a());
    l.fds().want_send(sp.a());
    ASSERT_TRUE(run_until(l, [&] { return w.send_wakes == 1; }));
    EXPECT_TRUE(w.last.has(fd_bit::poll_out));
    EXPECT_TRUE(l.fds().send_ready(sp.a()));
    EXPECT_FALSE(l.fds().send_active(sp.a()));
    l.fd_forget(sp.a());
}

TEST_P(PollerTest, DeliveredEventIsDisabledUntilTheConsumerRearms) {
    loop l(opts());
    socket_pair sp;
    watcher w{&l};
    l.fd_insert(sp.a(), watcher::iocb, &w);
    arm_recv(l, sp.a());
    ASSERT_TRUE(test::write_all(sp.b(), "unread"));
    ASSERT_TRUE(run_until(l, [&] { return w.recv_wakes == 1; }));
    const int calls = w.calls;

    // The data stay unread and more arrive: a level-triggered poller keeps reporting, but the
    // direction is inactive, so nobody is woken (and the registration is dropped lazily).
    ASSERT_TRUE(test::write_all(sp.b(), "more"));
    run_iterations(l, 10);
    EXPECT_EQ(w.recv_wakes, 1);
    EXPECT_EQ(w.calls, calls) << "no direction active: the iocb is not even called";

    // The consumer re-arms (after reading, it would have seen EAGAIN): woken again.
    ASSERT_EQ(test::read_available(sp.a()), "unreadmore");
    arm_recv(l, sp.a());
    ASSERT_TRUE(test::write_all(sp.b(), "again"));
    ASSERT_TRUE(run_until(l, [&] { return w.recv_wakes == 2; }));
    l.fd_forget(sp.a());
}

TEST_P(PollerTest, EpollCtlOnlyWhenDesiredDiffersFromRegistered) {
    loop l(opts());
    socket_pair sp;
    const int fd = sp.a();
    watcher w{&l};
    sys::hooks h;
    l.fd_insert(fd, watcher::iocb, &w);
    arm_recv(l, fd);
    l.run_once(0);
    EXPECT_EQ(h.count(sys::call::epoll_ctl, fd), is_epoll() ? 1u : 0u) << "one ADD";

    // want/stop cycles with nothing happening in between: the registration already matches.
    for (int i = 0; i < 100; ++i) {
        l.fds().stop_recv(fd);
        l.fds().want_recv(fd);
        l.run_once(0);
    }
    EXPECT_EQ(h.count(sys::call::epoll_ctl, fd), is_epoll() ? 1u : 0u);
    EXPECT_GE(l.the_poller().stats().updates_noop, 100u);

    // Stopping is lazy: no syscall until the kernel reports the inactive direction...
    l.fds().stop_recv(fd);
    run_iterations(l, 3);
    EXPECT_EQ(h.count(sys::call::epoll_ctl, fd), is_epoll() ? 1u : 0u);
    // ... then level-triggered epoll removes it (once); edge-triggered never touches it.
    ASSERT_TRUE(test::write_all(sp.b(), "x"));
    ASSERT_TRUE(run_until(l, [&] { return l.fds().recv_ready(fd); }));
    run_iterations(l, 3);
    EXPECT_EQ(w.recv_wakes + w.send_wakes, 0) << "no direction active: no wake";
    const std::uint64_t expected = GetParam() == poller_kind::epoll ? 2u : is_et() ? 1u : 0u;
    EXPECT_EQ(h.count(sys::call::epoll_ctl, fd), expected);
    if (GetParam() == poller_kind::epoll) {
        std::vector<int> ops;
        for (const auto& r : h.log()) {
            if (r.kind == sys::call::epoll_ctl && r.fd == fd) {
                ops.push_back(r.flags);
            }
        }
        EXPECT_EQ(ops, (std::vector<int>{EPOLL_CTL_ADD, EPOLL_CTL_DEL}));
    }
    EXPECT_TRUE(l.fds().entry(fd).polled.empty() || is_et());
    l.fd_forget(fd);
}

TEST_P(PollerTest, WantingSendRegistersRecvTooWhenRecvIsNotReady) {
    loop l(opts());
    socket_pair sp;
    const int fd = sp.a();
    watcher w{&l};
    sys::hooks h;
    l.fd_insert(fd, watcher::iocb, &w);
    l.fds().cant_recv(fd);
    l.fds().cant_send(fd);
    l.fds().want_send(fd);
    l.run_once(0);
    const polled_bits polled = l.fds().entry(fd).polled;
    EXPECT_TRUE(polled.has(polled_bit::r | polled_bit::w));
    if (is_epoll()) {
        ASSERT_EQ(h.count(sys::call::epoll_ctl, fd), 1u);
        for (const auto& r : h.log()) {
            if (r.kind == sys::call::epoll_ctl && r.fd == fd) {
                EXPECT_EQ(r.flags, EPOLL_CTL_ADD);
                EXPECT_NE(r.len & EPOLLIN, 0u);
                EXPECT_NE(r.len & EPOLLRDHUP, 0u);
                EXPECT_NE(r.len & EPOLLOUT, 0u);
                EXPECT_EQ((r.len & EPOLLET) != 0, is_et());
            }
        }
    }
    l.fd_forget(fd);
}

TEST_P(PollerTest, KeepAliveExchangeCostsOneRegistration) {
    // The shape of an accepted keep-alive connection: wait for a request, consume it all
    // (EAGAIN => cant_recv), re-arm; one epoll_ctl for the whole connection.
    loop l(opts());
    socket_pair sp;
    const int fd = sp.a();
    watcher w{&l};
    sys::hooks h;
    l.fd_insert(fd, watcher::iocb, &w);
    for (int i = 1; i <= 50; ++i) {
        arm_recv(l, fd);
        ASSERT_TRUE(test::write_all(sp.b(), "ping"));
        ASSERT_TRUE(run_until(l, [&] { return w.recv_wakes == i; })) << "round " << i;
        ASSERT_EQ(test::read_available(fd), "ping");
    }
    EXPECT_EQ(h.count(sys::call::epoll_ctl, fd), is_epoll() ? 1u : 0u);
    l.fd_forget(fd);
}

TEST_P(PollerTest, EdgeTriggeredRegistersOncePerFd) {
    // Both directions in turn, each marked not ready only after a real EAGAIN (the rule that
    // makes edge-triggered mode safe): ET registers once and never modifies it.
    loop l(opts());
    socket_pair sp;
    const int fd = sp.a();
    watcher w{&l};
    sys::hooks h;
    l.fd_insert(fd, watcher::iocb, &w);
    for (int i = 1; i <= 10; ++i) {
        ASSERT_GT(fill(fd), 0u);
        l.fds().cant_send(fd);
        l.fds().want_send(fd);
        run_iterations(l, 2);
        EXPECT_EQ(w.send_wakes, i - 1) << "socket full: no send wake";
        (void)test::read_available(sp.b());  // the peer makes room
        ASSERT_TRUE(run_until(l, [&] { return w.send_wakes == i; })) << "round " << i;

        ASSERT_EQ(test::read_available(fd), "");  // EAGAIN
        arm_recv(l, fd);
        ASSERT_TRUE(test::write_all(sp.b(), "y"));
        ASSERT_TRUE(run_until(l, [&] { return w.recv_wakes == i; })) << "round " << i;
        ASSERT_EQ(test::read_available(fd), "y");
    }
    if (is_et()) {
        EXPECT_EQ(h.count(sys::call::epoll_ctl, fd), 1u);
        EXPECT_TRUE(l.fds().entry(fd).polled.has(polled_bit::et));
    } else if (is_epoll()) {
        EXPECT_GT(h.count(sys::call::epoll_ctl, fd), 1u) << "level-triggered follows the wants";
    }
    l.fd_forget(fd);
}

TEST_P(PollerTest, FdNotAllowedEtIsRegisteredLevelTriggered) {
    loop l(opts());
    socket_pair sp;
    watcher w{&l};
    l.fd_insert(sp.a(), watcher::iocb, &w, false);
    arm_recv(l, sp.a());
    l.run_once(0);
    EXPECT_FALSE(l.fds().entry(sp.a()).polled.has(polled_bit::et));
    EXPECT_TRUE(l.fds().entry(sp.a()).polled.has(polled_bit::r));
    l.fd_forget(sp.a());
}

TEST_P(PollerTest, FdReuseAfterCloseDropsStaleEvents) {
    loop l(opts());
    socket_pair old_pair;
    socket_pair new_pair;  // made now so that its fds differ from the number reused below
    const int n = old_pair.a();
    watcher old_owner{&l};
    l.fd_insert(n, watcher::iocb, &old_owner);
    arm_recv(l, n);
    l.run_once(0);

    // A duplicate keeps the old socket open, so epoll keeps its registration after close().
    const int keep = ::dup(n);
    ASSERT_GE(keep, 0);
    l.fd_delete(old_pair.release_a());
    const int old_calls = old_owner.calls;

    // The same number now names another socket, registered by a new owner.
    ASSERT_EQ(::dup2(new_pair.a(), n), n);
    new_pair.close_a();
    watcher new_owner{&l};
    l.fd_insert(n, watcher::iocb, &new_owner);
    arm_recv(l, n);

    // Traffic for the old socket: epoll reports it with the old generation, which is dropped.
    ASSERT_TRUE(test::write_all(old_pair.b(), "old"));
    if (is_epoll()) {
        ASSERT_TRUE(run_until(l, [&] { return l.fds().stale_events() > 0; }));
    } else {
        run_iterations(l, 5);
        EXPECT_EQ(l.fds().stale_events(), 0u) << "poll forgets the fd with its entry";
    }
    EXPECT_EQ(old_owner.calls, old_calls);
    EXPECT_EQ(new_owner.recv_wakes, 0);
    EXPECT_FALSE(l.fds().recv_ready(n)) << "a stale report must not mark the new fd ready";
    ::close(keep);

    ASSERT_TRUE(test::write_all(new_pair.b(), "new"));
    ASSERT_TRUE(run_until(l, [&] { return new_owner.recv_wakes == 1; }));
    EXPECT_EQ(test::read_available(n), "new");
    l.fd_delete(n);
}

TEST_P(PollerTest, RdhupIsLearntAtRunTime) {
    loop l(opts());
    EXPECT_FALSE(l.rdhup_known());
    socket_pair sp;
    watcher w{&l};
    l.fd_insert(sp.a(), watcher::iocb, &w);
    arm_recv(l, sp.a());
    run_iterations(l, 2);
    EXPECT_FALSE(l.rdhup_known());
    ASSERT_EQ(::shutdown(sp.b(), SHUT_WR), 0);
    ASSERT_TRUE(run_until(l, [&] { return w.recv_wakes == 1; }));
    EXPECT_TRUE(l.rdhup_known());
    EXPECT_TRUE(w.last.has(fd_bit::poll_rdhup));
    EXPECT_TRUE(l.fds().recv_ready(sp.a()));
    l.fd_forget(sp.a());
}

TEST_P(PollerTest, PeerCloseIsReportedAsHangup) {
    loop l(opts());
    socket_pair sp;
    watcher w{&l};
    l.fd_insert(sp.a(), watcher::iocb, &w);
    arm_recv(l, sp.a());
    sp.close_b();
    ASSERT_TRUE(run_until(l, [&] { return w.recv_wakes == 1; }));
    EXPECT_TRUE(w.last.has(fd_bit::poll_hup));
    EXPECT_TRUE(l.fds().recv_ready(sp.a()));
    EXPECT_TRUE(l.fds().send_ready(sp.a()));
    l.fd_forget(sp.a());
}

TEST_P(PollerTest, ResetIsReportedAsError) {
    loop l(opts());
    socket_pair sp = socket_pair::tcp();
    ASSERT_TRUE(sp.ok());
    watcher w{&l};
    l.fd_insert(sp.a(), watcher::iocb, &w);
    arm_recv(l, sp.a());
    const linger rst{1, 0};
    ASSERT_EQ(::setsockopt(sp.b(), SOL_SOCKET, SO_LINGER, &rst, sizeof rst), 0);
    sp.close_b();
    ASSERT_TRUE(run_until(l, [&] { return w.recv_wakes == 1; }));
    EXPECT_TRUE(w.last.has(fd_bit::poll_err));
    // Sticky: a later report without ERR keeps it.
    ASSERT_TRUE(l.fds().deliver(sp.a(), l.fds().generation(sp.a()), fd_bit::poll_in));
    EXPECT_TRUE(l.fds().state(sp.a()).has(fd_bit::poll_err));
    l.fd_forget(sp.a());
}

TEST_P(PollerTest, ForgetUnregistersWithoutClosing) {
    loop l(opts());
    socket_pair sp;
    watcher w{&l};
    l.fd_insert(sp.a(), watcher::iocb, &w);
    arm_recv(l, sp.a());
    l.run_once(0);
    const int calls = w.calls;
    sys::hooks h;
    l.fd_forget(sp.a());
    EXPECT_EQ(h.count(sys::call::epoll_ctl, sp.a()), is_epoll() ? 1u : 0u) << "DEL";
    EXPECT_EQ(h.count(sys::call::close, sp.a()), 0u);
    EXPECT_NE(::fcntl(sp.a(), F_GETFD), -1) << "still open";
    ASSERT_TRUE(test::write_all(sp.b(), "x"));
    run_iterations(l, 3);
    EXPECT_EQ(w.calls, calls);
    EXPECT_EQ(l.fds().stale_events(), 0u) << "nothing left registered to report";
}

TEST_P(PollerTest, DeleteClosesWithoutUnregisterSyscall) {
    loop l(opts());
    socket_pair sp;
    watcher w{&l};
    const int fd = sp.release_a();
    l.fd_insert(fd, watcher::iocb, &w);
    arm_recv(l, fd);
    l.run_once(0);
    sys::hooks h;
    l.fd_delete(fd);
    EXPECT_EQ(h.count(sys::call::epoll_ctl, fd), 0u) << "close() removes the registration";
    EXPECT_EQ(h.count(sys::call::setsockopt, fd), 0u) << "no linger risk: plain close";
    EXPECT_EQ(h.count(sys::call::close, fd), 1u);
    EXPECT_FALSE(l.fds().in_use(fd));
}

TEST_P(PollerTest, DeleteWithLingerRiskSendsReset) {
    loop l(opts());
    socket_pair sp = socket_pair::tcp();
    ASSERT_TRUE(sp.ok());
    watcher w{&l};
    const int fd = sp.release_a();
    l.fd_insert(fd, watcher::iocb, &w);
    l.fds().set_linger_risk(fd, true);
    ASSERT_TRUE(test::write_all(sp.b(), "unread"));
    sys::hooks h;
    l.fd_delete(fd);
    ASSERT_EQ(h.count(sys::call::setsockopt, fd), 1u);
    EXPECT_EQ(h.log().front().flags, SO_LINGER);
    EXPECT_EQ(h.count(sys::call::close, fd), 1u);
    // The peer sees a reset, not a FIN.
    ASSERT_TRUE(test::wait_readable(sp.b()));
    char c = 0;
    EXPECT_EQ(::recv(sp.b(), &c, 1, MSG_DONTWAIT), -1);
    EXPECT_EQ(errno, ECONNRESET);
}

TEST_P(PollerTest, ManyFdsWithRemovalsInTheMiddle) {
    loop_options o = opts();
    o.max_events = 3;  // fewer than the ready fds: delivered over several waits
    loop l(o);
    constexpr std::size_t count = 24;
    std::vector<socket_pair> pairs(count);
    std::vector<watcher> ws(count, watcher{&l});
    for (std::size_t i = 0; i < count; ++i) {
        l.fd_insert(pairs[i].a(), watcher::iocb, &ws[i]);
        arm_recv(l, pairs[i].a());
    }
    l.run_once(0);
    // Every other fd leaves the loop (still open, so its peer can still write to it).
    for (std::size_t i = 0; i < count; i += 2) {
        l.fd_forget(pairs[i].a());
    }
    for (std::size_t i = 0; i < count; ++i) {
        ASSERT_TRUE(test::write_all(pairs[i].b(), "x"));
    }
    ASSERT_TRUE(run_until(l, [&] {
        for (std::size_t i = 1; i < count; i += 2) {
            if (ws[i].recv_wakes == 0) {
                return false;
            }
        }
        return true;
    }));
    run_iterations(l, 3);
    for (std::size_t i = 0; i < count; ++i) {
        EXPECT_EQ(ws[i].recv_wakes, i % 2 == 0 ? 0 : 1) << "fd #" << i;
    }
    EXPECT_EQ(l.fds().stale_events(), 0u);
    for (std::size_t i = 1; i < count; i += 2) {
        l.fd_forget(pairs[i].a());
    }
}

TEST_P(PollerTest, InterruptedWaitIsNotAnError) {
    loop l(opts());
    socket_pair sp;
    watcher w{&l};
    l.fd_insert(sp.a(), watcher::iocb, &w);
    arm_recv(l, sp.a());
    ASSERT_TRUE(test::write_all(sp.b(), "x"));
    sys::hooks h;
    const sys::call wait_call = is_epoll() ? sys::call::epoll_wait : sys::call::poll;
    h.inject_errno(wait_call, EINTR);
    EXPECT_EQ(l.run_once(0), 0);
    EXPECT_EQ(h.failures(wait_call, -1, EINTR), 1u);
    EXPECT_EQ(w.recv_wakes, 0);
    ASSERT_TRUE(run_until(l, [&] { return w.recv_wakes == 1; })) << "the next wait is real";
    l.fd_forget(sp.a());
}

TEST_P(PollerTest, TheSameSocketCanComeBackUnderItsOldNumber) {
    // An fd closed while a duplicate keeps its socket open leaves its epoll registration
    // behind (close() does not remove it). When the same socket returns under the same
    // number, registering it again meets EEXIST: the poller must adopt the registration,
    // with the new generation, or the socket is never reported again.
    loop l(opts());
    socket_pair sp;
    const int n = sp.a();
    watcher first{&l};
    l.fd_insert(n, watcher::iocb, &first);
    arm_recv(l, n);
    l.run_once(0);
    const int keep = ::dup(n);
    ASSERT_GE(keep, 0);
    l.fd_delete(sp.release_a());
    ASSERT_EQ(::dup2(keep, n), n);
    ::close(keep);

    watcher second{&l};
    l.fd_insert(n, watcher::iocb, &second);
    arm_recv(l, n);
    ASSERT_TRUE(test::write_all(sp.b(), "back"));
    ASSERT_TRUE(run_until(l, [&] { return second.recv_wakes == 1; }));
    EXPECT_EQ(test::read_available(n), "back");
    EXPECT_TRUE(l.fds().entry(n).polled.has(polled_bit::r));
    l.fd_delete(n);
}

/// Tests of the epoll pollers' recovery paths (syscall failures and registrations changed
/// behind their back); poll() has no registration syscalls.
class EpollPollerTest : public PollerTest {
protected:
    /// The epoll fd of a loop created while `h` was installed.
    static int epoll_fd(const sys::hooks& h) {
        for (const auto& r : h.log()) {
            if (r.kind == sys::call::epoll_create) {
                return static_cast<int>(r.ret);
            }
        }
        return -1;
    }
};

/// Level-triggered only: edge-triggered registrations are never modified nor removed lazily.
class EpollLtPollerTest : public EpollPollerTest {};

TEST_P(EpollLtPollerTest, ModOfAVanishedRegistrationFallsBackToAdd) {
    sys::hooks h;
    loop l(opts());
    const int epfd = epoll_fd(h);
    ASSERT_GE(epfd, 0);
    socket_pair sp;
    const int fd = sp.a();
    watcher w{&l};
    l.fd_insert(fd, watcher::iocb, &w);
    arm_recv(l, fd);
    l.run_once(0);
    epoll_event ev{};
    ASSERT_EQ(::epoll_ctl(epfd, EPOLL_CTL_DEL, fd, &ev), 0);  // behind the poller's back
    h.reset_counts();
    l.fds().cant_send(fd);
    l.fds().want_send(fd);
    l.run_once(0);
    EXPECT_EQ(h.count(sys::call::epoll_ctl, fd), 2u) << "MOD (ENOENT), then ADD";
    EXPECT_EQ(h.failures(sys::call::epoll_ctl, fd, ENOENT), 1u);
    EXPECT_EQ(l.fds().entry(fd).polled, polled_bit::r | polled_bit::w);
    ASSERT_TRUE(test::write_all(sp.b(), "x"));
    ASSERT_TRUE(run_until(l, [&] { return w.recv_wakes == 1; }));
    l.fd_forget(fd);
}

TEST_P(EpollLtPollerTest, DelOfAVanishedRegistrationIsAccepted) {
    sys::hooks h;
    loop l(opts());
    socket_pair sp;
    const int fd = sp.a();
    watcher w{&l};
    l.fd_insert(fd, watcher::iocb, &w);
    arm_recv(l, fd);
    l.run_once(0);
    l.fds().stop_recv(fd);
    ASSERT_TRUE(l.fds().deliver(fd, l.fds().generation(fd), fd_bit::poll_in));  // stray
    h.inject_errno(sys::call::epoll_ctl, ENOENT, fd);
    l.run_once(0);
    EXPECT_TRUE(l.fds().entry(fd).polled.empty());
    EXPECT_EQ(h.failures(sys::call::epoll_ctl, fd, ENOENT), 1u);
    l.fd_forget(fd);
}

TEST_P(EpollPollerTest, FailedRegistrationIsRetriedAtTheNextWant) {
    sys::hooks h;
    loop l(opts());
    socket_pair sp;
    const int fd = sp.a();
    watcher w{&l};
    l.fd_insert(fd, watcher::iocb, &w);
    h.inject_errno(sys::call::epoll_ctl, ENOMEM, fd);
    arm_recv(l, fd);
    l.run_once(0);
    EXPECT_TRUE(l.fds().entry(fd).polled.empty()) << "nothing recorded as registered";
    l.fds().stop_recv(fd);
    l.fds().want_recv(fd);
    l.run_once(0);
    EXPECT_TRUE(l.fds().entry(fd).polled.has(polled_bit::r));
    ASSERT_TRUE(test::write_all(sp.b(), "x"));
    ASSERT_TRUE(run_until(l, [&] { return w.recv_wakes == 1; }));
    l.fd_forget(fd);
}

INSTANTIATE_TEST_SUITE_P(Epoll, EpollPollerTest,
                         ::testing::Values(poller_kind::epoll, poller_kind::epoll_et),
                         test::poller_param_name);
INSTANTIATE_TEST_SUITE_P(Epoll, EpollLtPollerTest, ::testing::Values(poller_kind::epoll),
                         test::poller_param_name);

INSTANTIATE_TEST_SUITE_P(AllPollers, PollerTest, test::all_pollers(), test::poller_param_name);

TEST(PollerKindTest, NamesRoundTrip) {
    for (poller_kind k : {poller_kind::epoll, poller_kind::epoll_et, poller_kind::poll}) {
        poller_kind back = poller_kind::poll;
        ASSERT_TRUE(poller_kind_from_string(to_string(k), back)) << to_string(k);
        EXPECT_EQ(back, k);
    }
    EXPECT_EQ(to_string(poller_kind::epoll_et), "epoll-et");
    poller_kind out = poller_kind::epoll;
    EXPECT_FALSE(poller_kind_from_string("kqueue", out));
    EXPECT_FALSE(poller_kind_from_string("", out));
    EXPECT_FALSE(poller_kind_from_string("EPOLL", out));
    EXPECT_EQ(out, poller_kind::epoll) << "untouched on failure";
}

TEST(PollerKindTest, RdhupSupportIsProbedAtCreationByDefault) {
    loop l;
    ASSERT_TRUE(l.ok());
    EXPECT_EQ(l.rdhup_known(), poller::kernel_reports_rdhup());
    EXPECT_TRUE(poller::kernel_reports_rdhup()) << "Linux has reported EPOLLRDHUP since 2.6.17";
}

}  // namespace
}  // namespace xstack::event
