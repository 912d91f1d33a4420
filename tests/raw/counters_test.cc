// tests/raw/counters_test.cc - frequency counters with a deterministic clock, the 1/32 byte-rate
// scaling, per-thread totals summed by the reader, and the pipe pool.
#include <fstream>
#include <thread>

#include <unistd.h>

#include <gtest/gtest.h>

#include "raw/pipe_pool.h"
#include "raw/traffic.h"

namespace xstack::test {
namespace {

TEST(FreqCtrTest, CountsWithinThePeriod) {
    raw::freq_ctr f;
    f.add(10, 1000);
    f.add(5, 1500);
    EXPECT_EQ(f.curr(), 15u);
    EXPECT_EQ(f.prev(), 0u);
    EXPECT_EQ(f.read(1500), 15u);
}

TEST(FreqCtrTest, RotatesAfterOnePeriod) {
    raw::freq_ctr f;
    f.add(100, 1000);  // period [1000, 2000)
    f.add(40, 2100);   // one period later: 100 becomes the previous count
    EXPECT_EQ(f.prev(), 100u);
    EXPECT_EQ(f.curr(), 40u);
    EXPECT_EQ(f.tick(), 2000u);
    // At 2250 a quarter of the current period has gone: 40 + 100 * 750/1000.
    EXPECT_EQ(f.read(2250), 40u + 75u);
}

TEST(FreqCtrTest, TwoIdlePeriodsForgetEverything) {
    raw::freq_ctr f;
    f.add(100, 1000);
    f.add(7, 3500);  // more than two periods later
    EXPECT_EQ(f.prev(), 0u);
    EXPECT_EQ(f.curr(), 7u);
    EXPECT_EQ(f.tick(), 3500u);
}

TEST(FreqCtrTest, ReadAfterThePeriodEndedUsesItAsPrevious) {
    raw::freq_ctr f;
    f.add(200, 1000);
    EXPECT_EQ(f.read(2500), 100u);  // half of the next period left: 200 * 500/1000
    EXPECT_EQ(f.read(3000), 0u);    // two periods later
}

TEST(FreqCtrTest, AntiFlappingForTinyRates) {
    raw::freq_ctr f;
    f.add(1, 1000);
    EXPECT_EQ(f.read(2900), 1u);  // nothing now and one before: reported as is
}

TEST(FreqCtrTest, ByteRateUnitsRoundToNearest32) {
    EXPECT_EQ(raw::bytes_to_rate_units(0), 0u);
    EXPECT_EQ(raw::bytes_to_rate_units(15), 0u);
    EXPECT_EQ(raw::bytes_to_rate_units(16), 1u);
    EXPECT_EQ(raw::bytes_to_rate_units(47), 1u);
    EXPECT_EQ(raw::bytes_to_rate_units(48), 2u);
    EXPECT_EQ(raw::bytes_to_rate_units(1'000'000), 31250u);
    // A 32-bit counter of 32-byte units reaches 128 GB/s.
    EXPECT_EQ(raw::bytes_to_rate_units(128'000'000'000ull), 4'000'000'000u);
}

TEST(TrafficTest, ThreadsAreSummedByTheReader) {
    const auto before = raw::traffic_sum(0);
    std::thread a([] {
        raw::count_out(1000, 10);
        raw::count_spliced(500, 10);
    });
    a.join();
    std::thread b([] { raw::count_out(3000, 10); });
    b.join();
    const auto after = raw::traffic_sum(0);
    EXPECT_EQ(after.bytes_out - before.bytes_out, 4500u);  // exited threads are kept
    EXPECT_EQ(after.spliced_out - before.spliced_out, 500u);
}

TEST(TrafficTest, RateIsReadBackTimes32) {
    std::uint64_t rate = 0;
    std::uint64_t spliced_rate = 0;
    std::thread t([&] {
        for (int i = 0; i < 10; ++i) {
            raw::count_out(32000, 5000 + static_cast<std::uint64_t>(i));
        }
        raw::count_spliced(64000, 5010);
        const raw::traffic& tr = raw::thread_traffic();
        rate = 32ull * tr.out_rate32.read(5010);
        spliced_rate = 32ull * tr.spliced_rate32.read(5010);
    });
    t.join();
    EXPECT_EQ(rate, 384000u);  // 10 x 32,000 + 64,000 bytes in this second
    EXPECT_EQ(spliced_rate, 64000u);
}

TEST(PipePoolTest, ReusesEmptyPipesAndDestroysFullOnes) {
    std::thread t([] {
        raw::pipe_pool_configure(0, 2);
        xprt::pipe* p = raw::pipe_get();
        ASSERT_NE(p, nullptr);
        EXPECT_GE(p->capacity, 4096u);
        const int prod = p->prod;
        raw::pipe_put(p);  // empty: cached
        EXPECT_EQ(raw::pipe_pool_get_stats().cached, 1u);
        xprt::pipe* q = raw::pipe_get();
        EXPECT_EQ(q->prod, prod);  // the same pipe again
        EXPECT_EQ(raw::pipe_pool_get_stats().created, 1u);
        ASSERT_EQ(::write(q->prod, "x", 1), 1);
        q->data = 1;
        raw::pipe_put(q);  // holds data: destroyed, never reused
        const auto st = raw::pipe_pool_get_stats();
        EXPECT_EQ(st.cached, 0u);
        EXPECT_EQ(st.destroyed, 1u);
        EXPECT_EQ(st.in_use, 0u);
    });
    t.join();
}

TEST(PipePoolTest, CacheIsBoundedAndPipeCountLimited) {
    std::thread t([] {
        raw::pipe_pool_configure(0, 1, 3);
        xprt::pipe* a = raw::pipe_get();
        xprt::pipe* b = raw::pipe_get();
        xprt::pipe* c = raw::pipe_get();
        ASSERT_NE(c, nullptr);
        EXPECT_EQ(raw::pipe_get(), nullptr);  // max reached: the caller falls back
        EXPECT_EQ(raw::pipe_pool_get_stats().failures, 1u);
        raw::pipe_put(a);
        raw::pipe_put(b);  // cache holds one: this one is closed
        raw::pipe_put(c);
        const auto st = raw::pipe_pool_get_stats();
        EXPECT_EQ(st.cached, 1u);
        EXPECT_EQ(st.destroyed, 2u);
    });
    t.join();
}

TEST(PipePoolTest, PipeSizeIsApplied) {
    std::thread t([] {
        raw::pipe_pool_configure(std::size_t{256} * 1024, 4);
        xprt::pipe* p = raw::pipe_get();
        ASSERT_NE(p, nullptr);
        EXPECT_EQ(p->capacity, 256u * 1024u);
        raw::pipe_put(p);
    });
    t.join();
}

TEST(PipePoolTest, SizeAboveTheSystemMaximumGetsTheMaximum) {
    // Asking for more than fs.pipe-max-size is refused (EPERM) to an unprivileged process; the
    // pool then takes the maximum, not the kernel's 64 KiB default.
    std::size_t max = 0;
    {
        std::ifstream f("/proc/sys/fs/pipe-max-size");
        ASSERT_TRUE(f >> max);
    }
    ASSERT_GT(max, std::size_t{65536}) << "a 64 KiB maximum cannot show the difference";
    std::thread t([max] {
        raw::pipe_pool_configure(max * 4, 4);
        xprt::pipe* a = raw::pipe_get();
        xprt::pipe* b = raw::pipe_get();  // a second new pipe asks for the clamped size at once
        ASSERT_NE(a, nullptr);
        ASSERT_NE(b, nullptr);
        // Exactly the maximum, or more for a process with CAP_SYS_RESOURCE.
        EXPECT_GE(a->capacity, max);
        EXPECT_GE(b->capacity, max);
        EXPECT_EQ(raw::pipe_pool_get_stats().created, 2u);
        raw::pipe_put(a);
        raw::pipe_put(b);
    });
    t.join();
}

}  // namespace
}  // namespace xstack::test
