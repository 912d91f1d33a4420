// tests/handshake/hs_layer_test.cc - the handshake pseudo-transport in chains: HS>RAW over a
// socketpair and over a scripted fake layer, insertion below another top, removal from the top
// and from the middle, fragmentation at every offset without spinning, timeouts, optional PROXY
// with trusted sources, SOCKS4, PROXY sending, abort.
#include <string>
#include <vector>

#include <sys/socket.h>

#include <gtest/gtest.h>

#include "event/loop.h"
#include "event/sys.h"
#include "handshake/hs.h"
#include "handshake/proxy_v1.h"
#include "handshake/proxy_v2.h"
#include "handshake/socks4.h"
#include "raw/raw_sock.h"
#include "raw/sock.h"
#include "tests/support/fake_layer.h"
#include "tests/support/run_until.h"
#include "tests/support/socket_pair.h"
#include "xprt/connection.h"
#include "xprt/pass_through.h"

namespace xstack::test {
namespace {

using handshake::hs_config;
using handshake::hs_counter;
using handshake::hs_send;
using sys::call;
using xprt::conn_err;
using xprt::conn_flag;
using xprt::sub_event;

std::string bytes_to_string(std::span<const std::byte> b) {
    return {reinterpret_cast<const char*>(b.data()), b.size()};
}

std::string v2_header(const std::string& authority = "", bool crc = false) {
    handshake::proxy_v2_spec spec;
    spec.src = *xprt::sock_addr::parse("192.0.2.1:4000");
    spec.dst = *xprt::sock_addr::parse("198.51.100.2:443");
    spec.authority = authority;
    spec.crc32c = crc;
    std::vector<std::byte> out(handshake::proxy_v2_size(spec));
    EXPECT_EQ(handshake::build_proxy_v2(spec, out), out.size());
    return bytes_to_string(out);
}

const std::string v1_header = "PROXY TCP4 192.0.2.1 198.51.100.2 4000 443\r\n";

xprt::sock_addr unix_peer() {
    xprt::sock_addr a;
    a.ss.ss_family = AF_UNIX;
    a.len = sizeof(sa_family_t);
    return a;
}

/// The application above the chain: a tasklet counting its wakeups.
struct app {
    explicit app(event::loop& l) : task(l, run, this, "app") { we.task = &task; }
    static void run(event::tasklet& /*t*/, void* ctx) noexcept { ++static_cast<app*>(ctx)->runs; }
    event::tasklet task;
    xprt::wait_event we;
    int runs = 0;
};

std::uint64_t fake_now_ns = 1'000'000'000;
std::uint64_t fake_clock(void* /*ctx*/) noexcept {
    return fake_now_ns;
}

class HsLayerTest : public ::testing::Test {
protected:
    HsLayerTest() : loop_(opts()), c_(loop_) {}

    static event::loop_options opts() {
        event::loop_options o;
        o.clock = fake_clock;  // time moves only when a test says so
        return o;
    }

    /// The connection on the pair's b end, raw transport, registered; flags as given.
    void accept(xprt::conn_flags flags, const hs_config& cfg) {
        ASSERT_TRUE(pair_.ok());
        ASSERT_TRUE(xprt::conn_prepare(c_, &raw::sock_ctrl(), &raw::ops()).has_value());
        fd_ = pair_.release_b();
        raw::accept_init(c_, fd_, unix_peer());
        c_.flags.set(flags);
        ASSERT_NE(handshake::attach(c_, cfg), nullptr);
        ASSERT_TRUE(xprt::conn_xprt_start(c_).has_value());
    }

    bool run_until_done(int timeout_ms = 3000) {
        return run_until(
            loop_,
            [&] {
                return !c_.flags.any(xprt::conn_mask::handshake) || c_.flags.has(conn_flag::error);
            },
            timeout_ms);
    }

    void advance_ms(std::uint64_t ms) {
        fake_now_ns += ms * 1'000'000;
        loop_.update_time();
    }

    std::string read_app(std::size_t max = 4096) {
        std::vector<std::byte> area(max);
        xprt::buffer b(area);
        std::string out;
        for (int i = 0; i < 100; ++i) {
            loop_.fds().may_recv(fd_);
            const std::size_t n = c_.rcv_buf(b, b.room());
            if (n == 0) {
                break;
            }
        }
        std::string s(b.data(), '\0');
        b.peek(0, std::as_writable_bytes(std::span<char>(s.data(), s.size())));
        return s;
    }

