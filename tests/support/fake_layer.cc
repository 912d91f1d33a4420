// tests/support/fake_layer.cc
#include "tests/support/fake_layer.h"

#include <algorithm>
#include <new>

#include "event/tasklet.h"

namespace xstack::test {

using xprt::conn_flag;
using xprt::sub_event;
using xprt::sub_events;

std::string to_string(sub_events ev) {
    if (ev.has(xprt::sub_both)) {
        return "recv|send";
    }
    if (ev.has(sub_event::recv)) {
        return "recv";
    }
    if (ev.has(sub_event::send)) {
        return "send";
    }
    return "none";
}

// --- fake_ctx ---------------------------------------------------------------------------------

std::size_t fake_ctx::pending_bytes() const noexcept {
    std::size_t n = 0;
    for (const auto& s : rcv_script) {
        if (s.what == rcv_step::kind::data) {
            n += s.bytes.size();
        }
    }
    return n;
}

sub_events fake_ctx::subscribed() const noexcept {
    return subscriber != nullptr ? subscriber->events : sub_events{};
}

bool fake_ctx::notify(sub_events ev) noexcept {
    if (subscriber == nullptr || !subscriber->events.any(ev)) {
        return false;
    }
    xprt::wait_event* w = subscriber;
    w->events.clear(ev);
    if (w->events.empty()) {
        subscriber = nullptr;
    }
    if (w->task != nullptr) {
        ++wakes;
        w->task->wake();
    }
    return true;
}

// --- fake_layer -------------------------------------------------------------------------------

fake_layer::fake_layer(std::string_view name, call_log* log, xprt::xprt_id id)
    : name_(name), log_(log), id_(id) {}

fake_layer::~fake_layer() = default;

std::size_t fake_layer::live_contexts() const noexcept {
    return static_cast<std::size_t>(
        std::count_if(ctxs_.begin(), ctxs_.end(), [](const auto& p) { return p->closes == 0; }));
}

void fake_layer::log(std::string_view what) const noexcept {
    if (log_ == nullptr) {
        return;
    }
    try {
        std::string e(name_);
        e += '.';
        e += what;
        log_->add(std::move(e));
    } catch (...) {  // NOLINT(bugprone-empty-catch): out of memory in a test log
    }
}

void fake_layer::log_events(std::string_view what, sub_events ev) const noexcept {
    if (log_ == nullptr) {
        return;
    }
    try {
        std::string e(what);
        e += '(';
        e += to_string(ev);
        e += ')';
        log(e);
    } catch (...) {  // NOLINT(bugprone-empty-catch): out of memory in a test log
    }
}

result<void> fake_layer::init(xprt::connection& c, xprt::xprt_ctx*& ctx) const noexcept {
    if (ctx != nullptr) {
        return {};  // idempotent
    }
    if (fail_init_ != xprt::conn_err::none) {
        c.set_errcode(fail_init_);
        return error_info{"fake init failure", 0, fail_init_};
    }
    try {
        ctxs_.push_back(std::make_unique<fake_ctx>());
    } catch (...) {
        c.set_errcode(xprt::conn_err::xprt_init);
        return error_info{"out of memory", 0, xprt::conn_err::xprt_init};
    }
    ctx = ctxs_.back().get();
    log("init");
    return {};
}

result<void> fake_layer::start(xprt::connection& c, xprt::xprt_ctx* ctx) const noexcept {
    // The layer below first (the contract), then our own work.
    if (ctx->below_ops != nullptr) {
        auto r = ctx->below_ops->start(c, ctx->below);
        if (!r) {
            return r;
        }
    }
    ++ctx_of(ctx).starts;
    log("start");
    if (fail_start_ != xprt::conn_err::none) {
        c.set_errcode(fail_start_);
        return error_info{"fake start failure", 0, fail_start_};
    }
    return {};
}

void fake_layer::close(xprt::connection& c, xprt::xprt_ctx* ctx) const noexcept {
    fake_ctx& f = ctx_of(ctx);
    ++f.closes;
    log("close");
    // Wake the upper subscriber with no events so it notices the layer went away.
    if (f.subscriber != nullptr) {
        xprt::wait_event* w = f.subscriber;
        f.subscriber = nullptr;
        w->events.reset();
        if (w->task != nullptr) {
            ++f.wakes;
            w->task->wake();
        }
    }
    if (f.below_ops != nullptr) {
        const xprt::xprt_ref b{f.below_ops, f.below};
        f.below_ops = nullptr;
        f.below = nullptr;
        b.ops->close(c, b.ctx);
    }
}

std::size_t fake_layer::rcv_buf(xprt::connection& c, xprt::xprt_ctx* ctx, xprt::buffer& buf,
                                std::size_t count, xprt::rcv_flags flags) const noexcept {
    fake_ctx& f = ctx_of(ctx);
    ++f.rcv_calls;
    try {
        f.rcv_flags_seen.push_back(flags);
    } catch (...) {  // NOLINT(bugprone-empty-catch): record only
    }
    if (c.flags.has(conn_flag::error) || f.rcv_script.empty()) {
        return 0;
    }
    const bool peek = flags.has(xprt::rcv_flag::peek);
    rcv_step& front = f.rcv_script.front();
    switch (front.what) {
    case rcv_step::kind::not_ready:
        f.rcv_script.pop_front();
        return 0;
    case rcv_step::kind::read0:
        c.flags.set(conn_flag::sock_rd_sh);
        c.flags.clear(conn_flag::wait_l4_conn);  // a read0 proves the connection
        return 0;
    case rcv_step::kind::error:
        c.fail(front.code);
        return 0;
    case rcv_step::kind::data:
        break;
    }

    std::size_t budget = std::min(count, buf.room());
    std::size_t total = 0;
    for (auto& s : f.rcv_script) {
        if (s.what != rcv_step::kind::data || budget == 0) {
            break;
        }
        const std::size_t n = std::min(budget, s.bytes.size());
        const auto* src = reinterpret_cast<const std::byte*>(s.bytes.data());
        total += buf.put(std::span<const std::byte>(src, n));
        budget -= n;
        if (f.one_chunk_per_call || n < s.bytes.size()) {
            break;
        }
    }
    if (!peek) {
        std::size_t left = total;
        while (left > 0 && !f.rcv_script.empty()) {
            rcv_step& s = f.rcv_script.front();
            const std::size_t n = std::min(left, s.bytes.size());
            s.bytes.erase(0, n);
            left -= n;
            if (s.bytes.empty()) {
                f.rcv_script.pop_front();
            }
        }
        // Data immediately followed by the end of input: report both in this call.
        if (!f.rcv_script.empty() && f.rcv_script.front().what == rcv_step::kind::read0) {
            c.flags.set(conn_flag::sock_rd_sh);
        }
    }
    if (total > 0) {
        c.flags.clear(conn_flag::wait_l4_conn);  // a byte received proves the connection
    }
    return total;
}

std::size_t fake_layer::snd_buf(xprt::connection& c, xprt::xprt_ctx* ctx, const xprt::buffer& buf,
                                std::size_t count, xprt::snd_flags flags) const noexcept {
    fake_ctx& f = ctx_of(ctx);
    ++f.snd_calls;
    try {
        f.snd_flags_seen.push_back(flags);
    } catch (...) {  // NOLINT(bugprone-empty-catch): record only
    }
    if (c.flags.has(conn_flag::error)) {
        return 0;
    }
    if (c.flags.has(conn_flag::sock_wr_sh)) {
        c.fail(xprt::conn_err::epipe);  // like raw: sending after a write shutdown
        return 0;
    }
    std::size_t n = std::min(count, buf.data());
    if (!f.snd_script.empty()) {
        const snd_step s = f.snd_script.front();
        f.snd_script.pop_front();
        if (s.what == snd_step::kind::error) {
            c.fail(s.code);
            return 0;
        }
        n = std::min(n, s.max);
    }
    try {
        for (const auto& h : buf.data_hunks(n)) {
            f.sent.append(reinterpret_cast<const char*>(h.data()), h.size());
        }
    } catch (...) {
        return 0;
    }
    if (n > 0) {
        c.flags.clear(conn_flag::wait_l4_conn);  // a byte sent proves the connection
    }
    return n;
}

void fake_layer::subscribe(xprt::connection& /*c*/, xprt::xprt_ctx* ctx, sub_events events,
                           xprt::wait_event& w) const noexcept {
    fake_ctx& f = ctx_of(ctx);
    ++f.subscribes;
    log_events("subscribe", events);
    if (events.any(~xprt::sub_both) ||
        (f.subscriber != nullptr && f.subscriber != &w && !f.subscriber->events.empty())) {
        ++f.violations;
    }
    bool wake_now = false;
    if (events.has(sub_event::recv)) {
        if (f.recv_ready) {
            wake_now = true;
        } else {
            w.events |= sub_event::recv;
        }
    }
    if (events.has(sub_event::send)) {
        if (f.send_ready) {
            wake_now = true;
        } else {
            w.events |= sub_event::send;
        }
    }
    if (!w.events.empty()) {
        f.subscriber = &w;
    }
    if (wake_now && w.task != nullptr) {
        ++f.wakes;
        w.task->wake();
    }
}

void fake_layer::unsubscribe(xprt::connection& /*c*/, xprt::xprt_ctx* ctx, sub_events events,
                             xprt::wait_event& w) const noexcept {
    fake_ctx& f = ctx_of(ctx);
    ++f.unsubscribes;
    log_events("unsubscribe", events);
    if (f.subscriber != nullptr && f.subscriber != &w) {
        ++f.violations;
        return;
    }
    w.events.clear(events);
    if (w.events.empty() && f.subscriber == &w) {
        f.subscriber = nullptr;
    }
}

void fake_layer::shutw(xprt::connection& c, xprt::xprt_ctx* ctx, bool clean) const noexcept {
    ++ctx_of(ctx).shutws;
    log(clean ? "shutw(clean)" : "shutw");
    xprt_ops::shutw(c, ctx, clean);
}

bool fake_layer::add_xprt(xprt::connection& c, xprt::xprt_ctx* ctx, xprt::xprt_ref to_add,
                          xprt::xprt_ref* old) const noexcept {
    log("add_xprt");
    if (refuse_add_) {
        return false;
    }
    return xprt_ops::add_xprt(c, ctx, to_add, old);
}

bool fake_layer::remove_xprt(xprt::connection& c, xprt::xprt_ctx* ctx,
                             const xprt::xprt_ctx* to_remove,
                             xprt::xprt_ref replacement) const noexcept {
    log("remove_xprt");
    return xprt_ops::remove_xprt(c, ctx, to_remove, replacement);
}

// --- fake_ctrl --------------------------------------------------------------------------------

void fake_ctrl::log(std::string_view what) const noexcept {
    if (log_ == nullptr) {
        return;
    }
    try {
        std::string e("ctrl.");
        e += what;
        log_->add(std::move(e));
    } catch (...) {  // NOLINT(bugprone-empty-catch): out of memory in a test log
    }
}

void fake_ctrl::ctrl_init(xprt::connection& /*c*/) const noexcept {
    ++inits;
    log("init");
}

void fake_ctrl::ctrl_close(xprt::connection& /*c*/) const noexcept {
    ++closes;
    log("close");
}

void fake_ctrl::sock_shutw(xprt::connection& /*c*/) const noexcept {
    ++shutws;
    log("shutw");
}

bool fake_ctrl::drain(xprt::connection& /*c*/) const noexcept {
    ++drains;
    log("drain");
    return drain_result;
}

}  // namespace xstack::test
