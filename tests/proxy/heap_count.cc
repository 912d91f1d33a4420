// tests/proxy/heap_count.cc - see heap_count.h. In a TU of its own: GCC 12 warns falsely about
// mismatched new/delete when a replacement operator new is inlined (STYLE.md §3.13).
#include "tests/proxy/heap_count.h"

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <new>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define XS_HEAP_COUNT_ASAN 1
#endif
#endif
#if !defined(XS_HEAP_COUNT_ASAN) && defined(__SANITIZE_ADDRESS__)
#define XS_HEAP_COUNT_ASAN 1
#endif
#if !defined(XS_HEAP_COUNT_ASAN)
#define XS_HEAP_COUNT_ASAN 0
#endif

namespace {

std::atomic<bool> g_on{false};
std::atomic<std::uint64_t> g_mallocs{0};
std::atomic<std::uint64_t> g_news{0};
// Plain thread_local bool: no constructor, no guard, so reading it inside malloc is safe. Read
// only while counting is on (never during the process's early start-up).
thread_local bool t_ignored = false;

bool counting() noexcept {
    return g_on.load() && !t_ignored;
}

void count_malloc(std::size_t n) noexcept {
    if (counting()) {
        g_mallocs.fetch_add(1);
        xstack::test::heap::on_counted(n);
    }
}

void* counted_new(std::size_t n) noexcept {
    if (counting()) {
        g_news.fetch_add(1);
    }
    return std::malloc(n == 0 ? 1 : n);  // counted again, as a malloc
}

}  // namespace

namespace xstack::test::heap {

void start() noexcept {
    g_mallocs.store(0);
    g_news.store(0);
    g_on.store(true);
}

counts stop() noexcept {
    g_on.store(false);
    return {g_mallocs.load(), g_news.load()};
}

[[gnu::noinline]] void on_counted(std::size_t size) noexcept {
    // Keeps the call (and its argument) from being optimised away: a breakpoint lands here.
    asm volatile("" : : "r"(size) : "memory");
}

ignore_this_thread::ignore_this_thread() noexcept : was_(t_ignored) {
    t_ignored = true;
}

ignore_this_thread::~ignore_this_thread() {
    t_ignored = was_;
}

}  // namespace xstack::test::heap

#if XS_HEAP_COUNT_ASAN
// AddressSanitizer's runtime defines malloc; it calls this hook for every allocation (operator
// new, malloc, calloc, realloc, the aligned forms). Installed during static initialisation, as
// the sanitizer asks, before any test thread exists.
// NOLINTNEXTLINE(bugprone-reserved-identifier,readability-identifier-naming): the runtime's name
extern "C" int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void*,
                                                                             std::size_t),
                                                         void (*free_hook)(const volatile void*));

namespace {
void asan_malloc_hook(const volatile void* /*p*/, std::size_t n) {
    count_malloc(n);
}
void asan_free_hook(const volatile void* /*p*/) {}
const int g_asan_hooks =
    __sanitizer_install_malloc_and_free_hooks(asan_malloc_hook, asan_free_hook);
}  // namespace

bool xstack::test::heap::installed() noexcept {
    return g_asan_hooks > 0;
}
#else
// glibc exports its allocator under these names too, so a malloc defined in the executable can
// count and forward to it. glibc supports replacing malloc this way: its own calls, libstdc++'s
// operator new and OpenSSL's CRYPTO_malloc all resolve to the definitions below.
extern "C" {
// NOLINTBEGIN(bugprone-reserved-identifier,readability-identifier-naming): glibc's own names
void* __libc_malloc(std::size_t n) noexcept;
void* __libc_calloc(std::size_t k, std::size_t n) noexcept;
void* __libc_realloc(void* p, std::size_t n) noexcept;
void* __libc_memalign(std::size_t align, std::size_t n) noexcept;
void __libc_free(void* p) noexcept;
// NOLINTEND(bugprone-reserved-identifier,readability-identifier-naming)

void* malloc(std::size_t n) noexcept {
    count_malloc(n);
    return __libc_malloc(n);
}
void* calloc(std::size_t k, std::size_t n) noexcept {
    count_malloc(k * n);
    return __libc_calloc(k, n);
}
void* realloc(void* p, std::size_t n) noexcept {
    if (n != 0) {
        count_malloc(n);
    }
    return __libc_realloc(p, n);
}
void free(void* p) noexcept {
    __libc_free(p);
}
void* memalign(std::size_t align, std::size_t n) noexcept {
    count_malloc(n);
    return __libc_memalign(align, n);
}
void* aligned_alloc(std::size_t align, std::size_t n) noexcept {
    count_malloc(n);
    return __libc_memalign(align, n);
}
int posix_memalign(void** out, std::size_t align, std::size_t n) noexcept {
    if (align == 0 || align % sizeof(void*) != 0 || (align & (align - 1)) != 0) {
        return EINVAL;
    }
    count_malloc(n);
    void* p = __libc_memalign(align, n);
    if (p == nullptr) {
        return ENOMEM;
    }
    *out = p;
    return 0;
}
}  // extern "C"

bool xstack::test::heap::installed() noexcept {
    return true;  // the definitions above replace the C library's at link time
}
#endif

void* operator new(std::size_t n) {
    void* p = counted_new(n);
    if (p == nullptr) {
        throw std::bad_alloc();
    }
    return p;
}
void* operator new[](std::size_t n) {
    void* p = counted_new(n);
    if (p == nullptr) {
        throw std::bad_alloc();
    }
    return p;
}
void* operator new(std::size_t n, const std::nothrow_t& /*tag*/) noexcept {
    return counted_new(n);
}
void* operator new[](std::size_t n, const std::nothrow_t& /*tag*/) noexcept {
    return counted_new(n);
}
void operator delete(void* p) noexcept {
    std::free(p);
}
void operator delete[](void* p) noexcept {
    std::free(p);
}
void operator delete(void* p, std::size_t /*n*/) noexcept {
    std::free(p);
}
void operator delete[](void* p, std::size_t /*n*/) noexcept {
    std::free(p);
}
void operator delete(void* p, const std::nothrow_t& /*tag*/) noexcept {
    std::free(p);
}
void operator delete[](void* p, const std::nothrow_t& /*tag*/) noexcept {
    std::free(p);
}
