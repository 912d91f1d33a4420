// tests/support/alloc_hook/alloc_hook.cc - replacement global operator new/delete that count
// per thread (see tests/support/alloc_counter.h). Not part of xstack_test_support: a test
// executable opts in by listing this file in its sources.
#include <cstdlib>
#include <new>

#include "tests/support/alloc_counter.h"

namespace {
// Plain thread_local integers: no constructor, so using them inside operator new is safe.
thread_local std::uint64_t t_allocs = 0;
thread_local std::uint64_t t_frees = 0;

void* counted_alloc(std::size_t n) noexcept {
    ++t_allocs;
    return std::malloc(n == 0 ? 1 : n);
}
void counted_free(void* p) noexcept {
    if (p != nullptr) {
        ++t_frees;
        std::free(p);
    }
}
}  // namespace

namespace xstack::test {
std::uint64_t allocations() noexcept {
    return t_allocs;
}
std::uint64_t deallocations() noexcept {
    return t_frees;
}
}  // namespace xstack::test

void* operator new(std::size_t n) {
    void* p = counted_alloc(n);
    if (p == nullptr) {
        throw std::bad_alloc();
    }
    return p;
}
void* operator new[](std::size_t n) {
    void* p = counted_alloc(n);
    if (p == nullptr) {
        throw std::bad_alloc();
    }
    return p;
}
void* operator new(std::size_t n, const std::nothrow_t& /*tag*/) noexcept {
    return counted_alloc(n);
}
void* operator new[](std::size_t n, const std::nothrow_t& /*tag*/) noexcept {
    return counted_alloc(n);
}
void operator delete(void* p) noexcept {
    counted_free(p);
}
void operator delete[](void* p) noexcept {
    counted_free(p);
}
void operator delete(void* p, std::size_t /*n*/) noexcept {
    counted_free(p);
}
void operator delete[](void* p, std::size_t /*n*/) noexcept {
    counted_free(p);
}
void operator delete(void* p, const std::nothrow_t& /*tag*/) noexcept {
    counted_free(p);
}
void operator delete[](void* p, const std::nothrow_t& /*tag*/) noexcept {
    counted_free(p);
}
