// tools/demo/demo_cert.h - a throw-away CA and a server certificate for localhost / 127.0.0.1,
// generated at run time with the OpenSSL API, for xstack-proxy-demo's TLS frontend. Built only
// when XS_HAVE_OPENSSL (the demo links OpenSSL only then).
#pragma once

#include <string>

namespace xstack::demo {

struct demo_certs {
    std::string ca_pem;      ///< the CA certificate the client trusts
    std::string server_pem;  ///< the server certificate (leaf) followed by its private key
    std::string subject;     ///< the leaf's names, for printing
};

/// Generates an ECDSA P-256 CA and a leaf signed by it (CN localhost, SAN DNS:localhost and
/// IP:127.0.0.1, valid one day). false with `err` set when OpenSSL fails.
bool make_demo_certs(demo_certs& out, std::string& err);

}  // namespace xstack::demo
