// tests/integration/threads_test.cc - one loop per thread, nothing shared that two loops race
// on: N threads each run a loop with an SO_REUSEPORT listener on the same address and their own
// echo clients; the kernel spreads the connections over the listeners. Traffic counters are per
// thread and summed by the reader.
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "event/loop.h"
#include "raw/traffic.h"
#include "tools/demo/echo.h"

namespace xstack::test {
namespace {

TEST(ThreadsTest, LoopsPerThreadShareAReusePortAddress) {
    constexpr int threads = 4;
    constexpr int clients_per_thread = 8;
    constexpr std::size_t requests = 50;
    constexpr std::size_t size = 2048;

    // The first listener picks the port; the others join it with SO_REUSEPORT.
    raw::listen_options lo;
    lo.reuseport = true;
    event::loop first_loop;
    demo::echo_server first(first_loop);
    ASSERT_TRUE(first.open(*xprt::sock_addr::parse("127.0.0.1:0"), lo).has_value());
    const xprt::sock_addr addr = first.address();

    const auto before = raw::traffic_sum(0);
    std::atomic<int> clients_done{0};
    std::atomic<int> clients_failed{0};
    std::atomic<std::uint64_t> served{0};
    std::atomic<int> ready{0};
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);

    auto worker = [&](event::loop& loop, demo::echo_server& server) {
        std::vector<std::unique_ptr<demo::echo_client>> clients;
        ready.fetch_add(1);
        while (ready.load() < threads) {  // all listeners open before anyone connects
            std::this_thread::yield();
        }
        for (int i = 0; i < clients_per_thread; ++i) {
            clients.push_back(std::make_unique<demo::echo_client>(loop, size, requests));
            if (!clients.back()->start(addr)) {
                clients_failed.fetch_add(1);
            }
        }
        std::vector<bool> counted(clients.size(), false);
        while (clients_done.load() + clients_failed.load() < threads * clients_per_thread ||
               server.open_sessions() > 0) {
            if (std::chrono::steady_clock::now() > deadline) {
                break;
            }
            loop.run_once(10);
            for (std::size_t i = 0; i < clients.size(); ++i) {
                if (!counted[i] && clients[i]->done()) {
                    counted[i] = true;
                    (clients[i]->failed() ? clients_failed : clients_done).fetch_add(1);
                }
            }
        }
        served.fetch_add(server.stats().bytes_out);
    };

    std::vector<std::thread> pool;
    pool.emplace_back([&] { worker(first_loop, first); });
    for (int t = 1; t < threads; ++t) {
        pool.emplace_back([&] {
            event::loop loop;
            demo::echo_server server(loop);
            if (!server.open(addr, lo)) {
                ready.fetch_add(1);
                clients_failed.fetch_add(clients_per_thread);
                return;
            }
            worker(loop, server);
        });
    }
    for (auto& th : pool) {
        th.join();
    }
    EXPECT_EQ(clients_failed.load(), 0);
    EXPECT_EQ(clients_done.load(), threads * clients_per_thread);
    const std::uint64_t total =
        static_cast<std::uint64_t>(threads) * clients_per_thread * requests * size;
    EXPECT_EQ(served.load(), total);
    // Both directions went through raw on some thread: requests and echoes.
    const auto after = raw::traffic_sum(0);
    EXPECT_EQ(after.bytes_out - before.bytes_out, 2 * total);
}

}  // namespace
}  // namespace xstack::test
