// ssl/throwaway_pki.cc
#include "ssl/throwaway_pki.h"

#include <memory>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace xstack::ssl {

namespace {

struct pkey_free {
    void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
};
struct x509_free {
    void operator()(X509* x) const noexcept { X509_free(x); }
};
struct bio_free {
    void operator()(BIO* b) const noexcept { BIO_free(b); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;
using x509_ptr = std::unique_ptr<X509, x509_free>;
using bio_ptr = std::unique_ptr<BIO, bio_free>;

bool add_ext(X509* x, X509* issuer, int nid, const char* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, x, nullptr, nullptr, 0);
    X509_EXTENSION* e = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    if (e == nullptr) {
        return false;
    }
    const bool ok = X509_add_ext(x, e, -1) == 1;
    X509_EXTENSION_free(e);
    return ok;
}

/// A certificate for `cn` with `key`, signed by issuer/issuer_key (self-signed when null).
x509_ptr make(const char* cn, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key, bool ca) {
    x509_ptr x(X509_new());
    if (!x) {
        return nullptr;
    }
    unsigned char serial[16];
    if (RAND_bytes(serial, sizeof serial) != 1) {
        return nullptr;
    }
    serial[0] &= 0x7f;
    BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
    const bool serial_ok = bn != nullptr && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x.get()));
    BN_free(bn);
    X509_NAME* name = X509_get_subject_name(x.get());
    const auto* o = reinterpret_cast<const unsigned char*>("xstack demo");
    const auto* c = reinterpret_cast<const unsigned char*>(cn);
    if (!serial_ok || X509_set_version(x.get(), 2) != 1 ||
        X509_gmtime_adj(X509_getm_notBefore(x.get()), -3600) == nullptr ||
        X509_gmtime_adj(X509_getm_notAfter(x.get()), 24L * 3600) == nullptr ||
        X509_set_pubkey(x.get(), key) != 1 ||
        X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, o, -1, -1, 0) != 1 ||
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, c, -1, -1, 0) != 1) {
        return nullptr;
    }
    X509* iss = issuer != nullptr ? issuer : x.get();
    if (X509_set_issuer_name(x.get(), X509_get_subject_name(iss)) != 1 ||
        !add_ext(x.get(), iss, NID_subject_key_identifier, "hash")) {
        return nullptr;
    }
    const bool exts_ok =
        ca ? add_ext(x.get(), iss, NID_basic_constraints, "critical,CA:TRUE") &&
                 add_ext(x.get(), iss, NID_key_usage, "critical,keyCertSign,cRLSign")
           : add_ext(x.get(), iss, NID_basic_constraints, "critical,CA:FALSE") &&
                 add_ext(x.get(), iss, NID_key_usage, "critical,digitalSignature") &&
                 add_ext(x.get(), iss, NID_ext_key_usage, "serverAuth") &&
                 add_ext(x.get(), iss, NID_authority_key_identifier, "keyid:always") &&
                 add_ext(x.get(), iss, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1");
    if (!exts_ok ||
        X509_sign(x.get(), issuer_key != nullptr ? issuer_key : key, EVP_sha256()) == 0) {
        return nullptr;
    }
    return x;
}

bool append_pem(std::string& out, X509* x, EVP_PKEY* key) {
    bio_ptr b(BIO_new(BIO_s_mem()));
    if (!b) {
        return false;
    }
    const bool ok = x != nullptr ? PEM_write_bio_X509(b.get(), x) == 1
                                 : PEM_write_bio_PrivateKey(b.get(), key, nullptr, nullptr, 0,
                                                            nullptr, nullptr) == 1;
    if (!ok) {
        return false;
    }
    char* p = nullptr;
    const long n = BIO_get_mem_data(b.get(), &p);
    if (n <= 0 || p == nullptr) {
        return false;
    }
    out.append(p, static_cast<std::size_t>(n));
    return true;
}

}  // namespace

bool make_throwaway_pki(throwaway_pki& out, std::string& err) {
    pkey_ptr ca_key(EVP_EC_gen("P-256"));
    pkey_ptr leaf_key(EVP_EC_gen("P-256"));
    if (!ca_key || !leaf_key) {
        err = "EC key generation failed";
        return false;
    }
    x509_ptr ca = make("xstack demo CA", ca_key.get(), nullptr, nullptr, true);
    x509_ptr leaf = ca ? make("localhost", leaf_key.get(), ca.get(), ca_key.get(), false) : nullptr;
    if (!ca || !leaf) {
        err = "building the certificates failed";
        return false;
    }
    out = {};
    if (!append_pem(out.ca_pem, ca.get(), nullptr) ||
        !append_pem(out.server_pem, leaf.get(), nullptr) ||
        !append_pem(out.server_pem, nullptr, leaf_key.get())) {
        err = "writing the certificates in PEM failed";
        return false;
    }
    out.subject =
        "CN=localhost, SAN DNS:localhost IP:127.0.0.1, ECDSA P-256, "
        "signed by \"xstack demo CA\"";
    return true;
}

}  // namespace xstack::ssl
