// tests/handshake/proxy_test.cc - version detection, and the round-trip property: random
// headers built then parsed back identically.
#include "handshake/proxy.h"

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <netinet/in.h>

#include <gtest/gtest.h>

#include "tests/handshake/hs_test_util.h"

namespace xstack::handshake {
namespace {

using test::bytes;
using test::from_hex;
using test::from_text;
using xprt::conn_err;

TEST(ProxyDetectTest, PicksTheVersionFromTheFirstByte) {
    EXPECT_EQ(parse_proxy(from_text("PROXY UNKNOWN\r\n")).value.version, 1);
    EXPECT_EQ(parse_proxy(from_hex("0d0a0d0a000d0a515549540a 2000 0000")).value.version, 2);
    EXPECT_EQ(parse_proxy(from_text("GET / HTTP/1.1\r\n")).error, conn_err::prx_not_hdr);
    EXPECT_EQ(parse_proxy(from_hex("16 0301")).error, conn_err::prx_not_hdr) << "a TLS record";
    EXPECT_TRUE(parse_proxy(from_text("P")).need_more());
    EXPECT_TRUE(parse_proxy(from_hex("0d")).need_more());
}

TEST(ProxyDetectTest, EmptyInputNeedsMore) {
    const auto r = parse_proxy({});
    ASSERT_TRUE(r.need_more());
    EXPECT_EQ(r.needed, proxy_v1_min_length);
}

TEST(ProxyDetectTest, PassesOptionsToTheV2Parser) {
    const bytes in = from_hex("0d0a0d0a000d0a515549540a 2111 000c c0000201 c6336402 3039 01bb");
    proxy_options tight;
    tight.max_header = 27;
    EXPECT_EQ(parse_proxy(in, tight).error, conn_err::prx_too_big);
    EXPECT_TRUE(parse_proxy(in).complete());
}

// ---- round trip -------------------------------------------------------------------------------

class generator {
public:
    explicit generator(std::uint32_t seed) : rng_(seed) {}

    std::size_t below(std::size_t n) { return n == 0 ? 0 : rng_() % n; }
    bool coin() { return (rng_() & 1u) != 0; }

    xprt::sock_addr address(bool v6) {
        const auto port = static_cast<std::uint16_t>(rng_());
        if (!v6) {
            return xprt::sock_addr::ipv4(static_cast<std::uint32_t>(rng_()), port);
        }
        std::uint8_t a[16];
        for (auto& b : a) {
            // Many zero groups, so that compression and mixed notation come up often.
            b = below(3) == 0 ? static_cast<std::uint8_t>(rng_()) : 0;
        }
        if (below(4) == 0) {
            std::memset(a, 0, 10);
            a[10] = 0xFF;
            a[11] = 0xFF;
        }
        return xprt::sock_addr::ipv6(a, port);
    }

    std::string text(std::size_t max_len) {
        std::string s(below(max_len + 1), ' ');
        for (auto& c : s) {
            c = static_cast<char>('!' + below(94));
        }
        return s;
    }

