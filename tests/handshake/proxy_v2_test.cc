// tests/handshake/proxy_v2_test.cc - PROXY v2: every rule of issue 3, valid and invalid, fed
// whole, byte by byte, split at every offset and followed by payload; real-world headers.
#include "handshake/proxy_v2.h"

#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "handshake/crc32c.h"
#include "handshake/proxy.h"
#include "tests/handshake/hs_test_util.h"

namespace xstack::handshake {
namespace {

using test::bytes;
using test::from_hex;
using test::from_text;
using xprt::conn_err;

// Builds v2 headers byte by byte, so that tests state the wire format, not our builder.
class hdr {
public:
    hdr(std::uint8_t ver_cmd, std::uint8_t fam) {
        for (const std::uint8_t c : proxy_v2_signature) {
            b_.push_back(std::byte{c});
        }
        b_.push_back(std::byte{ver_cmd});
        b_.push_back(std::byte{fam});
        b_.push_back(std::byte{0});
        b_.push_back(std::byte{0});
    }
    hdr& raw(std::initializer_list<int> v) {
        for (const int x : v) {
            b_.push_back(static_cast<std::byte>(x));
        }
        return *this;
    }
    hdr& raw(std::span<const std::byte> v) {
        b_.insert(b_.end(), v.begin(), v.end());
        return *this;
    }
    hdr& text(std::string_view s) { return raw(from_text(s)); }
    // 192.0.2.1:12345 -> 198.51.100.2:443
    hdr& inet4() { return raw({192, 0, 2, 1, 198, 51, 100, 2, 0x30, 0x39, 0x01, 0xBB}); }
    // [2001:db8::1]:12345 -> [2001:db8::2]:443
    hdr& inet6() {
        raw({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1});
        raw({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2});
        return raw({0x30, 0x39, 0x01, 0xBB});
    }
    // A TLV whose length field says `declared` (normally the value's size).
    hdr& tlv(int type, std::span<const std::byte> value, int declared = -1) {
        const int len = declared < 0 ? static_cast<int>(value.size()) : declared;
        raw({type, len >> 8 & 0xFF, len & 0xFF});
        return raw(value);
    }
    hdr& tlv(int type, std::string_view value) { return tlv(type, from_text(value)); }
    hdr& tlv_n(int type, std::size_t n, char fill = 'x') { return tlv(type, std::string(n, fill)); }
    // A CRC32C TLV, filled by done() unless `bad`.
    hdr& crc(bool bad = false) {
        crc_at_ = b_.size() + 3;
        crc_bad_ = bad;
        return raw({0x03, 0x00, 0x04, 0, 0, 0, 0});
    }
    bytes done(int len = -1) {
        const std::size_t l = len < 0 ? b_.size() - 16 : static_cast<std::size_t>(len);
        b_[14] = static_cast<std::byte>(l >> 8 & 0xFF);
        b_[15] = static_cast<std::byte>(l & 0xFF);
        if (crc_at_ != 0) {
            std::uint32_t c = crc32c(b_);
            if (crc_bad_) {
                c ^= 1;
            }
            for (int i = 0; i < 4; ++i) {
                b_[crc_at_ + static_cast<std::size_t>(i)] =
                    static_cast<std::byte>(c >> (24 - 8 * i) & 0xFF);
            }
        }
        return b_;
    }

private:
    bytes b_;
    std::size_t crc_at_ = 0;
    bool crc_bad_ = false;
};

// A real AWS NLB health check, as captured in kubernetes/kubernetes#57250: LOCAL, family
// 0x11, length 84, then CRC32C and a 74-byte NOOP right at byte 16 (no address block).
bytes aws_nlb_health_check() {
    return from_hex(
        "0d0a0d0a000d0a515549540a 2011 0054 030004bce5951f 04004a "
        "0000000000000000000000000000000000000000000000000000000000000000000000"
        "000000000000000000000000000000000000000000000000000000000000000000000000000000");
}

// What HAProxy sends with `send-proxy-v2 proxy-v2-options crc32c,unique-id
// set-proxy-v2-tlv-fmt(0xE1) %[str(foo)]` and `unique-id-format TEST-ID-1` (reference §5.4):
// PROXY, TCP4 127.0.0.1:40736 -> 127.0.0.1:18094, length 37, TLVs 0xE1 "foo", CRC32C,
// UNIQUE_ID. The CRC was computed by an independent bitwise implementation.
bytes haproxy_style_header() {
    return from_hex(
        "0d0a0d0a000d0a515549540a 2111 0025 7f000001 7f000001 9f20 46ae "
        "e10003666f6f 0300045a4d9bdf 050009544553542d49442d31");
}

// ---- accepted headers -------------------------------------------------------------------------

struct accept_case {
    const char* name;
    std::function<bytes()> make;
    proxy_command command;
    proxy_family family;
    std::string src;  // sock_addr text of the decoded address, "-" when absent
    std::string dst;
    std::size_t tlv_offset;
    std::vector<int> tlv_types;  // in arrival order
    proxy_options opt = {};
};

void PrintTo(const accept_case& c, std::ostream* os) {
    *os << c.name;
}

class ProxyV2AcceptTest : public ::testing::TestWithParam<accept_case> {};

TEST_P(ProxyV2AcceptTest, DecodesTheHeaderAndAgreesOnEveryFeed) {
    const accept_case& c = GetParam();
    const bytes in = c.make();
    const auto r = parse_proxy_v2(in, c.opt);
    ASSERT_TRUE(r.complete()) << fuzz::describe(r);
    EXPECT_EQ(r.length, in.size());
    EXPECT_EQ(r.value.version, 2);
    EXPECT_EQ(r.value.command, c.command);
    EXPECT_EQ(r.value.family, c.family);
    EXPECT_EQ(to_sock_addr(r.value.src).to_string(), c.src);
    EXPECT_EQ(to_sock_addr(r.value.dst).to_string(), c.dst);
    EXPECT_EQ(r.value.tlv_offset, c.tlv_offset);
    std::vector<int> types;
    for (const tlv t : r.value.tlvs) {
        types.push_back(static_cast<int>(t.type));
    }
    EXPECT_EQ(types, c.tlv_types);
    EXPECT_EQ(r.value.use_addresses(),
              c.command == proxy_command::proxy &&
                  (c.family == proxy_family::tcp4 || c.family == proxy_family::tcp6));
    EXPECT_EQ(fuzz::describe(parse_proxy(in, c.opt)), fuzz::describe(r));
    test::expect_every_feed([&](auto b) { return parse_proxy_v2(b, c.opt); }, in,
                            fuzz::describe(r));
}

proxy_options wide() {
    return fuzz::wide_proxy_options();
}

bytes unix_paths() {
    bytes b(216);
    const std::string_view src = "/var/run/src.sock";
    const std::string_view dst = "abstract";  // written after a NUL: an abstract name
    std::memcpy(b.data(), src.data(), src.size());
    std::memcpy(b.data() + 109, dst.data(), dst.size());
    return b;
}

bytes sub_tlv(int type, std::span<const std::byte> v) {
    bytes b = {static_cast<std::byte>(type), static_cast<std::byte>(v.size() >> 8),
               static_cast<std::byte>(v.size() & 0xFF)};
    b.insert(b.end(), v.begin(), v.end());
    return b;
}

// client = CLIENT_SSL | CERT_CONN | CERT_SESS, verify = 0x102, then every sub-TLV.
bytes concat_ssl(const bytes& cert) {
    bytes v = from_hex("07 00000102");
    for (const auto& [type, text] :
         std::vector<std::pair<int, std::string_view>>{{0x21, "TLSv1.3"},
                                                       {0x22, "client.example"},
                                                       {0x23, "TLS_AES_128_GCM_SHA256"},
                                                       {0x24, "RSA-SHA256"},
                                                       {0x25, "RSA2048"},
                                                       {0x26, "X25519"},
                                                       {0x27, "rsa_pss_rsae_sha256"}}) {
        const bytes t = sub_tlv(type, from_text(text));
        v.insert(v.end(), t.begin(), t.end());
    }
    const bytes c = sub_tlv(0x28, cert);
    v.insert(v.end(), c.begin(), c.end());
    return v;
}

bytes concat_aws(std::string_view vpce) {
    bytes v = {std::byte{0x01}};
    const bytes t = from_text(vpce);
    v.insert(v.end(), t.begin(), t.end());
    return v;
}

bytes all_known_tlvs() {
    const bytes cert = from_hex("3082010a02820101");
    const bytes ssl = concat_ssl(cert);
    return hdr(0x21, 0x21)
        .inet6()
        .tlv(0xE1, "custom")
        .crc()
        .tlv(0x01, "h2")
        .tlv(0x02, "example.com")
        .tlv(0x05, "req-42")
        .tlv(0x20, ssl)
        .tlv(0x30, "blue")
        .tlv(0xEA, concat_aws("vpce-08d2bf15fac5001c9"))
        .tlv(0x04, "")
        .done();
}

INSTANTIATE_TEST_SUITE_P(
    Spec, ProxyV2AcceptTest,
    ::testing::Values(
        accept_case{"LocalUnspecWithoutTlvs",
                    [] { return hdr(0x20, 0x00).done(); },
                    proxy_command::local,
                    proxy_family::unspec,
                    "-",
                    "-",
                    16,
                    {}},
        accept_case{"LocalUnspecWithTlv",
                    [] { return hdr(0x20, 0x00).tlv(0x02, "example.com").done(); },
                    proxy_command::local,
                    proxy_family::unspec,
                    "-",
                    "-",
                    16,
                    {0x02}},
        accept_case{"ProxyTcp4",
                    [] { return hdr(0x21, 0x11).inet4().done(); },
                    proxy_command::proxy,
                    proxy_family::tcp4,
                    "192.0.2.1:12345",
                    "198.51.100.2:443",
                    28,
                    {}},
        accept_case{"ProxyTcp6",
                    [] { return hdr(0x21, 0x21).inet6().done(); },
                    proxy_command::proxy,
                    proxy_family::tcp6,
                    "[2001:db8::1]:12345",
                    "[2001:db8::2]:443",
                    52,
                    {}},
        accept_case{"ProxyTcp4WithTlvsAfterTheBlock",
                    [] { return hdr(0x21, 0x11).inet4().tlv(0x05, "id").crc().done(); },
                    proxy_command::proxy,
                    proxy_family::tcp4,
                    "192.0.2.1:12345",
                    "198.51.100.2:443",
                    28,
                    {0x05, 0x03}},
        accept_case{"ProxyUnspecKeepsRealEndpoints",
                    [] { return hdr(0x21, 0x00).tlv(0x04, "pad").done(); },
                    proxy_command::proxy,
                    proxy_family::unspec,
                    "-",
                    "-",
                    16,
                    {0x04}},
        accept_case{"ProxyUdp4ReportsAddressesNotForUse",
                    [] { return hdr(0x21, 0x12).inet4().done(); },
                    proxy_command::proxy,
                    proxy_family::udp4,
                    "192.0.2.1:12345",
                    "198.51.100.2:443",
                    28,
                    {}},
        accept_case{"ProxyUdp6ReportsAddressesNotForUse",
                    [] { return hdr(0x21, 0x22).inet6().done(); },
                    proxy_command::proxy,
                    proxy_family::udp6,
                    "[2001:db8::1]:12345",
                    "[2001:db8::2]:443",
                    52,
                    {}},
        accept_case{"ProxyUnixStreamReportsPaths",
                    [] { return hdr(0x21, 0x31).raw(unix_paths()).done(); },
                    proxy_command::proxy,
                    proxy_family::unix_stream,
                    "unix:/var/run/src.sock",
                    "unix:@abstract",
                    232,
                    {}},
        accept_case{"ProxyUnixDgramReportsPaths",
                    [] { return hdr(0x21, 0x32).raw(unix_paths()).tlv(0x30, "ns").done(); },
                    proxy_command::proxy,
                    proxy_family::unix_dgram,
                    "unix:/var/run/src.sock",
                    "unix:@abstract",
                    232,
                    {0x30}},
        accept_case{"LocalWithAddressBlockFindsTlvsAfterIt",
                    [] { return hdr(0x20, 0x11).inet4().tlv(0x02, "example.com").done(); },
                    proxy_command::local,
                    proxy_family::tcp4,
                    "-",
                    "-",
                    28,
                    {0x02}},
        accept_case{"LocalWithAddressBlockOnly",
                    [] { return hdr(0x20, 0x11).inet4().done(); },
                    proxy_command::local,
                    proxy_family::tcp4,
                    "-",
                    "-",
                    28,
                    {}},
        accept_case{"LocalTcp6ShorterThanItsBlockHasTlvsAt16",
                    [] { return hdr(0x20, 0x21).crc().done(); },
                    proxy_command::local,
                    proxy_family::tcp6,
                    "-",
                    "-",
                    16,
                    {0x03}},
        accept_case{"AwsNlbHealthCheck",
                    aws_nlb_health_check,
                    proxy_command::local,
                    proxy_family::tcp4,
                    "-",
                    "-",
                    16,
                    {0x03, 0x04}},
        accept_case{"HaproxyGeneratedHeader",
                    haproxy_style_header,
                    proxy_command::proxy,
                    proxy_family::tcp4,
                    "127.0.0.1:40736",
                    "127.0.0.1:18094",
                    28,
                    {0xE1, 0x03, 0x05}},
        accept_case{"EveryKnownTlv",
                    all_known_tlvs,
                    proxy_command::proxy,
                    proxy_family::tcp6,
                    "[2001:db8::1]:12345",
                    "[2001:db8::2]:443",
                    52,
                    {0xE1, 0x03, 0x01, 0x02, 0x05, 0x20, 0x30, 0xEA, 0x04}},
        accept_case{"DuplicatesKeptInArrivalOrder",
                    [] {
                        return hdr(0x21, 0x11)
                            .inet4()
                            .tlv(0x02, "a.example")
                            .tlv(0x05, "id")
                            .tlv(0x02, "b.example")
                            .done();
                    },
                    proxy_command::proxy,
                    proxy_family::tcp4,
                    "192.0.2.1:12345",
                    "198.51.100.2:443",
                    28,
                    {0x02, 0x05, 0x02}},
        accept_case{"ZeroLengthTlvs",
                    [] { return hdr(0x21, 0x00).tlv(0x04, "").tlv(0xE0, "").done(); },
                    proxy_command::proxy,
                    proxy_family::unspec,
                    "-",
                    "-",
                    16,
                    {0x04, 0xE0}},
        accept_case{"AuthorityAt255Bytes",
                    [] { return hdr(0x21, 0x11).inet4().tlv_n(0x02, 255).done(); },
                    proxy_command::proxy,
                    proxy_family::tcp4,
                    "192.0.2.1:12345",
                    "198.51.100.2:443",
                    28,
                    {0x02}},
        accept_case{"UniqueIdAt128Bytes",
                    [] { return hdr(0x21, 0x11).inet4().tlv_n(0x05, 128).done(); },
                    proxy_command::proxy,
                    proxy_family::tcp4,
                    "192.0.2.1:12345",
                    "198.51.100.2:443",
                    28,
                    {0x05}},
        accept_case{"CustomTlvAt1024Bytes",
                    [] { return hdr(0x21, 0x11).inet4().tlv_n(0xEC, 1024).done(); },
                    proxy_command::proxy,
                    proxy_family::tcp4,
                    "192.0.2.1:12345",
                    "198.51.100.2:443",
                    28,
                    {0xEC}},
        accept_case{"HeaderAtExactly4096Bytes",
                    [] {
                        return hdr(0x21, 0x11)
                            .inet4()
                            .tlv_n(0xE1, 1024)
                            .tlv_n(0xE2, 1024)
                            .tlv_n(0xE3, 1024)
                            .tlv_n(0x04, 4096 - 28 - 3 * 1027 - 3)
                            .done();
                    },
                    proxy_command::proxy,
                    proxy_family::tcp4,
                    "192.0.2.1:12345",
                    "198.51.100.2:443",
                    28,
                    {0xE1, 0xE2, 0xE3, 0x04}},
        accept_case{"WideOptionsAcceptA64KiBHeader",
                    [] { return hdr(0x21, 0x00).tlv_n(0xE5, 65535 - 3).done(); },
                    proxy_command::proxy,
                    proxy_family::unspec,
                    "-",
                    "-",
                    16,
                    {0xE5},
                    wide()}),
    test::param_name());

// ---- rejected headers -------------------------------------------------------------------------

struct reject_case {
    const char* name;
    std::function<bytes()> make;
    conn_err code;
    std::size_t at;  // shortest rejected prefix; 0 = the whole header
    proxy_options opt = {};
};

void PrintTo(const reject_case& c, std::ostream* os) {
    *os << c.name;
}

class ProxyV2RejectTest : public ::testing::TestWithParam<reject_case> {};

TEST_P(ProxyV2RejectTest, RejectsAtTheFirstDecisiveByteOnEveryFeed) {
    const reject_case& c = GetParam();
    const bytes in = c.make();
    auto parse = [&](std::span<const std::byte> b) { return parse_proxy_v2(b, c.opt); };
    test::expect_error_at(parse, in, c.code, c.at == 0 ? in.size() : c.at);
    test::expect_every_feed(parse, in, "error " + std::string(xprt::to_string(c.code)));
}

bytes ssl_value(std::span<const std::byte> subs) {
    bytes v = from_hex("07 00000000");
    v.insert(v.end(), subs.begin(), subs.end());
    return v;
}

INSTANTIATE_TEST_SUITE_P(
    Spec, ProxyV2RejectTest,
    ::testing::Values(
        // Fixed part, decided byte by byte.
        reject_case{"HttpRequest", [] { return from_text("GET / HTTP/1.1\r\n\r\n"); },
                    conn_err::prx_not_hdr, 1},
        reject_case{"V1Line", [] { return from_text("PROXY UNKNOWN\r\n"); }, conn_err::prx_not_hdr,
                    1},
        reject_case{"SignatureWrongAtByte11",
                    [] { return from_hex("0d0a0d0a000d0a51554958 0a 2100 0000"); },
                    conn_err::prx_not_hdr, 11},
        reject_case{"SignatureWrongAtLastByte",
                    [] { return from_hex("0d0a0d0a000d0a5155495400 2100 0000"); },
                    conn_err::prx_not_hdr, 12},
        reject_case{"Version1", [] { return hdr(0x11, 0x11).inet4().done(); },
                    conn_err::prx_bad_version, 13},
        reject_case{"Version3", [] { return hdr(0x31, 0x11).inet4().done(); },
                    conn_err::prx_bad_version, 13},
        reject_case{"Command2", [] { return hdr(0x22, 0x11).inet4().done(); },
                    conn_err::prx_bad_cmd, 13},
        reject_case{"Command15", [] { return hdr(0x2F, 0x00).done(); }, conn_err::prx_bad_cmd, 13},
        reject_case{"Family13", [] { return hdr(0x21, 0x13).inet4().done(); },
                    conn_err::prx_bad_proto, 14},
        reject_case{"Family01", [] { return hdr(0x21, 0x01).done(); }, conn_err::prx_bad_proto, 14},
        reject_case{"Family10", [] { return hdr(0x21, 0x10).inet4().done(); },
                    conn_err::prx_bad_proto, 14},
        reject_case{"Family41", [] { return hdr(0x21, 0x41).inet4().done(); },
                    conn_err::prx_bad_proto, 14},
        reject_case{"LocalWithInvalidFamily", [] { return hdr(0x20, 0x23).done(); },
                    conn_err::prx_bad_proto, 14},
        reject_case{"LengthOverTheMaximum",
                    [] { return hdr(0x21, 0x00).tlv_n(0xE1, 1000).tlv_n(0xE1, 1000).done(4081); },
                    conn_err::prx_too_big, 16},
        reject_case{"OneByteOverTheMaximum",
                    [] {
                        return hdr(0x21, 0x11)
                            .inet4()
                            .tlv_n(0xE1, 1024)
                            .tlv_n(0xE2, 1024)
                            .tlv_n(0xE3, 1024)
                            .tlv_n(0x04, 4096 - 28 - 3 * 1027 - 3 + 1)
                            .done();
                    },
                    conn_err::prx_too_big, 16},
        reject_case{"Tcp4LengthShorterThanItsBlock",
                    [] {
                        return hdr(0x21, 0x11).raw({1, 2, 3, 4, 5, 6, 7, 8}).done();
                    },
                    conn_err::prx_bad_len, 16},
        reject_case{"Tcp6FamilyWithATcp4SizedBlock", [] { return hdr(0x21, 0x21).inet4().done(); },
                    conn_err::prx_bad_len, 16},
        reject_case{"UnixLengthShorterThanItsBlock",
                    [] { return hdr(0x21, 0x31).raw(bytes(100)).done(); }, conn_err::prx_bad_len,
                    16},
        // TLV structure, decided once the announced length is in.
        reject_case{"TlvOverrunsTheHeader",
                    [] { return hdr(0x21, 0x11).inet4().tlv(0x02, from_text("abc"), 4).done(); },
                    conn_err::prx_bad_tlv, 0},
        reject_case{"TwoStrayBytesAfterTheAddresses",
                    [] {
                        return hdr(0x21, 0x11).inet4().raw({0x04, 0x00}).done();
                    },
                    conn_err::prx_bad_tlv, 0},
        reject_case{"CrcMismatch", [] { return hdr(0x21, 0x11).inet4().crc(true).done(); },
                    conn_err::prx_bad_crc, 0},
        reject_case{"CrcOfThreeBytes",
                    [] { return hdr(0x21, 0x11).inet4().tlv(0x03, from_hex("000000")).done(); },
                    conn_err::prx_bad_crc_len, 0},
        reject_case{"CrcOfFiveBytes",
                    [] { return hdr(0x21, 0x11).inet4().tlv(0x03, from_hex("0000000000")).done(); },
                    conn_err::prx_bad_crc_len, 0},
        reject_case{
            "TwoCrcTlvs",
            [] { return hdr(0x21, 0x11).inet4().crc().tlv(0x03, from_hex("00000000")).done(); },
            conn_err::prx_dup_crc, 0},
        reject_case{"AuthorityOf256Bytes",
                    [] { return hdr(0x21, 0x11).inet4().tlv_n(0x02, 256).done(); },
                    conn_err::prx_authority_too_long, 0},
        reject_case{"UniqueIdOf129Bytes",
                    [] { return hdr(0x21, 0x11).inet4().tlv_n(0x05, 129).done(); },
                    conn_err::prx_unique_id_too_long, 0},
        reject_case{"CustomTlvOf1025Bytes",
                    [] { return hdr(0x21, 0x11).inet4().tlv_n(0xEC, 1025).done(); },
                    conn_err::prx_tlv_too_big, 0},
        reject_case{"NoopOverTheTlvLimit",
                    [] { return hdr(0x21, 0x11).inet4().tlv_n(0x04, 1025).done(); },
                    conn_err::prx_tlv_too_big, 0},
        reject_case{"SslShorterThanFiveBytes",
                    [] { return hdr(0x21, 0x11).inet4().tlv(0x20, from_hex("01000000")).done(); },
                    conn_err::prx_bad_ssl_tlv, 0},
        reject_case{"SslSubTlvOverruns",
                    [] {
                        return hdr(0x21, 0x11)
                            .inet4()
                            .tlv(0x20, ssl_value(from_hex("210005 544c53")))
                            .done();
                    },
                    conn_err::prx_bad_ssl_tlv, 0},
        reject_case{"SslSubTlvsLeaveAStrayByte",
                    [] {
                        return hdr(0x21, 0x11)
                            .inet4()
                            .tlv(0x20, ssl_value(from_hex("210003 544c53 00")))
                            .done();
                    },
                    conn_err::prx_bad_ssl_tlv, 0},
        reject_case{"CorruptionIsReportedAsCrcBeforeCaps",
                    [] { return hdr(0x21, 0x11).inet4().crc(true).tlv_n(0x02, 300).done(); },
                    conn_err::prx_bad_crc, 0},
        // LOCAL layouts.
        reject_case{"LocalUnspecWithMalformedTlvs",
                    [] {
                        return hdr(0x20, 0x00).raw({0x04, 0x00, 0x05, 0x00}).done();
                    },
                    conn_err::prx_bad_tlv, 0},
        reject_case{"LocalWhoseTlvsTileUnderNeitherLayout",
                    [] {
                        return hdr(0x20, 0x11).inet4().raw({0x04, 0x00}).done();
                    },
                    conn_err::prx_bad_tlv, 0},
        reject_case{"LocalAwsHealthCheckWithCorruptedCrc",
                    [] {
                        bytes b = aws_nlb_health_check();
                        b[22] ^= std::byte{0x01};
                        return b;
                    },
                    conn_err::prx_bad_crc, 0},
        reject_case{"LocalChecksTheCapsOfItsTlvs",
                    [] { return hdr(0x20, 0x00).tlv_n(0x05, 129).done(); },
                    conn_err::prx_unique_id_too_long, 0},
        // Limits are configurable.
        reject_case{"ConfiguredAuthorityLimit",
                    [] { return hdr(0x21, 0x00).tlv_n(0x02, 11).done(); },
                    conn_err::prx_authority_too_long, 0, proxy_options{4096, 1024, 10, 128}},
        reject_case{"ConfiguredHeaderLimit", [] { return hdr(0x21, 0x11).inet4().done(); },
                    conn_err::prx_too_big, 16, proxy_options{27, 1024, 255, 128}}),
    test::param_name());

// ---- decoding ---------------------------------------------------------------------------------

TEST(ProxyV2Test, AwsHealthCheckCrcIsVerifiedBigEndian) {
    const bytes in = aws_nlb_health_check();
    const auto r = parse_proxy_v2(in);
    ASSERT_TRUE(r.complete()) << fuzz::describe(r);
    EXPECT_EQ(r.value.crc32c(), 0xbce5951fu);
    EXPECT_FALSE(r.value.use_addresses());
    EXPECT_EQ(r.value.src.kind, addr_kind::none);
    ASSERT_TRUE(r.value.tlvs.find(tlv_type::noop).has_value());
    EXPECT_EQ(r.value.tlvs.find(tlv_type::noop)->value.size(), 74u);
}

TEST(ProxyV2Test, HaproxyGeneratedHeaderDecodes) {
    const bytes in = haproxy_style_header();
    const auto r = parse_proxy_v2(in);
    ASSERT_TRUE(r.complete()) << fuzz::describe(r);
    EXPECT_EQ(r.value.unique_id(), "TEST-ID-1");
    EXPECT_EQ(r.value.tlvs.find(static_cast<tlv_type>(0xE1))->text(), "foo");
    EXPECT_EQ(r.value.crc32c(), 0x5a4d9bdfu);
    EXPECT_FALSE(r.value.authority().has_value());
}

TEST(ProxyV2Test, DecodesEveryKnownTlv) {
    const bytes in = all_known_tlvs();
    const auto r = parse_proxy_v2(in);
    ASSERT_TRUE(r.complete()) << fuzz::describe(r);
    const proxy_header& h = r.value;
    ASSERT_TRUE(h.alpn().has_value());
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(h.alpn()->data()), h.alpn()->size()), "h2");
    EXPECT_EQ(h.authority(), "example.com");
    EXPECT_EQ(h.unique_id(), "req-42");
    EXPECT_EQ(h.netns(), "blue");
    EXPECT_EQ(h.aws_vpce_id(), "vpce-08d2bf15fac5001c9");
    EXPECT_TRUE(h.crc32c().has_value());
    const auto ssl = h.ssl();
    ASSERT_TRUE(ssl.has_value());
    EXPECT_EQ(ssl->client, ssl_client_ssl | ssl_client_cert_conn | ssl_client_cert_sess);
    EXPECT_EQ(ssl->verify, 0x00000102u);
    EXPECT_EQ(ssl->version(), "TLSv1.3");
    EXPECT_EQ(ssl->cn(), "client.example");
    EXPECT_EQ(ssl->cipher(), "TLS_AES_128_GCM_SHA256");
    EXPECT_EQ(ssl->sig_alg(), "RSA-SHA256");
    EXPECT_EQ(ssl->key_alg(), "RSA2048");
    EXPECT_EQ(ssl->group(), "X25519");
    EXPECT_EQ(ssl->sig_scheme(), "rsa_pss_rsae_sha256");
    ASSERT_TRUE(ssl->client_cert().has_value());
    EXPECT_EQ(test::bytes(ssl->client_cert()->begin(), ssl->client_cert()->end()),
              from_hex("3082010a02820101"));
}

