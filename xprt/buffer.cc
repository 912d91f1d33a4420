// xprt/buffer.cc - realignment and the per-thread pool of buffer areas.
#include "xprt/buffer.h"

#include <new>

namespace xstack::xprt {

void buffer::realign() noexcept {
    if (data_ == 0) {
        head_ = 0;
        return;
    }
    if (head_ + data_ <= size_) {
        if (head_ != 0) {
            std::memmove(area_, area_ + head_, data_);
            head_ = 0;
        }
        return;
    }
    // Wrapped: rotate the area left by head_ (in place, three reversals).
    std::reverse(area_, area_ + head_);
    std::reverse(area_ + head_, area_ + size_);
    std::reverse(area_, area_ + size_);
    head_ = 0;
}

namespace buffer_pool {
namespace {

struct free_area {
    free_area* next;
};

// One free list per size. Plain thread-local state (trivial type: no guard variable on
// access). Areas still cached when a thread exits are released by the holder's destructor.
struct size_class {
    free_area* head;
    std::size_t area_size;
    std::size_t max_cached;
    buffer_pool_stats st;
};
struct pool_state {
    size_class regular{nullptr, default_area_size, 1024, {}};
    size_class large{nullptr, default_large_area_size, 16, {}};
};
thread_local pool_state pool;

struct pool_reaper {
    ~pool_reaper() { trim(); }
};
thread_local pool_reaper reaper;

void set(size_class& c, std::size_t area_size, std::size_t max_cached) noexcept {
    c.area_size = area_size < sizeof(free_area) ? sizeof(free_area) : area_size;
    c.max_cached = max_cached;
}

std::byte* take_from(size_class& c) noexcept {
    (void)&reaper;  // make sure the reaper is constructed on this thread
    ++c.st.takes;
    std::byte* a = nullptr;
    if (c.head != nullptr) {
        free_area* f = c.head;
        c.head = f->next;
        --c.st.cached;
        f->~free_area();
        a = reinterpret_cast<std::byte*>(f);
    } else {
        a = static_cast<std::byte*>(::operator new(c.area_size, std::nothrow));
        if (a == nullptr) {
            return nullptr;
        }
        ++c.st.allocated;
    }
    ++c.st.in_use;
    if (c.st.in_use > c.st.peak_in_use) {
        c.st.peak_in_use = c.st.in_use;
    }
    return a;
}

void give_to(size_class& c, std::byte* area) noexcept {
    if (area == nullptr) {
        return;
    }
    ++c.st.gives;
    --c.st.in_use;
    if (c.st.cached < c.max_cached) {
        c.head = new (area) free_area{c.head};
        ++c.st.cached;
        return;
    }
    ::operator delete(area);
    ++c.st.freed;
}

void trim_class(size_class& c) noexcept {
    while (c.head != nullptr) {
        free_area* f = c.head;
        c.head = f->next;
        ::operator delete(static_cast<void*>(f));
        ++c.st.freed;
        --c.st.cached;
    }
}

}  // namespace

void configure(std::size_t area_size, std::size_t max_cached) noexcept {
    trim_class(pool.regular);
    set(pool.regular, area_size, max_cached);
}

std::size_t area_size() noexcept {
    return pool.regular.area_size;
}

std::byte* take() noexcept {
    return take_from(pool.regular);
}

void give(std::byte* area) noexcept {
    give_to(pool.regular, area);
}

buffer_pool_stats stats() noexcept {
    return pool.regular.st;
}

void configure_large(std::size_t area_size, std::size_t max_cached) noexcept {
    trim_class(pool.large);
    set(pool.large, area_size, max_cached);
}

std::size_t large_area_size() noexcept {
    return pool.large.area_size;
}

std::byte* take_large() noexcept {
    return take_from(pool.large);
}

void give_large(std::byte* area) noexcept {
    give_to(pool.large, area);
}

buffer_pool_stats large_stats() noexcept {
    return pool.large.st;
}

void trim() noexcept {
    trim_class(pool.regular);
    trim_class(pool.large);
}

}  // namespace buffer_pool
}  // namespace xstack::xprt
