// tests/support/run_until.h - drive an event loop until something happens, with a deadline.
#pragma once

#include <cstdint>
#include <functional>

#include "event/loop.h"

namespace xstack::test {

/// Runs `l.run_once()` until `pred()` holds or `timeout_ms` of real time have passed.
///
/// `pred` is checked before the first iteration (true at once: no iteration runs) and after
/// each one. Each iteration waits for events at most until the deadline (never sleeps
/// otherwise), so a test that waits for readiness costs only the time the kernel takes.
/// Returns false on timeout: assert on it (`ASSERT_TRUE(run_until(...))`).
bool run_until(event::loop& l, const std::function<bool()>& pred, int timeout_ms = 2000);

/// Runs `n` iterations that do not wait (run_once(0)); for "nothing more happens" checks.
void run_iterations(event::loop& l, int n);

/// A deterministic clock for loop_options: time moves only when the test says so.
///
///   test::manual_clock clk;
///   event::loop l(clk.options());
///   clk.advance_ms(100);
///   l.run_once(0);   // timers due by now fire
struct manual_clock {
    std::uint64_t ns = 1'000'000'000;  ///< starts at 1 s so that "0" is never a valid expiry

    static std::uint64_t read(void* self) noexcept { return static_cast<manual_clock*>(self)->ns; }
    void advance_ms(std::uint64_t ms) noexcept { ns += ms * 1'000'000u; }
    [[nodiscard]] std::uint64_t now_ms() const noexcept { return ns / 1'000'000u; }
    /// Loop options using this clock (the clock must outlive the loop).
    [[nodiscard]] event::loop_options options(
        event::poller_kind k = event::poller_kind::epoll) noexcept {
        event::loop_options o;
        o.poller = k;
        o.clock = &manual_clock::read;
        o.clock_ctx = this;
        return o;
    }
};

}  // namespace xstack::test