TEST(ProxyV2Test, DuplicateTlvsAreQueryableByType) {
    const bytes in = hdr(0x21, 0x00).tlv(0x02, "a").tlv(0xE1, "x").tlv(0x02, "b").done();
    const auto r = parse_proxy_v2(in);
    ASSERT_TRUE(r.complete());
    EXPECT_EQ(r.value.authority(), "a") << "the first occurrence";
    EXPECT_EQ(r.value.tlvs.count(tlv_type::authority), 2u);
    std::string all;
    for (const tlv t : r.value.tlvs.all(tlv_type::authority)) {
        all += t.text();
    }
    EXPECT_EQ(all, "ab");
    EXPECT_EQ(r.value.tlvs.size(), 3u);
}

TEST(ProxyV2Test, NeededIsExactOnceTheFixedPartIsIn) {
    const bytes in = hdr(0x21, 0x11).inet4().tlv(0x02, "example.com").done();
    for (std::size_t k = 0; k < in.size(); ++k) {
        const auto r = parse_proxy_v2(std::span(in).first(k));
        ASSERT_TRUE(r.need_more()) << k;
        if (k < proxy_v2_fixed_length) {
            EXPECT_EQ(r.needed, proxy_v2_fixed_length - k);
        } else {
            EXPECT_EQ(r.needed, in.size() - k);
        }
    }
}

