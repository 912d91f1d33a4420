// xprt/buffer.h - a wrap-aware ring buffer descriptor, and a per-thread pool of buffer areas.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

namespace xstack::xprt {

/// A byte ring: `size` bytes at `area`, holding `data` bytes starting at `head` (wrapping).
///
/// The descriptor does not own its area: a transport's rcv_buf appends at the tail, snd_buf
/// sends from the head and never removes (the caller consumes what was sent). A buffer can wrap
/// foreign memory (the TLS layer wraps OpenSSL's buffers) or an area from the pool
/// (pool_buffer). When the last byte is consumed the head goes back to 0, so the free space is
/// contiguous again without copying.
class buffer {
public:
    constexpr buffer() noexcept = default;
    /// An empty buffer over `area`.
    explicit buffer(std::span<std::byte> area) noexcept : area_(area.data()), size_(area.size()) {}
    /// A buffer over `area` whose first `len` bytes are data.
    static buffer holding(std::span<std::byte> area, std::size_t len) noexcept {
        buffer b(area);
        b.data_ = std::min(len, area.size());
        return b;
    }

    [[nodiscard]] bool allocated() const noexcept { return area_ != nullptr; }
    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    [[nodiscard]] std::size_t data() const noexcept { return data_; }
    [[nodiscard]] std::size_t room() const noexcept { return size_ - data_; }
    [[nodiscard]] std::size_t head() const noexcept { return head_; }
    [[nodiscard]] bool empty() const noexcept { return data_ == 0; }
    [[nodiscard]] bool full() const noexcept { return data_ == size_; }
    [[nodiscard]] std::byte* area() const noexcept { return area_; }

    /// Up to two contiguous hunks of data from the head, together at most `max` bytes.
    [[nodiscard]] std::array<std::span<const std::byte>, 2> data_hunks(
        std::size_t max) const noexcept {
        const std::size_t n = std::min(max, data_);
        const std::size_t first = std::min(n, size_ - head_);
        return {std::span<const std::byte>(area_ + head_, first),
                std::span<const std::byte>(area_, n - first)};
    }
    /// Up to two contiguous hunks of free space from the tail, together at most `max` bytes.
    [[nodiscard]] std::array<std::span<std::byte>, 2> room_hunks(std::size_t max) const noexcept {
        const std::size_t n = std::min(max, room());
        const std::size_t tail = wrap(head_ + data_);
        const std::size_t first = std::min(n, size_ - tail);
        return {std::span<std::byte>(area_ + tail, first), std::span<std::byte>(area_, n - first)};
    }

    /// Accounts `n` bytes written into the free space (after room_hunks).
    void commit(std::size_t n) noexcept { data_ += std::min(n, room()); }
    /// Drops `n` bytes from the head (what the caller has sent or processed).
    void consume(std::size_t n) noexcept {
        n = std::min(n, data_);
        data_ -= n;
        head_ = data_ == 0 ? 0 : wrap(head_ + n);
    }
    /// Drops everything.
    void reset() noexcept { head_ = data_ = 0; }

