// tests/ssl/test_certs.cc
#include "tests/ssl/test_certs.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <system_error>

#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace xstack::test::tls {

namespace {

[[noreturn]] void die(const char* what) {
    std::fprintf(stderr, "test_certs: %s failed\n", what);
    std::abort();
}

std::string bio_text(BIO* b) {
    char* p = nullptr;
    const long n = BIO_get_mem_data(b, &p);
    return std::string(p, static_cast<std::size_t>(n));
}

EVP_PKEY* read_key(const std::string& pem) {
    BIO* b = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    EVP_PKEY* k = PEM_read_bio_PrivateKey(b, nullptr, nullptr, nullptr);
    BIO_free(b);
    if (k == nullptr) {
        die("reading a key");
    }
    return k;
}

X509* read_cert(const std::string& pem) {
    BIO* b = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    X509* x = PEM_read_bio_X509(b, nullptr, nullptr, nullptr);
    BIO_free(b);
    if (x == nullptr) {
        die("reading a certificate");
    }
    return x;
}

void add_ext(X509* x, X509* issuer, int nid, const std::string& value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, x, nullptr, nullptr, 0);
    X509_EXTENSION* e = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    if (e == nullptr || X509_add_ext(x, e, -1) != 1) {
        die("adding an extension");
    }
    X509_EXTENSION_free(e);
}

}  // namespace

issued make_cert(const cert_spec& spec, const issued* issuer) {
    EVP_PKEY* key = spec.key == key_kind::rsa2048 ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256");
    if (key == nullptr) {
        die("key generation");
    }
    X509* x = X509_new();
    X509_set_version(x, 2);
    unsigned char serial[16];
    RAND_bytes(serial, sizeof serial);
    serial[0] &= 0x7f;
    BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
    BN_free(bn);
    X509_gmtime_adj(X509_getm_notBefore(x), spec.not_before_s);
    X509_gmtime_adj(X509_getm_notAfter(x), spec.not_after_s);
    X509_set_pubkey(x, key);
    X509_NAME* name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("xstack tests"), -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(spec.cn.c_str()), -1, -1, 0);
    X509* issuer_cert = issuer != nullptr ? read_cert(issuer->cert_pem) : x;
    EVP_PKEY* issuer_key = issuer != nullptr ? read_key(issuer->key_pem) : key;
    X509_set_issuer_name(x, X509_get_subject_name(issuer_cert));
    add_ext(x, issuer_cert, NID_subject_key_identifier, "hash");
    if (spec.ca) {
        add_ext(x, issuer_cert, NID_basic_constraints, "critical,CA:TRUE");
        add_ext(x, issuer_cert, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        add_ext(x, issuer_cert, NID_basic_constraints, "critical,CA:FALSE");
        add_ext(x, issuer_cert, NID_key_usage, "critical,digitalSignature,keyEncipherment");
        add_ext(x, issuer_cert, NID_ext_key_usage, spec.client ? "clientAuth" : "serverAuth");
        add_ext(x, issuer_cert, NID_authority_key_identifier, "keyid:always");
    }
    std::string san;
    for (const auto& d : spec.dns) {
        san += (san.empty() ? "DNS:" : ",DNS:") + d;
    }
    for (const auto& ip : spec.ips) {
        san += (san.empty() ? "IP:" : ",IP:") + ip;
    }
    if (!san.empty()) {
        add_ext(x, issuer_cert, NID_subject_alt_name, san);
    }
    if (X509_sign(x, issuer_key, EVP_sha256()) == 0) {
        die("signing");
    }
    issued out;
    BIO* b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(b, x);
    out.cert_pem = bio_text(b);
    BIO_free(b);
    b = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr);
    out.key_pem = bio_text(b);
    BIO_free(b);
    if (issuer != nullptr) {
        X509_free(issuer_cert);
        EVP_PKEY_free(issuer_key);
    }
    X509_free(x);
    EVP_PKEY_free(key);
    return out;
}

const cert_set& certs() {
    static const cert_set set = [] {
        cert_set s;
        s.ca = make_cert({.cn = "xstack test CA", .ca = true}, nullptr);
        s.other_ca = make_cert({.cn = "unrelated CA", .ca = true}, nullptr);
        const cert_spec server{
            .cn = "server.test", .dns = {"server.test", "localhost"}, .ips = {"127.0.0.1"}};
        s.server_ec = make_cert(server, &s.ca);
        cert_spec rsa = server;
        rsa.key = key_kind::rsa2048;
        s.server_rsa = make_cert(rsa, &s.ca);
        cert_spec expired = server;
        expired.not_before_s = -10L * 24 * 3600;
        expired.not_after_s = -24L * 3600;
        s.expired = make_cert(expired, &s.ca);
        s.www = make_cert({.cn = "www.example.test", .dns = {"www.example.test"}}, &s.ca);
        s.wildcard = make_cert({.cn = "*.wild.test", .dns = {"*.wild.test"}}, &s.ca);
        s.untrusted_server = make_cert(server, &s.other_ca);
        s.client = make_cert({.cn = "client.test", .client = true}, &s.ca);
        s.client_other_ca = make_cert({.cn = "rogue.test", .client = true}, &s.other_ca);
        return s;
    }();
    return set;
}

std::string write_temp_file(const std::string& name, const std::string& text) {
    static const std::string dir = [] {
        char tmpl[] = "/tmp/xstack-ssl-test.XXXXXX";
        const char* d = ::mkdtemp(tmpl);
        if (d == nullptr) {
            die("mkdtemp");
        }
        static std::string made;
        made = d;
        // Removed when the process exits (tests leave nothing behind in /tmp).
        std::atexit([] {
            std::error_code ec;
            std::filesystem::remove_all(made, ec);
        });
        return std::string(d);
    }();
    std::string path = dir + "/" + name;
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f << text;
    if (!f) {
        die("writing a temporary file");
    }
    return path;
}

}  // namespace xstack::test::tls
