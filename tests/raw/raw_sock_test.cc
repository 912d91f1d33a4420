// tests/raw/raw_sock_test.cc - one test per rule of raw/raw_sock.h (R1..R36): each would fail
// if its rule were broken. The syscall seam counts and injects; a socketpair or a TCP loopback
// pair provides a real kernel on the other side.
#include <cerrno>
#include <string>
#include <thread>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "raw/pipe_pool.h"
#include "raw/traffic.h"
#include "tests/raw/raw_fixture.h"
#include "xprt/conn_error.h"

namespace xstack::test {
namespace {

using event::fd_bit;
using sys::call;
using xprt::buffer;
using xprt::conn_err;
using xprt::conn_flag;
using xprt::rcv_flag;
using xprt::snd_flag;

std::string text(const buffer& b) {
    std::string s(b.data(), '\0');
    b.peek(0, std::as_writable_bytes(std::span<char>(s.data(), s.size())));
    return s;
}

buffer from_text(std::span<std::byte> area, const std::string& s) {
    buffer b(area);
    b.put(std::as_bytes(std::span<const char>(s.data(), s.size())));
    return b;
}

class RawSockTest : public RawFixture {
protected:
    std::size_t recv_into(buffer& b, std::size_t count, xprt::rcv_flags f = {}) {
        return raw::ops().rcv_buf(c(), nullptr, b, count, f);
    }
    std::size_t send_from(const buffer& b, std::size_t count, xprt::snd_flags f = {}) {
        return raw::ops().snd_buf(c(), nullptr, b, count, f);
    }
};

// --- preconditions -------------------------------------------------------------------------

TEST_F(RawSockTest, R01NoSyscallWithoutCtrlReady) {
    peer_write("hello");
    buffer b(area_);
    EXPECT_EQ(recv_into(b, sizeof area_), 0u);
    buffer out = from_text(area_, "data");
    EXPECT_EQ(send_from(out, out.data()), 0u);
    EXPECT_EQ(hooks_.total(fd_), 0u);
    EXPECT_FALSE(c().flags.has(conn_flag::error));
}

TEST_F(RawSockTest, R02NoSyscallWhenKnownNotReady) {
    ctrl_init();
    peer_write("hello");
    fds().cant_recv(fd_);
    fds().cant_send(fd_);
    buffer b(area_);
    EXPECT_EQ(recv_into(b, sizeof area_), 0u);
    std::byte o[8] = {};
    buffer out = buffer::holding(o, 8);
    EXPECT_EQ(send_from(out, 8), 0u);
    EXPECT_EQ(calls(call::recv), 0u);
    EXPECT_EQ(calls(call::send), 0u);
}

TEST_F(RawSockTest, R02NoSyscallAfterRead0) {
    ctrl_init();
    ::shutdown(peer_, SHUT_WR);
    buffer b(area_);
    EXPECT_EQ(recv_into(b, sizeof area_), 0u);
    EXPECT_TRUE(c().flags.has(conn_flag::sock_rd_sh));
    const auto before = calls(call::recv);
    EXPECT_EQ(recv_into(b, sizeof area_), 0u);
    EXPECT_EQ(calls(call::recv), before);
}

TEST_F(RawSockTest, R03ClearsWaitRoomAndErrnoOnEntry) {
    ctrl_init();
    c().flags.set(conn_flag::wait_room);
    buffer b(area_);
    errno = EBADF;
    recv_into(b, sizeof area_);  // EAGAIN: nothing to read
    EXPECT_FALSE(c().flags.has(conn_flag::wait_room));

    // An ERROR without errno means "ask SO_ERROR": the poll-error path leaves errno at 0.
    c().flags.set(conn_flag::wait_l4_conn);
    fds().may_recv(fd_);
    set_report(fd_bit::poll_err);
    errno = EBADF;
    recv_into(b, sizeof area_);
    EXPECT_TRUE(c().flags.has(conn_flag::error));
    EXPECT_EQ(errno, 0);
}

TEST_F(RawSockTest, R04HupWithoutInIsRead0WithoutSyscall) {
    ctrl_init();
    set_report(fd_bit::poll_hup);
    buffer b(area_);
    EXPECT_EQ(recv_into(b, sizeof area_), 0u);
    EXPECT_TRUE(c().flags.has(conn_flag::sock_rd_sh));
    EXPECT_FALSE(c().flags.has(conn_flag::error));
    EXPECT_EQ(calls(call::recv), 0u);
}

TEST_F(RawSockTest, R04ErrWhileConnectingFailsWithoutSyscall) {
    ctrl_init();
    c().flags.set(conn_flag::wait_l4_conn);
    set_report(fd_bit::poll_err);
    buffer b(area_);
    EXPECT_EQ(recv_into(b, sizeof area_), 0u);
    EXPECT_TRUE(c().flags.has(conn_flag::error));
    EXPECT_TRUE(c().flags.has(conn_flag::sock_rd_sh));
    EXPECT_TRUE(c().flags.has(conn_flag::sock_wr_sh));
    EXPECT_EQ(c().err_code, conn_err::pollerr);
    EXPECT_EQ(calls(call::recv), 0u);
}

// --- rcv_buf -------------------------------------------------------------------------------

TEST_F(RawSockTest, R05WrappedFreeSpaceFilledByOneRecvmsg) {
    ctrl_init();
    std::byte small[64];
    buffer b(small);
    // data occupies [40, 50): free space is 14 bytes at the end and 40 at the start.
    b.put(std::as_bytes(
        std::span<const char>("0123456789012345678901234567890123456789ABCDEFGHIJ", 50)));
    b.consume(40);
    ASSERT_EQ(b.head(), 40u);
    const std::string payload = "abcdefghijklmnopqrstuvwxyz0123";  // 30 bytes: wraps
    peer_write(payload);
    EXPECT_EQ(recv_into(b, 30), 30u);
    EXPECT_EQ(calls(call::recv), 1u);  // both hunks in one syscall
    EXPECT_EQ(text(b), "ABCDEFGHIJ" + payload);
}

TEST_F(RawSockTest, R05RetriesEintr) {
    ctrl_init();
    peer_write("hello");
    hooks_.inject_errno(call::recv, EINTR, fd_);
    buffer b(area_);
    EXPECT_EQ(recv_into(b, sizeof area_), 5u);
    EXPECT_EQ(calls(call::recv), 2u);
    EXPECT_FALSE(c().flags.has(conn_flag::error));
}

TEST_F(RawSockTest, R06ShortReadMeansNotReady) {
    ctrl_init();
    peer_write(std::string(100, 'x'));
    buffer b(area_);
    EXPECT_EQ(recv_into(b, sizeof area_), 100u);
    EXPECT_EQ(calls(call::recv), 1u);
    EXPECT_FALSE(fds().recv_ready(fd_));
    EXPECT_EQ(recv_into(b, sizeof area_), 0u);
    EXPECT_EQ(calls(call::recv), 1u);  // no second syscall, no EAGAIN
    EXPECT_EQ(fails(call::recv), 0u);
}

TEST_F(RawSockTest, R07ShortReadWithHupKnownIsRead0) {
    ctrl_init();
    peer_write("last words");
    ::shutdown(peer_, SHUT_WR);
    set_report(fd_bit::poll_in | fd_bit::poll_hup);
    buffer b(area_);
    EXPECT_EQ(recv_into(b, sizeof area_), 10u);
    EXPECT_TRUE(c().flags.has(conn_flag::sock_rd_sh));
    EXPECT_EQ(calls(call::recv), 1u);
}

// RDHUP (the peer shut its write side) is as good as HUP: with edge-triggered epoll the FIN's
// RDHUP is reported once, so marking the fd not ready after the short read would lose the FIN
// for good (a proxy then waited for its idle timeout).
TEST_F(RawSockTest, R07ShortReadWithRdhupKnownIsRead0) {
    ctrl_init();
    peer_write("last words");
    ::shutdown(peer_, SHUT_WR);
    set_report(fd_bit::poll_in | fd_bit::poll_rdhup);
    buffer b(area_);
    EXPECT_EQ(recv_into(b, sizeof area_), 10u);
    EXPECT_TRUE(c().flags.has(conn_flag::sock_rd_sh));
    EXPECT_EQ(calls(call::recv), 1u);
}

TEST_F(RawSockTest, R08LingerRiskWithoutRdhupProbesForFin) {
    ctrl_init();
    ASSERT_FALSE(loop_.rdhup_known());
    fds().set_linger_risk(fd_, true);
    peer_write("response");
    ::shutdown(peer_, SHUT_WR);
    buffer b(area_);
    EXPECT_EQ(recv_into(b, sizeof area_), 8u);
    EXPECT_EQ(calls(call::recv), 2u);  // the extra recv finds the FIN
    EXPECT_TRUE(c().flags.has(conn_flag::sock_rd_sh));
    EXPECT_FALSE(fds().linger_risk(fd_));  // FIN seen: a normal close is safe
}

TEST_F(RawSockTest, R08NoProbeWhenRdhupKnown) {
    event::loop_options o;
    o.probe_rdhup = true;
    event::loop probed(o);
    ASSERT_TRUE(probed.rdhup_known());
    xprt::connection pc(probed);
    ASSERT_TRUE(xprt::conn_prepare(pc, &raw::sock_ctrl(), &raw::ops()).has_value());
    pc.handle.fd = fd_;
    fd_ = -1;  // owned by pc now
    xprt::conn_ctrl_init(pc);
    probed.fds().set_linger_risk(pc.fd(), true);
    peer_write("response");
    buffer b(area_);
    EXPECT_EQ(raw::ops().rcv_buf(pc, nullptr, b, sizeof area_, {}), 8u);
    EXPECT_EQ(hooks_.count(call::recv, pc.fd()), 1u);
    EXPECT_FALSE(probed.fds().recv_ready(pc.fd()));
}

TEST_F(RawSockTest, R09ReadOnceMakesOneSyscall) {
    ctrl_init();
    peer_write(std::string(200, 'y'));
    buffer b(area_);
    EXPECT_EQ(recv_into(b, 100, rcv_flag::read_once), 100u);
    EXPECT_EQ(calls(call::recv), 1u);
    EXPECT_TRUE(fds().recv_ready(fd_));  // a full read says nothing about what is left
}

TEST_F(RawSockTest, R10Read0ShutsReadSideAndProvesConnection) {
    ctrl_init();
    c().flags.set(conn_flag::wait_l4_conn);
    fds().set_linger_risk(fd_, true);
    ::shutdown(peer_, SHUT_WR);
    buffer b(area_);
    EXPECT_EQ(recv_into(b, sizeof area_), 0u);
    EXPECT_TRUE(c().flags.has(conn_flag::sock_rd_sh));
    EXPECT_FALSE(c().flags.has(conn_flag::wait_l4_conn));
    EXPECT_FALSE(fds().linger_risk(fd_));
    EXPECT_FALSE(c().flags.has(conn_flag::error));
}

TEST_F(RawSockTest, R10QueuedErrorReportedOnlyAfterTheData) {
    ctrl_init();
    // Data, then FIN, then a reset: the poller has IN, HUP and ERR.
    const std::string resp = "HTTP/1.0 200\r\n\r\n";
    peer_write(resp);
    ::shutdown(peer_, SHUT_WR);
    set_report(fd_bit::poll_in | fd_bit::poll_hup | fd_bit::poll_err);
    buffer b(area_);
    EXPECT_EQ(recv_into(b, sizeof area_), resp.size());
    EXPECT_TRUE(c().flags.has(conn_flag::sock_rd_sh));
    EXPECT_FALSE(c().flags.has(conn_flag::error));  // the data first
    EXPECT_EQ(recv_into(b, sizeof area_), 0u);
    EXPECT_TRUE(c().flags.has(conn_flag::error));  // then the error
    EXPECT_EQ(c().err_code, conn_err::pollerr);
}

TEST_F(RawSockTest, R11WouldBlockErrnosAreNotErrors) {
    ctrl_init();
    for (int e : {EAGAIN, EWOULDBLOCK, ENOTCONN}) {
        fds().may_recv(fd_);
        hooks_.inject_errno(call::recv, e, fd_);
        buffer b(area_);
        EXPECT_EQ(recv_into(b, sizeof area_), 0u) << e;
        EXPECT_FALSE(c().flags.has(conn_flag::error)) << e;
        EXPECT_FALSE(fds().recv_ready(fd_)) << e;
    }
}

TEST_F(RawSockTest, R12OtherErrnoFailsBothDirections) {
    ctrl_init();
    hooks_.inject_errno(call::recv, ECONNRESET, fd_);
    buffer b(area_);
    EXPECT_EQ(recv_into(b, sizeof area_), 0u);
    EXPECT_TRUE(c().flags.has(conn_flag::error));
    EXPECT_TRUE(c().flags.has(conn_flag::sock_rd_sh));
    EXPECT_TRUE(c().flags.has(conn_flag::sock_wr_sh));
    EXPECT_EQ(c().err_code, conn_err::ereset);
    EXPECT_EQ(errno, ECONNRESET);
    EXPECT_EQ(c().term.to_string(), "fd.rcv_err");
}

TEST_F(RawSockTest, R13TryHarderSeesFinRightAfterExactCount) {
    ctrl_init();
    peer_write("0123456789");
    ::shutdown(peer_, SHUT_WR);
    buffer b(area_);
    EXPECT_EQ(recv_into(b, 10, rcv_flag::try_harder), 10u);
    EXPECT_TRUE(c().flags.has(conn_flag::sock_rd_sh));
    // Without the flag the FIN stays unseen.
    release();
    make_unix_pair();
    ctrl_init();
    peer_write("0123456789");
    ::shutdown(peer_, SHUT_WR);
    buffer b2(area_);
    EXPECT_EQ(recv_into(b2, 10), 10u);
    EXPECT_FALSE(c().flags.has(conn_flag::sock_rd_sh));
}

TEST_F(RawSockTest, R13TryHarderReadsOnAfterShortRead) {
    ctrl_init();
    peer_write(std::string(50, 'z'));
    hooks_.inject_short(call::recv, 20, fd_);  // the kernel hands out 20 first
    buffer b(area_);
    EXPECT_EQ(recv_into(b, sizeof area_, rcv_flag::try_harder), 50u);
    EXPECT_GE(calls(call::recv), 2u);
}

TEST_F(RawSockTest, R14ReceivedByteClearsWaitL4) {
    ctrl_init();
    c().flags.set(conn_flag::wait_l4_conn);
    peer_write("greeting");
    buffer b(area_);
    EXPECT_EQ(recv_into(b, sizeof area_), 8u);
    EXPECT_FALSE(c().flags.has(conn_flag::wait_l4_conn));
    EXPECT_TRUE(c().connected());
}

TEST_F(RawSockTest, PeekLeavesBytesQueuedAndReadinessAlone) {
    ctrl_init();
    peer_write("PROXY header + payload");
    buffer b(area_);
    EXPECT_EQ(recv_into(b, sizeof area_, rcv_flag::peek), 22u);  // short, but still queued
    EXPECT_TRUE(fds().recv_ready(fd_));
    buffer c2(area_);
    EXPECT_EQ(recv_into(c2, 12), 12u);  // consume exactly the "header"
    EXPECT_EQ(text(c2), "PROXY header");
    EXPECT_TRUE(fds().recv_ready(fd_));  // the rest is still there
    buffer rest(area_);
    EXPECT_EQ(recv_into(rest, sizeof area_), 10u);
    EXPECT_EQ(text(rest), " + payload");
}

TEST_F(RawSockTest, AllQueuedReadMarksNotReadyWithoutAFailedRecv) {
    ctrl_init();
    peer_write("hdr!");
    buffer b(area_);
    EXPECT_EQ(recv_into(b, sizeof area_, rcv_flag::peek), 4u);
    buffer c2(area_);
    EXPECT_EQ(recv_into(c2, 4, rcv_flag::all_queued), 4u);
    EXPECT_FALSE(fds().recv_ready(fd_));  // the next wait polls instead of failing a recv
    EXPECT_EQ(fails(call::recv), 0u);
}

TEST_F(RawSockTest, PeekSeesRead0) {
    ctrl_init();
    ::shutdown(peer_, SHUT_WR);
    buffer b(area_);
    EXPECT_EQ(recv_into(b, sizeof area_, rcv_flag::peek), 0u);
    EXPECT_TRUE(c().flags.has(conn_flag::sock_rd_sh));
}

// --- snd_buf -------------------------------------------------------------------------------

TEST_F(RawSockTest, R15KnownPollErrorFailsSendWithoutSyscall) {
    ctrl_init();
    set_report(fd_bit::poll_err);
    buffer out = from_text(area_, "data");
    EXPECT_EQ(send_from(out, 4), 0u);
    EXPECT_TRUE(c().flags.has(conn_flag::error));
    EXPECT_EQ(c().err_code, conn_err::pollerr);
    EXPECT_EQ(errno, EPIPE);
    EXPECT_EQ(calls(call::send), 0u);
}

TEST_F(RawSockTest, R16SendAfterShutwIsEpipeWithoutSyscall) {
    ctrl_init();
    xprt::conn_sock_shutw(c(), true);
    buffer out = from_text(area_, "data");
    EXPECT_EQ(send_from(out, 4), 0u);
    EXPECT_TRUE(c().flags.has(conn_flag::error));
    EXPECT_EQ(c().err_code, conn_err::epipe);
    EXPECT_EQ(errno, EPIPE);
    EXPECT_EQ(calls(call::send), 0u);

    xprt::pipe p;
    EXPECT_EQ(raw::ops().snd_pipe(c(), nullptr, p, 100).bytes, 0u);
    EXPECT_EQ(calls(call::splice), 0u);
}

TEST_F(RawSockTest, R17AlwaysDontwaitNosignalAndOneSendmsgForWrappedData) {
    ctrl_init();
    std::byte small[40];
    buffer b(small);
    b.put(std::as_bytes(std::span<const char>("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxAB", 32)));
    b.consume(30);  // head at 30, "AB" left: 10 bytes fit before the end, 20 wrap
    b.put(std::as_bytes(std::span<const char>("0123456789abcdefghijABCDEFGH", 28)));
    ASSERT_EQ(b.data_hunks(30)[1].size(), 20u);
    EXPECT_EQ(send_from(b, 30), 30u);
    ASSERT_EQ(calls(call::send), 1u);
    const auto& r = hooks_.log().back();
    EXPECT_EQ(r.flags & (MSG_DONTWAIT | MSG_NOSIGNAL), MSG_DONTWAIT | MSG_NOSIGNAL);
    EXPECT_EQ(r.len, 30u);
    EXPECT_EQ(peer_read_all(), "AB0123456789abcdefghijABCDEFGH");
    // MSG_NOSIGNAL: a send to a closed peer is an error, not a SIGPIPE.
    ::close(peer_);
    peer_ = -1;
    buffer again = from_text(area_, "more");
    EXPECT_EQ(send_from(again, 4), 0u);
    EXPECT_TRUE(c().flags.has(conn_flag::error));
    EXPECT_EQ(c().err_code, conn_err::epipe);
}

TEST_F(RawSockTest, R18MoreFlagMapsToMsgMore) {
    ctrl_init();
    buffer out = from_text(area_, "part");
    EXPECT_EQ(send_from(out, 4, snd_flag::more), 4u);
    EXPECT_NE(hooks_.log().back().flags & MSG_MORE, 0);
    EXPECT_EQ(send_from(out, 4), 4u);
    EXPECT_EQ(hooks_.log().back().flags & MSG_MORE, 0);
}

TEST_F(RawSockTest, R19ShortWriteMeansNotReadyCompleteWriteDropsInterest) {
    ctrl_init();
    fds().want_send(fd_);  // as if someone had subscribed for send
    buffer small = from_text(area_, "hello");
    EXPECT_EQ(send_from(small, 5), 5u);
    EXPECT_FALSE(fds().send_active(fd_));  // complete: no more write interest
    EXPECT_TRUE(fds().send_ready(fd_));

    hooks_.inject_short(call::send, 100, fd_);
    buffer big = buffer::holding(area_, sizeof area_);
    EXPECT_EQ(send_from(big, sizeof area_), 100u);
    EXPECT_FALSE(fds().send_ready(fd_));
    const auto n = calls(call::send);
    EXPECT_EQ(send_from(big, sizeof area_), 0u);
    EXPECT_EQ(calls(call::send), n);  // not ready: no syscall
}

TEST_F(RawSockTest, R19FullSocketGivesShortWrite) {
    ctrl_init();
    int sz = 4096;
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
    buffer big = buffer::holding(area_, sizeof area_);
    std::size_t total = 0;
    for (int i = 0; i < 1000 && fds().send_ready(fd_); ++i) {
        total += send_from(big, sizeof area_);
    }
    EXPECT_GT(total, 0u);
    EXPECT_FALSE(fds().send_ready(fd_));
    EXPECT_FALSE(c().flags.has(conn_flag::error));
}

TEST_F(RawSockTest, R20WouldBlockSendsAreNotErrors) {
    ctrl_init();
    for (int e : {EAGAIN, EWOULDBLOCK, ENOTCONN, EINPROGRESS}) {
        fds().may_send(fd_);
        hooks_.inject_errno(call::send, e, fd_);
        buffer out = from_text(area_, "x");
        EXPECT_EQ(send_from(out, 1), 0u) << e;
        EXPECT_FALSE(c().flags.has(conn_flag::error)) << e;
        EXPECT_FALSE(fds().send_ready(fd_)) << e;
    }
    fds().may_send(fd_);
    hooks_.inject_result(call::send, 0, fd_);
    buffer out = from_text(area_, "x");
    EXPECT_EQ(send_from(out, 1), 0u);
    EXPECT_FALSE(fds().send_ready(fd_));
    EXPECT_FALSE(c().flags.has(conn_flag::error));
}

TEST_F(RawSockTest, R21OtherSendErrnoFailsBothDirections) {
    ctrl_init();
    hooks_.inject_errno(call::send, ECONNRESET, fd_);
    buffer out = from_text(area_, "x");
    EXPECT_EQ(send_from(out, 1), 0u);
    EXPECT_TRUE(c().flags.has(conn_flag::error));
    EXPECT_TRUE(c().flags.has(conn_flag::sock_rd_sh));
    EXPECT_TRUE(c().flags.has(conn_flag::sock_wr_sh));
    EXPECT_EQ(c().err_code, conn_err::ereset);
    EXPECT_EQ(c().term.to_string(), "fd.snd_err");
}

TEST_F(RawSockTest, R22SentByteClearsWaitL4) {
    ctrl_init();
    c().flags.set(conn_flag::wait_l4_conn);
    buffer out = from_text(area_, "hi");
    EXPECT_EQ(send_from(out, 2), 2u);
    EXPECT_FALSE(c().flags.has(conn_flag::wait_l4_conn));
}

// The thread's counters are shared by every test of this process: measure on a fresh thread.
TEST_F(RawSockTest, R23BytesSentAreCountedWithRateIn32ByteUnits) {
    const int fd = fd_;
    const int peer = peer_;
    fd_ = -1;
    peer_ = -1;
    release();
    std::uint64_t bytes = 0;
    std::uint32_t units = 0;
    std::uint64_t summed_rate = 0;
    std::thread t([&] {
        std::uint64_t fake_ns = 5'000'000'000ull;
        event::loop_options o;
        o.clock = [](void* ctx) noexcept { return *static_cast<std::uint64_t*>(ctx); };
        o.clock_ctx = &fake_ns;
        event::loop l(o);
        xprt::connection cc(l);
        (void)xprt::conn_prepare(cc, &raw::sock_ctrl(), &raw::ops());
        cc.handle.fd = fd;
        xprt::conn_ctrl_init(cc);
        static std::byte chunk[10000];
        char sink[65536];
        for (int i = 0; i < 100; ++i) {  // 1,000,000 bytes within one second
            fake_ns += 1'000'000;
            l.update_time();
            std::size_t left = sizeof chunk;
            while (left > 0) {
                buffer part = buffer::holding(chunk, left);
                const std::size_t n = raw::ops().snd_buf(cc, nullptr, part, left, {});
                left -= n;
                l.fds().may_send(fd);
                while (::recv(peer, sink, sizeof sink, MSG_DONTWAIT) > 0) {
                }
            }
        }
        bytes = raw::thread_traffic().bytes_out.load();
        units = raw::thread_traffic().out_rate32.read(l.now_ms());
        summed_rate = raw::traffic_sum(l.now_ms()).bytes_out_rate;
    });
    t.join();
    ::close(peer);
    EXPECT_EQ(bytes, 1'000'000u);
    EXPECT_NEAR(units, 31250, 100);  // each 10,000-byte send adds (10000+16)/32 = 313 units
    EXPECT_GE(summed_rate, 32ull * units);
}

// --- rcv_pipe / snd_pipe -------------------------------------------------------------------

class RawPipeTest : public RawSockTest {
protected:
    void SetUp() override {
        RawSockTest::SetUp();
        p_ = raw::pipe_get();
        ASSERT_NE(p_, nullptr);
    }
    void TearDown() override {
        p_->data = 1;  // whatever the test left: the pool destroys a pipe that may hold data
        raw::pipe_put(p_);
        RawSockTest::TearDown();
    }
    xprt::pipe_io splice_in(std::size_t count) {
        return raw::ops().rcv_pipe(c(), nullptr, *p_, count);
    }
    xprt::pipe_io splice_out(std::size_t count) {
        return raw::ops().snd_pipe(c(), nullptr, *p_, count);
    }
    xprt::pipe* p_ = nullptr;
};

TEST_F(RawPipeTest, R24SamePreconditionsAndSpliceFlags) {
    peer_write("abc");
    EXPECT_EQ(splice_in(100).bytes, 0u);  // no ctrl: no syscall
    EXPECT_EQ(calls(call::splice), 0u);
    ctrl_init();
    fds().cant_recv(fd_);
    EXPECT_EQ(splice_in(100).bytes, 0u);  // not ready: no syscall
    EXPECT_EQ(calls(call::splice), 0u);
    fds().may_recv(fd_);
    const auto r = splice_in(100);
    EXPECT_EQ(r.bytes, 3u);
    EXPECT_FALSE(r.not_supported);
    ASSERT_GE(calls(call::splice), 1u);
    for (const auto& rec : hooks_.log()) {
        if (rec.kind == call::splice) {
            EXPECT_EQ(static_cast<unsigned>(rec.flags), SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        }
    }
}

TEST_F(RawPipeTest, R25SpliceZeroIsRead0) {
    ctrl_init();
    ::shutdown(peer_, SHUT_WR);
    EXPECT_EQ(splice_in(100).bytes, 0u);
    EXPECT_TRUE(c().flags.has(conn_flag::sock_rd_sh));
    EXPECT_FALSE(c().flags.has(conn_flag::error));
}

TEST_F(RawPipeTest, R26EagainWithDataInPipeMeansPipeFull) {
    ctrl_init();
    peer_write("more");
    ::write(p_->prod, "x", 1);
    p_->data = 1;
    hooks_.inject_errno(call::splice, EAGAIN, fd_);
    EXPECT_EQ(splice_in(100).bytes, 0u);
    EXPECT_TRUE(c().flags.has(conn_flag::wait_room));
    EXPECT_TRUE(fds().recv_ready(fd_));  // the socket may still hold data

    char tmp[8];
    ::read(p_->cons, tmp, sizeof tmp);
    p_->data = 0;
    hooks_.inject_errno(call::splice, EAGAIN, fd_);
    EXPECT_EQ(splice_in(100).bytes, 0u);
    EXPECT_FALSE(c().flags.has(conn_flag::wait_room));
    EXPECT_FALSE(fds().recv_ready(fd_));  // empty pipe: the socket is drained
}

TEST_F(RawPipeTest, R27NoSpliceSupportIsAnExplicitAnswer) {
    ctrl_init();
    peer_write("abc");
    for (int e : {ENOSYS, EBADF}) {
        hooks_.inject_errno(call::splice, e, fd_);
        const auto r = splice_in(100);
        EXPECT_TRUE(r.not_supported) << e;
        EXPECT_EQ(r.bytes, 0u);
        EXPECT_FALSE(c().flags.has(conn_flag::error)) << e;
    }
    hooks_.inject_errno(call::splice, EINVAL, fd_);
    const auto r = splice_in(100);
    EXPECT_FALSE(r.not_supported);
    EXPECT_EQ(r.bytes, 0u);
    EXPECT_FALSE(c().flags.has(conn_flag::error));
}

bool sigpipe_pending() {
    sigset_t s;
    sigemptyset(&s);
    return ::sigpending(&s) == 0 && sigismember(&s, SIGPIPE) == 1;
}

TEST_F(RawPipeTest, SpliceIntoAClosedSocketIsEpipeNotASignal) {
    // splice() cannot ask for MSG_NOSIGNAL: into a socket that can no longer send it raises
    // SIGPIPE, which would kill this process. pipe_get blocked it for this thread, and snd_pipe
    // takes the pending signal back after EPIPE. Both families: UNIX and TCP.
    for (const bool tcp : {false, true}) {
        if (tcp) {
            make_tcp_pair();
        }
        ctrl_init();
        ASSERT_EQ(::write(p_->prod, "bytes", 5), 5);
        p_->data = 5;
        ASSERT_EQ(::shutdown(fd_, SHUT_WR), 0);  // behind the layer's back: the kernel says EPIPE
        EXPECT_EQ(splice_out(5).bytes, 0u);
        EXPECT_TRUE(c().flags.has(conn_flag::error)) << tcp;
        EXPECT_EQ(c().err_code, conn_err::epipe) << tcp;
        EXPECT_EQ(fails(call::splice), 1u) << tcp;
        EXPECT_FALSE(sigpipe_pending()) << tcp;  // taken back, not left to fire later
        char tmp[8];
        ASSERT_EQ(::read(p_->cons, tmp, sizeof tmp), 5);
        p_->data = 0;
        hooks_.reset_counts();
    }
}

TEST_F(RawPipeTest, R28StopsBeforeACertainEagain) {
    make_tcp_pair();
    ctrl_init();
    std::string mib(1 << 20, 'm');
    std::size_t sent = 0;
    while (sent < mib.size()) {
        const ssize_t n = ::send(peer_, mib.data() + sent, mib.size() - sent, MSG_DONTWAIT);
        if (n <= 0) {
            break;
        }
        sent += static_cast<std::size_t>(n);
    }
    ASSERT_GT(sent, 100000u);
    const auto r = splice_in(sent);
    EXPECT_GT(r.bytes, 0u);
    EXPECT_TRUE(c().flags.has(conn_flag::wait_room));
    EXPECT_EQ(fails(call::splice), 0u);  // stopped early instead of hitting EAGAIN
    EXPECT_TRUE(r.bytes <= raw::pipe_full_hint(p_->capacity) + 65536 ||
                r.bytes >= raw::recv_enough);
}

TEST_F(RawPipeTest, R29SplicedBytesCountAsSentAndSpliced) {
    ctrl_init();
    const auto before = raw::thread_traffic().bytes_out.load();
    const auto before_sp = raw::thread_traffic().spliced_out.load();
    peer_write(std::string(1000, 's'));
    EXPECT_EQ(splice_in(5000).bytes, 1000u);
    EXPECT_EQ(raw::thread_traffic().bytes_out.load() - before, 1000u);
    EXPECT_EQ(raw::thread_traffic().spliced_out.load() - before_sp, 1000u);
}

TEST_F(RawPipeTest, R30SndPipeStopsOnFullSocketAndKeepsTheRest) {
    make_tcp_pair();
    ctrl_init();
    int sz = 4096;
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
    ::setsockopt(peer_, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
    ::fcntl(p_->prod, F_SETPIPE_SZ, 1 << 20);
    const std::string chunk(1 << 20, 'p');
    std::size_t in = 0;
    while (in < chunk.size()) {
        const ssize_t n = ::write(p_->prod, chunk.data() + in, chunk.size() - in);
        if (n <= 0) {
            break;
        }
        in += static_cast<std::size_t>(n);
    }
    ASSERT_GT(in, 300000u);
    p_->data = in;
    const auto r = splice_out(std::size_t{1} << 30);  // count capped to what the pipe holds
    EXPECT_GT(r.bytes, 0u);
    EXPECT_LT(r.bytes, in);
    EXPECT_EQ(p_->data, in - r.bytes);
    EXPECT_FALSE(fds().send_ready(fd_));
    EXPECT_EQ(fails(call::splice), 0u);  // short splice: no EAGAIN needed to learn it
    // Everything the splice accepted reaches the peer.
    std::size_t got = 0;
    char sink[65536];
    while (got < r.bytes) {
        pollfd pfd{peer_, POLLIN, 0};
        ASSERT_EQ(::poll(&pfd, 1, 5000), 1);
        const ssize_t n = ::recv(peer_, sink, sizeof sink, MSG_DONTWAIT);
        ASSERT_GT(n, 0);
        got += static_cast<std::size_t>(n);
    }
    EXPECT_EQ(got, r.bytes);
}

TEST_F(RawSockTest, R31EveryErrnoFailureHasItsCode) {
    const std::pair<int, conn_err> cases[] = {
        {ECONNREFUSED, conn_err::erefused}, {ECONNRESET, conn_err::ereset},
        {ENETUNREACH, conn_err::eunreach},  {EPIPE, conn_err::epipe},
        {ENOBUFS, conn_err::enobufs},       {EIO, conn_err::sock_err}};
    for (const auto& [e, code] : cases) {
        release();
        make_unix_pair();
        ctrl_init();
        hooks_.inject_errno(call::recv, e, fd_);
        buffer b(area_);
        recv_into(b, sizeof area_);
        EXPECT_EQ(c().err_code, code) << e;
        EXPECT_TRUE(c().flags.has(conn_flag::error)) << e;
    }
}

// --- subscribe, close, surgery, capability, shutdowns --------------------------------------

void count_run(event::tasklet& /*t*/, void* ctx) noexcept {
    ++*static_cast<int*>(ctx);
}

TEST_F(RawSockTest, R32SubscribeWakesAtOnceWhenReadyElsePolls) {
    ctrl_init();
    int runs = 0;
    event::tasklet task(loop_, count_run, &runs);
    xprt::wait_event w{&task, {}};
    // Ready: woken at once, nothing registered, no poller involvement.
    raw::ops().subscribe(c(), nullptr, xprt::sub_event::recv, w);
    EXPECT_TRUE(task.queued());
    EXPECT_TRUE(w.events.empty());
    EXPECT_FALSE(fds().recv_active(fd_));
    task.cancel();
    // Not ready: the subscription is recorded and the direction becomes active.
    fds().cant_recv(fd_);
    raw::ops().subscribe(c(), nullptr, xprt::sub_event::recv, w);
    EXPECT_FALSE(task.queued());
    EXPECT_TRUE(w.events.has(xprt::sub_event::recv));
    EXPECT_EQ(c().subs, &w);
    EXPECT_TRUE(fds().recv_active(fd_));
    // The poller reports: one-shot delivery, direction disabled until re-armed.
    peer_write("x");
    loop_.run_once(1000);  // the poller reports, the iocb wakes the tasklet
    loop_.run_once(0);     // the tasklet runs
    EXPECT_EQ(runs, 1);
    EXPECT_TRUE(w.events.empty());
    EXPECT_EQ(c().subs, nullptr);
    EXPECT_FALSE(fds().recv_active(fd_));
    EXPECT_EQ(hooks_.count(call::epoll_ctl, fd_), 1u);  // one ADD, nothing else
}

TEST_F(RawSockTest, R33CloseCancelsTheSocketSubscription) {
    ctrl_init();
    event::tasklet task(loop_, count_run, nullptr);
    xprt::wait_event w{&task, {}};
    fds().cant_recv(fd_);
    raw::ops().subscribe(c(), nullptr, xprt::sub_event::recv, w);
    ASSERT_EQ(c().subs, &w);
    raw::ops().close(c(), nullptr);
    EXPECT_EQ(c().subs, nullptr);
    EXPECT_TRUE(w.events.empty());
    EXPECT_FALSE(fds().recv_active(fd_));
}

TEST_F(RawSockTest, R34RemoveReachingRawIsABug) {
    ctrl_init();
    xprt::xprt_ctx not_in_chain;
#if XS_DEBUG_STRICT >= 1
    EXPECT_DEATH((void)raw::ops().remove_xprt(c(), nullptr, &not_in_chain, {}), "remove_xprt");
#else
    EXPECT_FALSE(raw::ops().remove_xprt(c(), nullptr, &not_in_chain, {}));
#endif
    // The connection-level helper checks membership first and answers "no" cleanly.
    EXPECT_FALSE(xprt::conn_remove_xprt(c(), &not_in_chain));
}

TEST_F(RawSockTest, R35RawCanSplice) {
    EXPECT_EQ(raw::ops().can_splice(c(), nullptr), xprt::splice_cap::can);
    EXPECT_EQ(c().can_splice(), xprt::splice_cap::can);
}

TEST_F(RawSockTest, R36ShutwCallsShutdownOnlyWhenCleanAndBeforeRead0) {
    ctrl_init();
    xprt::conn_sock_shutw(c(), true);
    EXPECT_EQ(calls(call::shutdown), 1u);
    char b;
    EXPECT_EQ(::recv(peer_, &b, 1, MSG_DONTWAIT), 0);  // the peer sees our FIN

    release();
    make_unix_pair();
    ctrl_init();
    c().flags.set(conn_flag::sock_rd_sh);  // the peer's FIN was seen
    xprt::conn_sock_shutw(c(), true);
    EXPECT_EQ(calls(call::shutdown), 0u);  // the close that follows sends ours
    EXPECT_TRUE(c().flags.has(conn_flag::sock_wr_sh));

    release();
    make_unix_pair();
    ctrl_init();
    xprt::conn_sock_shutw(c(), false);  // dirty: will reset instead
    EXPECT_EQ(calls(call::shutdown), 0u);
    EXPECT_TRUE(c().flags.has(conn_flag::sock_wr_sh));
    // raw itself has no layer-level shutdown: the chain's shutw does not touch the socket.
    raw::ops().shutw(c(), nullptr, true);
    EXPECT_EQ(calls(call::shutdown), 0u);
}

}  // namespace
}  // namespace xstack::test
