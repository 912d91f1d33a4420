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
        std::atomic<std::uint64_t>& a = local().v[i];
        a.store(a.load(std::memory_order_relaxed) + v, std::memory_order_relaxed);
    }
    [[nodiscard]] static std::uint64_t local(std::size_t i) noexcept {
        return local().v[i].load(std::memory_order_relaxed);
    }
    [[nodiscard]] static std::array<std::uint64_t, N> sum() {
        state& s = shared();
        const std::lock_guard<std::mutex> g(s.lock);
        std::array<std::uint64_t, N> out = s.retired;
        for (const cells* t : s.live) {
            for (std::size_t i = 0; i < N; ++i) {
                out[i] += t->v[i].load(std::memory_order_relaxed);
            }
        }
        return out;
    }

private:
    // The cells are a constinit, trivially destructible thread_local: add() reaches them with a
    // plain TLS access, no initialisation wrapper. A separate thread_local with a constructor
    // and destructor registers the thread for sum() on its first add().
    struct cells {
        std::array<std::atomic<std::uint64_t>, N> v{};
        bool registered = false;
    };
    static inline thread_local constinit cells t_cells{};

    struct state {
        std::mutex lock;
        std::vector<const cells*> live;
        std::array<std::uint64_t, N> retired{};
    };
    static state& shared() {
        static state s;  // NOLINT: the process-wide list of per-thread slots
        return s;
    }
    struct registrar {
        registrar() {
            state& s = shared();
            const std::lock_guard<std::mutex> g(s.lock);
            s.live.push_back(&t_cells);
        }
        ~registrar() {
            state& s = shared();
            const std::lock_guard<std::mutex> g(s.lock);
            s.live.erase(std::remove(s.live.begin(), s.live.end(), &t_cells), s.live.end());
            for (std::size_t i = 0; i < N; ++i) {
                s.retired[i] += t_cells.v[i].load(std::memory_order_relaxed);
            }
            // t_cells.registered stays true: a later count on this dying thread is not summed
            // rather than registering the thread again.
        }
        registrar(const registrar&) = delete;
        registrar& operator=(const registrar&) = delete;
    };
    [[gnu::noinline, gnu::cold]] static void register_thread() {
        static thread_local registrar r;
        t_cells.registered = true;
    }
    static cells& local() noexcept {
        if (!t_cells.registered) [[unlikely]] {
            register_thread();
        }
        return t_cells;
    }
};

}  // namespace xstack::event
