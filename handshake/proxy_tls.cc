// handshake/proxy_tls.cc - PROXY v2 TLVs from a TLS session.
#include "handshake/proxy_tls.h"

#include <cstdint>
#include <limits>
#include <span>

namespace xstack::handshake {

namespace {

/// The `verify` field for a session in which a certificate was presented: the X509 result,
/// never 0 for a failed verification (0 would tell the receiver "verified").
std::uint32_t verify_field(std::int64_t result) noexcept {
    if (result == 0) {
        return 0;
    }
    if (result < 0 || result > std::numeric_limits<std::uint32_t>::max()) {
        return 1;
    }
    return static_cast<std::uint32_t>(result);
}

}  // namespace

void add_tls_tlvs(proxy_v2_spec& spec, proxy_tls_tlvs& storage, const xprt::tls_info* tls,
                  const proxy_tls_options& opt) noexcept {
    const xprt::tls_info* t = tls != nullptr && tls->handshake_done ? tls : nullptr;
    if (opt.ssl || opt.ssl_cn) {
        ssl_info& s = storage.ssl;
        s = ssl_info{};
        s.verify = 1;
        if (t != nullptr) {
            unsigned client = ssl_client_ssl;
            if (t->client_cert) {
                client |= ssl_client_cert_sess;
                if (t->client_cert_in_conn) {
                    client |= ssl_client_cert_conn;
                }
                s.verify = verify_field(t->verify_result);
            }
            s.client = static_cast<std::uint8_t>(client);
            s.version = t->version;
            s.cipher = t->cipher;
            s.sig_alg = t->local_sig_alg;  // the frontend's own certificate, as the spec says
            s.key_alg = t->local_key_alg;
            s.group = t->group;
            s.sig_scheme = t->sig_scheme;
            if (opt.ssl_cn && t->client_cert) {
                s.cn = t->peer_cn;
            }
        }
        spec.ssl = &s;
    }
    if (opt.alpn) {
        spec.alpn = t != nullptr
                        ? std::as_bytes(std::span<const char>(t->alpn.data(), t->alpn.size()))
                        : std::span<const std::byte>{};
    }
    if (opt.authority) {
        spec.authority = t != nullptr ? std::string_view(t->sni) : std::string_view{};
    }
}

}  // namespace xstack::handshake
