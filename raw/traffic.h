// raw/traffic.h - per-thread traffic counters: bytes sent, bytes spliced, and per-second rates.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace xstack::raw {

/// Events per period with a sliding-window read (HAProxy's freq_ctr), single writer.
///
/// `curr` counts events since `tick` (start of the current period, ms); `prev` holds the count
/// of the period before. Reads estimate the rate over the last period as
/// curr + prev * (time left in the current period) / period. Fields are relaxed atomics so
/// another thread may read while the owner writes.
class freq_ctr {
public:
    /// Adds `inc` events at time `now_ms`, rotating the period if it has ended.
    void add(std::uint32_t inc, std::uint64_t now_ms, std::uint32_t period_ms = 1000) noexcept;
    /// Estimated events per period at time `now_ms`.
    [[nodiscard]] std::uint32_t read(std::uint64_t now_ms,
                                     std::uint32_t period_ms = 1000) const noexcept;

    [[nodiscard]] std::uint64_t tick() const noexcept {
        return tick_.load(std::memory_order_relaxed);
    }
    [[nodiscard]] std::uint32_t curr() const noexcept {
        return curr_.load(std::memory_order_relaxed);
    }
    [[nodiscard]] std::uint32_t prev() const noexcept {
        return prev_.load(std::memory_order_relaxed);
    }

private:
    std::atomic<std::uint64_t> tick_{0};
    std::atomic<std::uint32_t> curr_{0};
    std::atomic<std::uint32_t> prev_{0};
};

/// Byte rates are stored in 32-byte units, rounded: a 32-bit per-second counter then reaches
/// 128 GB/s instead of overflowing at 4 GB/s. Read back x32.
[[nodiscard]] constexpr std::uint32_t bytes_to_rate_units(std::uint64_t n) noexcept {
    return static_cast<std::uint32_t>((n + 16) / 32);
}

/// One thread's counters (single writer: the thread's loop; any thread may read).
struct traffic {
    std::atomic<std::uint64_t> bytes_out{0};    ///< bytes emitted by raw (sent + spliced)
    std::atomic<std::uint64_t> spliced_out{0};  ///< of which spliced
    freq_ctr out_rate32;                        ///< bytes_out per second, / 32
    freq_ctr spliced_rate32;                    ///< spliced_out per second, / 32
};

/// The calling thread's counters (registered for traffic_sum on first use).
[[nodiscard]] traffic& thread_traffic() noexcept;

/// Records `n` bytes sent at `now_ms` on this thread (raw snd_buf).
void count_out(std::size_t n, std::uint64_t now_ms) noexcept;
/// Records `n` bytes spliced into a pipe at `now_ms` (they leave without snd_buf: counted as
/// sent and as spliced).
void count_spliced(std::size_t n, std::uint64_t now_ms) noexcept;

/// Totals over every thread that has counted (threads that exited included).
struct traffic_totals {
    std::uint64_t bytes_out = 0;
    std::uint64_t spliced_out = 0;
    std::uint64_t bytes_out_rate = 0;    ///< bytes/s (the stored units x32)
    std::uint64_t spliced_out_rate = 0;  ///< bytes/s
};
[[nodiscard]] traffic_totals traffic_sum(std::uint64_t now_ms);

}  // namespace xstack::raw
