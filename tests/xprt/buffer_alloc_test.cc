// tests/xprt/buffer_alloc_test.cc - the per-thread buffer pool makes no heap allocation in
// steady state, counted by the replacement operator new of tests/support/alloc_hook.
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/alloc_counter.h"
#include "xprt/buffer.h"

namespace xstack::xprt {
namespace {

std::span<const std::byte> bytes(std::string_view s) {
    return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

class BufferPoolTest : public ::testing::Test {
protected:
    void SetUp() override { buffer_pool::configure(4096, 1024); }
    void TearDown() override {
        buffer_pool::trim();
        buffer_pool::configure(buffer_pool::default_area_size, 1024);
    }
};

TEST_F(BufferPoolTest, SteadyStateMakesNoHeapAllocation) {
    // Warm up: as many areas as the steady state holds at once.
    std::vector<std::byte*> held;
    held.reserve(16);
    for (int i = 0; i < 16; ++i) {
        held.push_back(buffer_pool::take());
    }
    for (std::byte* a : held) {
        buffer_pool::give(a);
    }
    held.clear();

    const std::uint64_t allocs = test::allocations();
    const std::uint64_t frees = test::deallocations();
    for (int round = 0; round < 1000; ++round) {
        for (int i = 0; i < 16; ++i) {
            held.push_back(buffer_pool::take());
        }
        for (std::byte* a : held) {
            buffer_pool::give(a);
        }
        held.clear();
        pool_buffer pb;
        pb.alloc();
        pb.put(bytes("request"));
        pb.consume(7);
        pb.release_if_empty();
    }
    EXPECT_EQ(test::allocations() - allocs, 0u);
    EXPECT_EQ(test::deallocations() - frees, 0u);
}

TEST_F(BufferPoolTest, TheAllocationCounterSeesPoolMisses) {
    // Proves the counter used above is live: a cold take allocates.
    buffer_pool::trim();
    const std::uint64_t allocs = test::allocations();
    std::byte* a = buffer_pool::take();
    EXPECT_EQ(test::allocations() - allocs, 1u);
    buffer_pool::give(a);
}

}  // namespace
}  // namespace xstack::xprt