TEST(ProxyV2Test, WideOptionsLiftTheCaps) {
    const bytes in =
        hdr(0x21, 0x11).inet4().tlv_n(0x02, 300).tlv_n(0x05, 200).tlv_n(0xE1, 2000).done();
    EXPECT_TRUE(parse_proxy_v2(in, fuzz::wide_proxy_options()).complete());
    EXPECT_EQ(parse_proxy_v2(in).error, conn_err::prx_authority_too_long) << "the first cap hit";
}

// ---- builder ----------------------------------------------------------------------------------

xprt::sock_addr addr(const char* text) {
    return *xprt::sock_addr::parse(text);
}

bytes build(const proxy_v2_spec& spec) {
    bytes out(proxy_v2_size(spec));
    EXPECT_NE(out.size(), 0u);
    const std::size_t n = build_proxy_v2(spec, out);
    EXPECT_EQ(n, out.size());
    return out;
}

TEST(ProxyV2BuildTest, ReproducesTheHaproxyGeneratedHeader) {
    proxy_v2_spec spec;
    spec.src = addr("127.0.0.1:40736");
    spec.dst = addr("127.0.0.1:18094");
    const bytes foo = from_text("foo");
    const tlv custom[] = {{static_cast<tlv_type>(0xE1), foo}};
    spec.custom = custom;
    spec.crc32c = true;
    spec.unique_id = "TEST-ID-1";
    EXPECT_EQ(build(spec), haproxy_style_header());
}