    bytes blob(std::size_t max_len) {
        bytes b(below(max_len + 1));
        for (auto& x : b) {
            x = static_cast<std::byte>(rng_());
        }
        return b;
    }

private:
    std::mt19937 rng_;
};

TEST(ProxyRoundTripTest, RandomV1HeadersParseBackToTheSameAddresses) {
    generator g(0x5eed0001);
    for (int i = 0; i < 3000; ++i) {
        const int kind = static_cast<int>(g.below(5));
        xprt::sock_addr src;
        xprt::sock_addr dst;
        if (kind == 0) {
            src = g.address(false);
            dst = g.address(false);
        } else if (kind < 4) {
            src = g.address(kind != 1);
            dst = g.address(kind != 2);
        }  // kind 4: no addresses -> UNKNOWN
        std::byte out[proxy_v1_max_length];
        const std::size_t n = build_proxy_v1(src, dst, out);
        ASSERT_GT(n, 0u);
        const auto r = parse_proxy(std::span<const std::byte>(out, n));
        ASSERT_TRUE(r.complete()) << fuzz::describe(r) << " for "
                                  << std::string(reinterpret_cast<const char*>(out), n);
        ASSERT_EQ(r.length, n);
        if (kind == 4) {
            EXPECT_EQ(r.value.family, proxy_family::unspec);
            continue;
        }
        const auto as_v6 = [&](const xprt::sock_addr& a) {
            // What a mixed pair becomes on the wire: IPv4 as ::ffff:a.b.c.d.
            if (kind == 0 || a.family() == AF_INET6) {
                return a;
            }
            std::uint8_t m[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
            std::memcpy(m + 12, &reinterpret_cast<const sockaddr_in*>(&a.ss)->sin_addr, 4);
            return xprt::sock_addr::ipv6(m, a.port());
        };
        EXPECT_EQ(r.value.family, kind == 0 ? proxy_family::tcp4 : proxy_family::tcp6);
        ASSERT_EQ(to_sock_addr(r.value.src), as_v6(src)) << i;
        ASSERT_EQ(to_sock_addr(r.value.dst), as_v6(dst)) << i;
    }
}

TEST(ProxyRoundTripTest, RandomV2HeadersParseBackIdentically) {
    generator g(0x5eed0002);
    for (int i = 0; i < 3000; ++i) {
        proxy_v2_spec spec;
        spec.command = g.below(5) == 0 ? proxy_command::local : proxy_command::proxy;
        const bool v6s = g.coin();
        const bool v6d = g.coin();
        spec.src = g.address(v6s);
        spec.dst = g.address(v6d);

        std::vector<bytes> custom_values;
        std::vector<tlv> custom;
        const std::size_t ncustom = g.below(4);
        for (std::size_t k = 0; k < ncustom; ++k) {
            custom_values.push_back(g.blob(40));
        }
        for (std::size_t k = 0; k < ncustom; ++k) {
            custom.push_back({static_cast<tlv_type>(0xE0 + g.below(16)), custom_values[k]});
        }
        spec.custom = custom;
        spec.crc32c = g.coin();
        const bytes alpn = g.coin() ? from_text(g.coin() ? "h2" : "http/1.1") : bytes();
        spec.alpn = alpn;
        const std::string authority = g.coin() ? g.text(255) : "";
        const std::string unique_id = g.coin() ? g.text(128) : "";
        const std::string netns = g.coin() ? g.text(20) : "";
        spec.authority = authority;
        spec.unique_id = unique_id;
        spec.netns = netns;
        ssl_info ssl;
        const std::string version = g.coin() ? "TLSv1.3" : "";
        const std::string cn = g.text(30);
        const std::string cipher = g.text(30);
        const bytes cert = g.blob(300);
        if (g.coin()) {
            ssl.client = static_cast<std::uint8_t>(g.below(8));
            ssl.verify = static_cast<std::uint32_t>(g.below(1u << 20));
            ssl.version = version;
            ssl.cn = cn;
            ssl.cipher = cipher;
            ssl.client_cert = cert;
            spec.ssl = &ssl;
        }

        bytes out(proxy_v2_size(spec));
        ASSERT_EQ(build_proxy_v2(spec, out), out.size());
        const auto r = parse_proxy(out);
        ASSERT_TRUE(r.complete()) << fuzz::describe(r);
        const proxy_header& h = r.value;
        ASSERT_EQ(r.length, out.size());
        ASSERT_EQ(h.command, spec.command);
        if (spec.command == proxy_command::proxy) {
            const bool both4 = !v6s && !v6d;
            ASSERT_EQ(h.family, both4 ? proxy_family::tcp4 : proxy_family::tcp6);
            if (both4) {
                ASSERT_EQ(to_sock_addr(h.src), spec.src);
                ASSERT_EQ(to_sock_addr(h.dst), spec.dst);
            } else {
                ASSERT_EQ(to_sock_addr(h.src).port(), spec.src.port());
                ASSERT_EQ(to_sock_addr(h.dst).port(), spec.dst.port());
                if (v6s) {
                    ASSERT_EQ(to_sock_addr(h.src), spec.src);
                }
            }
        } else {
            ASSERT_EQ(h.family, proxy_family::unspec);
            ASSERT_EQ(h.src.kind, addr_kind::none);
        }

        // Every TLV, in the builder's fixed order, with the same bytes.
        std::vector<std::pair<int, bytes>> want;
        want.reserve(custom.size());
        for (const tlv& t : custom) {
            want.emplace_back(static_cast<int>(t.type), bytes(t.value.begin(), t.value.end()));
        }
        std::vector<std::pair<int, bytes>> got;
        for (const tlv t : h.tlvs) {
            got.emplace_back(static_cast<int>(t.type), bytes(t.value.begin(), t.value.end()));
        }
        std::size_t k = 0;
        for (; k < want.size(); ++k) {
            ASSERT_LT(k, got.size());
            ASSERT_EQ(got[k], want[k]) << "custom TLV " << k;
        }
        ASSERT_EQ(h.crc32c().has_value(), spec.crc32c);
        ASSERT_EQ(h.alpn().has_value(), !alpn.empty());
        if (!alpn.empty()) {
            ASSERT_EQ(bytes(h.alpn()->begin(), h.alpn()->end()), alpn);
        }
        ASSERT_EQ(h.authority().value_or(""), authority);
        ASSERT_EQ(h.unique_id().value_or(""), unique_id);
        ASSERT_EQ(h.netns().value_or(""), netns);
        ASSERT_EQ(h.ssl().has_value(), spec.ssl != nullptr);
        if (spec.ssl != nullptr) {
            const auto s = h.ssl();
            ASSERT_EQ(s->client, ssl.client);
            ASSERT_EQ(s->verify, ssl.verify);
            ASSERT_EQ(s->version().value_or(""), version);
            ASSERT_EQ(s->cn().value_or(""), cn);
            ASSERT_EQ(s->cipher().value_or(""), cipher);
            ASSERT_EQ(s->client_cert().has_value(), !cert.empty());
        }
        const std::size_t known = std::size_t{spec.crc32c} + std::size_t{!alpn.empty()} +
                                  std::size_t{!authority.empty()} +
                                  std::size_t{!unique_id.empty()} +
                                  std::size_t{spec.ssl != nullptr} + std::size_t{!netns.empty()};
        ASSERT_EQ(got.size(), want.size() + known);
    }
}

}  // namespace
}  // namespace xstack::handshake
