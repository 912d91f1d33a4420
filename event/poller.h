// event/poller.h - the kernel readiness interface behind a loop: epoll (level- or edge-
// triggered) or poll() as a fallback. All pollers share fd_table's state machine and pass the
// same test suite (tests/event/poller_test.cc).
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "event/fd_table.h"

namespace xstack::event {

enum class poller_kind : std::uint8_t {
    epoll,     ///< level-triggered epoll with lazy disable (default)
    epoll_et,  ///< edge-triggered epoll: one registration per fd, never modified
    poll,      ///< poll(2): no registration syscalls, O(n) per wait
};
[[nodiscard]] std::string_view to_string(poller_kind k) noexcept;
/// Parses "epoll", "epoll-et" or "poll".
[[nodiscard]] bool poller_kind_from_string(std::string_view s, poller_kind& out) noexcept;

/// Per-poller counters (syscalls avoided are the point; tests read these).
struct poller_stats {
    std::uint64_t waits = 0;    ///< epoll_wait / poll calls
    std::uint64_t events = 0;   ///< events delivered to fds
    std::uint64_t ctl_add = 0;  ///< registration syscalls (epoll only)
    std::uint64_t ctl_mod = 0;
    std::uint64_t ctl_del = 0;
    std::uint64_t updates_seen = 0;  ///< fds taken from the update list
    std::uint64_t updates_noop = 0;  ///< ... whose registration already matched
};

class poller {
public:
    virtual ~poller() = default;
    poller(const poller&) = delete;
    poller& operator=(const poller&) = delete;

    [[nodiscard]] virtual poller_kind kind() const noexcept = 0;
    /// Brings the registration of `fd` in line with fd_table::desired() (edge-triggered: the
    /// first time anything is wanted, registers both directions once). Syscall only on change.
    virtual void update(fd_table& t, int fd) noexcept = 0;
    /// The fd is leaving the table (about to be closed or handed over) with `was` registered.
    virtual void forget(int fd, polled_bits was, bool closing) noexcept = 0;
    /// Waits up to `timeout_ms` (-1: forever) and delivers each event with fd_table::deliver.
    /// Returns the number of events, or -1 with errno on a poller failure (EINTR is 0).
    virtual int wait(fd_table& t, int timeout_ms) noexcept = 0;

    /// True once the kernel has reported a read-hangup (EPOLLRDHUP): a half-close will be
    /// reported by the poller, so readers need not probe with an extra recv (raw rule R8).
    [[nodiscard]] bool rdhup_known() const noexcept { return rdhup_known_; }
    [[nodiscard]] const poller_stats& stats() const noexcept { return stats_; }

    /// Creates a poller; nullptr with errno set if the kernel refuses (e.g. no epoll).
    /// `probe_rdhup`: find out at once whether the kernel reports read-hangups (one throw-away
    /// socketpair, outside the syscall seam) instead of waiting for the first report.
    static std::unique_ptr<poller> create(poller_kind k, int max_events, bool probe_rdhup = true);

    /// Whether this kernel reports EPOLLRDHUP (probed once per process).
    static bool kernel_reports_rdhup() noexcept;

protected:
    poller() = default;
    bool rdhup_known_ = false;
    poller_stats stats_;
};

}  // namespace xstack::event