TEST(ProxyV2BuildTest, LocalHeaderIsSixteenBytes) {
    proxy_v2_spec spec;
    spec.command = proxy_command::local;
    spec.src = addr("10.0.0.1:1");  // ignored for LOCAL
    EXPECT_EQ(build(spec), from_hex("0d0a0d0a000d0a515549540a 2000 0000"));
}

TEST(ProxyV2BuildTest, MixedFamiliesUseV4MappedTcp6) {
    proxy_v2_spec spec;
    spec.src = addr("192.0.2.1:12345");
    spec.dst = addr("[2001:db8::2]:443");
    EXPECT_EQ(build(spec),
              from_hex("0d0a0d0a000d0a515549540a 2121 0024 "
                       "00000000000000000000ffffc0000201 20010db8000000000000000000000002 "
                       "3039 01bb"));
}

TEST(ProxyV2BuildTest, NonIpAddressesFallBackToLocal) {
    proxy_v2_spec spec;
    spec.src = *xprt::sock_addr::unix_path("/tmp/x");
    spec.dst = addr("127.0.0.1:1");
    spec.authority = "example.com";
    const bytes out = build(spec);
    const auto r = parse_proxy_v2(out);
    ASSERT_TRUE(r.complete());
    EXPECT_EQ(r.value.command, proxy_command::local);
    EXPECT_EQ(r.value.family, proxy_family::unspec);
    EXPECT_EQ(r.value.authority(), "example.com");
}

