// tests/event/tasklet_test.cc - the loop's run queue: order, dedup, cancel, destruction,
// budgets, and tasklets that wake or destroy themselves.
#include "event/tasklet.h"

#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "event/loop.h"
#include "tests/support/run_until.h"
#include "tests/support/socket_pair.h"

namespace xstack::event {
namespace {

using trace = std::vector<std::string>;

void record(tasklet& self, void* ctx) noexcept {
    static_cast<trace*>(ctx)->push_back(self.name());
}

void record_and_rewake(tasklet& self, void* ctx) noexcept {
    record(self, ctx);
    self.wake();
}

TEST(TaskletTest, RunsInWakeOrder) {
    loop l;
    trace tr;
    tasklet a(l, record, &tr, "a");
    tasklet b(l, record, &tr, "b");
    tasklet c(l, record, &tr, "c");
    c.wake();
    a.wake();
    b.wake();
    EXPECT_TRUE(a.queued());
    EXPECT_TRUE(l.has_queued_tasklets());
    l.run_once(0);
    EXPECT_EQ(tr, (trace{"c", "a", "b"}));
    EXPECT_FALSE(a.queued());
    EXPECT_FALSE(l.has_queued_tasklets());
    EXPECT_EQ(a.runs(), 1u);
    EXPECT_EQ(l.stats().tasklets_run, 3u);
}

TEST(TaskletTest, WakingAQueuedTaskletDoesNothing) {
    loop l;
    trace tr;
    tasklet a(l, record, &tr, "a");
    tasklet b(l, record, &tr, "b");
    a.wake();
    b.wake();
    a.wake();  // keeps its place
    l.wake(a);
    l.run_once(0);
    EXPECT_EQ(tr, (trace{"a", "b"}));
    EXPECT_EQ(a.runs(), 1u);
    l.run_once(0);
    EXPECT_EQ(a.runs(), 1u) << "ran once per wake";
}

TEST(TaskletTest, CancelRemovesFromTheQueue) {
    loop l;
    trace tr;
    tasklet a(l, record, &tr, "a");
    tasklet b(l, record, &tr, "b");
    tasklet c(l, record, &tr, "c");
    a.wake();
    b.wake();
    c.wake();
    b.cancel();
    EXPECT_FALSE(b.queued());
    b.cancel();  // not queued: nothing happens
    l.cancel(b);
    l.run_once(0);
    EXPECT_EQ(tr, (trace{"a", "c"}));
    EXPECT_EQ(b.runs(), 0u);
    b.wake();  // a cancelled tasklet can be woken again
    l.run_once(0);
    EXPECT_EQ(tr, (trace{"a", "c", "b"}));
}

TEST(TaskletTest, DestroyingAQueuedTaskletUnlinksIt) {
    loop l;
    trace tr;
    auto a = std::make_unique<tasklet>(l, record, &tr, "a");
    tasklet b(l, record, &tr, "b");
    auto c = std::make_unique<tasklet>(l, record, &tr, "c");
    a->wake();
    b.wake();
    c->wake();
    a.reset();
    c.reset();  // the last one: the queue's tail must be fixed too
    l.run_once(0);
    EXPECT_EQ(tr, (trace{"b"}));
    EXPECT_FALSE(l.has_queued_tasklets());
}

struct self_destroyer {
    std::unique_ptr<tasklet> self;
    int runs = 0;
    bool rewake_first = false;
};

void destroy_self(tasklet& t, void* ctx) noexcept {
    auto* s = static_cast<self_destroyer*>(ctx);
    ++s->runs;
    if (s->rewake_first) {
        t.wake();  // queued again, then destroyed: the destructor must unlink it
    }
    s->self.reset();  // `t` is gone: the loop must not touch it after this call
}

TEST(TaskletTest, ATaskletMayDestroyItselfInItsCallback) {
    loop l;
    trace tr;
    self_destroyer s;
    s.self = std::make_unique<tasklet>(l, destroy_self, &s, "self");
    tasklet after(l, record, &tr, "after");
    s.self->wake();
    after.wake();
    l.run_once(0);
    EXPECT_EQ(s.runs, 1);
    EXPECT_EQ(s.self, nullptr);
    EXPECT_EQ(tr, (trace{"after"})) << "the rest of the batch still runs";
    EXPECT_EQ(l.stats().tasklets_run, 2u);
}

TEST(TaskletTest, ATaskletMayWakeThenDestroyItself) {
    loop l;
    self_destroyer s;
    s.rewake_first = true;
    s.self = std::make_unique<tasklet>(l, destroy_self, &s, "self");
    s.self->wake();
    l.run_once(0);
    l.run_once(0);
    EXPECT_EQ(s.runs, 1);
    EXPECT_FALSE(l.has_queued_tasklets());
}

struct killer {
    std::unique_ptr<tasklet> victim;
};

void kill_victim(tasklet& /*self*/, void* ctx) noexcept {
    static_cast<killer*>(ctx)->victim.reset();
}

TEST(TaskletTest, ATaskletMayDestroyAnotherOneQueuedInTheSameBatch) {
    loop l;
    trace tr;
    killer k;
    tasklet first(l, kill_victim, &k, "killer");
    k.victim = std::make_unique<tasklet>(l, record, &tr, "victim");
    tasklet last(l, record, &tr, "last");
    first.wake();
    k.victim->wake();
    last.wake();
    l.run_once(0);
    EXPECT_EQ(tr, (trace{"last"}));
}

struct waker {
    tasklet* other = nullptr;
    trace* tr = nullptr;
};

void wake_other(tasklet& self, void* ctx) noexcept {
    auto* w = static_cast<waker*>(ctx);
    w->tr->push_back(self.name());
    w->other->wake();
}

TEST(TaskletTest, TaskletsWokenWhileRunningWaitForTheNextIteration) {
    loop l;
    trace tr;
    tasklet b(l, record, &tr, "b");
    waker w{&b, &tr};
    tasklet a(l, wake_other, &w, "a");
    a.wake();
    l.run_once(0);
    EXPECT_EQ(tr, (trace{"a"}));
    EXPECT_TRUE(b.queued());
    l.run_once(0);
    EXPECT_EQ(tr, (trace{"a", "b"}));
}

TEST(TaskletTest, ASelfWakingTaskletRunsOncePerIteration) {
    loop l;
    trace tr;
    tasklet a(l, record_and_rewake, &tr, "a");
    a.wake();
    for (int i = 0; i < 5; ++i) {
        l.run_once(-1);  // must not block: a tasklet is queued
    }
    EXPECT_EQ(a.runs(), 5u);
    EXPECT_TRUE(a.queued());
    a.cancel();
}

struct fd_seen {
    bool seen = false;
};

void note_fd(void* owner, int /*fd*/) noexcept {
    static_cast<fd_seen*>(owner)->seen = true;
}

TEST(TaskletTest, ASelfWakingTaskletDoesNotStarvePolling) {
    loop l;
    trace tr;
    tasklet spinner(l, record_and_rewake, &tr, "spin");
    spinner.wake();
    test::socket_pair sp;
    fd_seen seen;
    l.fd_insert(sp.a(), note_fd, &seen);
    l.fds().cant_recv(sp.a());
    l.fds().want_recv(sp.a());
    l.run_once(0);
    ASSERT_TRUE(test::write_all(sp.b(), "x"));
    ASSERT_TRUE(test::run_until(l, [&] { return seen.seen; }));
    EXPECT_LE(spinner.runs(), 10u) << "I/O is polled between two runs of the spinner";
    spinner.cancel();
    l.fd_forget(sp.a());
}

TEST(TaskletTest, BudgetLimitsRunsPerIterationAndKeepsOrder) {
    loop_options o;
    o.tasklet_budget = 2;
    loop l(o);
    trace tr;
    tasklet a(l, record, &tr, "a");
    tasklet b(l, record, &tr, "b");
    tasklet c(l, record, &tr, "c");
    tasklet d(l, record, &tr, "d");
    tasklet e(l, record, &tr, "e");
    tasklet f(l, record, &tr, "f");
    for (tasklet* t : {&a, &b, &c, &d, &e}) {
        t->wake();
    }
    l.run_once(0);
    EXPECT_EQ(tr, (trace{"a", "b"}));
    f.wake();  // newly woken: runs after the leftovers
    l.run_once(0);
    EXPECT_EQ(tr, (trace{"a", "b", "c", "d"}));
    l.run_once(0);
    EXPECT_EQ(tr, (trace{"a", "b", "c", "d", "e", "f"}));
    EXPECT_FALSE(l.has_queued_tasklets());
}

TEST(TaskletTest, LeftoversCanBeCancelledOrDestroyed) {
    loop_options o;
    o.tasklet_budget = 1;
    loop l(o);
    trace tr;
    tasklet a(l, record, &tr, "a");
    auto b = std::make_unique<tasklet>(l, record, &tr, "b");
    tasklet c(l, record, &tr, "c");
    a.wake();
    b->wake();
    c.wake();
    l.run_once(0);
    b.reset();
    c.cancel();
    l.run_once(0);
    EXPECT_EQ(tr, (trace{"a"}));
    EXPECT_FALSE(l.has_queued_tasklets());
}

void set_flag(tasklet& /*self*/, void* ctx) noexcept {
    *static_cast<int*>(ctx) += 1;
}

TEST(TaskletTest, CallbackAndContextCanBeChanged) {
    loop l;
    trace tr;
    int n = 0;
    tasklet a(l, record, &tr, "a");
    EXPECT_EQ(a.ctx(), &tr);
    EXPECT_EQ(&a.owner_loop(), &l);
    EXPECT_STREQ(a.name(), "a");
    a.set_fn(set_flag);
    a.set_ctx(&n);
    a.wake();
    l.run_once(0);
    EXPECT_EQ(n, 1);
    EXPECT_TRUE(tr.empty());
}

TEST(TaskletTest, TaskletsOutliveTheirLoopSafely) {
    trace tr;
    auto l = std::make_unique<loop>();
    tasklet a(*l, record, &tr, "a");
    tasklet b(*l, record, &tr, "b");
    a.wake();
    b.wake();
    l.reset();  // detaches the queue: the tasklets' destructors must not touch the loop
    EXPECT_FALSE(a.queued());
    EXPECT_FALSE(b.queued());
    EXPECT_TRUE(tr.empty());
}

}  // namespace
}  // namespace xstack::event
