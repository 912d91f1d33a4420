// tests/xprt/buffer_test.cc - the ring buffer (wrap-aware hunks, put/peek/consume/realign) and
// the per-thread buffer pool (reuse without allocation in steady state).
#include "xprt/buffer.h"

#include <deque>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace xstack::xprt {
namespace {

std::span<const std::byte> bytes(std::string_view s) {
    return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

std::string to_str(std::span<const std::byte> s) {
    return {reinterpret_cast<const char*>(s.data()), s.size()};
}

/// The buffer's data, head first, via peek.
std::string contents(const buffer& b) {
    std::string out(b.data(), '\0');
    EXPECT_EQ(b.peek(0, std::span<std::byte>(reinterpret_cast<std::byte*>(out.data()), out.size())),
              b.data());
    return out;
}

class BufferTest : public ::testing::Test {
protected:
    std::vector<std::byte> area_ = std::vector<std::byte>(8);
    buffer b_{area_};

    /// head at 4, data "WXYZ" + "abc" wrapped: [abc?WXYZ]
    void make_wrapped() {
        ASSERT_EQ(b_.put(bytes("1234WXYZ")), 8u);
        b_.consume(4);
        ASSERT_EQ(b_.put(bytes("abc")), 3u);
        ASSERT_EQ(b_.head(), 4u);
        ASSERT_EQ(b_.data(), 7u);
    }
};

TEST(BufferBasicsTest, DefaultBufferHasNoArea) {
    buffer b;
    EXPECT_FALSE(b.allocated());
    EXPECT_EQ(b.size(), 0u);
    EXPECT_EQ(b.room(), 0u);
    EXPECT_TRUE(b.empty());
    EXPECT_TRUE(b.full()) << "no room at all";
    EXPECT_EQ(b.put(bytes("x")), 0u);
}

TEST(BufferBasicsTest, HoldingWrapsExistingData) {
    std::string s = "hello, world";
    auto area = std::span<std::byte>(reinterpret_cast<std::byte*>(s.data()), s.size());
    buffer b = buffer::holding(area, 5);
    EXPECT_EQ(b.data(), 5u);
    EXPECT_EQ(contents(b), "hello");
    EXPECT_EQ(buffer::holding(area, 100).data(), s.size()) << "clamped to the area";
}

TEST_F(BufferTest, PutPeekConsume) {
    EXPECT_EQ(b_.put(bytes("abc")), 3u);
    EXPECT_EQ(b_.data(), 3u);
    EXPECT_EQ(b_.room(), 5u);
    EXPECT_EQ(contents(b_), "abc");
    b_.consume(1);
    EXPECT_EQ(contents(b_), "bc");
    EXPECT_EQ(b_.head(), 1u);
    std::byte one[1];
    EXPECT_EQ(b_.peek(1, one), 1u);
    EXPECT_EQ(static_cast<char>(one[0]), 'c');
    EXPECT_EQ(b_.peek(2, one), 0u) << "offset past the data";
    EXPECT_EQ(b_.peek(0, {}), 0u) << "nothing asked";
    EXPECT_EQ(b_.put({}), 0u) << "nothing given";
    EXPECT_EQ(contents(b_), "bc");
}

TEST_F(BufferTest, PutStopsWhenFull) {
    EXPECT_EQ(b_.put(bytes("0123456789")), 8u);
    EXPECT_TRUE(b_.full());
    EXPECT_EQ(b_.room(), 0u);
    EXPECT_EQ(b_.put(bytes("x")), 0u);
    EXPECT_EQ(contents(b_), "01234567");
}

TEST_F(BufferTest, ConsumingEverythingResetsTheHead) {
    b_.put(bytes("abcdef"));
    b_.consume(5);
    EXPECT_EQ(b_.head(), 5u);
    b_.consume(1);
    EXPECT_TRUE(b_.empty());
    EXPECT_EQ(b_.head(), 0u) << "free space is contiguous again without copying";
    auto r = b_.room_hunks(100);
    EXPECT_EQ(r[0].size(), 8u);
    EXPECT_EQ(r[1].size(), 0u);
}

TEST_F(BufferTest, ConsumeAndCommitClamp) {
    b_.put(bytes("abc"));
    b_.consume(10);
    EXPECT_TRUE(b_.empty());
    b_.commit(100);
    EXPECT_EQ(b_.data(), 8u);
    EXPECT_TRUE(b_.full());
    b_.reset();
    EXPECT_TRUE(b_.empty());
    EXPECT_EQ(b_.head(), 0u);
}

TEST_F(BufferTest, DataHunksOfWrappedData) {
    make_wrapped();
    auto h = b_.data_hunks(100);
    EXPECT_EQ(to_str(h[0]), "WXYZ");
    EXPECT_EQ(to_str(h[1]), "abc");
    h = b_.data_hunks(5);
    EXPECT_EQ(to_str(h[0]), "WXYZ");
    EXPECT_EQ(to_str(h[1]), "a");
    h = b_.data_hunks(2);
    EXPECT_EQ(to_str(h[0]), "WX");
    EXPECT_TRUE(h[1].empty());
}

TEST_F(BufferTest, RoomHunksOfWrappedFreeSpace) {
    b_.put(bytes("123456"));
    b_.consume(4);  // head 4, data "56" at 4..5, free: 6..7 then 0..3
    auto r = b_.room_hunks(100);
    EXPECT_EQ(r[0].data(), area_.data() + 6);
    EXPECT_EQ(r[0].size(), 2u);
    EXPECT_EQ(r[1].data(), area_.data());
    EXPECT_EQ(r[1].size(), 4u);
    r = b_.room_hunks(3);
    EXPECT_EQ(r[0].size(), 2u);
    EXPECT_EQ(r[1].size(), 1u);
}

TEST_F(BufferTest, RoomHunkOfWrappedDataIsInTheMiddle) {
    make_wrapped();
    auto r = b_.room_hunks(100);
    EXPECT_EQ(r[0].data(), area_.data() + 3);
    EXPECT_EQ(r[0].size(), 1u);
    EXPECT_TRUE(r[1].empty());
}

TEST_F(BufferTest, PutAcrossTheWrapAndCommitBothHunks) {
    b_.put(bytes("123456"));
    b_.consume(4);
    EXPECT_EQ(b_.put(bytes("abcd")), 4u);  // 2 at the end, 2 at the start
    EXPECT_EQ(contents(b_), "56abcd");
    // Writing through room_hunks then committing is the same as put.
    auto r = b_.room_hunks(2);
    ASSERT_EQ(r[0].size(), 2u);
    std::memcpy(r[0].data(), "ef", 2);
    b_.commit(2);
    EXPECT_EQ(contents(b_), "56abcdef");
    EXPECT_TRUE(b_.full());
}

TEST_F(BufferTest, PeekAcrossTheWrap) {
    make_wrapped();
    std::string out(5, '\0');
    auto dst = std::span<std::byte>(reinterpret_cast<std::byte*>(out.data()), out.size());
    EXPECT_EQ(b_.peek(2, dst), 5u);
    EXPECT_EQ(out, "YZabc");
    EXPECT_EQ(b_.peek(5, dst), 2u);
    EXPECT_EQ(out.substr(0, 2), "bc");
    EXPECT_EQ(b_.data(), 7u) << "peek does not consume";
}

TEST_F(BufferTest, RealignWrappedData) {
    make_wrapped();
    b_.realign();
    EXPECT_EQ(b_.head(), 0u);
    EXPECT_EQ(b_.data(), 7u);
    EXPECT_EQ(to_str({area_.data(), 7}), "WXYZabc");
    EXPECT_EQ(contents(b_), "WXYZabc");
    auto r = b_.room_hunks(100);
    EXPECT_EQ(r[0].data(), area_.data() + 7);
    EXPECT_EQ(r[0].size(), 1u);
}

TEST_F(BufferTest, RealignUnwrappedDataMovesItToTheStart) {
    b_.put(bytes("abcdefgh"));
    b_.consume(5);  // "fgh" at 5..7, ending exactly at the end of the area
    b_.realign();
    EXPECT_EQ(b_.head(), 0u);
    EXPECT_EQ(contents(b_), "fgh");
    EXPECT_EQ(to_str({area_.data(), 3}), "fgh");
    b_.realign();  // already aligned: nothing changes
    EXPECT_EQ(contents(b_), "fgh");
}

TEST_F(BufferTest, RealignEmptyResetsTheHead) {
    b_.put(bytes("ab"));
    b_.consume(1);
    b_.consume(1);
    b_.realign();
    EXPECT_EQ(b_.head(), 0u);
    EXPECT_TRUE(b_.empty());
}

TEST(BufferPropertyTest, RandomOperationsMatchADeque) {
    std::mt19937 rng(1234);
    for (std::size_t size : {1u, 2u, 7u, 16u, 31u}) {
        std::vector<std::byte> area(size);
        buffer b(area);
        std::deque<char> model;
        char next = 'a';
        for (int step = 0; step < 5000; ++step) {
            SCOPED_TRACE("size " + std::to_string(size) + " step " + std::to_string(step));
            switch (rng() % 5) {
            case 0: {  // put
                std::string s(rng() % (size + 2), '\0');
                for (char& c : s) {
                    c = next;
                    next = next == 'z' ? 'a' : static_cast<char>(next + 1);
                }
                const std::size_t n = b.put(bytes(s));
                ASSERT_EQ(n, std::min(s.size(), size - model.size()));
                model.insert(model.end(), s.begin(), s.begin() + static_cast<long>(n));
                break;
            }
            case 1: {  // write through room_hunks, then commit
                const std::size_t want = rng() % (size + 2);
                auto r = b.room_hunks(want);
                const std::size_t n = r[0].size() + r[1].size();
                ASSERT_EQ(n, std::min(want, size - model.size()));
                for (auto& h : r) {
                    for (std::byte& x : h) {
                        x = static_cast<std::byte>(next);
                        model.push_back(next);
                        next = next == 'z' ? 'a' : static_cast<char>(next + 1);
                    }
                }
                b.commit(n);
                break;
            }
            case 2: {  // consume
                const std::size_t n = rng() % (size + 2);
                b.consume(n);
                model.erase(model.begin(),
                            model.begin() + static_cast<long>(std::min(n, model.size())));
                break;
            }
            case 3:
                b.realign();
                ASSERT_EQ(b.head(), 0u);
                break;
            default: {  // data hunks must spell the model
                std::string seen;
                for (const auto& h : b.data_hunks(size)) {
                    seen += to_str(h);
                }
                ASSERT_EQ(seen, std::string(model.begin(), model.end()));
                break;
            }
            }
            ASSERT_EQ(b.data(), model.size());
            ASSERT_EQ(b.room(), size - model.size());
            ASSERT_LT(b.head(), size);
            if (model.empty()) {
                ASSERT_EQ(b.head(), 0u);
            }
            ASSERT_EQ(contents(b), std::string(model.begin(), model.end()));
        }
    }
}

// --- the pool -----------------------------------------------------------------------------------

class BufferPoolTest : public ::testing::Test {
protected:
    void SetUp() override { buffer_pool::configure(4096, 1024); }
    void TearDown() override {
        buffer_pool::trim();
        buffer_pool::configure(buffer_pool::default_area_size, 1024);
    }
};

TEST_F(BufferPoolTest, TakeAfterGiveReusesTheArea) {
    const auto before = buffer_pool::stats();
    std::byte* a = buffer_pool::take();
    ASSERT_NE(a, nullptr);
    buffer_pool::give(a);
    std::byte* b = buffer_pool::take();
    EXPECT_EQ(b, a);
    buffer_pool::give(b);
    const auto after = buffer_pool::stats();
    EXPECT_EQ(after.allocated - before.allocated, 1u);
    EXPECT_EQ(after.takes - before.takes, 2u);
    EXPECT_EQ(after.gives - before.gives, 2u);
    EXPECT_EQ(after.in_use, 0u);
    EXPECT_EQ(after.cached, 1u);
}

TEST_F(BufferPoolTest, CacheIsBounded) {
    buffer_pool::configure(4096, 2);
    const auto before = buffer_pool::stats();
    std::byte* a = buffer_pool::take();
    std::byte* b = buffer_pool::take();
    std::byte* c = buffer_pool::take();
    EXPECT_EQ(buffer_pool::stats().in_use, 3u);
    EXPECT_GE(buffer_pool::stats().peak_in_use, 3u);
    buffer_pool::give(a);
    buffer_pool::give(b);
    buffer_pool::give(c);  // beyond max_cached: back to the heap
    const auto after = buffer_pool::stats();
    EXPECT_EQ(after.cached, 2u);
    EXPECT_EQ(after.freed - before.freed, 1u);
    EXPECT_EQ(after.in_use, 0u);
}

TEST_F(BufferPoolTest, TrimAndConfigureReturnCachedAreasToTheHeap) {
    std::byte* a = buffer_pool::take();
    std::byte* b = buffer_pool::take();
    buffer_pool::give(a);
    buffer_pool::give(b);
    ASSERT_EQ(buffer_pool::stats().cached, 2u);
    const auto freed = buffer_pool::stats().freed;
    buffer_pool::trim();
    EXPECT_EQ(buffer_pool::stats().cached, 0u);
    EXPECT_EQ(buffer_pool::stats().freed - freed, 2u);

    buffer_pool::give(buffer_pool::take());
    buffer_pool::configure(8192, 16);
    EXPECT_EQ(buffer_pool::stats().cached, 0u) << "areas of the old size are not kept";
    EXPECT_EQ(buffer_pool::area_size(), 8192u);
}

TEST_F(BufferPoolTest, LargeAreasHaveTheirOwnSizeAndList) {
    buffer_pool::configure_large(65536, 4);
    const auto small_before = buffer_pool::stats();
    const auto large_before = buffer_pool::large_stats();
    {
        pool_buffer big;
        ASSERT_TRUE(big.alloc(true));
        EXPECT_EQ(big.size(), 65536u);
        EXPECT_EQ(buffer_pool::large_stats().in_use, large_before.in_use + 1);
        EXPECT_TRUE(big.alloc(false)) << "a held area is kept whatever its size";
        EXPECT_EQ(big.size(), 65536u);
        pool_buffer small;
        ASSERT_TRUE(small.alloc());
        EXPECT_EQ(small.size(), 4096u);
        EXPECT_EQ(big.put(bytes(std::string(70000, 'x'))), 65536u);
    }  // both released, each to the list of its size
    const auto small_after = buffer_pool::stats();
    const auto large_after = buffer_pool::large_stats();
    EXPECT_EQ(small_after.takes - small_before.takes, 1u);
    EXPECT_EQ(small_after.gives - small_before.gives, 1u);
    EXPECT_EQ(large_after.takes - large_before.takes, 1u);
    EXPECT_EQ(large_after.gives - large_before.gives, 1u);
    EXPECT_EQ(large_after.in_use, 0u);
    EXPECT_EQ(large_after.cached, 1u);

    pool_buffer again;
    ASSERT_TRUE(again.alloc(true));
    EXPECT_EQ(buffer_pool::large_stats().allocated, large_after.allocated) << "reused";
    again.release();
    buffer_pool::trim();
    EXPECT_EQ(buffer_pool::large_stats().cached, 0u);
    buffer_pool::configure_large(buffer_pool::default_large_area_size, 16);
}

TEST_F(BufferPoolTest, GiveNullIsIgnored) {
    const auto before = buffer_pool::stats();
    buffer_pool::give(nullptr);
    EXPECT_EQ(buffer_pool::stats().gives, before.gives);
}

TEST_F(BufferPoolTest, EachThreadHasItsOwnPool) {
    std::byte* mine = buffer_pool::take();
    buffer_pool::give(mine);
    const auto before = buffer_pool::stats();
    buffer_pool_stats theirs{};
    std::thread other([&] {
        std::byte* a = buffer_pool::take();  // cold: the other thread's cache is empty
        buffer_pool::give(a);
        theirs = buffer_pool::stats();
        // Areas still cached at thread exit go back to the heap (LSan checks it in ASan runs).
    });
    other.join();
    EXPECT_EQ(theirs.allocated, 1u);
    EXPECT_EQ(theirs.takes, 1u);
    EXPECT_EQ(buffer_pool::stats().takes, before.takes) << "this thread's counters unchanged";
}

TEST_F(BufferPoolTest, PoolBufferAllocAndReleaseIfEmpty) {
    pool_buffer pb;
    EXPECT_FALSE(pb.allocated());
    EXPECT_TRUE(pb.release_if_empty()) << "nothing held";
    ASSERT_TRUE(pb.alloc());
    EXPECT_TRUE(pb.allocated());
    EXPECT_EQ(pb.size(), buffer_pool::area_size());
    std::byte* area = pb.area();
    EXPECT_TRUE(pb.alloc()) << "idempotent";
    EXPECT_EQ(pb.area(), area);
    pb.put(bytes("data"));
    EXPECT_FALSE(pb.release_if_empty()) << "holds data: keeps the area";
    EXPECT_TRUE(pb.allocated());
    pb.consume(4);
    EXPECT_TRUE(pb.release_if_empty());
    EXPECT_FALSE(pb.allocated());
    EXPECT_EQ(pb.size(), 0u);
    EXPECT_EQ(buffer_pool::stats().in_use, 0u);
}

TEST_F(BufferPoolTest, PoolBufferReleaseDropsDataAndDestructorGivesBack) {
    {
        pool_buffer pb;
        ASSERT_TRUE(pb.alloc());
        pb.put(bytes("dropped"));
        EXPECT_EQ(buffer_pool::stats().in_use, 1u);
    }
    EXPECT_EQ(buffer_pool::stats().in_use, 0u);
    pool_buffer pb;
    ASSERT_TRUE(pb.alloc());
    pb.put(bytes("x"));
    pb.release();
    EXPECT_FALSE(pb.allocated());
    EXPECT_TRUE(pb.empty());
}

TEST_F(BufferPoolTest, PoolBufferMovesTheArea) {
    pool_buffer a;
    ASSERT_TRUE(a.alloc());
    a.put(bytes("moved"));
    std::byte* area = a.area();
    pool_buffer b(std::move(a));
    EXPECT_FALSE(
        a.allocated());  // NOLINT(bugprone-use-after-move,clang-analyzer-cplusplus.Move): defined
    EXPECT_EQ(b.area(), area);
    EXPECT_EQ(contents(b), "moved");
    pool_buffer c;
    ASSERT_TRUE(c.alloc());
    c = std::move(b);  // c's own area goes back to the pool
    EXPECT_EQ(c.area(), area);
    EXPECT_EQ(buffer_pool::stats().in_use, 1u);
}

}  // namespace
}  // namespace xstack::xprt
