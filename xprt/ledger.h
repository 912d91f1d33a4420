// xprt/ledger.h - the per-layer ledger: per transport type, the calls made to it, the bytes they
// moved, the calls that moved nothing (EAGAIN-like results), and the time its handshakes took.
// Per thread, summed on demand (`show layers` in xstack-proxy). Layers record their own calls:
// raw per syscall-backed call, ssl per call from above, HS for its handshake.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "xprt/xprt_ops.h"

namespace xstack::xprt {

enum class ledger_item : std::uint8_t {
    rcv_calls,  ///< rcv_buf/rcv_pipe calls that reached the layer's I/O
    rcv_bytes,  ///< bytes they returned
    rcv_zero,   ///< calls that returned 0 without an error or end of stream (would block)
    snd_calls,  ///< snd_buf/snd_pipe calls that reached the layer's I/O
    snd_bytes,  ///< bytes they took
    snd_zero,   ///< calls that took nothing without an error (would block)
    hs_done,    ///< handshakes completed
    hs_failed,  ///< handshakes failed
    hs_ns,      ///< total time from the layer's start to its handshake's end, completed ones
    count_
};
inline constexpr std::size_t ledger_item_count = static_cast<std::size_t>(ledger_item::count_);

/// This thread's ledger cells. A constinit, trivially destructible thread_local, so the data
/// path reaches it with a plain TLS access; registered for ledger_sum() on first use.
struct ledger_cells {
    std::array<std::atomic<std::uint64_t>, xprt_id_count * ledger_item_count> v{};
    bool registered = false;
};
extern thread_local constinit ledger_cells t_ledger;
/// Registers this thread's cells for ledger_sum() (once per thread; control path).
void ledger_register_thread() noexcept;

/// Adds `v` to `item` of transport `id` on this thread's ledger (relaxed, single writer).
inline void ledger_add(xprt_id id, ledger_item item, std::uint64_t v = 1) noexcept {
    if (!t_ledger.registered) [[unlikely]] {
        ledger_register_thread();
    }
    std::atomic<std::uint64_t>& a =
        t_ledger
            .v[static_cast<std::size_t>(id) * ledger_item_count + static_cast<std::size_t>(item)];
    a.store(a.load(std::memory_order_relaxed) + v, std::memory_order_relaxed);
}

/// Records one rcv/snd call of transport `id` that returned `n` bytes; `stalled` marks a call
/// that returned nothing because the layer below (or the socket) had nothing to give or take.
inline void ledger_io(xprt_id id, bool send, std::size_t n, bool stalled) noexcept {
    ledger_add(id, send ? ledger_item::snd_calls : ledger_item::rcv_calls);
    if (n > 0) {
        ledger_add(id, send ? ledger_item::snd_bytes : ledger_item::rcv_bytes, n);
    } else if (stalled) {
        ledger_add(id, send ? ledger_item::snd_zero : ledger_item::rcv_zero);
    }
}

/// One transport type's row, summed over every thread (exited ones included).
struct ledger_row {
    std::array<std::uint64_t, ledger_item_count> v{};
    [[nodiscard]] std::uint64_t operator[](ledger_item i) const noexcept {
        return v[static_cast<std::size_t>(i)];
    }
};
[[nodiscard]] std::array<ledger_row, xprt_id_count> ledger_sum();

}  // namespace xstack::xprt
