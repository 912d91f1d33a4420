// tests/event/fd_table_test.cc - the per-fd state machine: ACTIVE/READY transitions, the update
// list, the desired registration (forced Rx) and the delivery of poll reports.
#include "event/fd_table.h"

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

namespace xstack::event {
namespace {

struct iocb_record {
    int calls = 0;
    int last_fd = -1;
};

void record_iocb(void* owner, int fd) noexcept {
    auto* r = static_cast<iocb_record*>(owner);
    ++r->calls;
    r->last_fd = fd;
}

class FdTableTest : public ::testing::Test {
protected:
    static constexpr int fd = 7;

    void SetUp() override { t_.insert(fd, record_iocb, &rec_, false); }

    [[nodiscard]] std::vector<int> updates() const {
        return {t_.updates().begin(), t_.updates().end()};
    }
    [[nodiscard]] bool has(fd_bit b) const { return t_.state(fd).has(b); }
    bool deliver(fd_bits report) { return t_.deliver(fd, t_.generation(fd), report); }
    /// Pretend the poller registered `p` (what poller::update records after a syscall).
    void registered(polled_bits p) { t_.entry(fd).polled = p; }

    fd_table t_;
    iocb_record rec_;
};

// --- transitions and the update list -------------------------------------------------------

TEST_F(FdTableTest, InsertStartsReadyBothWaysInactiveAndQueuesNothing) {
    EXPECT_TRUE(t_.in_use(fd));
    EXPECT_TRUE(t_.recv_ready(fd));
    EXPECT_TRUE(t_.send_ready(fd));
    EXPECT_FALSE(t_.recv_active(fd));
    EXPECT_FALSE(t_.send_active(fd));
    EXPECT_TRUE(t_.entry(fd).polled.empty());
    EXPECT_TRUE(updates().empty());
    EXPECT_FALSE(t_.in_use(fd + 1));
    EXPECT_FALSE(t_.in_use(-1));
}

TEST_F(FdTableTest, WantQueuesOneUpdate) {
    t_.want_recv(fd);
    EXPECT_TRUE(t_.recv_active(fd));
    EXPECT_FALSE(t_.send_active(fd));
    EXPECT_EQ(updates(), std::vector<int>{fd});
    EXPECT_TRUE(has(fd_bit::in_update));
}

TEST_F(FdTableTest, WantOnAlreadyActiveDirectionQueuesNothing) {
    t_.want_send(fd);
    t_.clear_updates();
    t_.want_send(fd);
    EXPECT_TRUE(updates().empty());
    EXPECT_FALSE(has(fd_bit::in_update));
}

TEST_F(FdTableTest, UpdatesAreDeduplicatedPerFdAndKeepOrder) {
    iocb_record other;
    t_.insert(3, record_iocb, &other, false);
    t_.want_recv(fd);
    t_.want_send(fd);
    t_.want_recv(3);
    t_.stop_recv(fd);
    t_.want_recv(fd);  // a want/stop/want oscillation within one iteration: still one entry
    EXPECT_EQ(updates(), (std::vector<int>{fd, 3}));
}

TEST_F(FdTableTest, StopCantMayCondNeverQueueAnUpdate) {
    const std::vector<std::pair<std::string, std::function<void()>>> ops = {
        {"stop_recv", [&] { t_.stop_recv(fd); }}, {"stop_send", [&] { t_.stop_send(fd); }},
        {"stop_both", [&] { t_.stop_both(fd); }}, {"cant_recv", [&] { t_.cant_recv(fd); }},
        {"cant_send", [&] { t_.cant_send(fd); }}, {"may_recv", [&] { t_.may_recv(fd); }},
        {"may_send", [&] { t_.may_send(fd); }},   {"may_both", [&] { t_.may_both(fd); }},
        {"cond_recv", [&] { t_.cond_recv(fd); }}, {"cond_send", [&] { t_.cond_send(fd); }},
    };
    for (const auto& [name, op] : ops) {
        SCOPED_TRACE(name);
        // From every combination of ACTIVE/READY on both directions.
        for (int s = 0; s < 16; ++s) {
            t_.remove(fd);
            t_.insert(fd, record_iocb, &rec_, false);
            if ((s & 1) != 0) {
                t_.want_recv(fd);
            }
            if ((s & 2) != 0) {
                t_.want_send(fd);
            }
            if ((s & 4) != 0) {
                t_.cant_recv(fd);
            }
            if ((s & 8) != 0) {
                t_.cant_send(fd);
            }
            t_.clear_updates();
            op();
            EXPECT_TRUE(updates().empty()) << "state " << s;
        }
    }
}

TEST_F(FdTableTest, StopClearsOnlyActive) {
    t_.want_recv(fd);
    t_.want_send(fd);
    t_.stop_recv(fd);
    EXPECT_FALSE(t_.recv_active(fd));
    EXPECT_TRUE(t_.send_active(fd));
    EXPECT_TRUE(t_.recv_ready(fd));
    t_.want_recv(fd);
    t_.stop_both(fd);
    EXPECT_FALSE(t_.recv_active(fd));
    EXPECT_FALSE(t_.send_active(fd));
    EXPECT_TRUE(t_.recv_ready(fd));
    EXPECT_TRUE(t_.send_ready(fd));
}

TEST_F(FdTableTest, CantAndMayFlipOnlyReady) {
    t_.want_recv(fd);
    t_.cant_recv(fd);
    EXPECT_FALSE(t_.recv_ready(fd));
    EXPECT_TRUE(t_.send_ready(fd));
    EXPECT_TRUE(t_.recv_active(fd));
    t_.cant_send(fd);
    EXPECT_FALSE(t_.send_ready(fd));
    t_.may_recv(fd);
    EXPECT_TRUE(t_.recv_ready(fd));
    EXPECT_FALSE(t_.send_ready(fd));
    t_.may_send(fd);
    EXPECT_TRUE(t_.send_ready(fd));
    t_.cant_recv(fd);
    t_.cant_send(fd);
    t_.may_both(fd);
    EXPECT_TRUE(t_.recv_ready(fd));
    EXPECT_TRUE(t_.send_ready(fd));
    EXPECT_TRUE(t_.recv_active(fd));
}

TEST_F(FdTableTest, CondSetsReadyOnlyWhenNeitherActiveNorReady) {
    // DISABLED -> STOPPED (speculative enable)
    t_.cant_recv(fd);
    t_.cond_recv(fd);
    EXPECT_TRUE(t_.recv_ready(fd));
    EXPECT_FALSE(t_.recv_active(fd));
    // ACTIVE (a poll is requested) stays ACTIVE: cond must not interfere with polling
    t_.cant_recv(fd);
    t_.want_recv(fd);
    t_.cond_recv(fd);
    EXPECT_FALSE(t_.recv_ready(fd));
    EXPECT_TRUE(t_.recv_active(fd));
    // READY stays READY
    t_.may_recv(fd);
    t_.cond_recv(fd);
    EXPECT_TRUE(t_.recv_ready(fd));
    EXPECT_TRUE(t_.recv_active(fd));

    // the same for send, independently of recv
    t_.cant_send(fd);
    t_.cond_send(fd);
    EXPECT_TRUE(t_.send_ready(fd));
    t_.cant_send(fd);
    t_.want_send(fd);
    t_.cond_send(fd);
    EXPECT_FALSE(t_.send_ready(fd));
}

TEST_F(FdTableTest, ClearUpdatesAllowsTheNextWantToQueueAgain) {
    t_.want_recv(fd);
    t_.clear_updates();
    EXPECT_TRUE(updates().empty());
    t_.stop_recv(fd);
    t_.want_recv(fd);
    EXPECT_EQ(updates(), std::vector<int>{fd});
}

TEST_F(FdTableTest, QueueUpdateIsDeduplicated) {
    t_.queue_update(fd);
    t_.queue_update(fd);
    t_.want_send(fd);
    EXPECT_EQ(updates(), std::vector<int>{fd});
}

TEST_F(FdTableTest, RemoveAndReinsertOfAQueuedFdKeepsOneEntry) {
    t_.want_recv(fd);
    t_.remove(fd);
    t_.insert(fd, record_iocb, &rec_, false);
    t_.want_recv(fd);
    EXPECT_EQ(updates(), std::vector<int>{fd});
    t_.clear_updates();
    EXPECT_FALSE(has(fd_bit::in_update));
}

TEST_F(FdTableTest, RemoveBumpsGenerationAndReturnsWhatWasRegistered) {
    const std::uint32_t g0 = t_.generation(fd);
    registered(polled_bit::r | polled_bit::w);
    t_.want_recv(fd);
    t_.set_linger_risk(fd, true);
    EXPECT_EQ(t_.remove(fd), polled_bit::r | polled_bit::w);
    EXPECT_FALSE(t_.in_use(fd));
    EXPECT_EQ(t_.generation(fd), g0 + 1);
    EXPECT_FALSE(t_.recv_active(fd));
    EXPECT_FALSE(t_.linger_risk(fd));
    EXPECT_EQ(t_.entry(fd).iocb, nullptr);
    // removing an fd not in the table does nothing
    EXPECT_TRUE(t_.remove(fd).empty());
    EXPECT_EQ(t_.generation(fd), g0 + 1);
    // re-inserting keeps the generation moving forward only
    t_.insert(fd, record_iocb, &rec_, false);
    EXPECT_EQ(t_.generation(fd), g0 + 1);
    EXPECT_TRUE(t_.entry(fd).polled.empty());
    t_.remove(fd);
    EXPECT_EQ(t_.generation(fd), g0 + 2);
}

TEST_F(FdTableTest, InsertGrowsTheTableWithoutDisturbingOtherFds) {
    t_.want_recv(fd);
    t_.cant_send(fd);
    iocb_record other;
    t_.insert(5000, record_iocb, &other, true);
    EXPECT_TRUE(t_.in_use(5000));
    EXPECT_TRUE(t_.state(5000).has(fd_bit::et));
    EXPECT_TRUE(t_.recv_active(fd));
    EXPECT_FALSE(t_.send_ready(fd));
    EXPECT_EQ(updates(), std::vector<int>{fd});
}

TEST_F(FdTableTest, LingerRiskIsAFlagOfItsOwn) {
    EXPECT_FALSE(t_.linger_risk(fd));
    t_.set_linger_risk(fd, true);
    EXPECT_TRUE(t_.linger_risk(fd));
    EXPECT_TRUE(t_.recv_ready(fd));
    t_.set_linger_risk(fd, false);
    EXPECT_FALSE(t_.linger_risk(fd));
}

// --- desired(): what the poller should register ---------------------------------------------

TEST_F(FdTableTest, DesiredIsEmptyWhenNothingIsWantedAndNothingRegistered) {
    EXPECT_TRUE(t_.desired(fd).empty());
    t_.cant_recv(fd);
    t_.cant_send(fd);
    EXPECT_TRUE(t_.desired(fd).empty());
}

TEST_F(FdTableTest, DesiredFollowsActiveDirections) {
    t_.want_recv(fd);
    EXPECT_EQ(t_.desired(fd), polled_bits(polled_bit::r));
    t_.stop_recv(fd);
    t_.want_send(fd);  // recv is known ready: no forced Rx
    EXPECT_EQ(t_.desired(fd), polled_bits(polled_bit::w));
    t_.want_recv(fd);
    EXPECT_EQ(t_.desired(fd), polled_bit::r | polled_bit::w);
}

TEST_F(FdTableTest, DesiredForcesRecvWithSendWhenRecvNotReady) {
    t_.cant_recv(fd);
    t_.want_send(fd);
    EXPECT_EQ(t_.desired(fd), polled_bit::r | polled_bit::w);
}

TEST_F(FdTableTest, DesiredKeepsRecvOfARegisteredFdWhenRecvNotReady) {
    t_.cant_recv(fd);
    registered(polled_bit::w);
    EXPECT_EQ(t_.desired(fd), polled_bits(polled_bit::r));
    registered(polled_bit::r);
    EXPECT_EQ(t_.desired(fd), polled_bits(polled_bit::r));
    // ... but not once recv is known ready: then the registration goes
    t_.may_recv(fd);
    EXPECT_TRUE(t_.desired(fd).empty());
}

TEST_F(FdTableTest, DesiredNeverForcesRecvAfterErrHupOrRdhup) {
    for (fd_bit sticky : {fd_bit::poll_err, fd_bit::poll_hup, fd_bit::poll_rdhup}) {
        SCOPED_TRACE(static_cast<unsigned>(sticky));
        t_.remove(fd);
        t_.insert(fd, record_iocb, &rec_, false);
        ASSERT_TRUE(deliver(sticky));
        t_.cant_recv(fd);  // the reader drained what it could
        t_.want_send(fd);
        EXPECT_EQ(t_.desired(fd), polled_bits(polled_bit::w)) << "send active";
        t_.stop_send(fd);
        registered(polled_bit::r | polled_bit::w);
        EXPECT_TRUE(t_.desired(fd).empty()) << "registered, nothing active";
        registered({});
    }
}

// --- deliver(): poll reports ------------------------------------------------------------------

TEST_F(FdTableTest, DeliverSetsReadyBitsFromTheReport) {
    struct row {
        fd_bits report;
        bool r = false;
        bool w = false;
    };
    const row rows[] = {
        {fd_bit::poll_in, true, false},
        {fd_bit::poll_pri, true, false},
        {fd_bit::poll_out, false, true},
        {fd_bit::poll_err, true, true},
        {fd_bit::poll_hup, true, true},
        {fd_bit::poll_rdhup, true, false},
        {fd_bit::poll_in | fd_bit::poll_out, true, true},
    };
    for (const row& x : rows) {
        SCOPED_TRACE(x.report.bits());
        t_.remove(fd);
        t_.insert(fd, record_iocb, &rec_, false);
        t_.cant_recv(fd);
        t_.cant_send(fd);
        ASSERT_TRUE(deliver(x.report));
        EXPECT_EQ(t_.recv_ready(fd), x.r);
        EXPECT_EQ(t_.send_ready(fd), x.w);
        EXPECT_TRUE(t_.state(fd).has(x.report)) << "the report is recorded";
    }
}

TEST_F(FdTableTest, HupWithoutRegisteredRxLeavesInputPossible) {
    // Rx registered: the kernel would have said IN if bytes were queued; HUP alone is the end.
    registered(polled_bits(polled_bit::r) | polled_bit::w);
    ASSERT_TRUE(deliver(fd_bit::poll_hup));
    EXPECT_FALSE(has(fd_bit::poll_in));
    // Rx not registered (only Tx): IN could not be reported, so input stays possible and the
    // next receive reads what was queued before the FIN instead of taking the HUP as empty.
    registered(polled_bit::w);
    ASSERT_TRUE(deliver(fd_bit::poll_hup));
    EXPECT_TRUE(has(fd_bit::poll_in));
    EXPECT_TRUE(has(fd_bit::poll_hup));
    EXPECT_TRUE(t_.recv_ready(fd));
}

TEST_F(FdTableTest, DeliverReplacesInPriOutButKeepsErrHupRdhup) {
    ASSERT_TRUE(deliver(fd_bit::poll_in | fd_bit::poll_pri));
    EXPECT_TRUE(has(fd_bit::poll_in));
    ASSERT_TRUE(deliver(fd_bit::poll_out));
    EXPECT_FALSE(has(fd_bit::poll_in));
    EXPECT_FALSE(has(fd_bit::poll_pri));
    EXPECT_TRUE(has(fd_bit::poll_out));

    ASSERT_TRUE(deliver(fd_bit::poll_err));
    ASSERT_TRUE(deliver(fd_bit::poll_hup));
    ASSERT_TRUE(deliver(fd_bit::poll_rdhup));
    ASSERT_TRUE(deliver(fd_bit::poll_in));
    EXPECT_TRUE(has(fd_bit::poll_err));
    EXPECT_TRUE(has(fd_bit::poll_hup));
    EXPECT_TRUE(has(fd_bit::poll_rdhup));
    EXPECT_TRUE(has(fd_bit::poll_in));
    EXPECT_FALSE(has(fd_bit::poll_out));
    ASSERT_TRUE(deliver({}));
    EXPECT_FALSE(has(fd_bit::poll_in));
    EXPECT_TRUE(has(fd_bit::poll_err));
}

TEST_F(FdTableTest, DeliverIgnoresNonReportBits) {
    const fd_bits before = t_.state(fd);
    ASSERT_TRUE(deliver(fd_bit::active_r | fd_bit::linger_risk | fd_bit::in_update));
    EXPECT_EQ(t_.state(fd), before);
    EXPECT_TRUE(updates().empty());
}

TEST_F(FdTableTest, StrayRecvEventQueuesTheLazyDisable) {
    registered(polled_bits(polled_bit::r));  // was wanted, then stopped: still registered
    t_.cant_recv(fd);
    ASSERT_TRUE(deliver(fd_bit::poll_in));
    EXPECT_EQ(updates(), std::vector<int>{fd});
    EXPECT_EQ(rec_.calls, 0) << "no direction active: the iocb is not called";
    EXPECT_TRUE(t_.desired(fd).empty()) << "the queued update removes the registration";
}

TEST_F(FdTableTest, StraySendEventQueuesTheLazyDisable) {
    t_.want_recv(fd);
    t_.clear_updates();
    registered(polled_bit::r | polled_bit::w);
    ASSERT_TRUE(deliver(fd_bit::poll_in | fd_bit::poll_out));
    EXPECT_EQ(updates(), std::vector<int>{fd});
    EXPECT_EQ(rec_.calls, 1);
    EXPECT_EQ(t_.desired(fd), polled_bits(polled_bit::r));
}

TEST_F(FdTableTest, EventForAnActiveDirectionQueuesNothing) {
    t_.want_recv(fd);
    t_.cant_recv(fd);
    t_.clear_updates();
    registered(polled_bits(polled_bit::r));
    ASSERT_TRUE(deliver(fd_bit::poll_in));
    EXPECT_TRUE(updates().empty());
    EXPECT_EQ(rec_.calls, 1);
    EXPECT_EQ(rec_.last_fd, fd);
    EXPECT_TRUE(t_.recv_ready(fd));
}

TEST_F(FdTableTest, EdgeTriggeredRegistrationIsNeverLazilyDisabled) {
    t_.remove(fd);
    t_.insert(fd, record_iocb, &rec_, true);
    registered(polled_bit::r | polled_bit::w | polled_bit::et);
    t_.cant_recv(fd);
    t_.cant_send(fd);
    ASSERT_TRUE(deliver(fd_bit::poll_in | fd_bit::poll_out | fd_bit::poll_err));
    EXPECT_TRUE(updates().empty());
    EXPECT_TRUE(t_.recv_ready(fd));
    EXPECT_TRUE(t_.send_ready(fd));
    EXPECT_EQ(rec_.calls, 0);
}

TEST_F(FdTableTest, IocbRunsOnlyWhenADirectionIsActive) {
    ASSERT_TRUE(deliver(fd_bit::poll_in));
    EXPECT_EQ(rec_.calls, 0);
    t_.want_send(fd);
    ASSERT_TRUE(deliver(fd_bit::poll_in));  // any active direction is enough
    EXPECT_EQ(rec_.calls, 1);
    t_.stop_send(fd);
    t_.want_recv(fd);
    ASSERT_TRUE(deliver(fd_bit::poll_err));
    EXPECT_EQ(rec_.calls, 2);
}

TEST_F(FdTableTest, StaleGenerationIsDroppedAndCounted) {
    t_.want_recv(fd);
    t_.cant_recv(fd);
    t_.clear_updates();
    const fd_bits before = t_.state(fd);
    EXPECT_FALSE(t_.deliver(fd, t_.generation(fd) + 1, fd_bit::poll_in | fd_bit::poll_err));
    EXPECT_EQ(t_.stale_events(), 1u);
    EXPECT_EQ(t_.state(fd), before);
    EXPECT_EQ(rec_.calls, 0);
    EXPECT_TRUE(updates().empty());
}

TEST_F(FdTableTest, EventForAClosedAndReusedFdIsDropped) {
    const std::uint32_t old_gen = t_.generation(fd);
    t_.remove(fd);
    iocb_record next_owner;
    t_.insert(fd, record_iocb, &next_owner, false);
    t_.want_recv(fd);
    t_.cant_recv(fd);

    EXPECT_FALSE(t_.deliver(fd, old_gen, fd_bit::poll_in));
    EXPECT_EQ(t_.stale_events(), 1u);
    EXPECT_FALSE(t_.recv_ready(fd));
    EXPECT_EQ(next_owner.calls, 0);

    EXPECT_TRUE(t_.deliver(fd, t_.generation(fd), fd_bit::poll_in));
    EXPECT_EQ(next_owner.calls, 1);
    EXPECT_EQ(rec_.calls, 0);
}

TEST_F(FdTableTest, EventForAnUnknownFdIsDroppedAndCounted) {
    EXPECT_FALSE(t_.deliver(100000, 0, fd_bit::poll_in));
    t_.remove(fd);
    EXPECT_FALSE(t_.deliver(fd, t_.generation(fd), fd_bit::poll_in));
    EXPECT_EQ(t_.stale_events(), 2u);
    EXPECT_EQ(rec_.calls, 0);
}

}  // namespace
}  // namespace xstack::event
