// xprt/tls_info.h - what a TLS layer tells the rest of the chain about its session, in plain
// types: the PROXY v2 SSL TLV, logs and `show conn` read it without knowing OpenSSL.
#pragma once

#include <cstdint>
#include <string>

namespace xstack::xprt {

/// A snapshot of a TLS session (filled by the ssl layer once its handshake completed).
struct tls_info {
    bool handshake_done = false;
    bool resumed = false;  ///< session resumption was used
    /// The peer presented a certificate at least once in this TLS session: on this
    /// connection's full handshake, or on the one that created a session resumed here (PROXY v2
    /// PP2_CLIENT_CERT_SESS). On a server, the peer is the client.
    bool client_cert = false;
    /// The peer presented a certificate over this connection, i.e. in a full handshake, not
    /// only in the session this connection resumed (PROXY v2 PP2_CLIENT_CERT_CONN). Implies
    /// client_cert.
    bool client_cert_in_conn = false;
    std::int64_t verify_result = 0;  ///< X509 verification result (0 = ok)
    std::string version;             ///< "TLSv1.3"
    std::string cipher;              ///< "TLS_AES_256_GCM_SHA384"
    std::string sni;                 ///< server name sent (client) or received (server)
    std::string alpn;                ///< negotiated application protocol
    std::string peer_cn;             ///< peer certificate subject common name
    std::string sig_alg;             ///< peer certificate signature algorithm ("RSA-SHA256")
    std::string key_alg;             ///< peer certificate key algorithm ("RSA2048", "EC256")
    /// This side's own certificate (the one it presented): what the PROXY v2 SSL TLV's SIG_ALG
    /// and KEY_ALG describe ("the certificate presented by the frontend"). Empty without one.
    std::string local_sig_alg;
    std::string local_key_alg;
    std::string group;       ///< key-exchange group ("X25519")
    std::string sig_scheme;  ///< handshake signature scheme ("ecdsa_secp256r1_sha256")
};

}  // namespace xstack::xprt
