// handshake/hs.cc - the handshake pseudo-transport.
#include "handshake/hs.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <new>
#include <vector>

#include "event/loop.h"
#include "event/thread_counters.h"
#include "handshake/proxy.h"
#include "handshake/proxy_v1.h"
#include "xprt/assert.h"
#include "xprt/buffer.h"
#include "xprt/ledger.h"

namespace xstack::handshake {

using xprt::buffer;
using xprt::conn_err;
using xprt::conn_flag;
using xprt::connection;
using xprt::rcv_flag;
using xprt::snd_flag;
using xprt::sub_event;
using xprt::sub_events;
using xprt::term_loc;
using xprt::term_type;
using xprt::wait_event;
using xprt::xprt_ctx;
using xprt::xprt_ref;

namespace {

struct hs_tag {};
constexpr std::size_t counter_slots = static_cast<std::size_t>(hs_counter::count_);
using stats = event::thread_counters<counter_slots + xprt::conn_err_count, hs_tag>;

void count(hs_counter c) noexcept {
    stats::add(static_cast<std::size_t>(c));
}

const hs_config default_config{};

/// Re-peek interval while an optional header's signature is incomplete: the peeked bytes stay
/// queued, so subscribing would wake at once on a level-triggered poller.
constexpr std::uint64_t detect_retry_ms = 5;

/// What a step needs before it can go on.
enum class step : std::uint8_t { done, wait_recv, wait_send, wait_timer };

enum class detect_state : std::uint8_t { none, trusted, untrusted };

struct hs_ctx final : xprt_ctx {
    explicit hs_ctx(connection& conn) noexcept
        : c(&conn), task(conn.loop(), run, this, "handshake"), timer(task) {
        we.task = &task;
    }
    ~hs_ctx() { c->loop().disarm(timer); }
    hs_ctx(const hs_ctx&) = delete;
    hs_ctx& operator=(const hs_ctx&) = delete;

    static void run(event::tasklet& t, void* ctx) noexcept;

    [[nodiscard]] xprt_ref lower() const noexcept { return {below_ops, below}; }
    [[nodiscard]] const std::byte* out() const noexcept {
        return out_big.empty() ? out_small.data() : out_big.data();
    }

    connection* c;
    const hs_config* cfg = &default_config;
    event::tasklet task;
    event::timer timer;
    wait_event we;                // our own subscription to the layer below
    wait_event* upper = nullptr;  // the layer above's subscription, recorded only
    bool started = false;
    std::uint64_t start_ns = 0;  ///< when begin() ran (per-layer ledger)
    std::uint64_t deadline = 0;  // whole handshake (0: none)

    // Received header bytes (a pool buffer, taken by the first receive step).
    xprt::pool_buffer acc;
    std::size_t acc_len = 0;

    // ACCEPT_PROXY
    bool proxy_mode_decided = false;
    detect_state detect = detect_state::none;
    std::uint64_t detect_deadline = 0;

    // SEND_PROXY: the header, built by attach().
    std::array<std::byte, 256> out_small{};
    std::vector<std::byte> out_big;
    std::size_t out_len = 0;
    std::size_t out_ofs = 0;
    std::uint8_t out_version = 0;

