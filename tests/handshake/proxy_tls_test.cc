// tests/handshake/proxy_tls_test.cc - PROXY v2 TLVs filled from a TLS session (add_tls_tlvs):
// each case builds a header from a filled xprt::tls_info, parses it back with parse_proxy_v2
// and checks the decoded TLVs, SSL sub-TLVs and client bits.
#include "handshake/proxy_tls.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "handshake/proxy_v2.h"
#include "xprt/tls_info.h"

namespace xstack::handshake {
namespace {

/// A frontend session as the ssl layer fills it: TLS 1.3, ALPN and SNI, no client certificate.
xprt::tls_info tls_session() {
    xprt::tls_info i;
    i.handshake_done = true;
    i.version = "TLSv1.3";
    i.cipher = "TLS_AES_256_GCM_SHA384";
    i.sni = "www.example.test";
    i.alpn = "h2";
    i.group = "X25519";
    return i;
}

/// The same session with a client certificate presented on this connection.
xprt::tls_info with_client_cert(std::int64_t verify_result) {
    xprt::tls_info i = tls_session();
    i.client_cert = true;
    i.client_cert_in_conn = true;
    i.verify_result = verify_result;
    i.peer_cn = "client.test";
    i.local_sig_alg = "ecdsa-with-SHA256";
    i.local_key_alg = "EC256";
    i.sig_alg = "sha256WithRSAEncryption";  // the peer's: not what SIG_ALG/KEY_ALG describe
    i.key_alg = "RSA2048";
    i.sig_scheme = "ecdsa_secp256r1_sha256";
    return i;
}

constexpr proxy_tls_options all_options{
    .ssl = true, .ssl_cn = true, .alpn = true, .authority = true};

/// A header built from `tls` and `opt`, kept alive with its parse result.
/// `parsed` views `bytes`: keep the whole object alive while using anything decoded from it.
struct built {
    std::vector<std::byte> bytes;
    parse_result<proxy_header> parsed;

