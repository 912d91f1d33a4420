// event/tasklet.h - a lightweight run-queue callback, woken by I/O readiness or by code.
#pragma once

#include <cstdint>

namespace xstack::event {

class loop;

/// A callback the loop runs from its run queue.
///
/// Waking an already queued tasklet does nothing; a tasklet runs at most once per wake. The
/// callback may destroy the tasklet it runs on (a handshake layer freeing itself): the loop
/// does not touch it after the call. Destroying a queued tasklet removes it from the queue.
/// A tasklet belongs to one loop and is used only on that loop's thread.
class tasklet {
public:
    using fn_t = void (*)(tasklet& self, void* ctx) noexcept;

    tasklet(loop& l, fn_t fn, void* ctx, const char* name = "tasklet") noexcept
        : loop_(&l), fn_(fn), ctx_(ctx), name_(name) {}
    ~tasklet();
    tasklet(const tasklet&) = delete;
    tasklet& operator=(const tasklet&) = delete;

    /// Queues the tasklet on its loop's run queue (no-op if already queued).
    void wake() noexcept;
    /// Removes the tasklet from the run queue if it is queued.
    void cancel() noexcept;

    [[nodiscard]] bool queued() const noexcept { return next_ != nullptr; }
    [[nodiscard]] loop& owner_loop() const noexcept { return *loop_; }
    [[nodiscard]] void* ctx() const noexcept { return ctx_; }
    void set_ctx(void* ctx) noexcept { ctx_ = ctx; }
    void set_fn(fn_t fn) noexcept { fn_ = fn; }
    [[nodiscard]] const char* name() const noexcept { return name_; }
    /// How many times the tasklet has run.
    [[nodiscard]] std::uint64_t runs() const noexcept { return runs_; }

private:
    friend class loop;
    loop* loop_;
    fn_t fn_;
    void* ctx_;
    const char* name_;
    tasklet* prev_ = nullptr;  // intrusive run-queue links; next_ != nullptr <=> queued
    tasklet* next_ = nullptr;
    std::uint64_t runs_ = 0;
};

}  // namespace xstack::event