    // SOCKS4_SEND: the request, built by attach().
    std::array<std::byte, 8 + 1 + 255> socks_req{};
    std::size_t socks_len = 0;
    std::size_t socks_ofs = 0;
};

void fail(connection& c, conn_err code, term_type what) noexcept {
    c.fail(code);
    c.report_term(term_loc::hs, what);
}

/// The code of a handshake that ran out of time, from the step still pending.
conn_err timeout_code(const connection& c) noexcept {
    if (c.flags.any(xprt::conn_mask::socks4)) {
        return conn_err::socks4_timeout;
    }
    if (c.flags.has(conn_flag::accept_cip)) {
        return conn_err::cip_timeout;
    }
    return conn_err::prx_timeout;
}

// --- sending -------------------------------------------------------------------------------

/// Sends bytes [ofs, len) of `data`; true once everything is sent.
step send_bytes(hs_ctx& x, const std::byte* data, std::size_t len, std::size_t& ofs,
                bool more) noexcept {
    connection& c = *x.c;
    while (ofs < len) {
        // A view whose head is the first unsent byte.
        buffer b = buffer::holding(std::span<std::byte>(const_cast<std::byte*>(data), len),
                                   len);  // NOLINT
        b.consume(ofs);
        const std::size_t n = x.below_ops->snd_buf(c, x.below, b, len - ofs,
                                                   more ? snd_flag::more : xprt::snd_flags{});
        if (n == 0) {
            if (c.flags.has(conn_flag::error)) {
                c.report_term(term_loc::hs, term_type::snd_err);
                return step::done;
            }
            return step::wait_send;
        }
        ofs += n;
    }
    return step::done;
}

step socks4_send_step(hs_ctx& x) noexcept {
    const step s = send_bytes(x, x.socks_req.data(), x.socks_len, x.socks_ofs, false);
    if (s == step::done && !x.c->flags.has(conn_flag::error)) {
        x.c->flags.clear(conn_flag::socks4_send);
    }
    return s;
}

step proxy_send_step(hs_ctx& x) noexcept {
    // MSG_MORE when the layer above is waiting to send: its first bytes (a request, a TLS
    // ClientHello) then leave in the same segment as the header.
    const bool more = x.upper != nullptr && x.upper->events.has(sub_event::send);
    const step s = send_bytes(x, x.out(), x.out_len, x.out_ofs, more);
    if (s == step::done && !x.c->flags.has(conn_flag::error)) {
        x.c->flags.clear(conn_flag::send_proxy);
        count(x.out_version == 1 ? hs_counter::sent_v1 : hs_counter::sent_v2);
    }
    return s;
}

// --- receiving -----------------------------------------------------------------------------

/// Consumes `take` bytes already seen by a peek, into the accumulation buffer after acc_len.
bool consume(hs_ctx& x, std::size_t take, bool all_queued, conn_err abort_code) noexcept {
    connection& c = *x.c;
    buffer view(std::span<std::byte>(x.acc.area() + x.acc_len, take));
    const std::size_t got = x.below_ops->rcv_buf(
        c, x.below, view, take, all_queued ? rcv_flag::all_queued : xprt::rcv_flags{});
    if (got != take) {
        // The layer below showed these bytes to a peek: not getting them is a broken promise.
        if (!c.flags.has(conn_flag::error)) {
            fail(c, abort_code, term_type::truncated_rcv_err);
        }
        return false;
    }
    return true;
}

/// The end of input, or an error, before a header was complete.
step input_ended(hs_ctx& x, conn_err empty_code, conn_err abort_code) noexcept {
    connection& c = *x.c;
    if (c.flags.has(conn_flag::error)) {
        c.report_term(term_loc::hs, term_type::truncated_rcv_err);
    } else {
        fail(c, x.acc_len == 0 ? empty_code : abort_code, term_type::truncated_shutr);
    }
    return step::done;
}

/// Reads a header with `parse`, never consuming a byte after it: peek, parse everything seen,
/// consume all of it while the parser needs more (it all belongs to the header), exactly the
/// rest of the header once complete. `commit` stores the parsed value (its views point into
/// the accumulation buffer, still valid during the call).
template <class Parse, class Commit>
step read_header(hs_ctx& x, std::size_t cap, Parse&& parse, Commit&& commit, conn_err empty_code,
                 conn_err abort_code, conn_err too_big_code) noexcept {
    connection& c = *x.c;
    cap = std::min(cap, x.acc.size());
    for (;;) {
        if (x.acc_len >= cap) {
            fail(c, too_big_code, term_type::rcv_err);
            return step::done;
        }
        const std::size_t room = cap - x.acc_len;
        buffer view(std::span<std::byte>(x.acc.area() + x.acc_len, room));
        const std::size_t n = x.below_ops->rcv_buf(c, x.below, view, room, rcv_flag::peek);
        if (n == 0) {
            if (c.flags.any(conn_flag::error | conn_flag::sock_rd_sh)) {
                return input_ended(x, empty_code, abort_code);
            }
            return step::wait_recv;
        }
        c.flags.clear(conn_flag::wait_l4_conn);  // bytes came: the connection is proven
        const auto r = parse(std::span<const std::byte>(x.acc.area(), x.acc_len + n));
        if (r.failed()) {
            fail(c, r.error, term_type::rcv_err);
            return step::done;
        }
        const bool drained = n < room;  // a short peek showed everything that was queued
        if (r.complete()) {
            const std::size_t take = r.length - x.acc_len;
            if (!consume(x, take, drained && take == n, abort_code)) {
                return step::done;
            }
            commit(r.value);
            x.acc_len = 0;
            return step::done;
        }
        if (!consume(x, n, drained, abort_code)) {
            return step::done;
        }
        x.acc_len += n;
        if (drained) {
            return step::wait_recv;  // nothing is left queued: the poller will say when
        }
    }
}

/// Where a PROXY signature stands in `in`: cannot be one, a strict prefix, or complete.
enum class sig_state : std::uint8_t { mismatch, prefix, complete };

sig_state proxy_signature(std::span<const std::byte> in) noexcept {
    static constexpr std::string_view v1 = "PROXY ";
    const auto matches = [&](const auto& sig, std::size_t len) {
        const std::size_t n = std::min(in.size(), len);
        for (std::size_t i = 0; i < n; ++i) {
            if (static_cast<std::uint8_t>(in[i]) != static_cast<std::uint8_t>(sig[i])) {
                return sig_state::mismatch;
            }
        }
        return in.size() >= len ? sig_state::complete : sig_state::prefix;
    };
    const sig_state a = matches(v1, v1.size());
    if (a != sig_state::mismatch) {
        return a;
    }
    return matches(proxy_v2_signature, proxy_v2_signature.size());
}

void commit_proxy(hs_ctx& x, const proxy_header& h) {
    connection& c = *x.c;
    auto info = std::make_unique<xprt::proxy_info>();
    info->source = h.version == 1 ? xprt::proxy_source::proxy_v1 : xprt::proxy_source::proxy_v2;
    info->local = h.command == proxy_command::local;
    info->family = static_cast<std::uint8_t>(h.family);
    info->addresses_used = h.use_addresses();
    info->src = to_sock_addr(h.src);
    info->dst = to_sock_addr(h.dst);
    const auto tlv_bytes = h.tlvs.bytes();
    info->tlvs.assign(tlv_bytes.begin(), tlv_bytes.end());
    c.proxy = std::move(info);
    c.flags.set(conn_flag::rcvd_proxy);
    c.flags.clear(conn_flag::accept_proxy);
    count(h.version == 1 ? hs_counter::proxy_v1 : hs_counter::proxy_v2);
    if (h.command == proxy_command::local) {
        count(hs_counter::proxy_local);
    }
}

/// Optional mode: the header's absence is decided; the bytes stay for the layer above.
step no_header(hs_ctx& x) noexcept {
    x.c->flags.clear(conn_flag::accept_proxy);
    x.detect = detect_state::none;
    count(hs_counter::proxy_absent);
    return step::done;
}

step proxy_detect_step(hs_ctx& x, std::size_t cap) noexcept {
    connection& c = *x.c;
    const std::uint64_t now = c.loop().now_ms();
    buffer view(std::span<std::byte>(x.acc.area(), std::min(cap, x.acc.size())));
    const std::size_t n = x.below_ops->rcv_buf(c, x.below, view, view.size(), rcv_flag::peek);
    if (n == 0) {
        if (c.flags.has(conn_flag::error)) {
            return step::done;
        }
        if (c.flags.has(conn_flag::sock_rd_sh) || now >= x.detect_deadline) {
            return no_header(x);  // nothing came: not a header (server-speaks-first client)
        }
        return step::wait_recv;
    }
    c.flags.clear(conn_flag::wait_l4_conn);
    switch (proxy_signature(std::span<const std::byte>(x.acc.area(), n))) {
    case sig_state::mismatch:
        return no_header(x);
    case sig_state::complete:
        if (x.detect == detect_state::untrusted) {
            fail(c, conn_err::prx_untrusted, term_type::intercepted);
            return step::done;
        }
        x.detect = detect_state::none;  // a header it is: read it as a required one
        return step::done;
    case sig_state::prefix:
        break;
    }
    if (now >= x.detect_deadline) {
        return no_header(x);  // a signature fragment that never completed: not a header
    }
    return step::wait_timer;
}

step proxy_recv_step(hs_ctx& x) noexcept {
    connection& c = *x.c;
    if (!x.proxy_mode_decided) {
        x.proxy_mode_decided = true;
        const bool trusted = x.cfg->trusted != nullptr && x.cfg->trusted->contains(c.src);
        if (x.cfg->mode == proxy_mode::optional) {
            x.detect = trusted ? detect_state::trusted : detect_state::untrusted;
            x.detect_deadline = c.loop().now_ms() + x.cfg->detect_ms;
        } else if (x.cfg->trusted != nullptr && !trusted) {
            fail(c, conn_err::prx_untrusted, term_type::intercepted);
            return step::done;
        }
    }
    if (!x.acc.alloc()) {
        fail(c, conn_err::enomem, term_type::rcv_err);
        return step::done;
    }
    const std::size_t cap = std::max(x.cfg->proxy.max_header, proxy_v1_max_length);
    if (x.detect != detect_state::none) {
        const step s = proxy_detect_step(x, cap);
        if (s != step::done || x.detect != detect_state::none ||
            !c.flags.has(conn_flag::accept_proxy) || c.flags.has(conn_flag::error)) {
            return s;
        }
        // Detected a signature from a trusted source: fall through to read it.
    }
    const proxy_options& opt = x.cfg->proxy;
    return read_header(
        x, cap, [&](std::span<const std::byte> in) { return parse_proxy(in, opt); },
        [&](const proxy_header& h) { commit_proxy(x, h); }, conn_err::prx_empty,
        conn_err::prx_abort, conn_err::prx_too_big);
}

step cip_step(hs_ctx& x) noexcept {
    connection& c = *x.c;
    if (!x.acc.alloc()) {
        fail(c, conn_err::enomem, term_type::rcv_err);
        return step::done;
    }
    const cip_options& opt = x.cfg->cip;
    return read_header(
        x, opt.max_header, [&](std::span<const std::byte> in) { return parse_cip(in, opt); },
        [&](const cip_header& h) {
            auto info = std::make_unique<xprt::proxy_info>();
            info->source = xprt::proxy_source::cip;
            info->addresses_used = true;
            info->src = to_sock_addr(h.src);
            info->dst = to_sock_addr(h.dst);
            c.proxy = std::move(info);
            c.flags.clear(conn_flag::accept_cip);
            count(hs_counter::cip);
        },
        conn_err::cip_empty, conn_err::cip_abort, conn_err::cip_too_big);
}

step socks4_recv_step(hs_ctx& x) noexcept {
    connection& c = *x.c;
    if (!x.acc.alloc()) {
        fail(c, conn_err::enomem, term_type::rcv_err);
        return step::done;
    }
    // The reply has a fixed size: asking for exactly what is missing never over-reads.
    while (x.acc_len < socks4_reply_size) {
        const std::size_t want = socks4_reply_size - x.acc_len;
        buffer view(std::span<std::byte>(x.acc.area() + x.acc_len, want));
        const std::size_t n = x.below_ops->rcv_buf(c, x.below, view, want, {});
        if (n == 0) {
            if (c.flags.any(conn_flag::error | conn_flag::sock_rd_sh)) {
                return input_ended(x, conn_err::socks4_abort, conn_err::socks4_abort);
            }
            return step::wait_recv;
        }
        c.flags.clear(conn_flag::wait_l4_conn);
        x.acc_len += n;
        const auto r = parse_socks4_reply(std::span<const std::byte>(x.acc.area(), x.acc_len));
        if (r.failed()) {
            fail(c, r.error, term_type::rcv_err);
            return step::done;
        }
    }
    x.acc_len = 0;
    c.flags.clear(conn_flag::socks4_recv);
    count(hs_counter::socks4);
    return step::done;
}

// --- the layer's life --------------------------------------------------------------------

/// Unlinks and frees the layer, handing the upper subscription down (success) or waking it
/// (failure). `x` is gone on return.
void finish(hs_ctx* x) noexcept {
    connection& c = *x->c;
    const bool ok = !c.flags.has(conn_flag::error);
    if (!ok) {
        stats::add(static_cast<std::size_t>(hs_counter::failed));
        stats::add(counter_slots + static_cast<std::size_t>(c.err_code));
        xprt::ledger_add(xprt::xprt_id::handshake, xprt::ledger_item::hs_failed);
    } else {
        const std::uint64_t now = c.loop().now_ns();
        xprt::ledger_add(xprt::xprt_id::handshake, xprt::ledger_item::hs_done);
        xprt::ledger_add(xprt::xprt_id::handshake, xprt::ledger_item::hs_ns,
                         x->started && now > x->start_ns ? now - x->start_ns : 0);
    }
    c.loop().disarm(x->timer);
    if (!x->we.events.empty()) {
        x->below_ops->unsubscribe(c, x->below, x->we.events, x->we);
    }
    const xprt_ref below = x->lower();
    (void)xprt::conn_remove_xprt(c, x);
    if (wait_event* up = x->upper) {
        x->upper = nullptr;
        const sub_events ev = up->events;
        up->events.reset();
        if (ok && !ev.empty()) {
            below.ops->subscribe(c, below.ctx, ev, *up);  // woken at once if already ready
        } else {
            up->task->wake();
        }
    }
    const auto on_done = x->cfg->on_done;
    void* const arg = x->cfg->on_done_arg;
    delete x;  // frees the tasklet this runs on: the loop does not touch it again
    if (on_done != nullptr) {
        on_done(c, ok, arg);
    }
}

void hs_ctx::run(event::tasklet& /*t*/, void* ctx) noexcept {
    auto* x = static_cast<hs_ctx*>(ctx);
    connection& c = *x->c;
    const std::uint64_t now = c.loop().now_ms();
    if (!c.flags.has(conn_flag::error) && x->deadline != 0 && now >= x->deadline) {
        fail(c, timeout_code(c), term_type::timeout);
    }
    while (!c.flags.has(conn_flag::error)) {
        step s = step::done;
        if (c.flags.has(conn_flag::socks4_send)) {
            s = socks4_send_step(*x);
        } else if (c.flags.has(conn_flag::socks4_recv)) {
            s = socks4_recv_step(*x);
        } else if (c.flags.has(conn_flag::accept_cip)) {
            s = cip_step(*x);
        } else if (c.flags.has(conn_flag::accept_proxy)) {
            s = proxy_recv_step(*x);
        } else if (c.flags.has(conn_flag::send_proxy)) {
            s = proxy_send_step(*x);
        } else {
            break;  // every step done
        }
        if (s == step::done || c.flags.has(conn_flag::error)) {
            continue;
        }
        // Wait: for the layer below, and in any case for the deadlines.
        if (s == step::wait_recv || s == step::wait_send) {
            x->below_ops->subscribe(
                c, x->below, s == step::wait_recv ? sub_event::recv : sub_event::send, x->we);
        }
        std::uint64_t next = x->deadline;
        if (x->detect != detect_state::none) {
            const std::uint64_t d = s == step::wait_timer
                                        ? std::min(now + detect_retry_ms, x->detect_deadline)
                                        : x->detect_deadline;
            next = next == 0 ? d : std::min(next, d);
        }
        if (next != 0) {
            c.loop().arm(x->timer, next);
        }
        return;
    }
    finish(x);
}

/// Starts the handshake: arms the deadline and runs the first step speculatively.
void begin(hs_ctx& x) noexcept {
    if (x.started) {
        return;
    }
    x.started = true;
    x.start_ns = x.c->loop().now_ns();
    if (x.cfg->timeout_ms != 0) {
        x.deadline = x.c->loop().now_ms() + x.cfg->timeout_ms;
        x.c->loop().arm(x.timer, x.deadline);
    }
    x.task.wake();
}

class hs_ops final : public xprt::xprt_ops {
public:
    [[nodiscard]] xprt::xprt_id id() const noexcept override { return xprt::xprt_id::handshake; }
    [[nodiscard]] std::string_view name() const noexcept override { return "HS"; }

