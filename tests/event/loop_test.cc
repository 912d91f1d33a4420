// tests/event/loop_test.cc - the loop as a whole: iterations, stop and request_stop (from
// another thread), and waiting rules.
#include "event/loop.h"

#include <atomic>
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "event/sys.h"
#include "tests/support/pollers.h"
#include "tests/support/run_until.h"

namespace xstack::event {
namespace {

void count_run(tasklet& /*self*/, void* ctx) noexcept {
    ++*static_cast<int*>(ctx);
}

struct stopper {
    loop* l = nullptr;
    int runs = 0;
    int stop_after = 1;
};

/// Wakes itself until it has run `stop_after` times, then stops the loop.
void run_then_stop(tasklet& self, void* ctx) noexcept {
    auto* s = static_cast<stopper*>(ctx);
    if (++s->runs >= s->stop_after) {
        s->l->stop();
    } else {
        self.wake();
    }
}

class LoopTest : public ::testing::TestWithParam<poller_kind> {
protected:
    [[nodiscard]] loop_options opts() const {
        loop_options o;
        o.poller = GetParam();
        return o;
    }
};

struct handshake {
    std::atomic<bool> running{false};
};

void signal_running(tasklet& /*self*/, void* ctx) noexcept {
    static_cast<handshake*>(ctx)->running.store(true);
}

TEST_P(LoopTest, RequestStopFromAnotherThreadWakesABlockedRun) {
    loop l(opts());
    ASSERT_TRUE(l.ok());
    // Safety net: if request_stop did not wake the poller, this stops run() after 10 s and
    // the test fails instead of hanging.
    stopper safety{&l, 0, 1};
    tasklet safety_task(l, run_then_stop, &safety, "safety");
    timer safety_timer(safety_task);
    l.arm_in(safety_timer, 10000);

    handshake hs;
    tasklet announce(l, signal_running, &hs, "announce");
    announce.wake();
    std::thread other([&] {
        while (!hs.running.load()) {
            std::this_thread::yield();
        }
        l.request_stop();  // the loop is (about to be) blocked in the poller
    });
    const auto start = std::chrono::steady_clock::now();
    l.run();
    other.join();
    EXPECT_EQ(safety.runs, 0) << "run() was stopped by the safety timer, not request_stop()";
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST_P(LoopTest, RunCanBeRestartedAfterRequestStop) {
    loop l(opts());
    l.request_stop();
    EXPECT_TRUE(l.stopping());
    l.run();  // returns at once: the request came before
    EXPECT_FALSE(l.stopping()) << "a served stop request must not stop the next run()";

    stopper s{&l, 0, 3};
    tasklet t(l, run_then_stop, &s, "three");
    t.wake();
    l.run();
    EXPECT_EQ(s.runs, 3);
}

TEST_P(LoopTest, StopFromATaskletEndsRunAfterTheIteration) {
    loop l(opts());
    stopper s{&l, 0, 1};
    int others = 0;
    tasklet t(l, run_then_stop, &s, "stop");
    tasklet o(l, count_run, &others, "other");
    t.wake();
    o.wake();
    l.run();
    EXPECT_EQ(s.runs, 1);
    EXPECT_EQ(others, 1) << "the iteration completes";
    EXPECT_FALSE(l.stopping()) << "run() clears stop() for the next call";
    // and run() can be entered again
    s.runs = 0;
    t.wake();
    l.run();
    EXPECT_EQ(s.runs, 1);
}

void count_and_rewake(tasklet& self, void* ctx) noexcept {
    ++*static_cast<int*>(ctx);
    self.wake();
}

TEST_P(LoopTest, RunOnceDoesNotBlockWhileTaskletsAreQueued) {
    loop l(opts());
    stopper safety{&l, 0, 1};
    tasklet safety_task(l, run_then_stop, &safety, "safety");
    timer safety_timer(safety_task);
    l.arm_in(safety_timer, 5000);
    int runs = 0;
    tasklet t(l, count_and_rewake, &runs, "t");
    t.wake();
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < 5; ++i) {
        l.run_once(-1);  // t is queued again after each run: the wait must be 0
    }
    EXPECT_EQ(runs, 5);
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
    EXPECT_EQ(safety.runs, 0);
    t.cancel();
}

TEST_P(LoopTest, RequestedStopMakesWaitsZero) {
    loop l(opts());
    stopper safety{&l, 0, 1};
    tasklet safety_task(l, run_then_stop, &safety, "safety");
    timer safety_timer(safety_task);
    l.arm_in(safety_timer, 5000);
    l.request_stop();
    const auto start = std::chrono::steady_clock::now();
    l.run_once(-1);
    l.run_once(-1);
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

TEST_P(LoopTest, CountsIterations) {
    loop l(opts());
    const std::uint64_t before = l.stats().iterations;
    test::run_iterations(l, 7);
    EXPECT_EQ(l.stats().iterations - before, 7u);
}

TEST_P(LoopTest, EachIterationWaitsOnceAndFlushesOnce) {
    loop l(opts());
    l.run_once(0);  // registers the loop's own wake-up fd
    sys::hooks h;
    test::run_iterations(l, 5);
    const sys::call wait_call =
        GetParam() == poller_kind::poll ? sys::call::poll : sys::call::epoll_wait;
    EXPECT_EQ(h.count(wait_call), 5u);
    EXPECT_EQ(h.count(sys::call::epoll_ctl), 0u) << "nothing changed: no registration syscall";
    EXPECT_EQ(h.total(), 5u);
}

INSTANTIATE_TEST_SUITE_P(AllPollers, LoopTest, test::all_pollers(), test::poller_param_name);

}  // namespace
}  // namespace xstack::event
