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

// Plain thread-local state (trivial type: no guard variable on access). Areas still cached
// when a thread exits are released by the holder's destructor.
struct pool_state {
    free_area* head = nullptr;
    std::size_t area_size = default_area_size;
    std::size_t max_cached = 1024;
    buffer_pool_stats st{};
};
thread_local pool_state pool;

struct pool_reaper {
    ~pool_reaper() { trim(); }
};
thread_local pool_reaper reaper;

}  // namespace

void configure(std::size_t area_size, std::size_t max_cached) noexcept {
    trim();
    pool.area_size = area_size < sizeof(free_area) ? sizeof(free_area) : area_size;
    pool.max_cached = max_cached;
}

std::size_t area_size() noexcept {
    return pool.area_size;
}

std::byte* take() noexcept {
    (void)&reaper;  // make sure the reaper is constructed on this thread
    ++pool.st.takes;
    std::byte* a = nullptr;
    if (pool.head != nullptr) {
        free_area* f = pool.head;
        pool.head = f->next;
        --pool.st.cached;
        f->~free_area();
        a = reinterpret_cast<std::byte*>(f);
    } else {
        a = static_cast<std::byte*>(::operator new(pool.area_size, std::nothrow));
        if (a == nullptr) {
            return nullptr;
        }
        ++pool.st.allocated;
    }
    ++pool.st.in_use;
    if (pool.st.in_use > pool.st.peak_in_use) {
        pool.st.peak_in_use = pool.st.in_use;
    }
    return a;
}

void give(std::byte* area) noexcept {
    if (area == nullptr) {
        return;
    }
    ++pool.st.gives;
    --pool.st.in_use;
    if (pool.st.cached < pool.max_cached) {
        pool.head = new (area) free_area{pool.head};
        ++pool.st.cached;
        return;
    }
    ::operator delete(area);
    ++pool.st.freed;
}

buffer_pool_stats stats() noexcept {
    return pool.st;
}

void trim() noexcept {
    while (pool.head != nullptr) {
        free_area* f = pool.head;
        pool.head = f->next;
        ::operator delete(static_cast<void*>(f));
        ++pool.st.freed;
        --pool.st.cached;
    }
}

}  // namespace buffer_pool
}  // namespace xstack::xprt