    result<void> init(connection& c, xprt_ctx*& ctx) const noexcept override {
        if (ctx == nullptr) {
            ctx = new (std::nothrow) hs_ctx(c);
            if (ctx == nullptr) {
                return error_info{"out of memory", ENOMEM, conn_err::enomem};
            }
        }
        return {};
    }

    result<void> start(connection& c, xprt_ctx* ctx) const noexcept override {
        auto r = xprt_ops::start(c, ctx);  // the layer below first
        if (r) {
            begin(*static_cast<hs_ctx*>(ctx));
        }
        return r;
    }

    void close(connection& c, xprt_ctx* ctx) const noexcept override {
        auto* x = static_cast<hs_ctx*>(ctx);
        c.loop().disarm(x->timer);
        if (!x->we.events.empty()) {
            x->below_ops->unsubscribe(c, x->below, x->we.events, x->we);
        }
        if (wait_event* up = x->upper) {
            up->events.reset();
            up->task->wake();
        }
        if (x->below_ops != nullptr) {
            x->below_ops->close(c, x->below);
        }
        delete x;
    }

    // Nothing passes while the handshake runs; the layer leaves as soon as it is done.
    std::size_t rcv_buf(connection& /*c*/, xprt_ctx* /*ctx*/, buffer& /*b*/, std::size_t /*n*/,
                        xprt::rcv_flags /*f*/) const noexcept override {
        return 0;
    }
    std::size_t snd_buf(connection& /*c*/, xprt_ctx* /*ctx*/, const buffer& /*b*/,
                        std::size_t /*n*/, xprt::snd_flags /*f*/) const noexcept override {
        return 0;
    }
    xprt::pipe_io rcv_pipe(connection& /*c*/, xprt_ctx* /*ctx*/, xprt::pipe& /*p*/,
                           std::size_t /*n*/) const noexcept override {
        return {};  // nothing now; splicing becomes possible once the layer has left
    }
    xprt::pipe_io snd_pipe(connection& /*c*/, xprt_ctx* /*ctx*/, xprt::pipe& /*p*/,
                           std::size_t /*n*/) const noexcept override {
        return {};
    }