    event::loop loop_;
    socket_pair pair_;
    xprt::connection c_;
    int fd_ = -1;
    hs_config cfg_;
};

// --- PROXY receive over a real socket ------------------------------------------------------

TEST_F(HsLayerTest, InsertedAboveRawRemovedWhenDoneAndPayloadUntouched) {
    accept(conn_flag::accept_proxy, cfg_);
    EXPECT_EQ(xprt::conn_chain(c_), "HS>RAW");
    ASSERT_TRUE(write_all(pair_.a(), v1_header + "GET / HTTP/1.0\r\n\r\n"));
    ASSERT_TRUE(run_until_done());
    EXPECT_FALSE(c_.flags.has(conn_flag::error)) << xprt::to_string(c_.err_code);
    EXPECT_EQ(xprt::conn_chain(c_), "RAW");
    EXPECT_TRUE(c_.flags.has(conn_flag::rcvd_proxy));
    ASSERT_NE(c_.proxy, nullptr);
    EXPECT_EQ(c_.proxy->source, xprt::proxy_source::proxy_v1);
    EXPECT_EQ(c_.client_addr().to_string(), "192.0.2.1:4000");
    EXPECT_EQ(c_.client_dst_addr().to_string(), "198.51.100.2:443");
    EXPECT_EQ(read_app(), "GET / HTTP/1.0\r\n\r\n");  // not a byte after the header consumed
}

TEST_F(HsLayerTest, V2TlvsAreKeptOnTheConnection) {
    accept(conn_flag::accept_proxy, cfg_);
    ASSERT_TRUE(write_all(pair_.a(), v2_header("example.com", true) + "payload"));
    ASSERT_TRUE(run_until_done());
    ASSERT_FALSE(c_.flags.has(conn_flag::error)) << xprt::to_string(c_.err_code);
    ASSERT_NE(c_.proxy, nullptr);
    EXPECT_EQ(c_.proxy->source, xprt::proxy_source::proxy_v2);
    const handshake::tlv_list tlvs(c_.proxy->tlv_bytes());
    ASSERT_TRUE(tlvs.find(handshake::tlv_type::authority).has_value());
    EXPECT_EQ(tlvs.find(handshake::tlv_type::authority)->text(), "example.com");
    EXPECT_EQ(read_app(), "payload");
}

TEST_F(HsLayerTest, NothingIsDeliveredUpwardBeforeTheHeaderIsComplete) {
    accept(conn_flag::accept_proxy, cfg_);
    ASSERT_TRUE(write_all(pair_.a(), v1_header.substr(0, 20)));
    loop_.run_once(0);
    loop_.run_once(0);
    std::byte area[64];
    xprt::buffer b(area);
    EXPECT_EQ(c_.rcv_buf(b, sizeof area), 0u);  // HS is on top: nothing passes
    EXPECT_EQ(xprt::conn_chain(c_), "HS>RAW");
    app a(loop_);
    c_.subscribe(sub_event::recv, a.we);  // recorded by HS
    ASSERT_TRUE(write_all(pair_.a(), v1_header.substr(20) + "hello"));
    ASSERT_TRUE(run_until_done());
    ASSERT_TRUE(run_until(loop_, [&] { return a.runs > 0; }));  // handed down, data ready
    EXPECT_EQ(read_app(), "hello");
}

TEST_F(HsLayerTest, SplitAtEveryOffsetWithoutSpinningOrFailedRecv) {
    const std::string header = v2_header("split.example", true);
    for (std::size_t k = 1; k < header.size(); k += 3) {
        socket_pair p;
        event::loop l(opts());
        xprt::connection c(l);
        ASSERT_TRUE(xprt::conn_prepare(c, &raw::sock_ctrl(), &raw::ops()).has_value());
        const int fd = p.release_b();
        raw::accept_init(c, fd, unix_peer());
        c.flags.set(conn_flag::accept_proxy);
        ASSERT_NE(handshake::attach(c, cfg_), nullptr);
        ASSERT_TRUE(xprt::conn_xprt_start(c).has_value());
        sys::hooks h;
        ASSERT_TRUE(write_all(p.a(), header.substr(0, k)));
        for (int i = 0; i < 20; ++i) {
            l.run_once(0);  // a spinning layer would keep peeking here
        }
        EXPECT_TRUE(c.flags.has(conn_flag::accept_proxy)) << k;
        // Each piece: one peek and one consume, then the poller; never a recv per iteration.
        EXPECT_LE(h.count(call::recv, fd), 2u) << k;
        EXPECT_EQ(h.failures(call::recv, fd), 0u) << k;
        ASSERT_TRUE(write_all(p.a(), header.substr(k) + "tail"));
        ASSERT_TRUE(run_until(l, [&] { return !c.flags.has(conn_flag::accept_proxy); })) << k;
        ASSERT_FALSE(c.flags.has(conn_flag::error)) << k << " " << xprt::to_string(c.err_code);
        EXPECT_EQ(c.client_addr().to_string(), "192.0.2.1:4000");
        std::byte area[16];
        xprt::buffer b(area);
        EXPECT_EQ(c.rcv_buf(b, sizeof area), 4u) << k;
    }
}

TEST_F(HsLayerTest, EintrBetweenPiecesIsRetried) {
    accept(conn_flag::accept_proxy, cfg_);
    sys::hooks h;
    h.inject_errno(call::recv, EINTR, fd_, 2);
    ASSERT_TRUE(write_all(pair_.a(), v1_header));
    ASSERT_TRUE(run_until_done());
    EXPECT_FALSE(c_.flags.has(conn_flag::error)) << xprt::to_string(c_.err_code);
    EXPECT_EQ(h.pending_injections(), 0u);
}

TEST_F(HsLayerTest, BadHeadersFailWithTheirCodeAndWakeTheApplication) {
    const std::pair<std::string, conn_err> cases[] = {
        {"GET / HTTP/1.1\r\n\r\n", conn_err::prx_not_hdr},
        {"PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n", conn_err::prx_bad_proto},
        {"PROXY TCP4 1.2.3.04 5.6.7.8 1 2\r\n", conn_err::prx_bad_addr},
        {"PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n", conn_err::prx_bad_hdr},
    };
    for (const auto& [bytes, code] : cases) {
        socket_pair p;
        event::loop l(opts());
        xprt::connection c(l);
        ASSERT_TRUE(xprt::conn_prepare(c, &raw::sock_ctrl(), &raw::ops()).has_value());
        const int fd = p.release_b();
        raw::accept_init(c, fd, unix_peer());
        c.flags.set(conn_flag::accept_proxy);
        ASSERT_NE(handshake::attach(c, cfg_), nullptr);
        app a(l);
        c.subscribe(sub_event::recv, a.we);
        ASSERT_TRUE(xprt::conn_xprt_start(c).has_value());
        ASSERT_TRUE(write_all(p.a(), bytes));
        ASSERT_TRUE(run_until(l, [&] { return c.flags.has(conn_flag::error) && a.runs > 0; }));
        EXPECT_EQ(c.err_code, code) << bytes;
        EXPECT_EQ(xprt::conn_chain(c), "RAW");  // removed on error too
        EXPECT_TRUE(a.we.events.empty());
    }
}

TEST_F(HsLayerTest, ClosedBeforeAnyByteIsEmptyInsideIsAbort) {
    accept(conn_flag::accept_proxy, cfg_);
    pair_.close_a();
    ASSERT_TRUE(run_until_done());
    EXPECT_EQ(c_.err_code, conn_err::prx_empty);

    socket_pair p;
    event::loop l(opts());
    xprt::connection c(l);
    ASSERT_TRUE(xprt::conn_prepare(c, &raw::sock_ctrl(), &raw::ops()).has_value());
    raw::accept_init(c, p.release_b(), unix_peer());
    c.flags.set(conn_flag::accept_proxy);
    ASSERT_NE(handshake::attach(c, cfg_), nullptr);
    ASSERT_TRUE(xprt::conn_xprt_start(c).has_value());
    ASSERT_TRUE(write_all(p.a(), "PROXY TCP4 1.2"));
    p.close_a();
    ASSERT_TRUE(run_until(l, [&] { return c.flags.has(conn_flag::error); }));
    EXPECT_EQ(c.err_code, conn_err::prx_abort);
}

TEST_F(HsLayerTest, StalledHeaderTimesOutWithPrxTimeout) {
    cfg_.timeout_ms = 3000;
    accept(conn_flag::accept_proxy, cfg_);
    ASSERT_TRUE(write_all(pair_.a(), v2_header().substr(0, 10)));
    for (int i = 0; i < 5; ++i) {
        loop_.run_once(0);
    }
    EXPECT_FALSE(c_.flags.has(conn_flag::error));
    advance_ms(3001);
    ASSERT_TRUE(run_until_done());
    EXPECT_EQ(c_.err_code, conn_err::prx_timeout);
    EXPECT_EQ(xprt::conn_chain(c_), "RAW");
}

// --- over a scripted lower layer -----------------------------------------------------------

TEST_F(HsLayerTest, ByteByByteOverAFakeLayerWithEagainBetween) {
    fake_layer bottom("FAKE", nullptr, xprt::xprt_id::raw);
    fake_ctrl ctrl;
    xprt::connection c(loop_);
    ASSERT_TRUE(xprt::conn_prepare(c, &ctrl, &bottom).has_value());
    xprt::conn_ctrl_init(c);
    fake_ctx& io = fake_layer::ctx_of(c.xprt.ctx);
    io.one_chunk_per_call = true;
    c.flags.set(conn_flag::accept_proxy);
    ASSERT_NE(handshake::attach(c, cfg_), nullptr);
    EXPECT_EQ(xprt::conn_chain(c), "HS>FAKE");
    ASSERT_TRUE(xprt::conn_xprt_start(c).has_value());
    const std::string header = v2_header("byte.example", true);
    loop_.run_once(0);
    for (char ch : header) {
        ASSERT_FALSE(c.flags.has(conn_flag::error)) << xprt::to_string(c.err_code);
        ASSERT_TRUE(io.subscribed().has(sub_event::recv));  // waiting, not spinning
        // One byte arrives, then the layer below says EAGAIN once more.
        io.feed(std::string(1, ch));
        io.notify(sub_event::recv);
        loop_.run_once(0);
        if (!c.flags.has(conn_flag::accept_proxy)) {
            break;  // the last byte completed the header
        }
        io.feed_not_ready();
        io.notify(sub_event::recv);
        loop_.run_once(0);
    }
    io.feed("after");
    ASSERT_TRUE(run_until(loop_, [&] { return !c.flags.has(conn_flag::accept_proxy); }));
    ASSERT_FALSE(c.flags.has(conn_flag::error)) << xprt::to_string(c.err_code);
    EXPECT_EQ(xprt::conn_chain(c), "FAKE");
    EXPECT_EQ(io.pending_bytes(), 5u);  // "after" is still for the layer above
    EXPECT_EQ(io.violations, 0u);
}

TEST_F(HsLayerTest, InsertedBelowANonRawTopAndRemovedFromTheMiddle) {
    static const xprt::pass_through_ops pass;
    ASSERT_TRUE(pair_.ok());
    ASSERT_TRUE(xprt::conn_prepare(c_, &raw::sock_ctrl(), &raw::ops()).has_value());
    fd_ = pair_.release_b();
    raw::accept_init(c_, fd_, unix_peer());
    ASSERT_NE(xprt::conn_insert_xprt(c_, pass), nullptr);
    EXPECT_EQ(xprt::conn_chain(c_), "PASS>RAW");
    c_.flags.set(conn_flag::accept_proxy);
    ASSERT_NE(handshake::attach(c_, cfg_), nullptr);
    EXPECT_EQ(xprt::conn_chain(c_), "PASS>HS>RAW");  // below the top, like SSL>HS>RAW
    ASSERT_TRUE(xprt::conn_xprt_start(c_).has_value());
    ASSERT_TRUE(write_all(pair_.a(), v1_header + "through"));
    ASSERT_TRUE(run_until_done());
    ASSERT_FALSE(c_.flags.has(conn_flag::error));
    EXPECT_EQ(xprt::conn_chain(c_), "PASS>RAW");
    EXPECT_EQ(read_app(), "through");
}

// --- optional PROXY and trusted sources ----------------------------------------------------

class HsOptionalTest : public HsLayerTest {
protected:
    void SetUp() override {
        trusted_unix_ = *handshake::source_list::parse("unix");
        other_ = *handshake::source_list::parse("10.0.0.0/8");
        cfg_.mode = handshake::proxy_mode::optional;
        cfg_.detect_ms = 100;
    }
    handshake::source_list trusted_unix_;
    handshake::source_list other_;
};

TEST_F(HsOptionalTest, TrustedSourceWithoutHeaderPassesBytesUnchanged) {
    cfg_.trusted = &trusted_unix_;
    const auto before = handshake::hs_stats_sum();
    accept(conn_flag::accept_proxy, cfg_);
    ASSERT_TRUE(write_all(pair_.a(), "GET /plain HTTP/1.0\r\n\r\n"));
    ASSERT_TRUE(run_until_done());
    EXPECT_FALSE(c_.flags.has(conn_flag::error));
    EXPECT_FALSE(c_.flags.has(conn_flag::rcvd_proxy));
    EXPECT_EQ(read_app(), "GET /plain HTTP/1.0\r\n\r\n");
    EXPECT_EQ(
        handshake::hs_stats_sum()[hs_counter::proxy_absent] - before[hs_counter::proxy_absent], 1u);
}

TEST_F(HsOptionalTest, TrustedSourceWithFragmentedHeaderIsParsed) {
    cfg_.trusted = &trusted_unix_;
    accept(conn_flag::accept_proxy, cfg_);
    ASSERT_TRUE(write_all(pair_.a(), "PRO"));
    for (int i = 0; i < 3; ++i) {
        loop_.run_once(0);
    }
    advance_ms(10);  // the re-peek timer
    loop_.run_once(0);
    EXPECT_TRUE(c_.flags.has(conn_flag::accept_proxy));  // still undecided, nothing consumed
    ASSERT_TRUE(write_all(pair_.a(), v1_header.substr(3) + "data"));
    advance_ms(10);
    ASSERT_TRUE(run_until_done());
    ASSERT_FALSE(c_.flags.has(conn_flag::error)) << xprt::to_string(c_.err_code);
    EXPECT_TRUE(c_.flags.has(conn_flag::rcvd_proxy));
    EXPECT_EQ(read_app(), "data");
}

TEST_F(HsOptionalTest, UntrustedSourceSendingAHeaderIsRejected) {
    cfg_.trusted = &other_;
    accept(conn_flag::accept_proxy, cfg_);
    ASSERT_TRUE(write_all(pair_.a(), v1_header));
    ASSERT_TRUE(run_until_done());
    EXPECT_EQ(c_.err_code, conn_err::prx_untrusted);
}

TEST_F(HsOptionalTest, UntrustedSourceWithoutHeaderPasses) {
    cfg_.trusted = &other_;
    accept(conn_flag::accept_proxy, cfg_);
    ASSERT_TRUE(write_all(pair_.a(), "HELO x\r\n"));
    ASSERT_TRUE(run_until_done());
    EXPECT_FALSE(c_.flags.has(conn_flag::error));
    EXPECT_EQ(read_app(), "HELO x\r\n");
}

TEST_F(HsOptionalTest, SilentClientIsDecidedAfterTheDetectionDeadline) {
    cfg_.trusted = &trusted_unix_;
    accept(conn_flag::accept_proxy, cfg_);
    for (int i = 0; i < 3; ++i) {
        loop_.run_once(0);
    }
    EXPECT_TRUE(c_.flags.has(conn_flag::accept_proxy));
    advance_ms(101);
    ASSERT_TRUE(run_until_done());
    EXPECT_FALSE(c_.flags.has(conn_flag::error));  // server speaks first: fine
    EXPECT_EQ(xprt::conn_chain(c_), "RAW");
}

TEST_F(HsOptionalTest, RequiredModeRejectsSourcesOutsideTheList) {
    cfg_.mode = handshake::proxy_mode::required;
    cfg_.trusted = &other_;
    accept(conn_flag::accept_proxy, cfg_);
    ASSERT_TRUE(run_until_done());
    EXPECT_EQ(c_.err_code, conn_err::prx_untrusted);
}

// --- sending -------------------------------------------------------------------------------

class HsSendTest : public HsLayerTest {
protected:
    void connect_side(xprt::conn_flags flags, const hs_send& s) {
        ASSERT_TRUE(pair_.ok());
        ASSERT_TRUE(xprt::conn_prepare(c_, &raw::sock_ctrl(), &raw::ops()).has_value());
        fd_ = pair_.release_b();
        c_.handle.fd = fd_;
        xprt::conn_ctrl_init(c_);
        c_.flags.set(flags);
        ASSERT_NE(handshake::attach(c_, cfg_, &s), nullptr);
    }
    hs_send send_;
};

TEST_F(HsSendTest, SendsTheV2HeaderThenLeaves) {
    send_.v2.src = *xprt::sock_addr::parse("192.0.2.1:4000");
    send_.v2.dst = *xprt::sock_addr::parse("198.51.100.2:443");
    send_.v2.unique_id = "req-42";
    connect_side(conn_flag::send_proxy, send_);
    ASSERT_TRUE(xprt::conn_xprt_start(c_).has_value());
    ASSERT_TRUE(run_until_done());
    ASSERT_FALSE(c_.flags.has(conn_flag::error));
    EXPECT_EQ(xprt::conn_chain(c_), "RAW");
    const std::string got = read_available(pair_.a());
    std::vector<std::byte> expect(handshake::proxy_v2_size(send_.v2));
    ASSERT_EQ(handshake::build_proxy_v2(send_.v2, expect), expect.size());
    EXPECT_EQ(got, bytes_to_string(expect));
    const auto r =
        handshake::parse_proxy_v2(std::as_bytes(std::span<const char>(got.data(), got.size())));
    ASSERT_TRUE(r.complete());
    EXPECT_EQ(r.value.unique_id(), "req-42");
}

TEST_F(HsSendTest, PartialSendsResumeWhereTheyStoppedWithMoreWhenDataFollow) {
    send_.proxy_version = 1;
    send_.v2.src = *xprt::sock_addr::parse("192.0.2.1:4000");
    send_.v2.dst = *xprt::sock_addr::parse("[2001:db8::1]:443");  // mixed: TCP6, v4-mapped
    connect_side(conn_flag::send_proxy, send_);
    sys::hooks h;
    h.inject_short(call::send, 7, fd_, 3);  // three short writes before the rest goes
    app a(loop_);
    c_.subscribe(sub_event::send, a.we);  // the layer above waits to send: MSG_MORE
    ASSERT_TRUE(xprt::conn_xprt_start(c_).has_value());
    ASSERT_TRUE(run_until_done());
    ASSERT_FALSE(c_.flags.has(conn_flag::error));
    EXPECT_EQ(read_available(pair_.a()), "PROXY TCP6 ::ffff:192.0.2.1 2001:db8::1 4000 443\r\n");
    EXPECT_GE(h.count(call::send, fd_), 4u);
    for (const auto& r : h.log()) {
        if (r.kind == call::send && r.fd == fd_) {
            EXPECT_NE(r.flags & MSG_MORE, 0);
        }
    }
    ASSERT_TRUE(run_until(loop_, [&] { return a.runs > 0; }));  // handed down: send is ready
}

TEST_F(HsSendTest, Socks4ThenProxyInOrderAndPartialReplyWaits) {
    send_.socks4_target = *xprt::sock_addr::parse("203.0.113.9:25");
    send_.proxy_version = 1;
    send_.v2.src = *xprt::sock_addr::parse("192.0.2.1:4000");
    send_.v2.dst = *xprt::sock_addr::parse("203.0.113.9:25");
    connect_side(xprt::conn_mask::socks4 | conn_flag::send_proxy, send_);
    ASSERT_TRUE(xprt::conn_xprt_start(c_).has_value());
    loop_.run_once(0);  // the layer's first run sends the request
    const std::string req = read_exactly(pair_.a(), 16);
    ASSERT_EQ(req.size(), 16u);
    EXPECT_EQ(req[0], '\x04');
    EXPECT_EQ(req[1], '\x01');
    EXPECT_EQ(req.substr(8), std::string("HAProxy\0", 8));
    for (int i = 0; i < 3; ++i) {
        loop_.run_once(0);
    }
    ASSERT_TRUE(write_all(pair_.a(), std::string("\x00\x5a\x00", 3)));  // a partial reply
    for (int i = 0; i < 3; ++i) {
        loop_.run_once(0);
    }
    EXPECT_TRUE(c_.flags.has(conn_flag::socks4_recv));
    EXPECT_EQ(read_available(pair_.a()), "");  // no PROXY header before the grant
    ASSERT_TRUE(write_all(pair_.a(), std::string("\x00\x00\x00\x00\x00", 5) + "220 banner\r\n"));
    ASSERT_TRUE(run_until_done());
    ASSERT_FALSE(c_.flags.has(conn_flag::error)) << xprt::to_string(c_.err_code);
    EXPECT_EQ(read_available(pair_.a()), "PROXY TCP4 192.0.2.1 203.0.113.9 4000 25\r\n");
    EXPECT_EQ(read_app(), "220 banner\r\n");  // bytes after the reply were not consumed
}

TEST_F(HsSendTest, Socks4DenialAndTimeoutHaveTheirCodes) {
    send_.socks4_target = *xprt::sock_addr::parse("203.0.113.9:25");
    connect_side(xprt::conn_mask::socks4, send_);
    ASSERT_TRUE(xprt::conn_xprt_start(c_).has_value());
    loop_.run_once(0);
    ASSERT_EQ(read_exactly(pair_.a(), 16).size(), 16u);
    ASSERT_TRUE(write_all(pair_.a(), std::string("\x00\x5b\x00\x00\x00\x00\x00\x00", 8)));
    ASSERT_TRUE(run_until_done());
    EXPECT_EQ(c_.err_code, conn_err::socks4_deny);

    socket_pair p;
    event::loop l(opts());
    xprt::connection c(l);
    ASSERT_TRUE(xprt::conn_prepare(c, &raw::sock_ctrl(), &raw::ops()).has_value());
    c.handle.fd = p.release_b();
    xprt::conn_ctrl_init(c);
    c.flags.set(xprt::conn_mask::socks4);
    hs_config cfg;
    cfg.timeout_ms = 1000;
    ASSERT_NE(handshake::attach(c, cfg, &send_), nullptr);
    ASSERT_TRUE(xprt::conn_xprt_start(c).has_value());
    for (int i = 0; i < 3; ++i) {
        l.run_once(0);
    }
    fake_now_ns += 1001 * 1'000'000ull;
    l.update_time();
    ASSERT_TRUE(run_until(l, [&] { return c.flags.has(conn_flag::error); }));
    EXPECT_EQ(c.err_code, conn_err::socks4_timeout);
}

TEST_F(HsSendTest, AbortLeavesACleanChainForARetry) {
    send_.v2.src = *xprt::sock_addr::parse("192.0.2.1:4000");
    send_.v2.dst = *xprt::sock_addr::parse("198.51.100.2:443");
    connect_side(conn_flag::send_proxy, send_);
    EXPECT_EQ(xprt::conn_chain(c_), "HS>RAW");
    EXPECT_TRUE(handshake::abort(c_));
    EXPECT_EQ(xprt::conn_chain(c_), "RAW");
    EXPECT_FALSE(c_.flags.any(xprt::conn_mask::handshake));
    EXPECT_FALSE(handshake::abort(c_));
    // Retry on the same connection object: a new layer, a full run.
    c_.flags.set(conn_flag::send_proxy);
    ASSERT_NE(handshake::attach(c_, cfg_, &send_), nullptr);
    ASSERT_TRUE(xprt::conn_xprt_start(c_).has_value());
    ASSERT_TRUE(run_until_done());
    EXPECT_FALSE(c_.flags.has(conn_flag::error));
    EXPECT_EQ(read_available(pair_.a()).size(), 28u);  // v2 TCP4 without TLVs
}

// --- NetScaler CIP ------------------------------------------------------------------------

std::string cip_legacy(std::uint32_t magic) {
    std::string ip = {0x45,
                      0x00,
                      0x00,
                      0x28,
                      0,
                      0,
                      0,
                      0,
                      64,
                      6,
                      0,
                      0,
                      static_cast<char>(192),
                      0,
                      2,
                      1,  // src 192.0.2.1
                      static_cast<char>(198),
                      51,
                      100,
                      2};
    std::string tcp(20, '\0');
    tcp[0] = static_cast<char>(4000 >> 8);
    tcp[1] = static_cast<char>(4000 & 0xff);
    tcp[2] = 0x01;
    tcp[3] = static_cast<char>(0xbb);  // 443
    std::string h;
    for (int i = 3; i >= 0; --i) {
        h += static_cast<char>((magic >> (8 * i)) & 0xff);
    }
    const auto len = static_cast<std::uint32_t>(ip.size() + tcp.size());
    for (int i = 3; i >= 0; --i) {
        h += static_cast<char>((len >> (8 * i)) & 0xff);
    }
    return h + ip + tcp;
}

TEST_F(HsLayerTest, CipHeaderGivesTheClientAddress) {
    cfg_.cip.magic = 0x12345678;
    accept(conn_flag::accept_cip, cfg_);
    ASSERT_TRUE(write_all(pair_.a(), cip_legacy(0x12345678) + "rest"));
    ASSERT_TRUE(run_until_done());
    ASSERT_FALSE(c_.flags.has(conn_flag::error)) << xprt::to_string(c_.err_code);
    ASSERT_NE(c_.proxy, nullptr);
    EXPECT_EQ(c_.proxy->source, xprt::proxy_source::cip);
    EXPECT_EQ(c_.client_addr().to_string(), "192.0.2.1:4000");
    EXPECT_EQ(read_app(), "rest");
}

TEST_F(HsLayerTest, CipBadMagicAndTimeout) {
    cfg_.cip.magic = 0x12345678;
    cfg_.timeout_ms = 500;
    accept(conn_flag::accept_cip, cfg_);
    ASSERT_TRUE(write_all(pair_.a(), cip_legacy(0x12345678).substr(0, 9)));
    for (int i = 0; i < 3; ++i) {
        loop_.run_once(0);
    }
    advance_ms(501);
    ASSERT_TRUE(run_until_done());
    EXPECT_EQ(c_.err_code, conn_err::cip_timeout);

    socket_pair p;
    event::loop l(opts());
    xprt::connection c(l);
    ASSERT_TRUE(xprt::conn_prepare(c, &raw::sock_ctrl(), &raw::ops()).has_value());
    raw::accept_init(c, p.release_b(), unix_peer());
    c.flags.set(conn_flag::accept_cip);
    ASSERT_NE(handshake::attach(c, cfg_), nullptr);
    ASSERT_TRUE(xprt::conn_xprt_start(c).has_value());
    ASSERT_TRUE(write_all(p.a(), cip_legacy(0x0badf00d)));
    ASSERT_TRUE(run_until(l, [&] { return c.flags.has(conn_flag::error); }));
    EXPECT_EQ(c.err_code, conn_err::cip_bad_magic);
}

// --- counters ----------------------------------------------------------------------------

TEST_F(HsLayerTest, OutcomesAreCounted) {
    const auto before = handshake::hs_stats_sum();
    accept(conn_flag::accept_proxy, cfg_);
    ASSERT_TRUE(write_all(pair_.a(), v2_header()));
    ASSERT_TRUE(run_until_done());
    socket_pair p;
    xprt::connection c(loop_);
    ASSERT_TRUE(xprt::conn_prepare(c, &raw::sock_ctrl(), &raw::ops()).has_value());
    raw::accept_init(c, p.release_b(), unix_peer());
    c.flags.set(conn_flag::accept_proxy);
    ASSERT_NE(handshake::attach(c, cfg_), nullptr);
    ASSERT_TRUE(xprt::conn_xprt_start(c).has_value());
    ASSERT_TRUE(write_all(p.a(), "nope\r\n"));
    ASSERT_TRUE(run_until(loop_, [&] { return c.flags.has(conn_flag::error); }));
    const auto after = handshake::hs_stats_sum();
    EXPECT_EQ(after[hs_counter::proxy_v2] - before[hs_counter::proxy_v2], 1u);
    EXPECT_EQ(after[hs_counter::failed] - before[hs_counter::failed], 1u);
    const auto i = static_cast<std::size_t>(conn_err::prx_not_hdr);
    EXPECT_EQ(after.errors[i] - before.errors[i], 1u);
}

}  // namespace
}  // namespace xstack::test
