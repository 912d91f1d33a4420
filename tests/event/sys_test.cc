// tests/event/sys_test.cc - the syscall seam: counting by kind and fd, injected errno / result
// / short counts, rule order, nesting and per-thread installation.
#include "event/sys.h"

#include <array>
#include <cerrno>
#include <set>
#include <string>
#include <thread>

#include <sys/uio.h>

#include <gtest/gtest.h>

#include "tests/support/socket_pair.h"

namespace xstack::sys {
namespace {

using test::socket_pair;

ssize_t send_str(int fd, std::string_view s) {
    iovec iov{const_cast<char*>(s.data()), s.size()};  // NOLINT: sendmsg does not write
    msghdr m{};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    return sys::sendmsg(fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
}

ssize_t recv_into(int fd, std::string& out, std::size_t max) {
    out.assign(max, '\0');
    iovec iov{out.data(), out.size()};
    msghdr m{};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    const ssize_t n = sys::recvmsg(fd, &m, MSG_DONTWAIT);
    out.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
    return n;
}

TEST(SysHooksTest, HooksAreCompiledIntoTestBuilds) {
    EXPECT_TRUE(hooks_compiled);
}

TEST(SysHooksTest, CallsGoStraightThroughWithoutHooks) {
    errno = 0;
    EXPECT_EQ(sys::close(-1), -1);
    EXPECT_EQ(errno, EBADF);
}

TEST(SysHooksTest, CountsCallsByKindAndFd) {
    socket_pair sp;
    hooks h;
    EXPECT_EQ(send_str(sp.a(), "hello"), 5);
    std::string got;
    EXPECT_EQ(recv_into(sp.b(), got, 64), 5);
    EXPECT_EQ(sys::shutdown(sp.a(), SHUT_WR), 0);
    const int one = 1;
    EXPECT_EQ(sys::setsockopt(sp.b(), SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one), 0);

    EXPECT_EQ(h.count(call::sendmsg), 1u);
    EXPECT_EQ(h.count(call::sendmsg, sp.a()), 1u);
    EXPECT_EQ(h.count(call::sendmsg, sp.b()), 0u);
    EXPECT_EQ(h.count(call::recvmsg, sp.b()), 1u);
    EXPECT_EQ(h.count(call::shutdown, sp.a()), 1u);
    EXPECT_EQ(h.total(sp.a()), 2u);
    EXPECT_EQ(h.total(sp.b()), 2u);
    EXPECT_EQ(h.total(), 4u);
    EXPECT_EQ(h.failures(call::sendmsg), 0u);

    ASSERT_EQ(h.log().size(), 4u);
    const record& r0 = h.log()[0];
    EXPECT_EQ(r0.kind, call::sendmsg);
    EXPECT_EQ(r0.fd, sp.a());
    EXPECT_EQ(r0.fd2, -1);
    EXPECT_EQ(r0.flags, MSG_DONTWAIT | MSG_NOSIGNAL);
    EXPECT_EQ(r0.len, 5u);
    EXPECT_EQ(r0.ret, 5);
    EXPECT_EQ(r0.err, 0);
    EXPECT_FALSE(r0.injected);
    EXPECT_EQ(h.log()[2].kind, call::shutdown);
    EXPECT_EQ(h.log()[2].flags, SHUT_WR);
    EXPECT_EQ(h.log()[3].flags, SO_KEEPALIVE);
}

TEST(SysHooksTest, RecordsFailuresWithTheirErrno) {
    hooks h;
    errno = 0;
    EXPECT_EQ(sys::close(-1), -1);
    EXPECT_EQ(errno, EBADF) << "errno is what the kernel said";
    EXPECT_EQ(h.failures(call::close), 1u);
    EXPECT_EQ(h.failures(call::close, -1, EBADF), 1u);
    EXPECT_EQ(h.failures(call::close, -1, EINVAL), 0u);
    EXPECT_EQ(h.log().back().err, EBADF);
    EXPECT_EQ(h.log().back().ret, -1);
}

TEST(SysHooksTest, InjectedErrnoReplacesTheCall) {
    socket_pair sp;
    hooks h;
    h.inject_errno(call::sendmsg, EAGAIN, sp.a());
    errno = 0;
    EXPECT_EQ(send_str(sp.a(), "hi"), -1);
    EXPECT_EQ(errno, EAGAIN);
    EXPECT_EQ(test::read_available(sp.b()), "") << "the kernel was not called";
    EXPECT_TRUE(h.log().back().injected);
    EXPECT_EQ(h.failures(call::sendmsg, sp.a(), EAGAIN), 1u);
    EXPECT_EQ(h.pending_injections(), 0u);
    EXPECT_EQ(send_str(sp.a(), "hi"), 2);
    EXPECT_EQ(test::read_available(sp.b()), "hi");
    EXPECT_FALSE(h.log().back().injected);
}

TEST(SysHooksTest, EveryDocumentedErrnoCanBeInjected) {
    hooks h;
    for (int e : {EAGAIN, EINTR, ENOTCONN, EPIPE, ECONNRESET, EINVAL, ENOSYS, EBADF}) {
        h.inject_errno(call::shutdown, e);
        errno = 0;
        EXPECT_EQ(sys::shutdown(12345, SHUT_WR), -1);
        EXPECT_EQ(errno, e);
    }
    EXPECT_EQ(h.failures(call::shutdown), 8u);
}

TEST(SysHooksTest, InjectedResultLeavesErrnoAlone) {
    socket_pair sp;
    ASSERT_TRUE(test::write_all(sp.b(), "data"));
    hooks h;
    h.inject_result(call::recvmsg, 0, sp.a());  // a fake read0
    errno = 1234;
    std::string got;
    EXPECT_EQ(recv_into(sp.a(), got, 16), 0);
    EXPECT_EQ(errno, 1234);
    EXPECT_EQ(test::read_available(sp.a()), "data") << "nothing was consumed";
}

TEST(SysHooksTest, InjectedShortSendIsPerformedForRealAndRestoresTheIovecs) {
    socket_pair sp;
    hooks h;
    h.inject_short(call::sendmsg, 5, sp.a());
    std::string p1 = "abc";
    std::string p2 = "defghij";
    std::array<iovec, 2> iov{iovec{p1.data(), p1.size()}, iovec{p2.data(), p2.size()}};
    msghdr m{};
    m.msg_iov = iov.data();
    m.msg_iovlen = iov.size();
    EXPECT_EQ(sys::sendmsg(sp.a(), &m, MSG_DONTWAIT), 5);
    EXPECT_EQ(test::read_available(sp.b()), "abcde");
    EXPECT_EQ(iov[0].iov_len, 3u);
    EXPECT_EQ(iov[1].iov_len, 7u) << "the caller's iovecs are restored";
    EXPECT_EQ(h.log().back().len, 10u) << "the record keeps the asked length";
    EXPECT_FALSE(h.log().back().injected);
    EXPECT_EQ(sys::sendmsg(sp.a(), &m, MSG_DONTWAIT), 10) << "one call only";
}

TEST(SysHooksTest, InjectedShortReceiveLeavesTheRestQueued) {
    socket_pair sp;
    ASSERT_TRUE(test::write_all(sp.b(), "0123456789"));
    hooks h;
    h.inject_short(call::recvmsg, 4);
    std::string buf(16, '\0');
    iovec iov{buf.data(), buf.size()};
    msghdr m{};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    EXPECT_EQ(sys::recvmsg(sp.a(), &m, MSG_DONTWAIT), 4);
    EXPECT_EQ(buf.substr(0, 4), "0123");
    EXPECT_EQ(iov.iov_len, 16u);
    EXPECT_EQ(test::read_available(sp.a()), "456789");
}

TEST(SysHooksTest, RulesAreConsumedInOrder) {
    hooks h;
    h.inject_errno(call::shutdown, EINTR);
    h.inject_errno(call::shutdown, EAGAIN);
    h.inject_result(call::shutdown, 0);
    EXPECT_EQ(h.pending_injections(), 3u);
    errno = 0;
    EXPECT_EQ(sys::shutdown(999, SHUT_WR), -1);
    EXPECT_EQ(errno, EINTR);
    EXPECT_EQ(sys::shutdown(999, SHUT_WR), -1);
    EXPECT_EQ(errno, EAGAIN);
    EXPECT_EQ(sys::shutdown(999, SHUT_WR), 0);
    EXPECT_EQ(h.pending_injections(), 0u);
    EXPECT_EQ(sys::shutdown(999, SHUT_WR), -1);  // the real call: fd 999 is not open
    EXPECT_EQ(errno, EBADF);
}

TEST(SysHooksTest, ARuleAppliesAsManyTimesAsAsked) {
    hooks h;
    h.inject_errno(call::close, EINTR, -1, 3);
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(sys::close(777), -1);
        EXPECT_EQ(errno, EINTR);
    }
    EXPECT_EQ(h.pending_injections(), 0u);
    EXPECT_EQ(sys::close(777), -1);
    EXPECT_EQ(errno, EBADF);
}

TEST(SysHooksTest, AnFdRuleIgnoresOtherFdsAndOtherCalls) {
    socket_pair sp;
    hooks h;
    h.inject_errno(call::sendmsg, EPIPE, sp.a());
    EXPECT_EQ(send_str(sp.b(), "x"), 1) << "another fd";
    std::string got;
    EXPECT_EQ(recv_into(sp.a(), got, 4), 1) << "another call kind on the same fd";
    EXPECT_EQ(h.pending_injections(), 1u);
    EXPECT_EQ(send_str(sp.a(), "x"), -1);
    EXPECT_EQ(errno, EPIPE);
}

TEST(SysHooksTest, TheFirstMatchingRuleWins) {
    hooks h;
    h.inject_errno(call::close, EINTR);     // any fd
    h.inject_errno(call::close, EIO, 555);  // fd 555
    EXPECT_EQ(sys::close(555), -1);
    EXPECT_EQ(errno, EINTR);
    EXPECT_EQ(sys::close(555), -1);
    EXPECT_EQ(errno, EIO);
}

TEST(SysHooksTest, SpliceIsCountedOnBothFds) {
    hooks h;
    h.inject_result(call::splice, 42);
    EXPECT_EQ(sys::splice(100, nullptr, 101, nullptr, 4096, 0), 42);
    EXPECT_EQ(h.count(call::splice, 100), 1u);
    EXPECT_EQ(h.count(call::splice, 101), 1u);
    EXPECT_EQ(h.count(call::splice, 102), 0u);
    EXPECT_EQ(h.log().back().fd2, 101);
    EXPECT_EQ(h.log().back().len, 4096u);
    // An fd rule matches either end.
    h.inject_errno(call::splice, ENOSYS, 101);
    EXPECT_EQ(sys::splice(100, nullptr, 101, nullptr, 4096, 0), -1);
    EXPECT_EQ(errno, ENOSYS);
}

TEST(SysHooksTest, ClearInjectionsAndResetCounts) {
    hooks h;
    h.inject_errno(call::close, EINTR);
    (void)sys::close(-1);
    h.inject_errno(call::close, EINTR);
    EXPECT_EQ(h.count(call::close), 1u);
    h.reset_counts();
    EXPECT_EQ(h.count(call::close), 0u);
    EXPECT_TRUE(h.log().empty());
    EXPECT_EQ(h.pending_injections(), 1u) << "rules survive a count reset";
    h.clear_injections();
    EXPECT_EQ(h.pending_injections(), 0u);
    EXPECT_EQ(sys::close(-1), -1);
    EXPECT_EQ(errno, EBADF);
}

TEST(SysHooksTest, NestedHooksRestoreThePreviousOne) {
    hooks outer;
    {
        hooks inner;
        (void)sys::close(-1);
        EXPECT_EQ(inner.count(call::close), 1u);
        EXPECT_EQ(outer.count(call::close), 0u);
    }
    (void)sys::close(-1);
    EXPECT_EQ(outer.count(call::close), 1u);
}

TEST(SysHooksTest, HooksSeeOnlyTheirThread) {
    hooks h;
    h.inject_errno(call::close, EINTR);
    int err = 0;
    std::thread other([&] {
        (void)sys::close(-1);
        err = errno;
    });
    other.join();
    EXPECT_EQ(err, EBADF) << "the other thread's call was not injected";
    EXPECT_EQ(h.count(call::close), 0u);
    EXPECT_EQ(h.pending_injections(), 1u);
}

TEST(SysHooksTest, EveryCallKindHasAUniqueName) {
    std::set<std::string_view> names;
    for (std::size_t i = 0; i < call_count; ++i) {
        const std::string_view n = to_string(static_cast<call>(i));
        EXPECT_NE(n, "?") << i;
        EXPECT_FALSE(n.empty());
        names.insert(n);
    }
    EXPECT_EQ(names.size(), call_count);
    EXPECT_EQ(to_string(call::epoll_ctl), "epoll_ctl");
    EXPECT_EQ(to_string(call::count_), "?");
}

}  // namespace
}  // namespace xstack::sys
