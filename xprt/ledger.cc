// xprt/ledger.cc
#include "xprt/ledger.h"

#include <algorithm>
#include <mutex>
#include <vector>

namespace xstack::xprt {

thread_local constinit ledger_cells t_ledger{};

namespace {

struct ledger_state {
    std::mutex lock;
    std::vector<const ledger_cells*> live;
    std::array<std::uint64_t, xprt_id_count * ledger_item_count> retired{};
};
ledger_state& state() {
    static ledger_state s;  // NOLINT: the process-wide list of per-thread ledgers
    return s;
}

/// Adds this thread's ledger to the live list; at thread exit retires its counts.
struct registrar {
    registrar() {
        ledger_state& s = state();
        const std::lock_guard<std::mutex> g(s.lock);
        s.live.push_back(&t_ledger);
    }
    ~registrar() {
        ledger_state& s = state();
        const std::lock_guard<std::mutex> g(s.lock);
        s.live.erase(std::remove(s.live.begin(), s.live.end(), &t_ledger), s.live.end());
        for (std::size_t i = 0; i < s.retired.size(); ++i) {
            s.retired[i] += t_ledger.v[i].load(std::memory_order_relaxed);
        }
        // t_ledger.registered stays true: a later count on this dying thread is not summed
        // rather than registering the thread again.
    }
    registrar(const registrar&) = delete;
    registrar& operator=(const registrar&) = delete;
};

}  // namespace

void ledger_register_thread() noexcept {
    static thread_local registrar r;
    t_ledger.registered = true;
}

std::array<ledger_row, xprt_id_count> ledger_sum() {
    ledger_state& s = state();
    const std::lock_guard<std::mutex> g(s.lock);
    std::array<std::uint64_t, xprt_id_count* ledger_item_count> all = s.retired;
    for (const ledger_cells* c : s.live) {
        for (std::size_t i = 0; i < all.size(); ++i) {
            all[i] += c->v[i].load(std::memory_order_relaxed);
        }
    }
    std::array<ledger_row, xprt_id_count> out{};
    for (std::size_t id = 0; id < xprt_id_count; ++id) {
        for (std::size_t i = 0; i < ledger_item_count; ++i) {
            out[id].v[i] = all[id * ledger_item_count + i];
        }
    }
    return out;
}

}  // namespace xstack::xprt
