// tests/xprt/ledger_test.cc - the per-layer ledger: per-thread adds, sums over live and exited
// threads, and ledger_io's classification of a call.
#include "xprt/ledger.h"

#include <thread>

#include <gtest/gtest.h>

namespace xstack::xprt {
namespace {

std::uint64_t get(xprt_id id, ledger_item i) {
    return ledger_sum()[static_cast<std::size_t>(id)][i];
}

TEST(LedgerTest, IoCallsAreClassifiedByBytesAndStall) {
    const auto before = ledger_sum()[static_cast<std::size_t>(xprt_id::test)];
    ledger_io(xprt_id::test, false, 100, false);  // received 100 bytes
    ledger_io(xprt_id::test, false, 0, true);     // would block
    ledger_io(xprt_id::test, false, 0, false);    // end of stream or error: not a stall
    ledger_io(xprt_id::test, true, 7, true);      // sent 7 (stall ignored when bytes moved)
    const auto after = ledger_sum()[static_cast<std::size_t>(xprt_id::test)];
    auto d = [&](ledger_item i) { return after[i] - before[i]; };
    EXPECT_EQ(d(ledger_item::rcv_calls), 3u);
    EXPECT_EQ(d(ledger_item::rcv_bytes), 100u);
    EXPECT_EQ(d(ledger_item::rcv_zero), 1u);
    EXPECT_EQ(d(ledger_item::snd_calls), 1u);
    EXPECT_EQ(d(ledger_item::snd_bytes), 7u);
    EXPECT_EQ(d(ledger_item::snd_zero), 0u);
}

TEST(LedgerTest, SumsLiveAndExitedThreadsAndKeepsTypesApart) {
    const std::uint64_t hs0 = get(xprt_id::test, ledger_item::hs_done);
    const std::uint64_t raw0 = get(xprt_id::raw, ledger_item::hs_done);
    std::thread t([] { ledger_add(xprt_id::test, ledger_item::hs_done, 5); });
    t.join();  // exited: its counts are retired, not lost
    ledger_add(xprt_id::test, ledger_item::hs_done, 2);
    EXPECT_EQ(get(xprt_id::test, ledger_item::hs_done) - hs0, 7u);
    EXPECT_EQ(get(xprt_id::raw, ledger_item::hs_done), raw0);
}

}  // namespace
}  // namespace xstack::xprt
