// tests/event/fd_property_test.cc - randomized sequences of fd state transitions, poll reports
// and update flushes against the real pollers, checking the invariants of DESIGN.md §5 after
// every step (deterministic seeds: a failure names its seed and step).
//
// Events are not taken from the kernel: the test delivers reports itself (only for directions
// the poller has registered, as a kernel would), so the sequences are reproducible. The
// registrations, however, are real: for epoll the kernel's view is read back from
// /proc/self/fdinfo/<epfd> and compared with what the poller believes.
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <sys/epoll.h>

#include <gtest/gtest.h>

#include "event/fd_table.h"
#include "event/poller.h"
#include "event/sys.h"
#include "tests/support/pollers.h"
#include "tests/support/socket_pair.h"

namespace xstack::event {
namespace {

struct iocb_record {
    int calls = 0;
};

void record_iocb(void* owner, int /*fd*/) noexcept {
    ++static_cast<iocb_record*>(owner)->calls;
}

struct kernel_reg {
    std::uint32_t events = 0;
    std::uint64_t data = 0;
};

/// What the kernel has registered in epoll instance `epfd`: target fd -> (events, data).
std::map<int, kernel_reg> epoll_registrations(int epfd) {
    std::map<int, kernel_reg> out;
    std::ifstream in("/proc/self/fdinfo/" + std::to_string(epfd));
    std::string line;
    while (std::getline(in, line)) {
        int tfd = -1;
        unsigned ev = 0;
        unsigned long long data = 0;
        if (std::sscanf(line.c_str(), "tfd: %d events: %x data: %llx", &tfd, &ev, &data) == 3) {
            out[tfd] = {ev, data};
        }
    }
    return out;
}

struct slot {
    test::socket_pair pair;
    int fd = -1;
    bool et = false;
    iocb_record rec;
    bool has_prev_gen = false;
    std::uint32_t prev_gen = 0;
    polled_bits stray;  // directions reported while inactive since the last flush (LT)
};

class FdPropertyTest : public ::testing::TestWithParam<poller_kind> {
protected:
    void run_sequence(std::uint32_t seed, int steps);

