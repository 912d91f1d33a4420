// tests/proxy/proxy_forward_test.cc - xstack-proxy end to end, in-process: a test client, the
// proxy on its own thread(s), a test backend, all on loopback port 0.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <tuple>

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "handshake/hs.h"
#include "handshake/proxy.h"
#include "raw/traffic.h"
#include "tests/proxy/proxy_test_util.h"

namespace xstack::test {
namespace {

using namespace proxy_util;

/// Sends `data` from another thread and then shuts the write side, while this thread reads the
/// echo until EOF: all of it must come back, intact, followed by the EOF.
::testing::AssertionResult bulk_echo(int fd, const std::string& data) {
    bool sent = false;
    std::thread writer([&] {
        sent = send_all(fd, data);
        ::shutdown(fd, SHUT_WR);
    });
    bool eof = false;
    const std::string got = recv_until_eof(fd, &eof);
    writer.join();
    if (!sent || !eof) {
        return ::testing::AssertionFailure() << "sent " << sent << ", eof " << eof;
    }
    if (got != data) {
        return ::testing::AssertionFailure()
               << got.size() << " bytes back of " << data.size() << " (or different)";
    }
    return ::testing::AssertionSuccess();
}

bool contains(const std::string& s, std::string_view what) {
    return s.find(what) != std::string::npos;
}

TEST(ProxyForwardTest, EchoesThousandKeepAliveExchanges) {
    backend be(backend::echo);
    running_proxy px;
    ASSERT_EQ(px.start({"--listen", "127.0.0.1:0", "--connect", be.address_text()}), "");
    client_fd c(px.address());
    ASSERT_GE(c.fd, 0);
    for (int i = 0; i < 1000; ++i) {
        const std::string req = pattern(1024, static_cast<unsigned>(i));
        ASSERT_TRUE(send_all(c.fd, req));
        ASSERT_EQ(recv_exactly(c.fd, req.size()), req) << "exchange " << i;
    }
    ::shutdown(c.fd, SHUT_WR);
    bool eof = false;
    EXPECT_EQ(recv_until_eof(c.fd, &eof), "");
    EXPECT_TRUE(eof);
    const auto logs = px.wait_logs(1);
    ASSERT_EQ(logs.size(), 1u);
    EXPECT_TRUE(contains(logs[0], "bytes_in=1024000 bytes_out=1024000")) << logs[0];
    EXPECT_TRUE(contains(logs[0], "fe=RAW")) << logs[0];
    EXPECT_TRUE(contains(logs[0], "be=RAW")) << logs[0];
    EXPECT_TRUE(contains(logs[0], "term=client_fin code=NONE")) << logs[0];
    EXPECT_EQ(be.accepted(), 1);
}

TEST(ProxyForwardTest, BulkTransferOfFourMebibytesArrivesIntact) {
    backend be(backend::echo);
    running_proxy px;
    ASSERT_EQ(px.start({"--listen", "127.0.0.1:0", "--connect", be.address_text()}), "");
    client_fd c(px.address());
    ASSERT_GE(c.fd, 0);
    EXPECT_TRUE(bulk_echo(c.fd, pattern(4u << 20, 7)));
    const auto logs = px.wait_logs(1);
    ASSERT_EQ(logs.size(), 1u);
    EXPECT_TRUE(contains(logs[0], "bytes_in=4194304 bytes_out=4194304")) << logs[0];
}

// Every poller (--poller) with copying and splicing: small keep-alive exchanges, then a bulk
// transfer (which switches to large buffers or stays spliced), then the client's half-close.
class ProxyPollerTest : public ::testing::TestWithParam<std::tuple<const char*, const char*>> {};

TEST_P(ProxyPollerTest, KeepAliveThenBulkThenHalfClose) {
    const auto [poller, splice] = GetParam();
    backend be(backend::echo);
    running_proxy px;
    ASSERT_EQ(px.start({"--listen", "127.0.0.1:0", "--connect", be.address_text(), "--poller",
                        poller, "--splice", splice}),
              "");
    client_fd c(px.address());
    ASSERT_GE(c.fd, 0);
    std::size_t total = 0;
    for (int i = 0; i < 200; ++i) {
        const std::string req =
            pattern(1 + static_cast<std::size_t>(i) * 37 % 3000, static_cast<unsigned>(i));
        ASSERT_TRUE(send_all(c.fd, req));
        ASSERT_EQ(recv_exactly(c.fd, req.size()), req) << "exchange " << i;
        total += req.size();
    }
    const std::string data = pattern(3u << 20, 9);
    EXPECT_TRUE(bulk_echo(c.fd, data));
    total += data.size();
    const auto logs = px.wait_logs(1);
    ASSERT_EQ(logs.size(), 1u);
    const std::string bytes =
        "bytes_in=" + std::to_string(total) + " bytes_out=" + std::to_string(total);
    EXPECT_TRUE(contains(logs[0], bytes)) << logs[0];
    EXPECT_TRUE(contains(logs[0], "term=client_fin code=NONE")) << logs[0];
}

INSTANTIATE_TEST_SUITE_P(Pollers, ProxyPollerTest,
                         ::testing::Combine(::testing::Values("epoll-et", "epoll", "poll"),
                                            ::testing::Values("never", "always")),
                         [](const auto& i) {
                             std::string n =
                                 std::string(std::get<0>(i.param)) + "_" + std::get<1>(i.param);
                             std::replace(n.begin(), n.end(), '-', '_');
                             return n;
                         });

TEST(ProxyForwardTest, ClientHalfCloseStillReceivesTheWholeResponse) {
    const std::string response = pattern(1u << 20, 3);
    backend be([&](int fd) {
        bool eof = false;
        const std::string req = recv_until_eof(fd, &eof);  // the request ends with the FIN
        if (eof && req == "request") {
            send_all(fd, response);
        }
        ::shutdown(fd, SHUT_WR);
        ::close(fd);
    });
    running_proxy px;
    ASSERT_EQ(px.start({"--listen", "127.0.0.1:0", "--connect", be.address_text()}), "");
    client_fd c(px.address());
    ASSERT_TRUE(send_all(c.fd, "request"));
    ::shutdown(c.fd, SHUT_WR);
    bool eof = false;
    const std::string got = recv_until_eof(c.fd, &eof);
    EXPECT_TRUE(eof);
    EXPECT_TRUE(got == response) << got.size();
    const auto logs = px.wait_logs(1);
    ASSERT_EQ(logs.size(), 1u);
    EXPECT_TRUE(contains(logs[0], "term=client_fin")) << logs[0];
}

TEST(ProxyForwardTest, ServerHalfCloseStillReceivesTheClientData) {
    std::promise<std::string> backend_got;  // what the server read after its own FIN
    auto got = backend_got.get_future();
    backend be([&](int fd) {
        send_all(fd, "bye");
        ::shutdown(fd, SHUT_WR);  // the server is done talking but keeps listening
        bool eof = false;
        std::string in = recv_until_eof(fd, &eof);
        backend_got.set_value(eof ? in : "no EOF: " + in);
        ::close(fd);
    });
    running_proxy px;
    ASSERT_EQ(px.start({"--listen", "127.0.0.1:0", "--connect", be.address_text()}), "");
    client_fd c(px.address());
    bool eof = false;
    EXPECT_EQ(recv_until_eof(c.fd, &eof), "bye");  // greeting relayed, then the FIN
    EXPECT_TRUE(eof);
    ASSERT_TRUE(send_all(c.fd, "late data"));
    ::shutdown(c.fd, SHUT_WR);
    ASSERT_EQ(got.wait_for(std::chrono::milliseconds(wait_ms)), std::future_status::ready);
    EXPECT_EQ(got.get(), "late data");
    const auto logs = px.wait_logs(1);
    ASSERT_EQ(logs.size(), 1u);
    EXPECT_TRUE(contains(logs[0], "term=server_fin code=NONE")) << logs[0];
    EXPECT_TRUE(contains(logs[0], "bytes_in=9 bytes_out=3")) << logs[0];
    EXPECT_TRUE(wait_closed(c.fd));
}

TEST(ProxyForwardTest, ServerSpeaksFirstGreetingIsRelayed) {
    backend be([](int fd) {
        send_all(fd, "220 hello\r\n");
        backend::echo(fd);
    });
    running_proxy px;
    ASSERT_EQ(px.start({"--listen", "127.0.0.1:0", "--connect", be.address_text()}), "");
    client_fd c(px.address());
    EXPECT_EQ(recv_exactly(c.fd, 11), "220 hello\r\n");
    ASSERT_TRUE(send_all(c.fd, "QUIT\r\n"));
    EXPECT_EQ(recv_exactly(c.fd, 6), "QUIT\r\n");
}

TEST(ProxyForwardTest, RefusedBackendClosesTheClientAndLogsTheCode) {
    const xprt::sock_addr dead = unused_port();
    running_proxy px;
    ASSERT_EQ(px.start({"--listen", "127.0.0.1:0", "--connect", dead.to_string()}), "");
    client_fd c(px.address());
    ASSERT_GE(c.fd, 0);
    EXPECT_TRUE(wait_closed(c.fd));
    const auto logs = px.wait_logs(1);
    ASSERT_EQ(logs.size(), 1u);
    EXPECT_TRUE(contains(logs[0], "term=backend_connect_failed code=EREFUSED")) << logs[0];
    EXPECT_TRUE(contains(logs[0], "-> " + dead.to_string())) << logs[0];
    EXPECT_EQ(px.srv().info().backend_connect_errors, 1u);
}

TEST(ProxyForwardTest, IdleTimeoutClosesBothSides) {
    backend be(backend::echo);
    running_proxy px;
    ASSERT_EQ(px.start({"--listen", "127.0.0.1:0", "--connect", be.address_text(), "--idle-timeout",
                        "200"}),
              "");
    client_fd c(px.address());
    ASSERT_TRUE(send_all(c.fd, "ping"));
    EXPECT_EQ(recv_exactly(c.fd, 4), "ping");
    EXPECT_TRUE(wait_closed(c.fd));  // then nothing for 200 ms
    const auto logs = px.wait_logs(1);
    ASSERT_EQ(logs.size(), 1u);
    EXPECT_TRUE(contains(logs[0], "term=idle_timeout code=IDLE_TIMEOUT")) << logs[0];
}

TEST(ProxyForwardTest, HandshakeTimeoutWithoutProxyHeader) {
    backend be(backend::echo);
    running_proxy px;
    ASSERT_EQ(px.start({"--listen", "127.0.0.1:0", "--connect", be.address_text(), "--accept-proxy",
                        "--handshake-timeout", "150"}),
              "");
    client_fd c(px.address());
    EXPECT_TRUE(wait_closed(c.fd));  // no header is ever sent
    const auto logs = px.wait_logs(1);
    ASSERT_EQ(logs.size(), 1u);
    EXPECT_TRUE(contains(logs[0], "code=PRX_TIMEOUT")) << logs[0];
    EXPECT_EQ(be.accepted(), 0);
}

TEST(ProxyForwardTest, FastOpenAndIpv6ListenerForward) {
    backend be(backend::echo);
    running_proxy px;
    const std::string err = px.start(
        {"--listen", "[::1]:0", "--connect", be.address_text(), "--tfo", "--threads", "2"});
    ASSERT_EQ(err, "") << "IPv6 loopback is required, as by the raw socket tests";
    EXPECT_EQ(px.address().family(), AF_INET6);
    for (int i = 0; i < 5; ++i) {
        client_fd c(px.address());
        ASSERT_GE(c.fd, 0);
        ASSERT_TRUE(send_all(c.fd, "fast open"));
        EXPECT_EQ(recv_exactly(c.fd, 9), "fast open");
        ::shutdown(c.fd, SHUT_WR);
        EXPECT_TRUE(wait_closed(c.fd));
    }
    const auto logs = px.wait_logs(5);
    ASSERT_EQ(logs.size(), 5u);
    EXPECT_EQ(logs[0].rfind("[::1]:", 0), 0u) << logs[0];
}

// --- splice ----------------------------------------------------------------------------------

/// 4 MiB echoed through the proxy with `--splice mode`; returns the proxy's counters, with
/// the process-wide spliced byte count made relative to the start of the run.
proxy::info_snapshot bulk_echo(const char* mode, std::size_t size = 4u << 20) {
    const std::uint64_t spliced_before = raw::traffic_sum(0).spliced_out;
    backend be(backend::echo);
    running_proxy px;
    EXPECT_EQ(
        px.start({"--listen", "127.0.0.1:0", "--connect", be.address_text(), "--splice", mode}),
        "");
    client_fd c(px.address());
    const std::string data = pattern(size, 11);
    bool sent = false;
    std::thread writer([&] {
        sent = send_all(c.fd, data);
        ::shutdown(c.fd, SHUT_WR);
    });
    bool eof = false;
    const std::string got = recv_until_eof(c.fd, &eof);
    writer.join();
    EXPECT_TRUE(sent);
    EXPECT_TRUE(eof);
    EXPECT_EQ(got.size(), data.size());
    EXPECT_TRUE(got == data) << mode;
    const auto logs = px.wait_logs(1);
    EXPECT_EQ(logs.size(), 1u);
    proxy::info_snapshot i = px.srv().info();
    i.total_spliced_bytes_out -= spliced_before;
    return i;
}

TEST(ProxySpliceTest, AlwaysSplicesBothDirections) {
    const auto i = bulk_echo("always");
    EXPECT_EQ(i.spliced_streams, 1u);
    EXPECT_GE(i.total_spliced_bytes_out, 2u * (4u << 20));  // both directions went through pipes
    EXPECT_EQ(i.bytes_in, 4u << 20);
    EXPECT_EQ(i.bytes_out, 4u << 20);
}

TEST(ProxySpliceTest, AutoSplicesBulkTransfers) {
    const auto i = bulk_echo("auto");
    EXPECT_EQ(i.spliced_streams, 1u);
    EXPECT_GT(i.total_spliced_bytes_out, 0u);
}

TEST(ProxySpliceTest, NeverCopiesThroughBuffers) {
    const auto i = bulk_echo("never");
    EXPECT_EQ(i.spliced_streams, 0u);
    EXPECT_EQ(i.total_spliced_bytes_out, 0u);
}

TEST(ProxySpliceTest, SmallKeepAliveExchangesAndHalfCloseWhileSplicing) {
    const std::string response = pattern(300000, 4);
    backend be([&](int fd) {
        for (int i = 0; i < 200; ++i) {
            const std::string req = recv_exactly(fd, 100);
            if (req.size() != 100 || !send_all(fd, req)) {
                break;
            }
        }
        bool eof = false;
        recv_until_eof(fd, &eof);
        if (eof) {
            send_all(fd, response);
        }
        ::shutdown(fd, SHUT_WR);
        ::close(fd);
    });
    running_proxy px;
    ASSERT_EQ(
        px.start({"--listen", "127.0.0.1:0", "--connect", be.address_text(), "--splice", "always"}),
        "");
    client_fd c(px.address());
    for (int i = 0; i < 200; ++i) {
        const std::string req = pattern(100, static_cast<unsigned>(i));
        ASSERT_TRUE(send_all(c.fd, req));
        ASSERT_EQ(recv_exactly(c.fd, 100), req) << i;
    }
    ::shutdown(c.fd, SHUT_WR);
    bool eof = false;
    EXPECT_TRUE(recv_until_eof(c.fd, &eof) == response);
    EXPECT_TRUE(eof);
    const auto logs = px.wait_logs(1);
    ASSERT_EQ(logs.size(), 1u);
    EXPECT_TRUE(contains(logs[0], "term=client_fin code=NONE")) << logs[0];
    EXPECT_EQ(px.srv().info().spliced_streams, 1u);
}

// --- PROXY protocol ---------------------------------------------------------------------------

/// A backend that reads a PROXY header (either version), records it, then echoes.
struct header_backend {
    std::mutex m;
    std::string src;
    std::string dst;
    int version = 0;
    std::string error;
    backend be{[this](int fd) {
        std::string got;
        for (;;) {
            char ch;
            if (::recv(fd, &ch, 1, 0) != 1) {
                break;
            }
            got += ch;
            auto r = handshake::parse_proxy(std::as_bytes(std::span<const char>(got)));
            if (r.need_more()) {
                continue;
            }
            std::lock_guard<std::mutex> g(m);
            if (r.failed()) {
                error = std::string(xprt::to_string(r.error));
            } else {
                src = handshake::to_sock_addr(r.value.src).to_string();
                dst = handshake::to_sock_addr(r.value.dst).to_string();
                version = r.value.version;
            }
            break;
        }
        backend::echo(fd);
    }};
};

TEST(ProxyHeaderTest, AcceptProxyV1SourceIsForwardedWithSendProxy) {
    header_backend hb;
    running_proxy px;
    ASSERT_EQ(px.start({"--listen", "127.0.0.1:0", "--connect", hb.be.address_text(),
                        "--accept-proxy", "--send-proxy"}),
              "");
    client_fd c(px.address());
    ASSERT_TRUE(send_all(c.fd, "PROXY TCP4 192.0.2.1 198.51.100.2 12345 443\r\nhello"));
    EXPECT_EQ(recv_exactly(c.fd, 5), "hello");
    ::shutdown(c.fd, SHUT_WR);
    EXPECT_TRUE(wait_closed(c.fd));
    {
        std::lock_guard<std::mutex> g(hb.m);
        EXPECT_EQ(hb.error, "");
        EXPECT_EQ(hb.version, 1);
        EXPECT_EQ(hb.src, "192.0.2.1:12345");
        EXPECT_EQ(hb.dst, "198.51.100.2:443");
    }
    const auto logs = px.wait_logs(1);
    ASSERT_EQ(logs.size(), 1u);
    EXPECT_EQ(logs[0].rfind("192.0.2.1:12345 fe=RAW", 0), 0u) << logs[0];
    EXPECT_TRUE(contains(logs[0], "bytes_in=5 bytes_out=5")) << logs[0];
}

TEST(ProxyHeaderTest, AcceptProxyV2SourceIsForwardedWithSendProxyV2) {
    header_backend hb;
    running_proxy px;
    ASSERT_EQ(px.start({"--listen", "127.0.0.1:0", "--connect", hb.be.address_text(),
                        "--accept-proxy", "--send-proxy-v2"}),
              "");
    handshake::proxy_v2_spec spec;
    spec.src = *xprt::sock_addr::parse("[2001:db8::1]:4000");
    spec.dst = *xprt::sock_addr::parse("[2001:db8::2]:443");
    std::byte hdr[256];
    const std::size_t n = handshake::build_proxy_v2(spec, hdr);
    ASSERT_GT(n, 0u);
    std::string msg(reinterpret_cast<const char*>(hdr), n);
    msg += "v2 payload";
    client_fd c(px.address());
    ASSERT_TRUE(send_all(c.fd, msg));
    EXPECT_EQ(recv_exactly(c.fd, 10), "v2 payload");
    ::shutdown(c.fd, SHUT_WR);
    EXPECT_TRUE(wait_closed(c.fd));
    {
        std::lock_guard<std::mutex> g(hb.m);
        EXPECT_EQ(hb.error, "");
        EXPECT_EQ(hb.version, 2);
        EXPECT_EQ(hb.src, "[2001:db8::1]:4000");
        EXPECT_EQ(hb.dst, "[2001:db8::2]:443");
    }
    const auto logs = px.wait_logs(1);
    ASSERT_EQ(logs.size(), 1u);
    EXPECT_EQ(logs[0].rfind("[2001:db8::1]:4000 ", 0), 0u) << logs[0];
}

TEST(ProxyHeaderTest, SendProxyV2CarriesTheRealClientAddress) {
    header_backend hb;
    running_proxy px;
    ASSERT_EQ(
        px.start({"--listen", "127.0.0.1:0", "--connect", hb.be.address_text(), "--send-proxy-v2"}),
        "");
    client_fd c(px.address());
    xprt::sock_addr local;
    local.len = sizeof local.ss;
    ::getsockname(c.fd, local.sa(), &local.len);
    ASSERT_TRUE(send_all(c.fd, "data"));
    EXPECT_EQ(recv_exactly(c.fd, 4), "data");
    std::lock_guard<std::mutex> g(hb.m);
    EXPECT_EQ(hb.version, 2);
    EXPECT_EQ(hb.src, local.to_string());
    EXPECT_EQ(hb.dst, px.address().to_string());
}

TEST(ProxyHeaderTest, MissingProxyHeaderIsRefused) {
    backend be(backend::echo);
    running_proxy px;
    ASSERT_EQ(
        px.start({"--listen", "127.0.0.1:0", "--connect", be.address_text(), "--accept-proxy"}),
        "");
    client_fd c(px.address());
    ASSERT_TRUE(send_all(c.fd, "GET / HTTP/1.0\r\n\r\n"));
    EXPECT_TRUE(wait_closed(c.fd));
    const auto logs = px.wait_logs(1);
    ASSERT_EQ(logs.size(), 1u);
    EXPECT_TRUE(contains(logs[0], "term=client_handshake_failed code=PRX_NOT_HDR")) << logs[0];
    EXPECT_EQ(be.accepted(), 0);
}

// --- threads and stats ------------------------------------------------------------------------

TEST(ProxyStatsTest, TwoThreadsServeManyClientsAndStatsSumThem) {
    const handshake::hs_stats hs0 = handshake::hs_stats_sum();
    backend be(backend::echo);
    const std::string sock = temp_dir() + "/stats.sock";
    running_proxy px;
    ASSERT_EQ(px.start({"--listen", "127.0.0.1:0", "--connect", be.address_text(), "--threads", "2",
                        "--stats-socket", sock}),
              "");
    constexpr int clients = 20;
    std::vector<std::thread> ts;
    ts.reserve(clients);
    std::atomic<int> ok{0};
    for (int i = 0; i < clients; ++i) {
        ts.emplace_back([&, i] {
            client_fd c(px.address());
            const std::string req = pattern(10000, static_cast<unsigned>(i));
            if (send_all(c.fd, req) && recv_exactly(c.fd, req.size()) == req) {
                ::shutdown(c.fd, SHUT_WR);
                if (wait_closed(c.fd)) {
                    ok.fetch_add(1);
                }
            }
        });
    }
    for (auto& t : ts) {
        t.join();
    }
    EXPECT_EQ(ok.load(), clients);
    ASSERT_EQ(px.wait_logs(clients).size(), static_cast<std::size_t>(clients));

    const std::string info = stats_command(sock, "show info");
    EXPECT_EQ(info_value(info, "Nbthread"), 2) << info;
    EXPECT_EQ(info_value(info, "CurrConns"), 0) << info;
    EXPECT_EQ(info_value(info, "CumConns"), clients) << info;
    EXPECT_EQ(info_value(info, "BytesIn"), clients * 10000) << info;
    EXPECT_GE(info_value(info, "TotalBytesOut"), 2 * clients * 10000) << info;
    EXPECT_GT(info_value(info, "BytesOutRate"), 0) << info;
    EXPECT_GE(info_value(info, "TotalSplicedBytesOut"), 0) << info;
    EXPECT_GE(info_value(info, "SplicedBytesOutRate"), 0) << info;
    EXPECT_EQ(info_value(info, "SplicedStreams"), 0) << info;  // 10 kB: no bulk, no splice
    // Handshake counters are process-wide: compare with what they were before this test.
    EXPECT_EQ(info_value(info, "HsFailed"),
              static_cast<long long>(hs0[handshake::hs_counter::failed]))
        << info;
}

/// A field of a `show layers` line: "<LAYER>: Key value Key value ...". -1 when absent.
long long layer_value(const std::string& out, std::string_view layer, std::string_view key) {
    const std::string head = std::string(layer) + ": ";
    const std::size_t at = out.find(head);
    if (at == std::string::npos || (at != 0 && out[at - 1] != '\n')) {
        return -1;
    }
    const std::string line = out.substr(at, out.find('\n', at) - at);
    const std::string k = " " + std::string(key) + " ";
    const std::size_t kat = line.find(k);
    return kat == std::string::npos ? -1 : std::atoll(line.c_str() + kat + k.size());
}

TEST(ProxyStatsTest, ShowLayersCountsCallsBytesAndHandshakesPerLayer) {
    backend be(backend::echo);
    const std::string sock = temp_dir() + "/stats.sock";
    running_proxy px;
    ASSERT_EQ(px.start({"--listen", "127.0.0.1:0", "--connect", be.address_text(), "--accept-proxy",
                        "--stats-socket", sock}),
              "");
    const std::string before = stats_command(sock, "show layers");
    const long long hs0 = std::max(0LL, layer_value(before, "HS", "HsDone"));
    const long long rx0 = std::max(0LL, layer_value(before, "RAW", "RcvBytes"));
    const long long tx0 = std::max(0LL, layer_value(before, "RAW", "SndBytes"));

    const std::string req = pattern(50000);
    {
        client_fd c(px.address());
        ASSERT_TRUE(send_all(c.fd, "PROXY TCP4 192.0.2.1 192.0.2.2 1000 80\r\n" + req));
        ASSERT_EQ(recv_exactly(c.fd, req.size()), req);
        ::shutdown(c.fd, SHUT_WR);
        ASSERT_TRUE(wait_closed(c.fd));
    }
    ASSERT_EQ(px.wait_logs(1).size(), 1u);

    const std::string out = stats_command(sock, "show layers");
    EXPECT_EQ(layer_value(out, "HS", "HsDone"), hs0 + 1) << out;
    EXPECT_EQ(layer_value(out, "HS", "HsFailed"), 0) << out;
    EXPECT_GE(layer_value(out, "HS", "HsAvgUs"), 0) << out;
    // The proxy read the header and the request from the client and the echo from the backend;
    // it sent both on (raw counts every side of every connection in this process: the test's
    // echo backend runs in it too, hence >=).
    EXPECT_GE(layer_value(out, "RAW", "RcvBytes") - rx0, static_cast<long long>(2 * req.size()))
        << out;
    EXPECT_GE(layer_value(out, "RAW", "SndBytes") - tx0, static_cast<long long>(2 * req.size()))
        << out;
    EXPECT_GT(layer_value(out, "RAW", "RcvCalls"), 0) << out;
    EXPECT_GE(layer_value(out, "RAW", "RcvZero"), 0) << out;
    EXPECT_EQ(layer_value(out, "SSL", "RcvCalls"), -1) << "no TLS was used: no SSL line\n" << out;
    EXPECT_NE(stats_command(sock, "help").find("show layers"), std::string::npos);
}

TEST(ProxyStatsTest, SocketIsPrivateAndShowConnListsBothChains) {
    const handshake::hs_stats hs0 = handshake::hs_stats_sum();
    header_backend hb;  // reads the PROXY header, then echoes
    const std::string sock = temp_dir() + "/stats.sock";
    running_proxy px;
    ASSERT_EQ(px.start({"--listen", "127.0.0.1:0", "--connect", hb.be.address_text(), "--threads",
                        "2", "--stats-socket", sock, "--send-proxy"}),
              "");
    struct stat st {};
    ASSERT_EQ(::stat(sock.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);

    // Open connections (on either thread) while asking.
    client_fd c1(px.address());
    client_fd c2(px.address());
    client_fd c3(px.address());
    for (int fd : {c1.fd, c2.fd, c3.fd}) {
        ASSERT_TRUE(send_all(fd, "x"));
        ASSERT_EQ(recv_exactly(fd, 1), "x");
    }
    const std::string conns = stats_command(sock, "show conn");
    EXPECT_TRUE(contains(conns, "# thread 0:")) << conns;
    EXPECT_TRUE(contains(conns, "# thread 1:")) << conns;
    std::size_t streams = 0;
    for (std::size_t p = conns.find("\nstream "); p != std::string::npos;
         p = conns.find("\nstream ", p + 1)) {
        ++streams;
    }
    EXPECT_EQ(streams, 3u) << conns;
    EXPECT_TRUE(contains(conns, "fe: chain=RAW flags=")) << conns;
    EXPECT_TRUE(contains(conns, "be: chain=RAW flags=")) << conns;
    EXPECT_TRUE(contains(conns, "CTRL_READY")) << conns;
    EXPECT_TRUE(contains(conns, "err=NONE")) << conns;

    const std::string info = stats_command(sock, "show info");
    EXPECT_EQ(info_value(info, "CurrConns"), 3) << info;
    EXPECT_EQ(info_value(info, "HsSentV1"),
              static_cast<long long>(hs0[handshake::hs_counter::sent_v1]) + 3)
        << info;
    EXPECT_TRUE(contains(stats_command(sock, "bogus"), "Unknown command"));
}

}  // namespace
}  // namespace xstack::test
