// raw/traffic.cc
#include "raw/traffic.h"

#include <algorithm>
#include <mutex>
#include <vector>

namespace xstack::raw {

void freq_ctr::add(std::uint32_t inc, std::uint64_t now_ms, std::uint32_t period_ms) noexcept {
    const std::uint64_t tick = tick_.load(std::memory_order_relaxed);
    const std::uint64_t age = now_ms >= tick ? now_ms - tick : 0;
    if (age < period_ms) {
        curr_.store(curr_.load(std::memory_order_relaxed) + inc, std::memory_order_relaxed);
        return;
    }
    if (age < 2ull * period_ms) {
        // One period ended: it becomes the previous one; the new one starts where it ended.
        prev_.store(curr_.load(std::memory_order_relaxed), std::memory_order_relaxed);
        tick_.store(tick + period_ms, std::memory_order_relaxed);
    } else {
        // Two or more periods without events: nothing carries over.
        prev_.store(0, std::memory_order_relaxed);
        tick_.store(now_ms, std::memory_order_relaxed);
    }
    curr_.store(inc, std::memory_order_relaxed);
}

std::uint32_t freq_ctr::read(std::uint64_t now_ms, std::uint32_t period_ms) const noexcept {
    const std::uint64_t tick = tick_.load(std::memory_order_relaxed);
    std::uint64_t curr = curr_.load(std::memory_order_relaxed);
    std::uint64_t prev = prev_.load(std::memory_order_relaxed);
    std::uint64_t age = now_ms >= tick ? now_ms - tick : 0;
    if (age >= period_ms) {
        // The stored current period is over: it plays the previous one now.
        if (age >= 2ull * period_ms) {
            return 0;
        }
        prev = curr;
        curr = 0;
        age -= period_ms;  // the age within the period that started where the stored one ended
    }
    if (curr == 0 && prev <= 1) {
        return static_cast<std::uint32_t>(prev);  // anti-flapping for very low rates
    }
    const std::uint64_t remain = period_ms - age;
    const std::uint64_t v = curr + (prev * remain) / period_ms;
    return static_cast<std::uint32_t>(std::min<std::uint64_t>(v, UINT32_MAX));
}

namespace {

struct registry_state {
    std::mutex lock;
    std::vector<traffic*> live;
    std::uint64_t retired_bytes_out = 0;
    std::uint64_t retired_spliced_out = 0;
};

registry_state& reg() {
    static registry_state r;  // NOLINT: process-wide registry of per-thread counters
    return r;
}

// The counters are a constinit, trivially destructible thread_local: the hot path reaches them
// with a plain TLS access (no initialisation wrapper call on every count). Registering the
// thread for traffic_sum() is a separate thread_local with a constructor and a destructor,
// touched once per thread, on its first count.
thread_local constinit traffic t_traffic{};
thread_local constinit bool t_registered = false;

struct thread_slot {
    thread_slot() {
        registry_state& r = reg();
        const std::lock_guard<std::mutex> g(r.lock);
        r.live.push_back(&t_traffic);
    }
    ~thread_slot() {
        registry_state& r = reg();
        const std::lock_guard<std::mutex> g(r.lock);
        r.live.erase(std::remove(r.live.begin(), r.live.end(), &t_traffic), r.live.end());
        r.retired_bytes_out += t_traffic.bytes_out.load(std::memory_order_relaxed);
        r.retired_spliced_out += t_traffic.spliced_out.load(std::memory_order_relaxed);
        // t_registered stays true: a count made by a later destructor of this thread is not
        // summed, rather than registering a dying thread again.
    }
    thread_slot(const thread_slot&) = delete;
    thread_slot& operator=(const thread_slot&) = delete;
};

[[gnu::noinline, gnu::cold]] void register_thread() noexcept {
    static thread_local thread_slot slot;  // constructed here, once per thread
    t_registered = true;
}

traffic& local() noexcept {
    if (!t_registered) [[unlikely]] {
        register_thread();
    }
    return t_traffic;
}

void bump(std::atomic<std::uint64_t>& a, std::uint64_t n) noexcept {
    a.store(a.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

}  // namespace

traffic& thread_traffic() noexcept {
    return local();
}

void count_out(std::size_t n, std::uint64_t now_ms) noexcept {
    traffic& t = local();
    bump(t.bytes_out, n);
    t.out_rate32.add(bytes_to_rate_units(n), now_ms);
}

void count_spliced(std::size_t n, std::uint64_t now_ms) noexcept {
    traffic& t = local();
    bump(t.bytes_out, n);
    bump(t.spliced_out, n);
    const std::uint32_t units = bytes_to_rate_units(n);
    t.out_rate32.add(units, now_ms);
    t.spliced_rate32.add(units, now_ms);
}

traffic_totals traffic_sum(std::uint64_t now_ms) {
    registry_state& r = reg();
    const std::lock_guard<std::mutex> g(r.lock);
    traffic_totals s;
    s.bytes_out = r.retired_bytes_out;
    s.spliced_out = r.retired_spliced_out;
    for (const traffic* t : r.live) {
        s.bytes_out += t->bytes_out.load(std::memory_order_relaxed);
        s.spliced_out += t->spliced_out.load(std::memory_order_relaxed);
        s.bytes_out_rate += 32ull * t->out_rate32.read(now_ms);
        s.spliced_out_rate += 32ull * t->spliced_rate32.read(now_ms);
    }
    return s;
}

}  // namespace xstack::raw