    [[nodiscard]] bool is_epoll() const { return GetParam() != poller_kind::poll; }
    /// True when `fd` is registered edge-triggered-style (once, never modified).
    [[nodiscard]] bool et_path(const fd_table& t, int fd) const {
        return GetParam() == poller_kind::epoll_et && t.state(fd).has(fd_bit::et);
    }
};

void FdPropertyTest::run_sequence(std::uint32_t seed, int steps) {
    std::mt19937 rng(seed);
    const auto chance = [&](unsigned n) { return rng() % n == 0; };

    sys::hooks h;
    std::unique_ptr<poller> p = poller::create(GetParam(), 64, false);
    ASSERT_NE(p, nullptr);
    int epfd = -1;
    for (const auto& r : h.log()) {
        if (r.kind == sys::call::epoll_create) {
            epfd = static_cast<int>(r.ret);
        }
    }
    ASSERT_EQ(epfd >= 0, is_epoll());

    fd_table t;
    std::vector<std::unique_ptr<slot>> slots;
    for (int i = 0; i < 6; ++i) {
        auto s = std::make_unique<slot>();
        ASSERT_TRUE(s->pair.ok());
        s->fd = s->pair.a();
        s->et = !chance(4);
        t.insert(s->fd, record_iocb, &s->rec, s->et);
        slots.push_back(std::move(s));
    }

    const auto check_kernel = [&](const char* when) {
        if (!is_epoll()) {
            return;
        }
        const auto regs = epoll_registrations(epfd);
        for (const auto& s : slots) {
            const fd_entry& e = t.entry(s->fd);
            const auto it = regs.find(s->fd);
            const bool reg = e.polled.any(polled_bit::r | polled_bit::w);
            ASSERT_EQ(it != regs.end(), reg) << when << ": fd " << s->fd;
            if (!reg) {
                continue;
            }
            const std::uint32_t ev = it->second.events;
            EXPECT_EQ((ev & EPOLLIN) != 0, e.polled.has(polled_bit::r)) << when;
            EXPECT_EQ((ev & EPOLLOUT) != 0, e.polled.has(polled_bit::w)) << when;
            EXPECT_EQ((ev & EPOLLET) != 0, e.polled.has(polled_bit::et)) << when;
            EXPECT_EQ(it->second.data,
                      (static_cast<std::uint64_t>(e.gen) << 32) | static_cast<std::uint32_t>(s->fd))
                << when << ": the registration carries the fd generation";
        }
    };

    for (int step = 0; step < steps; ++step) {
        SCOPED_TRACE("seed " + std::to_string(seed) + " step " + std::to_string(step));
        slot& s = *slots[rng() % slots.size()];
        const int fd = s.fd;
        const unsigned op = rng() % 16;
        switch (op) {
        case 0:
            t.want_recv(fd);
            break;
        case 1:
            t.want_send(fd);
            break;
        case 2:
            t.stop_recv(fd);
            break;
        case 3:
            t.stop_send(fd);
            break;
        case 4:
            if (chance(3)) {
                t.stop_both(fd);
            }
            break;
        case 5:
            t.cant_recv(fd);
            break;
        case 6:
            t.cant_send(fd);
            break;
        case 7:
            if (chance(2)) {
                t.may_recv(fd);
            } else {
                t.may_send(fd);
            }
            break;
        case 8:
            if (chance(2)) {
                t.cond_recv(fd);
            } else {
                t.cond_send(fd);
            }
            break;
        case 9:
        case 10:
        case 11: {
            // A poll report, only for what is registered (a kernel reports nothing else).
            fd_entry& e = t.entry(fd);
            if (e.polled.empty()) {
                break;
            }
            fd_bits rep;
            if (e.polled.has(polled_bit::r) && !chance(2)) {
                rep.set(fd_bit::poll_in);
            }
            if (e.polled.has(polled_bit::r) && chance(10)) {
                rep.set(fd_bit::poll_rdhup);
            }
            if (e.polled.has(polled_bit::w) && !chance(2)) {
                rep.set(fd_bit::poll_out);
            }
            if (chance(20)) {
                rep.set(fd_bit::poll_err);
            }
            if (chance(20)) {
                rep.set(fd_bit::poll_hup);
            }
            if (rep.empty()) {
                break;
            }
            const bool ar = t.recv_active(fd);
            const bool aw = t.send_active(fd);
            const bool was_queued = t.state(fd).has(fd_bit::in_update);
            const int calls = s.rec.calls;
            ASSERT_TRUE(t.deliver(fd, t.generation(fd), rep));
            EXPECT_EQ(s.rec.calls - calls, (ar || aw) ? 1 : 0) << "iocb iff a direction is active";
            const bool rr =
                rep.any(fd_bit::poll_in | fd_bit::poll_err | fd_bit::poll_hup | fd_bit::poll_rdhup);
            const bool rw = rep.any(fd_bit::poll_out | fd_bit::poll_err | fd_bit::poll_hup);
            if (rr) {
                EXPECT_TRUE(t.recv_ready(fd));
            }
            if (rw) {
                EXPECT_TRUE(t.send_ready(fd));
            }
            const bool stray = (rr && !ar) || (rw && !aw);
            if (e.polled.has(polled_bit::et)) {
                EXPECT_EQ(t.state(fd).has(fd_bit::in_update), was_queued)
                    << "an edge-triggered registration is never lazily disabled";
            } else if (stray) {
                EXPECT_TRUE(t.state(fd).has(fd_bit::in_update))
                    << "an event for an inactive direction queues its removal";
                if (rr && !ar) {
                    s.stray.set(polled_bit::r);
                }
                if (rw && !aw) {
                    s.stray.set(polled_bit::w);
                }
            }
            break;
        }
        case 12:
            // A stale report for an earlier user of this fd number.
            if (s.has_prev_gen) {
                const fd_bits before = t.state(fd);
                const int calls = s.rec.calls;
                const std::uint64_t stale = t.stale_events();
                EXPECT_FALSE(t.deliver(fd, s.prev_gen, fd_bit::poll_in | fd_bit::poll_out));
                EXPECT_EQ(t.stale_events(), stale + 1);
                EXPECT_EQ(t.state(fd), before);
                EXPECT_EQ(s.rec.calls, calls);
            }
            break;
        case 13:
            if (chance(4)) {
                // The fd leaves the table and comes back (a new user of the same number).
                s.prev_gen = t.generation(fd);
                s.has_prev_gen = true;
                p->forget(fd, t.remove(fd), false);
                s.et = !chance(4);
                s.stray = {};
                t.insert(fd, record_iocb, &s.rec, s.et);
                check_kernel("after forget");
            }
            break;
        default: {
            // Flush the update list, as the loop does at the start of an iteration.
            const std::vector<int> list(t.updates().begin(), t.updates().end());
            for (int u : list) {
                ASSERT_TRUE(t.in_use(u));
                fd_entry& e = t.entry(u);
                const polled_bits rw = polled_bit::r | polled_bit::w;
                const polled_bits before = e.polled;
                const polled_bits desired = t.desired(u);
                const bool any_active = t.recv_active(u) || t.send_active(u);
                const std::uint64_t ctl0 = h.count(sys::call::epoll_ctl, u);
                const std::uint64_t noop0 = p->stats().updates_noop;
                p->update(t, u);
                const std::uint64_t ctl = h.count(sys::call::epoll_ctl, u) - ctl0;
                const bool noop = p->stats().updates_noop != noop0;
                if (et_path(t, u)) {
                    if (before.has(polled_bit::et) || !any_active) {
                        EXPECT_EQ(ctl, 0u) << "ET: registered once, never modified";
                        EXPECT_EQ(e.polled, before);
                    } else {
                        EXPECT_EQ(ctl, 1u);
                        EXPECT_EQ(e.polled, polled_bit::r | polled_bit::w | polled_bit::et);
                    }
                    continue;
                }
                EXPECT_EQ(e.polled & rw, desired) << "the registration converges to desired()";
                EXPECT_EQ(noop, (before & rw) == desired);
                if (is_epoll()) {
                    EXPECT_EQ(ctl, (before & rw) == desired ? 0u : 1u)
                        << "epoll_ctl exactly when desired != registered";
                } else {
                    EXPECT_EQ(ctl, 0u);
                }
            }
            t.clear_updates();
            for (const auto& x : slots) {
                const fd_entry& e = t.entry(x->fd);
                // No lost wakeup: every wanted direction is registered after a flush.
                if (t.recv_active(x->fd)) {
                    EXPECT_TRUE(e.polled.has(polled_bit::r)) << "fd " << x->fd;
                }
                if (t.send_active(x->fd)) {
                    EXPECT_TRUE(e.polled.has(polled_bit::w)) << "fd " << x->fd;
                }
                // Lazy disable converges: a direction reported while inactive, and still
                // inactive and ready, is no longer registered.
                if (!e.polled.has(polled_bit::et)) {
                    if (x->stray.has(polled_bit::w) && !t.send_active(x->fd)) {
                        EXPECT_FALSE(e.polled.has(polled_bit::w)) << "fd " << x->fd;
                    }
                    if (x->stray.has(polled_bit::r) && !t.recv_active(x->fd) &&
                        (t.recv_ready(x->fd) || t.state(x->fd).any(fd_mask::poll_sticky))) {
                        EXPECT_FALSE(e.polled.has(polled_bit::r)) << "fd " << x->fd;
                    }
                }
                x->stray = {};
            }
            check_kernel("after flush");
            break;
        }
        }
        if (::testing::Test::HasFatalFailure() || ::testing::Test::HasFailure()) {
            return;  // one failure per sequence is enough to reproduce it from the seed
        }
    }

    // Teardown: forgetting every fd leaves nothing registered in the kernel.
    for (const auto& s : slots) {
        p->forget(s->fd, t.remove(s->fd), false);
    }
    if (is_epoll()) {
        EXPECT_TRUE(epoll_registrations(epfd).empty());
    }
}

TEST_P(FdPropertyTest, RandomSequencesKeepTheInvariants) {
    for (std::uint32_t seed = 1; seed <= 12; ++seed) {
        run_sequence(seed, 2500);
        if (HasFailure()) {
            break;
        }
    }
}

INSTANTIATE_TEST_SUITE_P(AllPollers, FdPropertyTest, test::all_pollers(), test::poller_param_name);

}  // namespace
}  // namespace xstack::event
