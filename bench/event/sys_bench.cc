// bench/event/sys_bench.cc - the syscall seam costs nothing in release builds: a recvmsg through
// xstack::sys against ::recvmsg directly, on an empty non-blocking socketpair (EAGAIN: the
// cheapest real syscall). In builds with the seam compiled in (dev), the wrapper adds one
// thread-local load and branch while no hooks object is installed.
#include "event/sys.h"

#include <sys/socket.h>
#include <unistd.h>

#include <benchmark/benchmark.h>

namespace {

struct pair_fds {
    int fd[2] = {-1, -1};
    pair_fds() { ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fd); }
    ~pair_fds() {
        ::close(fd[0]);
        ::close(fd[1]);
    }
    pair_fds(const pair_fds&) = delete;
    pair_fds& operator=(const pair_fds&) = delete;
};

void BM_Sys_RecvmsgDirect(benchmark::State& state) {
    pair_fds p;
    char b[64];
    iovec iov{b, sizeof b};
    msghdr m{};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    for (auto _ : state) {
        benchmark::DoNotOptimize(::recvmsg(p.fd[0], &m, 0));
    }
}
BENCHMARK(BM_Sys_RecvmsgDirect);

void BM_Sys_RecvmsgSeam(benchmark::State& state) {
    pair_fds p;
    char b[64];
    iovec iov{b, sizeof b};
    msghdr m{};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    for (auto _ : state) {
        benchmark::DoNotOptimize(xstack::sys::recvmsg(p.fd[0], &m, 0));
    }
    state.counters["hooks_compiled"] = xstack::sys::hooks_compiled ? 1 : 0;
}
BENCHMARK(BM_Sys_RecvmsgSeam);

}  // namespace
