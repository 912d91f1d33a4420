// event/fd_table.h - per-fd state: what is wanted (ACTIVE), what is known (READY), what the
// kernel has registered (polled), and the update list that turns changes into poller calls.
//
// States per direction (docs/internals/fd-states.md has the diagram):
//   READY ACTIVE
//     0     0    DISABLED  nobody cares, readiness unknown
//     0     1    ACTIVE    wanted and not known ready: must poll
//     1     0    STOPPED   known ready, nobody wants it now
//     1     1    READY     wanted and known ready: just do the I/O
//
// Transitions: want (set ACTIVE) is the only one that queues an update; stop (clear ACTIVE),
// cant (clear READY, after EAGAIN or a short transfer), may (set READY, after a poll report or a
// connect confirmation) and cond (set READY only if neither ACTIVE nor READY) never do. Stopping
// is lazy: the kernel registration stays until the poller reports an event for a direction that
// is no longer active, and only then is an update queued to remove it.
//
// One fd_table per event loop; only that loop's thread touches it.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "event/flag_set.h"

namespace xstack::event {

enum class fd_bit : std::uint32_t {
    active_r = 1u << 0,      ///< someone wants to receive
    ready_r = 1u << 1,       ///< no EAGAIN on receive since the last report
    active_w = 1u << 4,      ///< someone wants to send
    ready_w = 1u << 5,       ///< no EAGAIN on send since the last report
    poll_in = 1u << 8,       ///< last report: readable (replaced at each report)
    poll_pri = 1u << 9,      ///< last report: urgent data (replaced at each report)
    poll_out = 1u << 10,     ///< last report: writable (replaced at each report)
    poll_err = 1u << 11,     ///< an error was reported (sticky until the fd leaves the table)
    poll_hup = 1u << 12,     ///< both directions shut (sticky)
    poll_rdhup = 1u << 13,   ///< peer shut its write side (sticky)
    linger_risk = 1u << 16,  ///< close with SO_LINGER{1,0} (RST) if still set at close
    et = 1u << 17,           ///< edge-triggered registration allowed for this fd
    in_use = 1u << 18,       ///< slot holds a registered fd
    in_update = 1u << 19,    ///< queued in the update list
};
XS_FLAG_ENUM(fd_bit)
using fd_bits = flag_set<fd_bit>;

namespace fd_mask {
inline constexpr fd_bits poll_report = fd_bit::poll_in | fd_bit::poll_pri | fd_bit::poll_out |
                                       fd_bit::poll_err | fd_bit::poll_hup | fd_bit::poll_rdhup;
inline constexpr fd_bits poll_sticky = fd_bit::poll_err | fd_bit::poll_hup | fd_bit::poll_rdhup;
}  // namespace fd_mask

/// What the poller has registered for an fd (kernel side, or the poll() set).
enum class polled_bit : std::uint8_t { r = 1, w = 2, et = 4 };
XS_FLAG_ENUM(polled_bit)
using polled_bits = flag_set<polled_bit>;

/// The fd's I/O callback: called by the loop after a poll report when at least one direction
/// of the fd is active. It must not do I/O (it wakes tasklets and changes fd states).
using iocb_fn = void (*)(void* owner, int fd) noexcept;

struct fd_entry {
    fd_bits st;
    std::uint32_t gen = 0;  ///< generation, incremented each time the fd leaves the table
    polled_bits polled;
    iocb_fn iocb = nullptr;
    void* owner = nullptr;
};

class fd_table {
public:
    fd_table() = default;

    /// Registers `fd` (both directions start READY: speculative I/O needs no poll first).
    /// `et`: the fd may be registered edge-triggered if the poller runs in that mode.
    void insert(int fd, iocb_fn cb, void* owner, bool et);
    /// Forgets `fd`: bumps its generation (stale events are dropped) and clears its state.
    /// Returns what the poller had registered, for the caller to clean up.
    polled_bits remove(int fd) noexcept;

    [[nodiscard]] bool in_use(int fd) const noexcept {
        return valid(fd) && tab_[idx(fd)].st.has(fd_bit::in_use);
    }
    [[nodiscard]] fd_bits state(int fd) const noexcept { return tab_[idx(fd)].st; }
    [[nodiscard]] fd_entry& entry(int fd) noexcept { return tab_[idx(fd)]; }
    [[nodiscard]] const fd_entry& entry(int fd) const noexcept { return tab_[idx(fd)]; }
    [[nodiscard]] std::uint32_t generation(int fd) const noexcept { return tab_[idx(fd)].gen; }

