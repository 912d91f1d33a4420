// bench/raw/raw_bench.cc - raw's receive and send over a socketpair against plain recv/send on
// the same kind of socketpair. The ratio (raw time / plain time) is raw's overhead: readiness
// bookkeeping, flag updates, per-thread counters.
#include <vector>

#include <sys/socket.h>
#include <unistd.h>

#include <benchmark/benchmark.h>

#include "event/loop.h"
#include "raw/raw_sock.h"
#include "xprt/connection.h"

namespace {

using namespace xstack;

struct raw_pair {
    int sv[2] = {-1, -1};
    event::loop loop;
    xprt::connection a{loop};
    xprt::connection b{loop};
    raw_pair() {
        ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv);
        (void)xprt::conn_prepare(a, &raw::sock_ctrl(), &raw::ops());
        (void)xprt::conn_prepare(b, &raw::sock_ctrl(), &raw::ops());
        a.handle.fd = sv[0];
        b.handle.fd = sv[1];
        xprt::conn_ctrl_init(a);
        xprt::conn_ctrl_init(b);
    }
};

void BM_Raw_SendRecv(benchmark::State& state) {
    const auto size = static_cast<std::size_t>(state.range(0));
    raw_pair p;
    std::vector<std::byte> out(size);
    std::vector<std::byte> in(65536);
    const auto ob = xprt::buffer::holding(out, size);
    for (auto _ : state) {
        p.a.snd_buf(ob, size);
        xprt::buffer ib(in);
        p.loop.fds().may_recv(p.sv[1]);  // as the poller would report after the short read
        benchmark::DoNotOptimize(p.b.rcv_buf(ib, in.size()));
    }
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(size));
}
BENCHMARK(BM_Raw_SendRecv)->Arg(64)->Arg(1024)->Arg(16384);

void BM_Plain_SendRecv(benchmark::State& state) {
    const auto size = static_cast<std::size_t>(state.range(0));
    int sv[2];
    ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv);
    std::vector<char> out(size);
    std::vector<char> in(65536);
    for (auto _ : state) {
        ::send(sv[0], out.data(), size, MSG_DONTWAIT | MSG_NOSIGNAL);
        benchmark::DoNotOptimize(::recv(sv[1], in.data(), in.size(), 0));
    }
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(size));
    ::close(sv[0]);
    ::close(sv[1]);
}
BENCHMARK(BM_Plain_SendRecv)->Arg(64)->Arg(1024)->Arg(16384);

// Send alone: the receiver drains in bulk outside the timed region every 64 sends.
void BM_Raw_Send(benchmark::State& state) {
    const auto size = static_cast<std::size_t>(state.range(0));
    raw_pair p;
    std::vector<std::byte> out(size);
    std::vector<char> sink(1 << 20);
    const auto ob = xprt::buffer::holding(out, size);
    int n = 0;
    for (auto _ : state) {
        benchmark::DoNotOptimize(p.a.snd_buf(ob, size));
        if (++n == 64) {
            state.PauseTiming();
            while (::recv(p.sv[1], sink.data(), sink.size(), MSG_DONTWAIT) > 0) {
            }
            p.loop.fds().may_send(p.sv[0]);
            n = 0;
            state.ResumeTiming();
        }
    }
}
BENCHMARK(BM_Raw_Send)->Arg(1024);

void BM_Plain_Send(benchmark::State& state) {
    const auto size = static_cast<std::size_t>(state.range(0));
    int sv[2];
    ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv);
    std::vector<char> out(size);
    std::vector<char> sink(1 << 20);
    int n = 0;
    for (auto _ : state) {
        benchmark::DoNotOptimize(::send(sv[0], out.data(), size, MSG_DONTWAIT | MSG_NOSIGNAL));
        if (++n == 64) {
            state.PauseTiming();
            while (::recv(sv[1], sink.data(), sink.size(), MSG_DONTWAIT) > 0) {
            }
            n = 0;
            state.ResumeTiming();
        }
    }
    ::close(sv[0]);
    ::close(sv[1]);
}
BENCHMARK(BM_Plain_Send)->Arg(1024);

}  // namespace
