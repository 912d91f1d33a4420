// tests/ssl/test_certs.h - X.509 certificates generated at test time with the OpenSSL API: a
// CA, server certificates (ECDSA P-256 and RSA 2048), an expired one, client certificates.
// Used by tests/ssl, bench/ssl and fuzz/ (no GoogleTest dependency).
#pragma once

#include <string>
#include <vector>

namespace xstack::test::tls {

enum class key_kind { ec_p256, rsa2048 };

/// A certificate and its private key, in PEM.
struct issued {
    std::string cert_pem;
    std::string key_pem;
};

struct cert_spec {
    std::string cn{};
    std::vector<std::string> dns{};  ///< subjectAltName DNS entries
    std::vector<std::string> ips{};  ///< subjectAltName IP entries
    key_kind key = key_kind::ec_p256;
    long not_before_s = -3600;            ///< validity start, relative to now
    long not_after_s = 365L * 24 * 3600;  ///< validity end, relative to now
    bool ca = false;
    bool client = false;  ///< extendedKeyUsage clientAuth (else serverAuth)
};

/// Issues a certificate for `spec`, signed by `issuer` (self-signed when nullptr). Aborts on
/// an OpenSSL failure (test setup).
issued make_cert(const cert_spec& spec, const issued* issuer);

/// Certificates generated once per process.
struct cert_set {
    issued ca;                ///< "xstack test CA" (ECDSA)
    issued other_ca;          ///< an unrelated CA
    issued server_ec;         ///< CN server.test, SAN server.test, localhost, 127.0.0.1 (ECDSA)
    issued server_rsa;        ///< same names, RSA 2048
    issued expired;           ///< server.test, expired yesterday
    issued www;               ///< www.example.test
    issued wildcard;          ///< *.wild.test
    issued untrusted_server;  ///< server.test, signed by other_ca
    issued client;            ///< CN client.test, clientAuth, signed by ca
    issued client_other_ca;   ///< CN rogue.test, clientAuth, signed by other_ca
};
const cert_set& certs();

/// Writes `text` to a new file in a per-process temporary directory; returns its path.
std::string write_temp_file(const std::string& name, const std::string& text);

}  // namespace xstack::test::tls