    [[nodiscard]] bool recv_ready(int fd) const noexcept { return has(fd, fd_bit::ready_r); }
    [[nodiscard]] bool send_ready(int fd) const noexcept { return has(fd, fd_bit::ready_w); }
    [[nodiscard]] bool recv_active(int fd) const noexcept { return has(fd, fd_bit::active_r); }
    [[nodiscard]] bool send_active(int fd) const noexcept { return has(fd, fd_bit::active_w); }

    void want_recv(int fd) noexcept { want(fd, fd_bit::active_r); }
    void want_send(int fd) noexcept { want(fd, fd_bit::active_w); }
    void stop_recv(int fd) noexcept { tab_[idx(fd)].st.clear(fd_bit::active_r); }
    void stop_send(int fd) noexcept { tab_[idx(fd)].st.clear(fd_bit::active_w); }
    void stop_both(int fd) noexcept { tab_[idx(fd)].st.clear(fd_bit::active_r | fd_bit::active_w); }
    void cant_recv(int fd) noexcept { tab_[idx(fd)].st.clear(fd_bit::ready_r); }
    void cant_send(int fd) noexcept { tab_[idx(fd)].st.clear(fd_bit::ready_w); }
    void may_recv(int fd) noexcept { tab_[idx(fd)].st.set(fd_bit::ready_r); }
    void may_send(int fd) noexcept { tab_[idx(fd)].st.set(fd_bit::ready_w); }
    void may_both(int fd) noexcept { tab_[idx(fd)].st.set(fd_bit::ready_r | fd_bit::ready_w); }
    /// Sets READY only if the direction is neither active nor ready (does not interfere with a
    /// poll already requested).
    void cond_recv(int fd) noexcept { cond(fd, fd_bit::active_r, fd_bit::ready_r); }
    void cond_send(int fd) noexcept { cond(fd, fd_bit::active_w, fd_bit::ready_w); }

    void set_linger_risk(int fd, bool on) noexcept {
        tab_[idx(fd)].st.assign(fd_bit::linger_risk, on);
    }
    [[nodiscard]] bool linger_risk(int fd) const noexcept { return has(fd, fd_bit::linger_risk); }

    /// Delivers a poll report (poll_* bits): updates the report and READY bits, queues an update
    /// for a reported direction nobody wants (lazy disable, level-triggered only), then calls the
    /// fd's iocb if a direction is active. `gen` must match the fd's generation, else the event
    /// is stale (the fd was closed and its number reused) and is dropped; returns false then.
    bool deliver(int fd, std::uint32_t gen, fd_bits report) noexcept;

    /// The fds whose desired registration may differ from the polled one. The poller takes the
    /// list at the start of each loop iteration.
    [[nodiscard]] std::span<const int> updates() const noexcept { return updates_; }
    void clear_updates() noexcept;
    /// Queues `fd` for an update (deduplicated).
    void queue_update(int fd) noexcept;

    /// Stale events dropped since the table was created (generation mismatch or unknown fd).
    [[nodiscard]] std::uint64_t stale_events() const noexcept { return stale_; }

    /// The registration the poller should have for `fd` in level-triggered mode:
    /// recv when active, or — to learn Rx readiness for free — when not known ready, not shut or
    /// failed, and either send is active or the fd is already registered; send when active.
    [[nodiscard]] polled_bits desired(int fd) const noexcept;

private:
    static std::size_t idx(int fd) noexcept { return static_cast<std::size_t>(fd); }
    [[nodiscard]] bool valid(int fd) const noexcept { return fd >= 0 && idx(fd) < tab_.size(); }
    [[nodiscard]] bool has(int fd, fd_bit b) const noexcept { return tab_[idx(fd)].st.has(b); }
    void want(int fd, fd_bit active) noexcept {
        fd_entry& e = tab_[idx(fd)];
        if (!e.st.has(active)) {
            e.st.set(active);
            queue_update(fd);
        }
    }
    void cond(int fd, fd_bit active, fd_bit ready) noexcept {
        fd_entry& e = tab_[idx(fd)];
        if (!e.st.any(fd_bits(active) | ready)) {
            e.st.set(ready);
        }
    }

    std::vector<fd_entry> tab_;
    std::vector<int> updates_;
    std::uint64_t stale_ = 0;
};

}  // namespace xstack::event
