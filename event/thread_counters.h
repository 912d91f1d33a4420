// event/thread_counters.h - counters kept per thread (no shared cache line on the data path)
// and summed by whoever reads them.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

namespace xstack::event {

/// `N` 64-bit counters per thread for the subsystem `Tag`. add() is a relaxed load+store on the
/// calling thread's slot (single writer); sum() adds every live thread's slot and what exited
/// threads left behind, under a lock (control path).
template <std::size_t N, class Tag>
class thread_counters {
public:
    static void add(std::size_t i, std::uint64_t v = 1) noexcept {
        std::atomic<std::uint64_t>& a = slot().v[i];
        a.store(a.load(std::memory_order_relaxed) + v, std::memory_order_relaxed);
    }
    [[nodiscard]] static std::uint64_t local(std::size_t i) noexcept {
        return slot().v[i].load(std::memory_order_relaxed);
    }
    [[nodiscard]] static std::array<std::uint64_t, N> sum() {
        state& s = shared();
        const std::lock_guard<std::mutex> g(s.lock);
        std::array<std::uint64_t, N> out = s.retired;
        for (const slot_t* t : s.live) {
            for (std::size_t i = 0; i < N; ++i) {
                out[i] += t->v[i].load(std::memory_order_relaxed);
            }
        }
        return out;
    }

private:
    struct slot_t;
    struct state {
        std::mutex lock;
        std::vector<slot_t*> live;
        std::array<std::uint64_t, N> retired{};
    };
    static state& shared() {
        static state s;  // NOLINT: the process-wide list of per-thread slots
        return s;
    }
    struct slot_t {
        std::array<std::atomic<std::uint64_t>, N> v{};
        slot_t() {
            state& s = shared();
            const std::lock_guard<std::mutex> g(s.lock);
            s.live.push_back(this);
        }
        ~slot_t() {
            state& s = shared();
            const std::lock_guard<std::mutex> g(s.lock);
            s.live.erase(std::remove(s.live.begin(), s.live.end(), this), s.live.end());
            for (std::size_t i = 0; i < N; ++i) {
                s.retired[i] += v[i].load(std::memory_order_relaxed);
            }
        }
        slot_t(const slot_t&) = delete;
        slot_t& operator=(const slot_t&) = delete;
    };
    static slot_t& slot() noexcept {
        thread_local slot_t s;
        return s;
    }
};

}  // namespace xstack::event