TEST(ProxyV2BuildTest, WritesTlvsInTheFixedOrder) {
    proxy_v2_spec spec;
    spec.src = addr("192.0.2.1:1");
    spec.dst = addr("192.0.2.2:2");
    const bytes v = from_text("v");
    const tlv custom[] = {{static_cast<tlv_type>(0xE2), v}, {static_cast<tlv_type>(0xE1), v}};
    spec.custom = custom;
    spec.netns = "ns";
    ssl_info ssl;
    ssl.client = ssl_client_ssl;
    ssl.cipher = "c";
    ssl.version = "TLSv1.2";
    spec.ssl = &ssl;
    spec.unique_id = "u";
    spec.authority = "a";
    const bytes alpn = from_text("h2");
    spec.alpn = alpn;
    spec.crc32c = true;
    const bytes out = build(spec);
    const auto r = parse_proxy_v2(out);
    ASSERT_TRUE(r.complete()) << fuzz::describe(r);
    std::vector<int> types;
    for (const tlv t : r.value.tlvs) {
        types.push_back(static_cast<int>(t.type));
    }
    EXPECT_EQ(types, (std::vector<int>{0xE2, 0xE1, 0x03, 0x01, 0x02, 0x05, 0x20, 0x30}));
    std::vector<int> subs;
    const auto ssl_tlv = r.value.ssl();
    ASSERT_TRUE(ssl_tlv.has_value());
    for (const tlv t : ssl_tlv->sub_tlvs) {
        subs.push_back(static_cast<int>(t.type));
    }
    EXPECT_EQ(subs, (std::vector<int>{0x21, 0x23})) << "sub-TLVs by type, not by field order";
}

