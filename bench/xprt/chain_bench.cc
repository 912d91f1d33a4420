// bench/xprt/chain_bench.cc - the cost of a data call passing through N pass-through layers.
// The bottom layer answers at once (no syscall), so the difference between N and N+1 layers is
// the price of one layer: one indirect call. ns per added layer = (t(8) - t(0)) / 8.
// With raw at the bottom over a socketpair, the same chain is measured with its syscall, to show
// the layers' share of a real call.
// Last, a chain whose handshake layers removed themselves against bare raw, side by side (issue
// 6's target: the same cost within 2%).
#include <array>
#include <span>
#include <vector>

#include <sys/socket.h>
#include <unistd.h>

#include <benchmark/benchmark.h>

#include "event/loop.h"
#include "handshake/hs.h"
#include "raw/raw_sock.h"
#include "xprt/connection.h"
#include "xprt/pass_through.h"

namespace {

using namespace xstack;

/// A bottom layer that accepts or returns nothing, at once.
class null_ops final : public xprt::xprt_ops {
public:
    [[nodiscard]] xprt::xprt_id id() const noexcept override { return xprt::xprt_id::test; }
    [[nodiscard]] std::string_view name() const noexcept override { return "NULL"; }
    result<void> init(xprt::connection& /*c*/, xprt::xprt_ctx*& ctx) const noexcept override {
        ctx = nullptr;
        return {};
    }
    void close(xprt::connection& /*c*/, xprt::xprt_ctx* /*ctx*/) const noexcept override {}
    std::size_t rcv_buf(xprt::connection& /*c*/, xprt::xprt_ctx* /*ctx*/, xprt::buffer& /*b*/,
                        std::size_t /*count*/, xprt::rcv_flags /*f*/) const noexcept override {
        return 0;
    }
    std::size_t snd_buf(xprt::connection& /*c*/, xprt::xprt_ctx* /*ctx*/, const xprt::buffer& /*b*/,
                        std::size_t count, xprt::snd_flags /*f*/) const noexcept override {
        return count;
    }
    void subscribe(xprt::connection& /*c*/, xprt::xprt_ctx* /*ctx*/, xprt::sub_events /*ev*/,
                   xprt::wait_event& /*w*/) const noexcept override {}
    void unsubscribe(xprt::connection& /*c*/, xprt::xprt_ctx* /*ctx*/, xprt::sub_events /*ev*/,
                     xprt::wait_event& /*w*/) const noexcept override {}
};

const null_ops null_layer;
const xprt::pass_through_ops pass_layer;

/// Stacks `n` pass-through layers on top of `bottom` in `c`.
std::vector<xprt::xprt_ctx*> stack(xprt::connection& c, xprt::xprt_ref bottom, int n) {
    std::vector<xprt::xprt_ctx*> ctxs;
    c.xprt = bottom;
    for (int i = 0; i < n; ++i) {
        xprt::xprt_ctx* ctx = nullptr;
        (void)pass_layer.init(c, ctx);
        ctx->below_ops = c.xprt.ops;
        ctx->below = c.xprt.ctx;
        c.xprt = {&pass_layer, ctx};
        ctxs.push_back(ctx);
    }
    return ctxs;
}

void unstack(xprt::connection& c, const std::vector<xprt::xprt_ctx*>& ctxs, xprt::xprt_ref bottom) {
    for (auto* ctx : ctxs) {
        delete ctx;
    }
    c.xprt = bottom;
}

void BM_Chain_SndBufNullBottom(benchmark::State& state) {
    event::loop loop;
    xprt::connection c(loop);
    const xprt::xprt_ref bottom{&null_layer, nullptr};
    const auto ctxs = stack(c, bottom, static_cast<int>(state.range(0)));
    std::array<std::byte, 64> area{};
    const auto b = xprt::buffer::holding(area, area.size());
    for (auto _ : state) {
        benchmark::DoNotOptimize(c.snd_buf(b, 64));
    }
    state.counters["layers"] = static_cast<double>(state.range(0));
    unstack(c, ctxs, bottom);
    c.xprt = {};
}
BENCHMARK(BM_Chain_SndBufNullBottom)->DenseRange(0, 8, 1);

void BM_Chain_RcvBufNullBottom(benchmark::State& state) {
    event::loop loop;
    xprt::connection c(loop);
    const xprt::xprt_ref bottom{&null_layer, nullptr};
    const auto ctxs = stack(c, bottom, static_cast<int>(state.range(0)));
    std::array<std::byte, 64> area{};
    xprt::buffer b(area);
    for (auto _ : state) {
        benchmark::DoNotOptimize(c.rcv_buf(b, 64));
    }
    unstack(c, ctxs, bottom);
    c.xprt = {};
}
BENCHMARK(BM_Chain_RcvBufNullBottom)->DenseRange(0, 8, 1);

// The same chain with raw at the bottom: send 1 KiB then receive it on the other end through
// the chain's top, over a socketpair.
void BM_Chain_RawRoundTrip(benchmark::State& state) {
    int sv[2];
    ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv);
    event::loop loop;
    xprt::connection a(loop);
    xprt::connection b(loop);
    (void)xprt::conn_prepare(a, &raw::sock_ctrl(), &raw::ops());
    (void)xprt::conn_prepare(b, &raw::sock_ctrl(), &raw::ops());
    a.handle.fd = sv[0];
    b.handle.fd = sv[1];
    xprt::conn_ctrl_init(a);
    xprt::conn_ctrl_init(b);
    const xprt::xprt_ref bottom = b.xprt;
    const auto ctxs = stack(b, bottom, static_cast<int>(state.range(0)));
    std::array<std::byte, 1024> out{};
    std::array<std::byte, 4096> in{};
    const auto ob = xprt::buffer::holding(out, out.size());
    for (auto _ : state) {
        a.snd_buf(ob, out.size());
        xprt::buffer ib(in);
        loop.fds().may_recv(sv[1]);  // what the poller would report
        benchmark::DoNotOptimize(b.rcv_buf(ib, in.size()));
    }
    unstack(b, ctxs, bottom);
}
BENCHMARK(BM_Chain_RawRoundTrip)->DenseRange(0, 4, 2);

