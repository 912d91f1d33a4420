// tests/support/fake_layer.h - a scripted transport layer and a fake control layer.
//
// fake_layer stands in for any layer of a chain: as the bottom (give it xprt_id::raw so that
// conn_insert_xprt puts new layers above it, like above the real raw) it is a scripted
// "socket" for testing the handshake and TLS layers without a kernel; in the middle or on top
// it records the chain surgery and life-cycle calls that reach it.
//
//   test::call_log log;
//   test::fake_layer bottom("FAKE", &log, xprt::xprt_id::raw);
//   xprt::connection c(loop);
//   ASSERT_TRUE(xprt::conn_prepare(c, &ctrl, &bottom));
//   test::fake_ctx& io = test::fake_layer::ctx_of(c.xprt.ctx);
//   io.feed("PROXY TCP4 ");          // first rcv_buf returns these bytes
//   io.feed_not_ready();             // then 0 once ("EAGAIN"): the caller subscribes
//   io.feed("1.2.3.4 ...\r\n");
//   ...
//   io.notify(xprt::sub_event::recv);  // wake the subscriber, as a poll report would
#pragma once

#include <cstddef>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tests/support/call_log.h"
#include "xprt/connection.h"
#include "xprt/xprt_ops.h"

namespace xstack::test {

/// One scripted answer of fake_layer::rcv_buf.
struct rcv_step {
    enum class kind : std::uint8_t {
        data,       ///< these bytes are available (consumed as they are read)
        not_ready,  ///< one call returns 0 ("EAGAIN"); the step is used up by that call
        read0,      ///< end of input: SOCK_RD_SH, returns 0 (sticky: stays at the front)
        error,      ///< failure: ERROR with `code` (sticky)
    };
    kind what = kind::data;
    std::string bytes;
    xprt::conn_err code = xprt::conn_err::none;
};

/// One scripted answer of fake_layer::snd_buf.
struct snd_step {
    enum class kind : std::uint8_t {
        accept,  ///< take at most `max` bytes (0: "not ready", the caller subscribes)
        error,   ///< fail with ERROR and `code`
    };
    kind what = kind::accept;
    std::size_t max = 0;
    xprt::conn_err code = xprt::conn_err::none;
};

/// The per-connection state of a fake_layer: its script and everything it recorded.
struct fake_ctx : xprt::xprt_ctx {
    // --- script ---------------------------------------------------------------------------
    std::deque<rcv_step> rcv_script;  ///< empty: rcv_buf returns 0 (nothing available)
    std::deque<snd_step> snd_script;  ///< empty: snd_buf takes everything
    /// false: one rcv_buf call reads across consecutive data steps (like a socket holding
    /// several arrivals); true: one call never returns more than one data step (fragments).
    bool one_chunk_per_call = false;
    /// Direction already known ready: subscribing to it wakes the subscriber at once instead
    /// of recording the event (the contract's "immediate wake").
    bool recv_ready = false;
    bool send_ready = false;

    // --- records --------------------------------------------------------------------------
    std::string sent;                             ///< every byte snd_buf accepted, in order
    std::vector<xprt::snd_flags> snd_flags_seen;  ///< flags of each snd_buf call
    std::vector<xprt::rcv_flags> rcv_flags_seen;  ///< flags of each rcv_buf call
    std::size_t rcv_calls = 0;
    std::size_t snd_calls = 0;
    std::size_t starts = 0;
    std::size_t closes = 0;
    std::size_t shutws = 0;
    std::size_t subscribes = 0;
    std::size_t unsubscribes = 0;
    std::size_t wakes = 0;  ///< tasklet wakes done for the subscriber
    /// Contract violations seen (second subscriber, unsubscribe with another pointer,
    /// events other than recv|send). Tests expect 0.
    std::size_t violations = 0;
    /// The upper subscriber while it has events registered here.
    xprt::wait_event* subscriber = nullptr;

    // --- helpers --------------------------------------------------------------------------
    void feed(std::string_view bytes) {
        rcv_script.push_back({rcv_step::kind::data, std::string(bytes), {}});
    }
    void feed_not_ready() { rcv_script.push_back({rcv_step::kind::not_ready, {}, {}}); }
    void feed_read0() { rcv_script.push_back({rcv_step::kind::read0, {}, {}}); }
    void feed_error(xprt::conn_err code) {
        rcv_script.push_back({rcv_step::kind::error, {}, code});
    }
    /// The next snd_buf call takes at most `max` bytes.
    void accept_next(std::size_t max) { snd_script.push_back({snd_step::kind::accept, max, {}}); }
    /// The next snd_buf call fails with `code`.
    void fail_next_send(xprt::conn_err code) {
        snd_script.push_back({snd_step::kind::error, 0, code});
    }
    /// Bytes of the data steps still queued.
    [[nodiscard]] std::size_t pending_bytes() const noexcept;
    /// Events the subscriber still waits for here (empty when none).
    [[nodiscard]] xprt::sub_events subscribed() const noexcept;
    /// Delivers `ev` to the subscriber as a poll report would: clears the bits it waits for
    /// (one-shot), forgets it when none remain, and wakes its tasklet. True if it was woken.
    bool notify(xprt::sub_events ev) noexcept;
};

/// A transport whose data calls follow each context's script and record what they get.
///
/// Data calls never go to the layer below (a fake is a source/sink); life-cycle calls do:
/// start starts the layer below first, close wakes the upper subscriber with no events, then
/// closes the layer below. Contexts are owned by the fake_layer object and survive close, so
/// tests can inspect them afterwards (close counts them: exactly-once checks read `closes`).
/// When a call_log is given, every life-cycle call and subscription is logged as
/// "NAME.init", "NAME.start", "NAME.close", "NAME.shutw", "NAME.add_xprt",
/// "NAME.remove_xprt", "NAME.subscribe(recv|send)", "NAME.unsubscribe(...)".
class fake_layer final : public xprt::xprt_ops {
public:
    explicit fake_layer(std::string_view name = "FAKE", call_log* log = nullptr,
                        xprt::xprt_id id = xprt::xprt_id::test);
    ~fake_layer() override;
    fake_layer(const fake_layer&) = delete;
    fake_layer& operator=(const fake_layer&) = delete;

