// tests/handshake/proxy_header_test.cc - the header types: TLV views, decoders, names,
// address conversion.
#include "handshake/proxy_header.h"

#include <set>
#include <string>

#include <netinet/in.h>

#include <gtest/gtest.h>

#include "tests/handshake/hs_test_util.h"

namespace xstack::handshake {
namespace {

using test::bytes;
using test::from_hex;

TEST(TlvListTest, IteratesRecordsInOrder) {
    const bytes b = from_hex("02 0003 616263  e1 0000  02 0001 78");
    const tlv_list l(b);
    std::string seen;
    for (const tlv t : l) {
        seen += std::to_string(static_cast<int>(t.type)) + "=" + std::string(t.text()) + ";";
    }
    EXPECT_EQ(seen, "2=abc;225=;2=x;");
    EXPECT_EQ(l.size(), 3u);
    EXPECT_EQ(l.count(tlv_type::authority), 2u);
    EXPECT_EQ(l.find(tlv_type::authority)->text(), "abc");
    EXPECT_FALSE(l.find(tlv_type::alpn).has_value());
}

TEST(TlvListTest, StopsAtARecordThatDoesNotFitAndNeverReadsPastTheEnd) {
    // The second record claims 5 bytes but only 2 remain: iteration ends before it. The
    // exact-size heap copy lets ASan catch any read past the last byte.
    const bytes b = from_hex("01 0001 61  02 0005 6162");
    fuzz::with_copy(b, [](std::span<const std::byte> in) {
        const tlv_list l(in);
        EXPECT_EQ(l.size(), 1u);
        EXPECT_FALSE(l.find(tlv_type::authority).has_value());
        EXPECT_EQ(l.count(tlv_type::authority), 0u);
        return 0;
    });
    for (std::size_t n = 0; n < 3; ++n) {
        fuzz::with_copy(std::span(b).first(n), [](std::span<const std::byte> in) {
            EXPECT_TRUE(tlv_list(in).empty());
            return 0;
        });
    }
}

TEST(TlvListTest, EmptyListHasNoRecords) {
    const tlv_list l;
    EXPECT_TRUE(l.empty());
    EXPECT_EQ(l.size(), 0u);
    EXPECT_EQ(l.begin(), l.end());
}

TEST(SslTlvTest, DecodesClientVerifyAndSubTlvs) {
    const bytes v = from_hex("05 0000000a 210007 544c5376312e33 230003 616263");
    const auto s = decode_ssl_tlv(v);
    ASSERT_TRUE(s.has_value());
    EXPECT_EQ(s->client, ssl_client_ssl | ssl_client_cert_sess);
    EXPECT_EQ(s->verify, 10u);
    EXPECT_EQ(s->version(), "TLSv1.3");
    EXPECT_EQ(s->cipher(), "abc");
    EXPECT_FALSE(s->cn().has_value()) << "CN is optional (no client certificate)";
    EXPECT_FALSE(s->client_cert().has_value());
}

TEST(SslTlvTest, RejectsShortOrUntiledValues) {
    EXPECT_FALSE(decode_ssl_tlv(from_hex("01000000")).has_value());
    EXPECT_TRUE(decode_ssl_tlv(from_hex("0000000000")).has_value()) << "no sub-TLV is fine";
    EXPECT_FALSE(decode_ssl_tlv(from_hex("00 00000000 21")).has_value());
    EXPECT_FALSE(decode_ssl_tlv(from_hex("00 00000000 210002 61")).has_value());
    EXPECT_FALSE(decode_ssl_tlv(from_hex("00 00000000 210001 61 00")).has_value());
}

TEST(AwsTlvTest, DecodesTheVpcEndpointId) {
    EXPECT_EQ(decode_aws_vpce_id(from_hex("01 767063652d31")), "vpce-1");
    EXPECT_FALSE(decode_aws_vpce_id(from_hex("02 767063652d31")).has_value()) << "other subtype";
    EXPECT_FALSE(decode_aws_vpce_id({}).has_value());
}

TEST(ProxyHeaderNamesTest, NameEveryEnumerator) {
    EXPECT_EQ(to_string(proxy_command::local), "LOCAL");
    EXPECT_EQ(to_string(proxy_command::proxy), "PROXY");
    std::set<std::string_view> fams;
    for (const int f : {0x00, 0x11, 0x12, 0x21, 0x22, 0x31, 0x32}) {
        EXPECT_TRUE(is_valid_family(static_cast<std::uint8_t>(f))) << f;
        fams.insert(to_string(static_cast<proxy_family>(f)));
    }
    EXPECT_EQ(fams, (std::set<std::string_view>{"UNSPEC", "TCP4", "UDP4", "TCP6", "UDP6",
                                                "UNIX_STREAM", "UNIX_DGRAM"}));
    for (int f = 0; f < 256; ++f) {
        if (!is_valid_family(static_cast<std::uint8_t>(f))) {
            EXPECT_EQ(to_string(static_cast<proxy_family>(f)), "INVALID") << f;
        }
    }
    std::set<std::string_view> tlvs;
    int named = 0;
    for (int t = 0; t < 256; ++t) {
        const std::string_view n = to_string(static_cast<tlv_type>(t));
        if (!n.empty()) {
            ++named;
            EXPECT_TRUE(tlvs.insert(n).second) << n;
        }
    }
    EXPECT_EQ(named, 16) << "the spec's 15 types and AWS";
    EXPECT_EQ(to_string(tlv_type::ssl_client_cert), "SSL_CLIENT_CERT");
}

TEST(ProxyHeaderTest, AddressBlockSizesFollowTheSpec) {
    EXPECT_EQ(address_block_size(proxy_family::unspec), 0u);
    EXPECT_EQ(address_block_size(proxy_family::tcp4), 12u);
    EXPECT_EQ(address_block_size(proxy_family::udp4), 12u);
    EXPECT_EQ(address_block_size(proxy_family::tcp6), 36u);
    EXPECT_EQ(address_block_size(proxy_family::udp6), 36u);
    EXPECT_EQ(address_block_size(proxy_family::unix_stream), 216u);
    EXPECT_EQ(address_block_size(proxy_family::unix_dgram), 216u);
}

TEST(ProxyAddrTest, ConvertsToSocketAddresses) {
    const std::uint8_t v4[4] = {10, 0, 0, 1};
    EXPECT_EQ(to_sock_addr(proxy_addr::ipv4(v4, 80)).to_string(), "10.0.0.1:80");
    const std::uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    EXPECT_EQ(to_sock_addr(proxy_addr::ipv6(v6, 443)).to_string(), "[2001:db8::1]:443");
    EXPECT_TRUE(to_sock_addr(proxy_addr{}).empty());

    bytes path(108);
    path[0] = std::byte{'/'};
    path[1] = std::byte{'s'};
    proxy_addr u;
    u.kind = addr_kind::unix_path;
    u.path = path;
    EXPECT_EQ(u.path_text(), "/s");
    EXPECT_EQ(to_sock_addr(u).to_string(), "unix:/s");
    path[0] = std::byte{0};  // abstract: "\0s"
    EXPECT_EQ(u.path_text(), "s");
    EXPECT_EQ(to_sock_addr(u).to_string(), "unix:@s");
    bytes full(108, std::byte{'a'});  // no terminator: does not fit a sockaddr_un path
    u.path = full;
    EXPECT_EQ(u.path_text().size(), 108u);
    EXPECT_TRUE(to_sock_addr(u).empty());
}

TEST(ProxyAddrTest, ComparesByContent) {
    const std::uint8_t v4[4] = {10, 0, 0, 1};
    EXPECT_EQ(proxy_addr::ipv4(v4, 80), proxy_addr::ipv4(v4, 80));
    EXPECT_NE(proxy_addr::ipv4(v4, 80), proxy_addr::ipv4(v4, 81));
    bytes a(108, std::byte{'x'});
    bytes b(108, std::byte{'x'});
    proxy_addr ua;
    ua.kind = addr_kind::unix_path;
    ua.path = a;
    proxy_addr ub = ua;
    ub.path = b;
    EXPECT_EQ(ua, ub);
    b[5] = std::byte{'y'};
    EXPECT_NE(ua, ub);
}

}  // namespace
}  // namespace xstack::handshake