// --- After the handshake: a chain whose HS layers removed themselves against bare raw -------
//
// Two connections over a socketpair, set up the same way. With `handshake`, `a` first sends a
// PROXY v2 header through a SEND_PROXY layer (HS>RAW) and `b` receives it through an
// ACCEPT_PROXY layer (HS>RAW); both layers remove themselves, then the timed loop is the one of
// bench/raw/raw_bench.cc's BM_Raw_SendRecv, through the same code for both variants. Whatever
// the handshake leaves behind (flags, proxy_info, fd states, a stale pointer in the chain)
// shows as the difference between the two.

/// Two raw connections over a socketpair; with `handshake`, each has run and lost a handshake
/// layer. `error` says why the pair is unusable (nullptr when ready).
struct send_recv_pair {
    explicit send_recv_pair(bool handshake) {
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) != 0) {
            error = "socketpair failed";
            return;
        }
        (void)xprt::conn_prepare(a, &raw::sock_ctrl(), &raw::ops());
        (void)xprt::conn_prepare(b, &raw::sock_ctrl(), &raw::ops());
        const xprt::xprt_ref raw_a = a.xprt;
        const xprt::xprt_ref raw_b = b.xprt;
        a.handle.fd = sv[0];
        b.handle.fd = sv[1];
        xprt::conn_ctrl_init(a);
        xprt::conn_ctrl_init(b);
        if (handshake) {
            cfg.timeout_ms = 0;  // no timer: nothing of the handshake may outlive it
            handshake::hs_send hs;
            hs.proxy_version = 2;
            hs.v2.command = handshake::proxy_command::proxy;
            hs.v2.src = *xprt::sock_addr::parse("192.0.2.1:4000");
            hs.v2.dst = *xprt::sock_addr::parse("192.0.2.2:443");
            a.flags.set(xprt::conn_flag::send_proxy);
            b.flags.set(xprt::conn_flag::accept_proxy);
            if (handshake::attach(a, cfg, &hs) == nullptr || handshake::attach(b, cfg) == nullptr ||
                xprt::conn_chain(a) != "HS>RAW" || xprt::conn_chain(b) != "HS>RAW") {
                error = "cannot insert the handshake layers";
                return;
            }
        }
        if (!xprt::conn_xprt_start(a) || !xprt::conn_xprt_start(b)) {
            error = "cannot start the chains";
            return;
        }
        for (int i = 0; i < 1000 && (a.flags.any(xprt::conn_mask::handshake) ||
                                     b.flags.any(xprt::conn_mask::handshake));
             ++i) {
            loop.run_once(0);
        }
        loop.run_once(0);  // anything the removal deferred
        // Really gone: raw with its original context is each chain's only layer again.
        if (a.flags.any(xprt::conn_mask::handshake | xprt::conn_flag::error) ||
            b.flags.any(xprt::conn_mask::handshake | xprt::conn_flag::error)) {
            error = "the handshake did not complete";
        } else if (a.xprt != raw_a || b.xprt != raw_b || xprt::conn_chain_depth(a) != 1 ||
                   xprt::conn_chain_depth(b) != 1) {
            error = "a handshake layer is still in the chain";
        } else if (handshake && !b.flags.has(xprt::conn_flag::rcvd_proxy)) {
            error = "the PROXY header was not received";
        }
    }

    int sv[2] = {-1, -1};  // owned by the connections once registered
    const char* error = nullptr;
    handshake::hs_config cfg;
    event::loop loop;
    xprt::connection a{loop, xprt::conn_side::backend};
    xprt::connection b{loop};
};

// Out of line so that callgrind reports instructions per call (one call per iteration).
[[gnu::noinline]] std::size_t send_recv(send_recv_pair& p, const xprt::buffer& ob, std::size_t size,
                                        std::span<std::byte> in) {
    p.a.snd_buf(ob, size);
    xprt::buffer ib(in);
    p.loop.fds().may_recv(p.sv[1]);  // as the poller would report after the short read
    return p.b.rcv_buf(ib, in.size());
}

void run_send_recv(benchmark::State& state, bool handshake) {
    const auto size = static_cast<std::size_t>(state.range(0));
    send_recv_pair p(handshake);
    if (p.error != nullptr) {
        state.SkipWithError(p.error);
        return;
    }
    std::vector<std::byte> out(size);
    std::vector<std::byte> in(65536);
    const auto ob = xprt::buffer::holding(out, size);
    std::size_t got = 0;
    for (auto _ : state) {
        const std::size_t n = send_recv(p, ob, size, in);
        benchmark::DoNotOptimize(n);
        got += n;
    }
    if (got != static_cast<std::size_t>(state.iterations()) * size) {
        state.SkipWithError("short transfer: the loop did not move every byte");
    }
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(size));
    state.SetLabel(xprt::conn_chain(p.b));
}

void BM_Chain_SendRecvBareRaw(benchmark::State& state) {
    run_send_recv(state, false);
}
BENCHMARK(BM_Chain_SendRecvBareRaw)->Arg(64)->Arg(1024);

void BM_Chain_SendRecvHandshakeRemoved(benchmark::State& state) {
    run_send_recv(state, true);
}
BENCHMARK(BM_Chain_SendRecvHandshakeRemoved)->Arg(64)->Arg(1024);

}  // namespace
