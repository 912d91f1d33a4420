// tests/support/alloc_counter.h - count heap allocations made by the calling thread.
//
// Only available in test executables that add tests/support/alloc_hook/alloc_hook.cc to their
// sources: that file replaces the global operator new/delete (in a TU of its own: GCC 12 warns
// falsely about mismatched new/delete when a replacement is inlined, STYLE.md §3.13).
//
//   const auto before = test::allocations();
//   ... steady-state work ...
//   EXPECT_EQ(test::allocations() - before, 0u);
#pragma once

#include <cstdint>

namespace xstack::test {

/// operator new calls (every form except the aligned ones) made by this thread so far.
[[nodiscard]] std::uint64_t allocations() noexcept;
/// operator delete calls on non-null pointers made by this thread so far.
[[nodiscard]] std::uint64_t deallocations() noexcept;

}  // namespace xstack::test
