// ssl/throwaway_pki.h - a throw-away CA and a server certificate for localhost / 127.0.0.1,
// generated at run time, in PEM: for demos and examples that need TLS without files (e.g.
// xstack-proxy-demo's TLS frontend). Not for production use. Part of the ssl library, so it
// exists only in builds with OpenSSL, and keeps OpenSSL's headers inside ssl/.
#pragma once

#include <string>

namespace xstack::ssl {

struct throwaway_pki {
    std::string ca_pem;      ///< the CA certificate the client trusts
    std::string server_pem;  ///< the server certificate (leaf) followed by its private key
    std::string subject;     ///< the leaf's names, for printing
};

/// Generates an ECDSA P-256 CA and a leaf signed by it (CN localhost, SAN DNS:localhost and
/// IP:127.0.0.1, valid one day). false with `err` set when OpenSSL fails.
bool make_throwaway_pki(throwaway_pki& out, std::string& err);

}  // namespace xstack::ssl
