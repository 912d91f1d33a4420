// event/timer.h - a one-shot timer that wakes a tasklet (handshake and idle timeouts).
#pragma once

#include <cstddef>
#include <cstdint>

namespace xstack::event {

class loop;
class tasklet;

/// A timer armed on a loop; when it expires the loop wakes `task`, which checks `expired()`.
///
/// Re-arming to a later time is O(1) (the new time is recorded and the heap entry moves only
/// when the old time comes), so refreshing an idle timeout on every I/O costs a store.
/// Re-arming earlier, disarming and destruction are O(log n). A timer belongs to one loop.
class timer {
public:
    explicit timer(tasklet& task) noexcept : task_(&task) {}
    ~timer();
    timer(const timer&) = delete;
    timer& operator=(const timer&) = delete;

    [[nodiscard]] bool armed() const noexcept { return loop_ != nullptr; }
    /// Absolute expiry in the loop's milliseconds (meaningful while armed).
    [[nodiscard]] std::uint64_t expire() const noexcept { return expire_; }
    /// True once the loop's time has reached the expiry of an armed timer, or after it fired.
    [[nodiscard]] bool expired(std::uint64_t now_ms) const noexcept {
        return fired_ || (armed() && now_ms >= expire_);
    }
    [[nodiscard]] bool fired() const noexcept { return fired_; }
    [[nodiscard]] tasklet& task() const noexcept { return *task_; }

private:
    friend class loop;
    static constexpr std::size_t npos = static_cast<std::size_t>(-1);
    tasklet* task_;
    loop* loop_ = nullptr;
    std::uint64_t expire_ = 0;  // wanted expiry
    std::uint64_t key_ = 0;     // position in the heap (<= expire_)
    std::size_t idx_ = npos;
    bool fired_ = false;
};

}  // namespace xstack::event
