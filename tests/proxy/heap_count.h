// tests/proxy/heap_count.h - counts the heap allocations made by every thread of the process
// (the in-process proxy runs on worker threads of its own), at the malloc level: operator new,
// OpenSSL's CRYPTO_malloc and the C library all end up there (mmap by hand would not).
//
// Only available in test executables that add tests/proxy/heap_count.cc to their sources: it
// replaces malloc and its relatives with forwarders to the C library's own allocator (or, under
// AddressSanitizer, whose runtime owns malloc, installs the sanitizer's allocation hook instead)
// and replaces the global operator new/delete to count them apart.
//
//   heap::start();
//   ... steady-state work on any threads ...
//   const heap::counts c = heap::stop();
//   EXPECT_EQ(c.mallocs, 0u);
//
// To find who allocates: run under gdb with `break xstack::test::heap::on_counted`; it is
// called for every allocation counted between start() and stop(). gdb stops every thread at a
// breakpoint, so a blocking test client whose socket has a timeout then fails with EINTR: the
// first backtrace is the one to read.
#pragma once

#include <cstddef>
#include <cstdint>

namespace xstack::test::heap {

struct counts {
    /// Heap allocations (malloc, calloc, realloc to a non-zero size, the aligned forms).
    std::uint64_t mallocs = 0;
    /// Of which through the global operator new (every form except the aligned ones).
    std::uint64_t news = 0;
};

/// Resets the counts and starts counting the allocations of every thread not ignored.
void start() noexcept;
/// Stops counting; returns what was counted since start(). Call it once the work it measures
/// is known to be done (e.g. its last response was received): allocations made by another
/// thread before a syscall that this thread's later syscall depends on are included.
counts stop() noexcept;

/// False when the counter could not hook the allocator (a test must then fail, not pass
/// vacuously).
[[nodiscard]] bool installed() noexcept;

/// Called for each counted allocation (a place for a debugger's breakpoint). Not inlined.
void on_counted(std::size_t size) noexcept;

/// While alive, allocations made by the calling thread are not counted: for a test client that
/// stands in for a remote peer (e.g. a TLS client in the same process).
class ignore_this_thread {
public:
    ignore_this_thread() noexcept;
    ~ignore_this_thread();
    ignore_this_thread(const ignore_this_thread&) = delete;
    ignore_this_thread& operator=(const ignore_this_thread&) = delete;
    ignore_this_thread(ignore_this_thread&&) = delete;
    ignore_this_thread& operator=(ignore_this_thread&&) = delete;

private:
    bool was_;
};

}  // namespace xstack::test::heap
