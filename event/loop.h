// event/loop.h - one event loop per thread: fd table, poller, run queue, timers, clock.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "event/fd_table.h"
#include "event/poller.h"
#include "event/tasklet.h"
#include "event/timer.h"

namespace xstack::event {

/// A monotonic clock in nanoseconds; tests inject a deterministic one.
using clock_fn = std::uint64_t (*)(void* ctx) noexcept;

struct loop_options {
    poller_kind poller = poller_kind::epoll;
    int max_events = 256;      ///< events taken per wait
    int tasklet_budget = 512;  ///< tasklets run per iteration before polling again
    clock_fn clock = nullptr;  ///< nullptr: CLOCK_MONOTONIC (vDSO, no syscall)
    bool probe_rdhup = true;   ///< learn read-hangup support at start, not at the first report
    void* clock_ctx = nullptr;
};

struct loop_stats {
    std::uint64_t iterations = 0;
    std::uint64_t tasklets_run = 0;
    std::uint64_t timers_fired = 0;
};

/// An event loop. Everything in it is used from the thread that runs it, except
/// request_stop(), which any thread or a signal handler may call.
///
/// One iteration: run queued tasklets (up to the budget) -> flush fd updates to the poller ->
/// wait for events (no wait if tasklets are still queued; else up to the next timer) -> deliver
/// events to fd iocbs (which wake tasklets) -> fire expired timers.
class loop {
public:
    explicit loop(const loop_options& opt = {});
    ~loop();
    loop(const loop&) = delete;
    loop& operator=(const loop&) = delete;

    /// False if the poller could not be created (errno tells why); nothing else works then.
    [[nodiscard]] bool ok() const noexcept { return poller_ != nullptr; }

    [[nodiscard]] fd_table& fds() noexcept { return fds_; }
    [[nodiscard]] const fd_table& fds() const noexcept { return fds_; }
    [[nodiscard]] poller& the_poller() noexcept { return *poller_; }
    [[nodiscard]] poller_kind kind() const noexcept { return poller_->kind(); }
    [[nodiscard]] bool rdhup_known() const noexcept { return poller_->rdhup_known(); }

    /// Registers an fd with its I/O callback; both directions start ready. `et_possible`: the
    /// fd may use edge-triggered registration when the poller is epoll_et (connections yes,
    /// listeners no).
    void fd_insert(int fd, iocb_fn cb, void* owner, bool et_possible = true);
    /// Unregisters an fd and closes it. With linger risk still set, SO_LINGER {1,0} is applied
    /// first so the close sends an RST instead of leaving the port in FIN_WAIT with unread data.
    void fd_delete(int fd) noexcept;
    /// Unregisters an fd without closing it (it stays open for the caller).
    void fd_forget(int fd) noexcept;

    // Tasklets
    void wake(tasklet& t) noexcept;
    void cancel(tasklet& t) noexcept;
    [[nodiscard]] bool has_queued_tasklets() const noexcept { return rq_.next_ != &rq_; }

    // Timers (milliseconds of this loop's clock)
    void arm(timer& t, std::uint64_t expire_ms) noexcept;
    void arm_in(timer& t, std::uint64_t delay_ms) noexcept { arm(t, now_ms() + delay_ms); }
    void disarm(timer& t) noexcept;
    [[nodiscard]] std::size_t armed_timers() const noexcept { return heap_.size(); }

    /// The loop's time, refreshed once per iteration (and by update_time()).
    [[nodiscard]] std::uint64_t now_ms() const noexcept { return now_ns_ / 1000000u; }
    [[nodiscard]] std::uint64_t now_ns() const noexcept { return now_ns_; }
    void update_time() noexcept;

    /// Runs one iteration, waiting at most `max_wait_ms` for events (-1: until an event or
    /// timer). Returns the number of events delivered.
    int run_once(int max_wait_ms = -1) noexcept;
    /// Runs until stop() or request_stop().
    void run() noexcept;
    /// Stops run() at the end of the current iteration (loop thread only).
    void stop() noexcept { stop_ = true; }
    /// Async-signal-safe and thread-safe stop: sets a flag and wakes the poller.
    void request_stop() noexcept;
    [[nodiscard]] bool stopping() const noexcept {
        return stop_ || stop_requested_.load(std::memory_order_relaxed);
    }

    [[nodiscard]] const loop_stats& stats() const noexcept { return stats_; }

private:
    void flush_updates() noexcept;
    void run_tasklets() noexcept;
    void run_timers() noexcept;
    int next_timeout(int max_wait_ms) const noexcept;
    void heap_push(timer& t) noexcept;
    void heap_remove(timer& t) noexcept;
    void heap_sift_up(std::size_t i) noexcept;
    void heap_sift_down(std::size_t i) noexcept;
    static void wake_fd_iocb(void* owner, int fd) noexcept;

    loop_options opt_;
    fd_table fds_;
    std::unique_ptr<poller> poller_;
    tasklet rq_;     // run-queue sentinel (circular list)
    tasklet batch_;  // tasklets taken for the current iteration
    std::vector<timer*> heap_;
    std::uint64_t now_ns_ = 0;
    loop_stats stats_;
    bool stop_ = false;
    std::atomic<bool> stop_requested_{false};
    int wake_fd_ = -1;  // eventfd for request_stop()
};

}  // namespace xstack::event
