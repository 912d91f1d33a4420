// handshake/proxy_tls.h - PROXY v2 TLVs describing the client's TLS session, for a PROXY
// sender (HAProxy's send-proxy-v2-ssl / send-proxy-v2-ssl-cn, plus ALPN and AUTHORITY).
//
//   // the client-side (frontend) connection finished its TLS handshake:
//   handshake::hs_send send;
//   send.v2.src = front.client_addr();
//   send.v2.dst = front.client_dst_addr();
//   handshake::proxy_tls_tlvs tlvs;                       // storage the spec points into
//   handshake::add_tls_tlvs(send.v2, tlvs, front.tls(),
//                           {.ssl = true, .ssl_cn = true, .alpn = true, .authority = true});
//   back.flags.set(xprt::conn_flag::send_proxy);
//   handshake::attach(back, cfg, &send);                  // the header is built here
//
// Lifetimes: proxy_v2_spec holds views. After add_tls_tlvs(), `spec` points into `tlvs` (the
// SSL TLV) and into the strings of `tls` (version, cipher, CN, ALPN, SNI, ...): both must stay
// alive and unchanged until the header is built (build_proxy_v2, or handshake::attach(), which
// builds it at once). The connection owning `tls` must therefore not be closed in between.
//
// No OpenSSL here: everything comes from the plain xprt::tls_info the ssl layer filled.
#pragma once

#include "handshake/proxy_v2.h"
#include "xprt/tls_info.h"

namespace xstack::handshake {

/// Which TLS-derived TLVs to send.
struct proxy_tls_options {
    /// The SSL TLV (send-proxy-v2-ssl): `client` bits, `verify`, and the sub-TLVs VERSION,
    /// CIPHER, SIG_ALG, KEY_ALG, GROUP and SIG_SCHEME when known. Sent even when the client did
    /// not use TLS (client = 0, verify = 1), as HAProxy does, so the receiver can tell.
    bool ssl = false;
    /// The SSL TLV with the CN sub-TLV of the client certificate (send-proxy-v2-ssl-cn); implies
    /// `ssl`.
    bool ssl_cn = false;
    /// The ALPN TLV: the protocol negotiated with the client (omitted when none).
    bool alpn = false;
    /// The AUTHORITY TLV: the server name (SNI) the client sent (omitted when none).
    bool authority = false;
};

/// Storage for the TLVs add_tls_tlvs() points a proxy_v2_spec at. Not copyable once used: a
/// spec filled from it points at its `ssl` member.
struct proxy_tls_tlvs {
    ssl_info ssl;

    proxy_tls_tlvs() noexcept = default;
    proxy_tls_tlvs(const proxy_tls_tlvs&) = delete;
    proxy_tls_tlvs& operator=(const proxy_tls_tlvs&) = delete;
};

/// Sets spec.ssl, spec.alpn and spec.authority as `opt` asks, from the TLS session `tls` of the
/// connection the header describes (the frontend, accepted connection: its peer is the client).
/// `tls` == nullptr or !tls->handshake_done means "the client did not use TLS": only the SSL
/// TLV is sent then (client = 0, verify = 1). Other fields of `spec` are left alone, as are the
/// three fields when their option is off.
///
/// The SSL TLV follows the PROXY protocol specification (2.2.5) and HAProxy:
///   client  PP2_CLIENT_SSL        the client connected over TLS (handshake done)
///           PP2_CLIENT_CERT_SESS  it presented a certificate at least once in this TLS
///                                 session (tls_info::client_cert)
///           PP2_CLIENT_CERT_CONN  ... over this connection, i.e. not only in the session a
///                                 resumption reused (tls_info::client_cert_in_conn; only
///                                 together with CERT_SESS)
///   verify  0 only when a certificate was presented and verified: the X509 verification
///           result when a certificate was presented (a non-zero result that would not fit
///           32 bits is sent as 1), else 1.
///   sub-TLVs, each only when its text is not empty: VERSION, CIPHER, SIG_ALG, KEY_ALG, GROUP,
///           SIG_SCHEME (with `ssl`); CN (with `ssl_cn`). Not CLIENT_CERT (the DER is not kept).
/// SIG_ALG and KEY_ALG describe the certificate the frontend presented (tls_info's local_sig_alg
/// and local_key_alg), as the PROXY protocol specifies; SIG_SCHEME is the peer's handshake
/// signature scheme (tls_info::sig_scheme), sent as it is.
void add_tls_tlvs(proxy_v2_spec& spec, proxy_tls_tlvs& storage, const xprt::tls_info* tls,
                  const proxy_tls_options& opt) noexcept;

}  // namespace xstack::handshake