TEST(ProxyV2BuildTest, CrcIsComputedLastOverTheWholeHeader) {
    proxy_v2_spec spec;
    spec.src = addr("192.0.2.1:1");
    spec.dst = addr("192.0.2.2:2");
    spec.crc32c = true;
    spec.netns = "after-the-crc";
    bytes out = build(spec);
    const std::size_t at = 28 + 3;
    const std::uint32_t stored = std::to_integer<std::uint32_t>(out[at]) << 24 |
                                 std::to_integer<std::uint32_t>(out[at + 1]) << 16 |
                                 std::to_integer<std::uint32_t>(out[at + 2]) << 8 |
                                 std::to_integer<std::uint32_t>(out[at + 3]);
    std::memset(out.data() + at, 0, 4);
    EXPECT_EQ(stored, crc32c(out));
}

TEST(ProxyV2BuildTest, RefusesWhatCannotBeEncodedOrDoesNotFit) {
    proxy_v2_spec spec;
    spec.src = addr("192.0.2.1:1");
    spec.dst = addr("192.0.2.2:2");
    const bytes big(65536);
    const tlv custom[] = {{static_cast<tlv_type>(0xE1), big}};
    spec.custom = custom;
    EXPECT_EQ(proxy_v2_size(spec), 0u) << "a TLV value over 65535 bytes";
    const bytes half(proxy_v2_max_length - 28 - 3 + 1);  // total one byte over
    const tlv too_much[] = {{static_cast<tlv_type>(0xE1), half}};
    spec.custom = too_much;
    EXPECT_EQ(proxy_v2_size(spec), 0u) << "a header over 16 + 65535 bytes";
    spec.custom = {};
    bytes out(27, std::byte{0x55});
    EXPECT_EQ(build_proxy_v2(spec, out), 0u);
    EXPECT_EQ(out, bytes(27, std::byte{0x55})) << "nothing written";
}

}  // namespace
}  // namespace xstack::handshake