    /// The fake context behind a context pointer created by a fake_layer.
    [[nodiscard]] static fake_ctx& ctx_of(xprt::xprt_ctx* ctx) noexcept {
        return *static_cast<fake_ctx*>(ctx);
    }

    // --- configuration --------------------------------------------------------------------
    /// Next init() calls fail with `code` (conn_err::none: succeed again).
    void fail_init(xprt::conn_err code) noexcept { fail_init_ = code; }
    /// start() fails with `code` after starting the layer below (none: succeed).
    void fail_start(xprt::conn_err code) noexcept { fail_start_ = code; }
    /// add_xprt refuses a new lower layer (like a layer that cannot have one inserted).
    void refuse_add(bool on) noexcept { refuse_add_ = on; }

    // --- introspection --------------------------------------------------------------------
    [[nodiscard]] std::size_t contexts_created() const noexcept { return ctxs_.size(); }
    /// Contexts created and not closed yet (0 after a clean teardown).
    [[nodiscard]] std::size_t live_contexts() const noexcept;
    /// The most recently created context (nullptr if none).
    [[nodiscard]] fake_ctx* last_ctx() const noexcept {
        return ctxs_.empty() ? nullptr : ctxs_.back().get();
    }

    // xprt::xprt_ops
    [[nodiscard]] xprt::xprt_id id() const noexcept override { return id_; }
    [[nodiscard]] std::string_view name() const noexcept override { return name_; }
    result<void> init(xprt::connection& c, xprt::xprt_ctx*& ctx) const noexcept override;
    result<void> start(xprt::connection& c, xprt::xprt_ctx* ctx) const noexcept override;
    void close(xprt::connection& c, xprt::xprt_ctx* ctx) const noexcept override;
    std::size_t rcv_buf(xprt::connection& c, xprt::xprt_ctx* ctx, xprt::buffer& buf,
                        std::size_t count, xprt::rcv_flags flags) const noexcept override;
    std::size_t snd_buf(xprt::connection& c, xprt::xprt_ctx* ctx, const xprt::buffer& buf,
                        std::size_t count, xprt::snd_flags flags) const noexcept override;
    void subscribe(xprt::connection& c, xprt::xprt_ctx* ctx, xprt::sub_events events,
                   xprt::wait_event& w) const noexcept override;
    void unsubscribe(xprt::connection& c, xprt::xprt_ctx* ctx, xprt::sub_events events,
                     xprt::wait_event& w) const noexcept override;
    void shutw(xprt::connection& c, xprt::xprt_ctx* ctx, bool clean) const noexcept override;
    bool add_xprt(xprt::connection& c, xprt::xprt_ctx* ctx, xprt::xprt_ref to_add,
                  xprt::xprt_ref* old) const noexcept override;
    bool remove_xprt(xprt::connection& c, xprt::xprt_ctx* ctx, const xprt::xprt_ctx* to_remove,
                     xprt::xprt_ref replacement) const noexcept override;

private:
    void log(std::string_view what) const noexcept;
    void log_events(std::string_view what, xprt::sub_events ev) const noexcept;

    std::string name_;
    call_log* log_;
    xprt::xprt_id id_;
    xprt::conn_err fail_init_ = xprt::conn_err::none;
    xprt::conn_err fail_start_ = xprt::conn_err::none;
    bool refuse_add_ = false;
    mutable std::vector<std::unique_ptr<fake_ctx>> ctxs_;
};

/// A control layer that records its calls ("ctrl.init", "ctrl.close", "ctrl.shutw",
/// "ctrl.drain") instead of touching a socket.
class fake_ctrl final : public xprt::ctrl_ops {
public:
    explicit fake_ctrl(call_log* log = nullptr) noexcept : log_(log) {}

    // Records (mutable: the ops are called through a const reference).
    mutable std::size_t inits = 0;
    mutable std::size_t closes = 0;
    mutable std::size_t shutws = 0;
    mutable std::size_t drains = 0;
    bool drain_result = true;  ///< what drain() answers

    // xprt::ctrl_ops
    [[nodiscard]] std::string_view name() const noexcept override { return "FAKECTRL"; }
    void ctrl_init(xprt::connection& c) const noexcept override;
    void ctrl_close(xprt::connection& c) const noexcept override;
    void sock_shutw(xprt::connection& c) const noexcept override;
    bool drain(xprt::connection& c) const noexcept override;

private:
    void log(std::string_view what) const noexcept;
    call_log* log_;
};

/// "recv", "send", "recv|send" or "none".
[[nodiscard]] std::string to_string(xprt::sub_events ev);

}  // namespace xstack::test
