// tests/integration/keepalive_test.cc - 1,000 keep-alive request/response exchanges of 1 KiB on
// one loopback TCP connection through the event loop, with the server side's syscalls counted
// by the seam: at most 1 failed recv and at most 2 epoll_ctl for the whole connection in
// level-triggered mode. The same run is made with the edge-triggered and poll() pollers.
#include <cstdio>

#include <gtest/gtest.h>

#include "event/loop.h"
#include "event/sys.h"
#include "tests/support/socket_pair.h"
#include "tools/demo/echo.h"
#include "xprt/buffer.h"

namespace xstack::test {
namespace {

struct figures {
    std::uint64_t recv = 0;
    std::uint64_t failed_recv = 0;
    std::uint64_t send = 0;
    std::uint64_t epoll_ctl = 0;
    std::uint64_t waits = 0;
};

class KeepAliveTest : public ::testing::TestWithParam<event::poller_kind> {
protected:
    // Runs the exchanges and returns the server side's figures.
    figures run(std::size_t requests, std::size_t size, const char* address) {
        event::loop_options o;
        o.poller = GetParam();
        event::loop loop(o);
        EXPECT_TRUE(loop.ok());
        sys::hooks h;
        demo::echo_server server(loop);
        EXPECT_TRUE(
            server.open(*xprt::sock_addr::parse(unique_listen_address(address))).has_value());
        demo::echo_client client(loop, size, requests);
        EXPECT_TRUE(client.start(server.address()).has_value());

        struct guard_state {
            event::loop* l;
            bool fired;
        } g{&loop, false};
        event::tasklet guard(
            loop,
            [](event::tasklet& /*t*/, void* ctx) noexcept {
                auto* s = static_cast<guard_state*>(ctx);
                s->fired = true;
                s->l->stop();
            },
            &g);
        event::timer deadline(guard);
        loop.arm_in(deadline, 30000);
        loop.run();  // the client stops the loop when done
        for (int i = 0; i < 100 && server.open_sessions() > 0; ++i) {
            loop.run_once(10);
        }
        EXPECT_FALSE(g.fired) << "timed out";
        EXPECT_TRUE(client.done());
        EXPECT_FALSE(client.failed()) << xprt::to_string(client.error());
        EXPECT_EQ(client.completed(), requests);
        EXPECT_EQ(server.stats().bytes_in, requests * size);
        EXPECT_EQ(server.stats().bytes_out, requests * size);
        EXPECT_EQ(server.stats().closed, 1u);

        const int fd = server.last_fd();
        figures f;
        f.recv = h.count(sys::call::recv, fd);
        f.failed_recv = h.failures(sys::call::recv, fd);
        f.send = h.count(sys::call::send, fd);
        f.epoll_ctl = h.count(sys::call::epoll_ctl, fd);
        f.waits = h.count(sys::call::epoll_wait) + h.count(sys::call::poll);
        std::printf(
            "[ figures  ] %s: server fd recv %llu (failed %llu) send %llu epoll_ctl "
            "%llu; loop waits %llu for %zu exchanges\n",
            std::string(event::to_string(GetParam())).c_str(),
            static_cast<unsigned long long>(f.recv), static_cast<unsigned long long>(f.failed_recv),
            static_cast<unsigned long long>(f.send), static_cast<unsigned long long>(f.epoll_ctl),
            static_cast<unsigned long long>(f.waits), requests);
        return f;
    }
};

TEST_P(KeepAliveTest, ThousandExchangesCostAtMostOneFailedRecvAndTwoEpollCtl) {
    const figures f = run(1000, 1024, "127.0.0.1:0");
    EXPECT_LE(f.failed_recv, 1u);
    // One recv per request plus the read0 at the end (and at most one speculative miss).
    EXPECT_LE(f.recv, 1002u);
    EXPECT_EQ(f.send, 1000u);
    switch (GetParam()) {
    case event::poller_kind::epoll:
        EXPECT_LE(f.epoll_ctl, 2u);
        break;
    case event::poller_kind::epoll_et:
        EXPECT_LE(f.epoll_ctl, 1u);  // registered once, never modified
        break;
    case event::poller_kind::poll:
        EXPECT_EQ(f.epoll_ctl, 0u);
        break;
    }
}

TEST_P(KeepAliveTest, WorksOverIpv6AndUnixSockets) {
    for (const char* a : {"[::1]:0", "unix:@xstack-keepalive-test"}) {
        const figures f = run(100, 4096, a);
        EXPECT_LE(f.failed_recv, 1u) << a;
    }
}

TEST_P(KeepAliveTest, NoBufferIsAllocatedInSteadyState) {
    const auto before = xprt::buffer_pool::stats();
    run(1000, 1024, "127.0.0.1:0");
    const auto after = xprt::buffer_pool::stats();
    // Two connections hold at most one buffer each at a time: the pool's heap allocations do not
    // grow with the number of exchanges, and every buffer went back.
    EXPECT_LE(after.allocated - before.allocated, 2u);
    EXPECT_EQ(after.in_use, before.in_use);
}

INSTANTIATE_TEST_SUITE_P(Pollers, KeepAliveTest,
                         ::testing::Values(event::poller_kind::epoll, event::poller_kind::epoll_et,
                                           event::poller_kind::poll),
                         [](const auto& p) {
                             switch (p.param) {
                             case event::poller_kind::epoll:
                                 return std::string("EpollLevel");
                             case event::poller_kind::epoll_et:
                                 return std::string("EpollEdge");
                             default:
                                 return std::string("Poll");
                             }
                         });

}  // namespace
}  // namespace xstack::test