    /// Appends bytes (as many as fit); returns how many were copied.
    std::size_t put(std::span<const std::byte> src) noexcept {
        auto h = room_hunks(src.size());
        // Empty hunks may have a null pointer (no area, empty source): memcpy must not see it.
        if (!h[0].empty()) {
            std::memcpy(h[0].data(), src.data(), h[0].size());
        }
        if (!h[1].empty()) {
            std::memcpy(h[1].data(), src.data() + h[0].size(), h[1].size());
        }
        const std::size_t n = h[0].size() + h[1].size();
        data_ += n;
        return n;
    }
    /// Copies up to dst.size() bytes starting `offset` bytes after the head, without consuming.
    std::size_t peek(std::size_t offset, std::span<std::byte> dst) const noexcept {
        if (offset >= data_) {
            return 0;
        }
        const std::size_t n = std::min(dst.size(), data_ - offset);
        if (n == 0) {
            return 0;  // dst may be an empty span with a null pointer: no memcpy
        }
        const std::size_t start = wrap(head_ + offset);
        const std::size_t first = std::min(n, size_ - start);
        std::memcpy(dst.data(), area_ + start, first);
        std::memcpy(dst.data() + first, area_, n - first);
        return n;
    }
    /// Moves the data to the start of the area so it is contiguous.
    void realign() noexcept;

protected:
    void rebind(std::byte* area, std::size_t size) noexcept {
        area_ = area;
        size_ = size;
        head_ = data_ = 0;
    }

private:
    [[nodiscard]] std::size_t wrap(std::size_t pos) const noexcept {
        return pos >= size_ ? pos - size_ : pos;
    }
    std::byte* area_ = nullptr;
    std::size_t size_ = 0;
    std::size_t head_ = 0;
    std::size_t data_ = 0;
};

/// Counters of the calling thread's buffer pool.
struct buffer_pool_stats {
    std::uint64_t allocated = 0;  ///< areas obtained from the heap (ever)
    std::uint64_t freed = 0;      ///< areas returned to the heap (ever)
    std::uint64_t in_use = 0;     ///< areas held by buffers now
    std::uint64_t cached = 0;     ///< areas waiting in the free list
    std::uint64_t peak_in_use = 0;
    std::uint64_t takes = 0;
    std::uint64_t gives = 0;
};

/// The per-thread pool of buffer areas, in two sizes: the regular one (default 16 KiB) for
/// everything, and a large one (default 256 KiB) for a direction known to carry bulk data,
/// where each syscall then moves 16 times more (see pool_buffer::alloc).
///
/// take() serves from the thread's free list (no heap allocation once warmed up); give()
/// returns an area to it, up to `max_cached` areas, and to the heap beyond. Areas must be given
/// back on the thread that took them, to the list of their size.
namespace buffer_pool {
inline constexpr std::size_t default_area_size = 16384;
inline constexpr std::size_t default_large_area_size = 262144;
/// Area size used by this thread's pool (set before the first take()).
void configure(std::size_t area_size, std::size_t max_cached) noexcept;
[[nodiscard]] std::size_t area_size() noexcept;
/// An area of area_size() bytes, or nullptr when out of memory.
[[nodiscard]] std::byte* take() noexcept;
void give(std::byte* area) noexcept;
[[nodiscard]] buffer_pool_stats stats() noexcept;
/// The large areas: the same, with their own size (larger than area_size()) and free list.
void configure_large(std::size_t area_size, std::size_t max_cached) noexcept;
[[nodiscard]] std::size_t large_area_size() noexcept;
[[nodiscard]] std::byte* take_large() noexcept;
void give_large(std::byte* area) noexcept;
[[nodiscard]] buffer_pool_stats large_stats() noexcept;
/// Returns every cached area (both sizes) to the heap.
void trim() noexcept;
}  // namespace buffer_pool

/// A buffer whose area comes from the thread's pool: allocate it when data are about to arrive
/// (alloc), give it back as soon as it is empty (release_if_empty). Move-only.
class pool_buffer : public buffer {
public:
    pool_buffer() noexcept = default;
    ~pool_buffer() { release(); }
    pool_buffer(const pool_buffer&) = delete;
    pool_buffer& operator=(const pool_buffer&) = delete;
    pool_buffer(pool_buffer&& o) noexcept : buffer(o), large_(o.large_) {
        static_cast<buffer&>(o) = buffer();
    }
    pool_buffer& operator=(pool_buffer&& o) noexcept {
        if (this != &o) {
            release();
            static_cast<buffer&>(*this) = o;
            large_ = o.large_;
            static_cast<buffer&>(o) = buffer();
        }
        return *this;
    }

    /// Takes an area if none is held: a large one when `large` (a bulk transfer). False when the
    /// pool is out of memory. A held area is kept whatever its size.
    bool alloc(bool large = false) noexcept {
        if (allocated()) {
            return true;
        }
        std::byte* a = large ? buffer_pool::take_large() : buffer_pool::take();
        if (a == nullptr) {
            return false;
        }
        rebind(a, large ? buffer_pool::large_area_size() : buffer_pool::area_size());
        large_ = large;
        return true;
    }
    /// Gives the area back, to the list it came from (data, if any, are dropped).
    void release() noexcept {
        if (allocated()) {
            if (large_) {
                buffer_pool::give_large(area());
            } else {
                buffer_pool::give(area());
            }
            rebind(nullptr, 0);
        }
    }
    /// Gives the area back if no data remain. Returns true if the buffer no longer holds an area.
    bool release_if_empty() noexcept {
        if (allocated() && empty()) {
            release();
        }
        return !allocated();
    }

private:
    bool large_ = false;  ///< the held area is from the large list
};

}  // namespace xstack::xprt