    [[nodiscard]] std::optional<ssl_tlv> ssl() const { return parsed.value.ssl(); }
};

built build(const xprt::tls_info* tls, const proxy_tls_options& opt) {
    proxy_v2_spec spec;
    spec.src = *xprt::sock_addr::parse("192.0.2.1:4000");
    spec.dst = *xprt::sock_addr::parse("198.51.100.2:443");
    proxy_tls_tlvs storage;
    add_tls_tlvs(spec, storage, tls, opt);
    built b;
    b.bytes.resize(proxy_v2_size(spec));
    EXPECT_NE(b.bytes.size(), 0u);
    EXPECT_EQ(build_proxy_v2(spec, b.bytes), b.bytes.size());
    b.parsed = parse_proxy_v2(b.bytes);
    EXPECT_TRUE(b.parsed.complete()) << xprt::to_string(b.parsed.error);
    EXPECT_EQ(b.parsed.length, b.bytes.size());
    // The addresses set before are left alone.
    EXPECT_EQ(to_sock_addr(b.parsed.value.src).to_string(), "192.0.2.1:4000");
    return b;
}

std::string text(std::span<const std::byte> b) {
    return {reinterpret_cast<const char*>(b.data()), b.size()};
}

TEST(ProxyTlsTest, NoTlsSendsAnSslTlvWithoutClientBitsAndVerifyOne) {
    xprt::tls_info not_done = tls_session();
    not_done.handshake_done = false;  // the layer exists but its handshake did not finish
    for (const xprt::tls_info* tls : {static_cast<const xprt::tls_info*>(nullptr),
                                      static_cast<const xprt::tls_info*>(&not_done)}) {
        const built b = build(tls, all_options);
        const auto s = b.ssl();
        ASSERT_TRUE(s.has_value());
        EXPECT_EQ(s->client, 0u);
        EXPECT_EQ(s->verify, 1u);
        EXPECT_TRUE(s->sub_tlvs.empty());  // no version, cipher, CN...
        EXPECT_FALSE(b.parsed.value.alpn().has_value());
        EXPECT_FALSE(b.parsed.value.authority().has_value());
        EXPECT_EQ(b.parsed.value.tlvs.size(), 1u);
    }
}

TEST(ProxyTlsTest, TlsWithoutClientCertificate) {
    const xprt::tls_info tls = tls_session();
    const built b = build(&tls, all_options);
    const auto s = b.ssl();
    ASSERT_TRUE(s.has_value());
    EXPECT_EQ(s->client, ssl_client_ssl);
    EXPECT_EQ(s->verify, 1u);  // no certificate: "not verified"
    EXPECT_EQ(s->version(), "TLSv1.3");
    EXPECT_EQ(s->cipher(), "TLS_AES_256_GCM_SHA384");
    EXPECT_EQ(s->group(), "X25519");
    EXPECT_FALSE(s->cn().has_value());
    EXPECT_FALSE(s->sig_alg().has_value());  // empty fields are omitted
    EXPECT_FALSE(s->key_alg().has_value());
    EXPECT_FALSE(s->sig_scheme().has_value());
    EXPECT_FALSE(s->client_cert().has_value());
    EXPECT_EQ(s->sub_tlvs.size(), 3u);
    ASSERT_TRUE(b.parsed.value.alpn().has_value());
    EXPECT_EQ(text(*b.parsed.value.alpn()), "h2");
    EXPECT_EQ(b.parsed.value.authority(), "www.example.test");
    // Order of build_proxy_v2: ALPN, AUTHORITY, SSL.
    std::vector<tlv_type> order;
    for (const tlv t : b.parsed.value.tlvs) {
        order.push_back(t.type);
    }
    EXPECT_EQ(order, (std::vector<tlv_type>{tlv_type::alpn, tlv_type::authority, tlv_type::ssl}));
}

TEST(ProxyTlsTest, VerifiedClientCertificate) {
    const xprt::tls_info tls = with_client_cert(0);
    const built b = build(&tls, all_options);
    const auto s = b.ssl();
    ASSERT_TRUE(s.has_value());
    EXPECT_EQ(s->client, ssl_client_ssl | ssl_client_cert_conn | ssl_client_cert_sess);
    EXPECT_EQ(s->verify, 0u);
    EXPECT_EQ(s->version(), "TLSv1.3");
    EXPECT_EQ(s->cn(), "client.test");
    EXPECT_EQ(s->cipher(), "TLS_AES_256_GCM_SHA384");
    EXPECT_EQ(s->sig_alg(), "ecdsa-with-SHA256");
    EXPECT_EQ(s->key_alg(), "EC256");
    EXPECT_EQ(s->group(), "X25519");
    EXPECT_EQ(s->sig_scheme(), "ecdsa_secp256r1_sha256");
    // Sub-TLVs in the builder's fixed order.
    std::vector<tlv_type> order;
    for (const tlv t : s->sub_tlvs) {
        order.push_back(t.type);
    }
    EXPECT_EQ(order,
              (std::vector<tlv_type>{tlv_type::ssl_version, tlv_type::ssl_cn, tlv_type::ssl_cipher,
                                     tlv_type::ssl_sig_alg, tlv_type::ssl_key_alg,
                                     tlv_type::ssl_group, tlv_type::ssl_sig_scheme}));
}

TEST(ProxyTlsTest, ClientCertificateThatFailedVerification) {
    const xprt::tls_info tls =
        with_client_cert(20);                  // X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY
    const built b = build(&tls, all_options);  // the decoded views point into b
    const auto s = b.ssl();
    ASSERT_TRUE(s.has_value());
    EXPECT_EQ(s->client, ssl_client_ssl | ssl_client_cert_conn | ssl_client_cert_sess);
    EXPECT_EQ(s->verify, 20u);
    EXPECT_EQ(s->cn(), "client.test");

    // A result that does not fit the field is still "not verified", never 0.
    for (const std::int64_t odd : {std::int64_t{1} << 32, std::int64_t{-1}}) {
        const xprt::tls_info t = with_client_cert(odd);
        const built ob = build(&t, all_options);
        const auto o = ob.ssl();
        ASSERT_TRUE(o.has_value());
        EXPECT_EQ(o->verify, 1u) << odd;
    }
}

TEST(ProxyTlsTest, ResumedSessionHasTheCertificateInTheSessionOnly) {
    xprt::tls_info tls = with_client_cert(0);
    tls.resumed = true;
    tls.client_cert_in_conn = false;  // presented on the connection that created the session
    const built b = build(&tls, all_options);  // the decoded views point into b
    const auto s = b.ssl();
    ASSERT_TRUE(s.has_value());
    EXPECT_EQ(s->client, ssl_client_ssl | ssl_client_cert_sess);
    EXPECT_EQ(s->client & ssl_client_cert_conn, 0);
    EXPECT_EQ(s->verify, 0u);
    EXPECT_EQ(s->cn(), "client.test");
}

TEST(ProxyTlsTest, OptionsOffLeaveTheSpecAlone) {
    const xprt::tls_info tls = with_client_cert(0);
    // Nothing asked: no TLV at all, the spec's own fields untouched.
    proxy_v2_spec spec;
    spec.authority = "kept.example";
    proxy_tls_tlvs storage;
    add_tls_tlvs(spec, storage, &tls, {});
    EXPECT_EQ(spec.ssl, nullptr);
    EXPECT_TRUE(spec.alpn.empty());
    EXPECT_EQ(spec.authority, "kept.example");

    const built none = build(&tls, {});
    EXPECT_TRUE(none.parsed.value.tlvs.empty());
    EXPECT_EQ(none.bytes.size(), 28u);  // TCP4 without TLVs

    // ssl without ssl_cn: no CN sub-TLV, the rest as usual.
    const built ssl_only = build(&tls, {.ssl = true});
    const auto s = ssl_only.ssl();
    ASSERT_TRUE(s.has_value());
    EXPECT_FALSE(s->cn().has_value());
    EXPECT_EQ(s->version(), "TLSv1.3");
    EXPECT_EQ(s->verify, 0u);
    EXPECT_FALSE(ssl_only.parsed.value.alpn().has_value());
    EXPECT_FALSE(ssl_only.parsed.value.authority().has_value());

    // ssl_cn alone implies the SSL TLV.
    const built cn_only = build(&tls, {.ssl_cn = true});
    const auto cn = cn_only.ssl();
    ASSERT_TRUE(cn.has_value());
    EXPECT_EQ(cn->cn(), "client.test");

    // ALPN / AUTHORITY alone: no SSL TLV.
    const built names = build(&tls, {.alpn = true, .authority = true});
    EXPECT_FALSE(names.ssl().has_value());
    EXPECT_EQ(names.parsed.value.authority(), "www.example.test");
    ASSERT_TRUE(names.parsed.value.alpn().has_value());
    EXPECT_EQ(text(*names.parsed.value.alpn()), "h2");

    // A session without ALPN or SNI: the TLVs are omitted, not sent empty.
    xprt::tls_info bare = tls_session();
    bare.alpn.clear();
    bare.sni.clear();
    const built empty = build(&bare, {.alpn = true, .authority = true});
    EXPECT_TRUE(empty.parsed.value.tlvs.empty());
}

TEST(ProxyTlsTest, WithCrcAndCustomTlvsTheHeaderStillParses) {
    const xprt::tls_info tls = with_client_cert(0);
    proxy_v2_spec spec;
    spec.src = *xprt::sock_addr::parse("[2001:db8::1]:4000");
    spec.dst = *xprt::sock_addr::parse("[2001:db8::2]:443");
    spec.crc32c = true;
    spec.unique_id = "req-1";
    proxy_tls_tlvs storage;
    add_tls_tlvs(spec, storage, &tls, all_options);
    std::vector<std::byte> out(proxy_v2_size(spec));
    ASSERT_EQ(build_proxy_v2(spec, out), out.size());
    const auto r = parse_proxy_v2(out);
    ASSERT_TRUE(r.complete()) << xprt::to_string(r.error);
    EXPECT_TRUE(r.value.crc32c().has_value());
    EXPECT_EQ(r.value.unique_id(), "req-1");
    ASSERT_TRUE(r.value.ssl().has_value());
    EXPECT_EQ(r.value.ssl()->cn(), "client.test");
}

}  // namespace
}  // namespace xstack::handshake
