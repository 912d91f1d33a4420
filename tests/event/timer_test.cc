// tests/event/timer_test.cc - timers on a deterministic clock: order, lazy postponement,
// re-arming earlier, disarm, destruction, and a randomized comparison with a model.
#include "event/timer.h"

#include <chrono>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "event/loop.h"
#include "event/tasklet.h"
#include "tests/support/run_until.h"

namespace xstack::event {
namespace {

using trace = std::vector<std::string>;

void record(tasklet& self, void* ctx) noexcept {
    static_cast<trace*>(ctx)->push_back(self.name());
}

class TimerTest : public ::testing::Test {
protected:
    test::manual_clock clk_;
    loop l_{clk_.options()};
    trace tr_;

    /// Moves the clock and runs two iterations: the first fires what is due (waking the
    /// tasklets), the second runs the woken tasklets.
    void advance(std::uint64_t ms) {
        clk_.advance_ms(ms);
        l_.run_once(0);
        l_.run_once(0);
    }
};

TEST_F(TimerTest, LoopTimeFollowsTheInjectedClock) {
    EXPECT_EQ(l_.now_ms(), clk_.now_ms());
    clk_.advance_ms(250);
    EXPECT_EQ(l_.now_ms(), clk_.now_ms() - 250) << "refreshed once per iteration";
    l_.run_once(0);
    EXPECT_EQ(l_.now_ms(), clk_.now_ms());
    clk_.ns += 5;
    l_.update_time();
    EXPECT_EQ(l_.now_ns(), clk_.ns);
}

TEST_F(TimerTest, FiresInExpiryOrder) {
    tasklet ta(l_, record, &tr_, "a");
    tasklet tb(l_, record, &tr_, "b");
    tasklet tc(l_, record, &tr_, "c");
    timer a(ta);
    timer b(tb);
    timer c(tc);
    l_.arm_in(a, 30);
    l_.arm_in(b, 10);
    l_.arm_in(c, 20);
    EXPECT_EQ(l_.armed_timers(), 3u);
    advance(35);  // all due at once: woken in expiry order
    EXPECT_EQ(tr_, (trace{"b", "c", "a"}));
    EXPECT_EQ(l_.stats().timers_fired, 3u);
    EXPECT_EQ(l_.armed_timers(), 0u);
    for (const timer* t : {&a, &b, &c}) {
        EXPECT_TRUE(t->fired());
        EXPECT_FALSE(t->armed());
    }
}

TEST_F(TimerTest, FiresWhenDueAndNotBefore) {
    tasklet ta(l_, record, &tr_, "a");
    timer a(ta);
    l_.arm_in(a, 10);
    EXPECT_TRUE(a.armed());
    EXPECT_EQ(a.expire(), l_.now_ms() + 10);
    EXPECT_FALSE(a.expired(l_.now_ms()));
    advance(9);
    EXPECT_TRUE(tr_.empty());
    EXPECT_FALSE(a.fired());
    EXPECT_TRUE(a.armed());
    advance(1);
    EXPECT_EQ(tr_, (trace{"a"}));
    EXPECT_TRUE(a.fired());
    EXPECT_TRUE(a.expired(0)) << "fired stays true whatever the time";
    EXPECT_EQ(&a.task(), &ta);
}

TEST_F(TimerTest, FiredTimersRunOneAtATimeInOrderAcrossIterations) {
    tasklet ta(l_, record, &tr_, "a");
    tasklet tb(l_, record, &tr_, "b");
    timer a(ta);
    timer b(tb);
    l_.arm_in(a, 10);
    l_.arm_in(b, 20);
    advance(10);
    EXPECT_EQ(tr_, (trace{"a"}));
    advance(10);
    EXPECT_EQ(tr_, (trace{"a", "b"}));
}

TEST_F(TimerTest, RearmingLaterPostponesLazily) {
    tasklet ta(l_, record, &tr_, "a");
    timer a(ta);
    l_.arm_in(a, 10);
    l_.arm_in(a, 50);  // O(1): only the wanted time changes
    EXPECT_EQ(l_.armed_timers(), 1u);
    EXPECT_EQ(a.expire(), l_.now_ms() + 50);
    advance(20);  // the old position comes: requeued, not fired
    EXPECT_TRUE(tr_.empty());
    EXPECT_TRUE(a.armed());
    EXPECT_EQ(l_.armed_timers(), 1u);
    EXPECT_EQ(l_.stats().timers_fired, 0u);
    advance(29);
    EXPECT_TRUE(tr_.empty());
    advance(1);
    EXPECT_EQ(tr_, (trace{"a"}));
}

TEST_F(TimerTest, RearmingEarlierTakesEffect) {
    tasklet ta(l_, record, &tr_, "a");
    timer a(ta);
    l_.arm_in(a, 50);
    l_.arm_in(a, 10);
    EXPECT_EQ(l_.armed_timers(), 1u);
    advance(10);
    EXPECT_EQ(tr_, (trace{"a"}));
}

TEST_F(TimerTest, LaterThenEarlierButStillLaterThanFirst) {
    tasklet ta(l_, record, &tr_, "a");
    timer a(ta);
    l_.arm_in(a, 10);
    l_.arm_in(a, 50);
    l_.arm_in(a, 30);
    advance(29);
    EXPECT_TRUE(tr_.empty());
    advance(1);
    EXPECT_EQ(tr_, (trace{"a"}));
}

TEST_F(TimerTest, PostponedTimerFiresAtItsNewTimeAmongOthers) {
    tasklet ta(l_, record, &tr_, "a");
    tasklet tb(l_, record, &tr_, "b");
    timer a(ta);
    timer b(tb);
    l_.arm_in(a, 10);
    l_.arm_in(b, 20);
    l_.arm_in(a, 30);
    advance(25);
    EXPECT_EQ(tr_, (trace{"b"}));
    advance(5);
    EXPECT_EQ(tr_, (trace{"b", "a"}));
    // Due in the same iteration, a postponed timer fires at its old heap position (like
    // HAProxy's wake_expired_tasks): only the iteration is guaranteed, not the order.
    l_.arm_in(a, 10);
    l_.arm_in(b, 20);
    l_.arm_in(a, 30);
    advance(40);
    EXPECT_EQ(tr_.size(), 4u);
    EXPECT_TRUE(a.fired());
    EXPECT_TRUE(b.fired());
}

TEST_F(TimerTest, DisarmPreventsFiring) {
    tasklet ta(l_, record, &tr_, "a");
    timer a(ta);
    l_.arm_in(a, 10);
    l_.disarm(a);
    EXPECT_FALSE(a.armed());
    EXPECT_EQ(l_.armed_timers(), 0u);
    l_.disarm(a);  // twice: nothing happens
    advance(100);
    EXPECT_TRUE(tr_.empty());
    EXPECT_FALSE(a.fired());
}

TEST_F(TimerTest, DestroyingAnArmedTimerRemovesIt) {
    tasklet ta(l_, record, &tr_, "a");
    tasklet tb(l_, record, &tr_, "b");
    tasklet tc(l_, record, &tr_, "c");
    timer a(ta);
    timer c(tc);
    {
        timer b(tb);
        l_.arm_in(a, 30);
        l_.arm_in(b, 10);
        l_.arm_in(c, 20);
    }
    EXPECT_EQ(l_.armed_timers(), 2u);
    advance(50);
    EXPECT_EQ(tr_, (trace{"c", "a"}));
}

TEST_F(TimerTest, RearmAfterFiringClearsFired) {
    tasklet ta(l_, record, &tr_, "a");
    timer a(ta);
    l_.arm_in(a, 5);
    advance(5);
    ASSERT_TRUE(a.fired());
    l_.arm_in(a, 5);
    EXPECT_FALSE(a.fired());
    EXPECT_TRUE(a.armed());
    advance(5);
    EXPECT_EQ(tr_, (trace{"a", "a"}));
}

TEST_F(TimerTest, ArmingInThePastFiresAtTheNextIteration) {
    tasklet ta(l_, record, &tr_, "a");
    timer a(ta);
    l_.arm(a, l_.now_ms() - 100);
    EXPECT_TRUE(a.expired(l_.now_ms()));
    advance(0);
    EXPECT_EQ(tr_, (trace{"a"}));
}

TEST_F(TimerTest, TimersOutliveTheirLoopSafely) {
    auto l2 = std::make_unique<loop>(clk_.options());
    tasklet t(*l2, record, &tr_, "t");
    timer a(t);
    l2->arm_in(a, 10);
    EXPECT_TRUE(a.armed());
    l2.reset();
    EXPECT_FALSE(a.armed());
}

// A randomized run against a model: every armed timer fires exactly once, at the first
// iteration whose time reaches its latest wanted expiry, and never before.
TEST_F(TimerTest, RandomOperationsMatchAModel) {
    constexpr std::size_t n = 40;
    struct slot {
        std::unique_ptr<tasklet> task;
        std::unique_ptr<timer> tm;
        int fires = 0;
    };
    std::vector<slot> slots(n);
    std::vector<int> fires(n, 0);
    for (std::size_t i = 0; i < n; ++i) {
        slots[i].task = std::make_unique<tasklet>(l_, record, &tr_, "t");
        slots[i].tm = std::make_unique<timer>(*slots[i].task);
    }
    std::map<std::size_t, std::uint64_t> armed;  // model: slot -> wanted expiry
    std::mt19937 rng(42);
    for (int step = 0; step < 5000; ++step) {
        SCOPED_TRACE("step " + std::to_string(step));
        const std::size_t i = rng() % n;
        timer& t = *slots[i].tm;
        switch (rng() % 6) {
        case 0:
        case 1: {
            const std::uint64_t when = l_.now_ms() + rng() % 100;
            l_.arm(t, when);
            armed[i] = when;
            break;
        }
        case 2:
            l_.disarm(t);
            armed.erase(i);
            break;
        case 3:
            if (rng() % 8 == 0) {
                slots[i].tm = std::make_unique<timer>(*slots[i].task);  // destroys the old one
                armed.erase(i);
            }
            break;
        default: {
            clk_.advance_ms(rng() % 15);
            const std::uint64_t before = l_.stats().timers_fired;
            l_.run_once(0);
            std::uint64_t expected = 0;
            for (auto it = armed.begin(); it != armed.end();) {
                timer& x = *slots[it->first].tm;
                if (it->second <= l_.now_ms()) {
                    EXPECT_TRUE(x.fired()) << "slot " << it->first;
                    EXPECT_FALSE(x.armed());
                    ++expected;
                    it = armed.erase(it);
                } else {
                    EXPECT_FALSE(x.fired()) << "slot " << it->first;
                    EXPECT_TRUE(x.armed());
                    EXPECT_EQ(x.expire(), it->second);
                    ++it;
                }
            }
            EXPECT_EQ(l_.stats().timers_fired - before, expected);
            EXPECT_EQ(l_.armed_timers(), armed.size());
            break;
        }
        }
        if (HasFailure()) {
            return;
        }
    }
    l_.run_once(0);  // run the last woken tasklets
}

TEST(TimerRealClockTest, RunOnceWaitsUntilTheNextTimer) {
    loop l;
    trace tr;
    tasklet ta(l, record, &tr, "a");
    timer a(ta);
    const auto start = std::chrono::steady_clock::now();
    l.arm_in(a, 30);
    ASSERT_TRUE(test::run_until(
        l, [&] { return a.fired(); }, 5000));
    const auto waited = std::chrono::steady_clock::now() - start;
    EXPECT_GE(waited, std::chrono::milliseconds(28));
    EXPECT_LE(l.stats().iterations, 10u) << "the loop slept in the poller instead of spinning";
}

}  // namespace
}  // namespace xstack::event