    void subscribe(connection& /*c*/, xprt_ctx* ctx, sub_events ev,
                   wait_event& w) const noexcept override {
        auto* x = static_cast<hs_ctx*>(ctx);
        XS_ASSERT(x->upper == nullptr || x->upper == &w);
        w.events |= ev;
        x->upper = &w;  // recorded only: the handshake drives the layer below itself
    }
    void unsubscribe(connection& /*c*/, xprt_ctx* ctx, sub_events ev,
                     wait_event& w) const noexcept override {
        auto* x = static_cast<hs_ctx*>(ctx);
        w.events.clear(ev);
        if (w.events.empty() && x->upper == &w) {
            x->upper = nullptr;
        }
    }

    [[nodiscard]] xprt::splice_cap can_splice(const connection& /*c*/,
                                              const xprt_ctx* /*ctx*/) const noexcept override {
        return xprt::splice_cap::could_later;
    }

    void show(const connection& c, const xprt_ctx* ctx, std::string& out) const override {
        const auto* x = static_cast<const hs_ctx*>(ctx);
        char buf[160];
        std::snprintf(buf, sizeof buf, "HS pending=%s received=%zu sent=%zu/%zu upper=%u",
                      xprt::to_string(c.flags & xprt::conn_mask::handshake).c_str(), x->acc_len,
                      x->out_ofs, x->out_len,
                      x->upper != nullptr ? static_cast<unsigned>(x->upper->events.bits()) : 0u);
        out += buf;
    }
};

const hs_ops hs_instance;

hs_ctx* find_hs(const connection& c) noexcept {
    for (xprt_ref l = c.xprt; l; l = l.ops->below(l.ctx)) {
        if (l.ops == &hs_instance) {
            return static_cast<hs_ctx*>(l.ctx);
        }
    }
    return nullptr;
}

}  // namespace

const xprt::xprt_ops& ops() noexcept {
    return hs_instance;
}

xprt_ctx* attach(connection& c, const hs_config& cfg, const hs_send* send) {
    if (!c.flags.any(xprt::conn_mask::handshake)) {
        return nullptr;  // nothing to do
    }
    if (c.flags.any(conn_flag::send_proxy | conn_flag::socks4_send) && send == nullptr) {
        c.set_errcode(conn_err::xprt_init);
        return nullptr;
    }
    if (cfg.mode == proxy_mode::optional && cfg.trusted == nullptr) {
        c.set_errcode(conn_err::xprt_init);  // optional PROXY needs a trusted list
        return nullptr;
    }
    xprt_ctx* ctx = xprt::conn_insert_xprt(c, hs_instance);
    if (ctx == nullptr) {
        return nullptr;
    }
    auto* x = static_cast<hs_ctx*>(ctx);
    x->cfg = &cfg;
    const auto undo = [&]() {
        (void)xprt::conn_remove_xprt(c, x);
        delete x;
        c.set_errcode(conn_err::xprt_init);
        return nullptr;
    };
    if (c.flags.has(conn_flag::socks4_send)) {
        x->socks_len = build_socks4_request(send->socks4_target, x->socks_req, send->socks4_user);
        if (x->socks_len == 0) {
            return undo();
        }
    }
    if (c.flags.has(conn_flag::send_proxy)) {
        x->out_version = send->proxy_version == 1 ? 1 : 2;
        if (x->out_version == 1) {
            x->out_len = build_proxy_v1(send->v2.src, send->v2.dst, x->out_small);
        } else {
            const std::size_t need = proxy_v2_size(send->v2);
            if (need == 0) {
                return undo();
            }
            std::span<std::byte> dst = x->out_small;
            if (need > x->out_small.size()) {
                x->out_big.resize(need);
                dst = x->out_big;
            }
            x->out_len = build_proxy_v2(send->v2, dst);
        }
        if (x->out_len == 0) {
            return undo();
        }
    }
    if (c.flags.has(conn_flag::xprt_ready)) {
        begin(*x);  // the chain already runs: no start() will come
    }
    return ctx;
}

bool abort(connection& c) noexcept {
    hs_ctx* x = find_hs(c);
    if (x == nullptr) {
        return false;
    }
    c.loop().disarm(x->timer);
    if (!x->we.events.empty()) {
        x->below_ops->unsubscribe(c, x->below, x->we.events, x->we);
    }
    (void)xprt::conn_remove_xprt(c, x);
    c.flags.clear(xprt::conn_mask::handshake);
    if (wait_event* up = x->upper) {
        up->events.reset();
        up->task->wake();
    }
    delete x;
    return true;
}

hs_stats hs_stats_sum() {
    const auto all = stats::sum();
    hs_stats s;
    for (std::size_t i = 0; i < counter_slots; ++i) {
        s.counters[i] = all[i];
    }
    for (std::size_t i = 0; i < xprt::conn_err_count; ++i) {
        s.errors[i] = all[counter_slots + i];
    }
    return s;
}

}  // namespace xstack::handshake
