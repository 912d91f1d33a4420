// bench/handshake/proxy_bench.cc - ns per parsed and per built handshake header.
//
// Micro tier: pure functions over bytes already in memory, no syscall. The headers are those
// a receiver meets most: v1 TCP4, v2 TCP4/TCP6 without TLVs, and a v2 TCP6 header with the
// TLVs HAProxy sends for a TLS client (ALPN, AUTHORITY, UNIQUE_ID, SSL) and a CRC32C.
// Issue 3's target: a v2 IPv6 header without TLVs parses in under 100 ns.
#include "handshake/proxy.h"

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include <benchmark/benchmark.h>

#include "handshake/cip.h"
#include "handshake/crc32c.h"
#include "handshake/socks4.h"

#if defined(XS_BENCH_COUNT_ALLOCS)
#include "tests/support/alloc_counter.h"
#endif

namespace {

using namespace xstack;
using namespace xstack::handshake;

std::uint64_t allocations() noexcept {
#if defined(XS_BENCH_COUNT_ALLOCS)
    return xstack::test::allocations();
#else
    return 0;
#endif
}

// Reports heap allocations per iteration over its scope, which must hold only the timed loop
// (0 expected everywhere; anything else touching state.counters inside it would count).
class alloc_meter {
public:
    explicit alloc_meter(benchmark::State& s) noexcept : s_(s), start_(allocations()) {}
    ~alloc_meter() {
        s_.counters["allocs_per_op"] = benchmark::Counter(
            static_cast<double>(allocations() - start_), benchmark::Counter::kAvgIterations);
    }
    alloc_meter(const alloc_meter&) = delete;
    alloc_meter& operator=(const alloc_meter&) = delete;
    alloc_meter(alloc_meter&&) = delete;
    alloc_meter& operator=(alloc_meter&&) = delete;

private:
    benchmark::State& s_;
    std::uint64_t start_;
};

std::vector<std::byte> text(std::string_view s) {
    const auto* p = reinterpret_cast<const std::byte*>(s.data());
    return {p, p + s.size()};
}

xprt::sock_addr addr(const char* s) {
    return *xprt::sock_addr::parse(s);
}

// The TLVs of a TLS client relayed by HAProxy with `proxy-v2-options ssl,crc32c,authority,
// unique-id,ssl-cipher`.
proxy_v2_spec tls_client_spec(const ssl_info& ssl, std::span<const std::byte> alpn) {
    proxy_v2_spec spec;
    spec.src = addr("[2001:db8::1]:56324");
    spec.dst = addr("[2001:db8::2]:443");
    spec.crc32c = true;
    spec.alpn = alpn;
    spec.authority = "www.example.com";
    spec.unique_id = "7F000001:9E20_7F000001:01BB_66A8B2C1_0001:1A2B";
    spec.ssl = &ssl;
    return spec;
}

ssl_info tls_client_ssl() {
    ssl_info ssl;
    ssl.client = ssl_client_ssl;
    ssl.version = "TLSv1.3";
    ssl.cipher = "TLS_AES_256_GCM_SHA384";
    return ssl;
}

std::vector<std::byte> build(const proxy_v2_spec& spec) {
    std::vector<std::byte> out(proxy_v2_size(spec));
    (void)build_proxy_v2(spec, out);
    return out;
}

void run_parse(benchmark::State& state, const std::vector<std::byte>& in) {
    if (!parse_proxy(in).complete()) {
        state.SkipWithError("benchmark header does not parse");
        return;
    }
    {
        alloc_meter m(state);
        for (auto _ : state) {
            benchmark::DoNotOptimize(in.data());
            auto r = parse_proxy(in);
            benchmark::DoNotOptimize(r);
        }
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                            static_cast<std::int64_t>(in.size()));
}

void BM_ProxyV1_Parse_Tcp4(benchmark::State& state) {
    run_parse(state, text("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n"));
}
BENCHMARK(BM_ProxyV1_Parse_Tcp4);

void BM_ProxyV1_Parse_Tcp6(benchmark::State& state) {
    run_parse(state, text("PROXY TCP6 2001:db8::1 2001:db8::2 56324 443\r\n"));
}
BENCHMARK(BM_ProxyV1_Parse_Tcp6);

void BM_ProxyV2_Parse_Tcp4(benchmark::State& state) {
    proxy_v2_spec spec;
    spec.src = addr("192.168.0.1:56324");
    spec.dst = addr("192.168.0.11:443");
    run_parse(state, build(spec));
}
BENCHMARK(BM_ProxyV2_Parse_Tcp4);

void BM_ProxyV2_Parse_Tcp6(benchmark::State& state) {
    proxy_v2_spec spec;
    spec.src = addr("[2001:db8::1]:56324");
    spec.dst = addr("[2001:db8::2]:443");
    run_parse(state, build(spec));
}
BENCHMARK(BM_ProxyV2_Parse_Tcp6);

void BM_ProxyV2_Parse_Tcp6TlvsCrc(benchmark::State& state) {
    const ssl_info ssl = tls_client_ssl();
    const auto alpn = text("h2");
    run_parse(state, build(tls_client_spec(ssl, alpn)));
}
BENCHMARK(BM_ProxyV2_Parse_Tcp6TlvsCrc);

void BM_ProxyV2_Parse_AwsHealthCheck(benchmark::State& state) {
    // LOCAL, family 0x11, CRC32C + 74-byte NOOP at byte 16 (kubernetes/kubernetes#57250).
    std::vector<std::byte> in(100);
    const std::uint8_t head[] = {0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55,
                                 0x49, 0x54, 0x0a, 0x20, 0x11, 0x00, 0x54, 0x03, 0x00,
                                 0x04, 0xbc, 0xe5, 0x95, 0x1f, 0x04, 0x00, 0x4a};
    for (std::size_t i = 0; i < sizeof head; ++i) {
        in[i] = std::byte{head[i]};
    }
    run_parse(state, in);
}
BENCHMARK(BM_ProxyV2_Parse_AwsHealthCheck);

void BM_ProxyV1_Build_Tcp4(benchmark::State& state) {
    const auto src = addr("192.168.0.1:56324");
    const auto dst = addr("192.168.0.11:443");
    std::byte out[proxy_v1_max_length];
    alloc_meter m(state);
    for (auto _ : state) {
        benchmark::DoNotOptimize(build_proxy_v1(src, dst, out));
        benchmark::ClobberMemory();
    }
}
BENCHMARK(BM_ProxyV1_Build_Tcp4);

void BM_ProxyV1_Build_Tcp6(benchmark::State& state) {
    const auto src = addr("[2001:db8::1]:56324");
    const auto dst = addr("[2001:db8::2]:443");
    std::byte out[proxy_v1_max_length];
    alloc_meter m(state);
    for (auto _ : state) {
        benchmark::DoNotOptimize(build_proxy_v1(src, dst, out));
        benchmark::ClobberMemory();
    }
}
BENCHMARK(BM_ProxyV1_Build_Tcp6);

void BM_ProxyV2_Build_Tcp4(benchmark::State& state) {
    proxy_v2_spec spec;
    spec.src = addr("192.168.0.1:56324");
    spec.dst = addr("192.168.0.11:443");
    std::byte out[64];
    alloc_meter m(state);
    for (auto _ : state) {
        benchmark::DoNotOptimize(build_proxy_v2(spec, out));
        benchmark::ClobberMemory();
    }
}
BENCHMARK(BM_ProxyV2_Build_Tcp4);

void BM_ProxyV2_Build_Tcp6TlvsCrc(benchmark::State& state) {
    const ssl_info ssl = tls_client_ssl();
    const auto alpn = text("h2");
    const proxy_v2_spec spec = tls_client_spec(ssl, alpn);
    std::byte out[512];
    alloc_meter m(state);
    for (auto _ : state) {
        benchmark::DoNotOptimize(build_proxy_v2(spec, out));
        benchmark::ClobberMemory();
    }
}
BENCHMARK(BM_ProxyV2_Build_Tcp6TlvsCrc);

void BM_Cip_Parse_Ipv4(benchmark::State& state) {
    std::vector<std::byte> in(48);
    const std::uint8_t head[] = {0x12, 0x34, 0xab, 0xcd, 0,   0, 0,    40,   0x45, 0,   0,
                                 0,    0,    0,    0,    0,   0, 6,    0,    0,    192, 0,
                                 2,    1,    198,  51,   100, 2, 0x30, 0x39, 0x01, 0xbb};
    for (std::size_t i = 0; i < sizeof head; ++i) {
        in[i] = std::byte{head[i]};
    }
    cip_options opt;
    opt.magic = 0x1234ABCD;
    if (!parse_cip(in, opt).complete()) {
        state.SkipWithError("benchmark CIP header does not parse");
        return;
    }
    alloc_meter m(state);
    for (auto _ : state) {
        benchmark::DoNotOptimize(in.data());
        auto r = parse_cip(in, opt);
        benchmark::DoNotOptimize(r);
    }
}
BENCHMARK(BM_Cip_Parse_Ipv4);

void BM_Socks4_ParseReply(benchmark::State& state) {
    const std::vector<std::byte> in = {std::byte{0x00}, std::byte{0x5a}, std::byte{0},
                                       std::byte{0},    std::byte{0},    std::byte{0},
                                       std::byte{0},    std::byte{0}};
    alloc_meter m(state);
    for (auto _ : state) {
        benchmark::DoNotOptimize(in.data());
        auto r = parse_socks4_reply(in);
        benchmark::DoNotOptimize(r);
    }
}
BENCHMARK(BM_Socks4_ParseReply);

// CRC32C alone, on the dispatching entry point and on the portable table.
void BM_Crc32c(benchmark::State& state) {
    const std::vector<std::byte> in(static_cast<std::size_t>(state.range(0)), std::byte{0xA5});
    for (auto _ : state) {
        benchmark::DoNotOptimize(crc32c(in));
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_Crc32c)->Arg(16)->Arg(128)->Arg(1024);

void BM_Crc32c_Portable(benchmark::State& state) {
    const std::vector<std::byte> in(static_cast<std::size_t>(state.range(0)), std::byte{0xA5});
    for (auto _ : state) {
        benchmark::DoNotOptimize(detail::crc32c_extend_sw(0, in));
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_Crc32c_Portable)->Arg(16)->Arg(128)->Arg(1024);

}  // namespace
