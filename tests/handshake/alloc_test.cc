// tests/handshake/alloc_test.cc - the parsers never allocate (issue 3: "no allocation for
// headers without TLVs"; they do not allocate with TLVs either, TLVs being views).
#include <gtest/gtest.h>

#include "handshake/cip.h"
#include "handshake/proxy.h"
#include "handshake/socks4.h"
#include "tests/handshake/hs_test_util.h"
#include "tests/support/alloc_counter.h"

namespace xstack::handshake {
namespace {

using test::from_hex;
using test::from_text;

template <class F>
std::uint64_t allocations_during(F&& f) {
    const std::uint64_t before = xstack::test::allocations();
    f();
    return xstack::test::allocations() - before;
}

TEST(HandshakeAllocTest, ParsersDoNotAllocate) {
    const auto v1 = from_text("PROXY TCP6 2001:db8::1 ::ffff:10.0.0.1 1 2\r\n");
    const auto v1_partial = from_text("PROXY TCP6 2001:db8::1 ::ffff:10.0");
    const auto v2 = from_hex(
        "0d0a0d0a000d0a515549540a 2121 0024 20010db8000000000000000000000001 "
        "20010db8000000000000000000000002 3039 01bb");
    const auto v2_tlvs = from_hex(
        "0d0a0d0a000d0a515549540a 2111 0025 7f000001 7f000001 9f20 46ae "
        "e10003666f6f 0300045a4d9bdf 050009544553542d49442d31");
    const auto socks = from_hex("005a000000000000");
    cip_options cip_opt;
    cip_opt.magic = 0x1234ABCD;
    const auto cip = from_hex(
        "1234abcd 00000028 45000000 00000000 00060000 c0000201 c6336402 303901bb 00000000 "
        "00000000 50000000 00000000");
    ASSERT_TRUE(parse_proxy(v2_tlvs).complete());
    ASSERT_TRUE(parse_cip(cip, cip_opt).complete());

    const std::uint64_t n = allocations_during([&] {
        for (int i = 0; i < 100; ++i) {
            EXPECT_TRUE(parse_proxy(v1).complete());
            EXPECT_TRUE(parse_proxy(v1_partial).need_more());
            EXPECT_TRUE(parse_proxy(v2).complete());
            const auto r = parse_proxy(v2_tlvs);
            EXPECT_EQ(r.value.unique_id(), "TEST-ID-1");
            EXPECT_TRUE(parse_socks4_reply(socks).complete());
            EXPECT_TRUE(parse_cip(cip, cip_opt).complete());
        }
    });
    EXPECT_EQ(n, 0u);
}

TEST(HandshakeAllocTest, BuildersDoNotAllocate) {
    const auto src = *xprt::sock_addr::parse("[2001:db8::1]:1");
    const auto dst = *xprt::sock_addr::parse("10.0.0.1:2");
    proxy_v2_spec spec;
    spec.src = src;
    spec.dst = dst;
    spec.crc32c = true;
    spec.authority = "example.com";
    std::byte out[256];
    const std::uint64_t n = allocations_during([&] {
        EXPECT_GT(build_proxy_v1(src, dst, out), 0u);
        EXPECT_GT(build_proxy_v2(spec, out), 0u);
        EXPECT_EQ(build_socks4_request(dst, out), 16u);
    });
    EXPECT_EQ(n, 0u);
}

TEST(HandshakeAllocTest, TheCounterSeesAllocations) {
    // Guards the two tests above against a hook that counts nothing.
    const std::uint64_t n = allocations_during([] {
        // A volatile pointer, so the compiler cannot elide the new/delete pair.
        int* volatile p = new int(1);
        delete p;
    });
    EXPECT_GE(n, 1u);
}

}  // namespace
}  // namespace xstack::handshake
