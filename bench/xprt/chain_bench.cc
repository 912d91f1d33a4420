// bench/xprt/chain_bench.cc - the cost of a data call passing through N pass-through layers.
// The bottom layer answers at once (no syscall), so the difference between N and N+1 layers is
// the price of one layer: one indirect call. ns per added layer = (t(8) - t(0)) / 8.
// With raw at the bottom over a socketpair, the same chain is measured with its syscall, to show
// the layers' share of a real call.
#include <array>
#include <vector>

#include <sys/socket.h>
#include <unistd.h>

#include <benchmark/benchmark.h>

#include "event/loop.h"
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

}  // namespace
