// ssl/context.cc - TLS configurations: OpenSSL contexts, certificates, SNI, ALPN, client-side
// session cache. Control path, except the callbacks OpenSSL calls during handshakes.
#include <algorithm>
#include <cctype>
#include <new>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ssl/ssl_internal.h"

namespace xstack::ssl {

using xprt::conn_err;

int conn_ex_index() noexcept {
    static const int idx = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return idx;
}

namespace {

ssl_conn* conn_of(const SSL* s) noexcept {
    return static_cast<ssl_conn*>(SSL_get_ex_data(s, conn_ex_index()));
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& ch : out) {
        ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    }
    return out;
}

bool name_matches(std::string_view pattern, std::string_view host) noexcept {
    if (pattern == host) {
        return true;
    }
    // "*.example.com" matches exactly one label in front of example.com.
    if (pattern.size() > 2 && pattern.substr(0, 2) == "*.") {
        const auto dot = host.find('.');
        return dot != std::string_view::npos && dot > 0 &&
               host.substr(dot + 1) == pattern.substr(2);
    }
    return false;
}

// --- OpenSSL callbacks (run inside SSL_do_handshake, on the connection's thread) --------------

int sni_cb(SSL* s, int* alert, void* arg) {
    const auto* im = static_cast<const context::impl*>(arg);
    ssl_conn* sc = conn_of(s);
    const char* name = SSL_get_servername(s, TLSEXT_NAMETYPE_host_name);
    SSL_CTX* match = name != nullptr ? im->find_sni(name) : nullptr;
    if (match == nullptr) {
        if (im->strict_sni) {
            if (sc != nullptr) {
                sc->sni_mismatch = true;
            }
            *alert = SSL_AD_UNRECOGNIZED_NAME;
            return SSL_TLSEXT_ERR_ALERT_FATAL;
        }
        return name != nullptr ? SSL_TLSEXT_ERR_OK : SSL_TLSEXT_ERR_NOACK;
    }
    // One SSL_CTX per certificate, all configured alike: switching keeps every callback and
    // setting; session tickets stay bound to the initial context, so resumption survives.
    if (match != SSL_get_SSL_CTX(s)) {
        SSL_set_SSL_CTX(s, match);
    }
    return SSL_TLSEXT_ERR_OK;
}

int alpn_select_cb(SSL* s, const unsigned char** out, unsigned char* outlen,
                   const unsigned char* in, unsigned int inlen, void* arg) {
    const auto* im = static_cast<const context::impl*>(arg);
    if (im->alpn_wire.empty()) {
        return SSL_TLSEXT_ERR_NOACK;
    }
    unsigned char* sel = nullptr;
    unsigned char sel_len = 0;
    // Server preference: the first of our protocols that the client also offers.
    const auto* ours = reinterpret_cast<const unsigned char*>(im->alpn_wire.data());
    if (SSL_select_next_proto(&sel, &sel_len, ours, static_cast<unsigned>(im->alpn_wire.size()), in,
                              inlen) == OPENSSL_NPN_NEGOTIATED) {
        *out = sel;
        *outlen = sel_len;
        return SSL_TLSEXT_ERR_OK;
    }
    if (!im->alpn_mismatch_fatal) {
        return SSL_TLSEXT_ERR_NOACK;
    }
    if (ssl_conn* sc = conn_of(s); sc != nullptr) {
        sc->no_alpn = true;
    }
    return SSL_TLSEXT_ERR_ALERT_FATAL;  // no_application_protocol
}

int new_session_cb(SSL* s, SSL_SESSION* sess) {
    ssl_conn* sc = conn_of(s);
    if (sc == nullptr || !sc->cfg->cache_on || SSL_SESSION_is_resumable(sess) == 0) {
        return 0;
    }
    sc->cfg->cache_store(sc->cache_key, sess);
    return 1;  // we keep the reference
}

void info_cb(const SSL* s, int where, int /*ret*/) {
    // A TLS <= 1.2 handshake starting on an established connection is a renegotiation that got
    // past SSL_OP_NO_RENEGOTIATION (never expected): fail the connection with SSL_RENEG. TLS 1.3
    // reports post-handshake messages (tickets, KeyUpdate) the same way: not renegotiations.
    if ((where & SSL_CB_HANDSHAKE_START) == 0) {
        return;
    }
    ssl_conn* sc = conn_of(s);
    if (sc != nullptr && sc->hs_done && SSL_version(s) < TLS1_3_VERSION) {
        sc->reneg = true;
    }
}

// --- building OpenSSL contexts -----------------------------------------------------------------

struct ctx_deleter {
    void operator()(SSL_CTX* c) const noexcept { SSL_CTX_free(c); }
};
using ctx_ptr = std::unique_ptr<SSL_CTX, ctx_deleter>;

int proto_of(tls_version v) noexcept {
    return v == tls_version::tls1_3 ? TLS1_3_VERSION : TLS1_2_VERSION;
}

error_info fail(const char* what, conn_err code = conn_err::xprt_init) noexcept {
    ERR_clear_error();
    return {what, 0, code};
}

result<std::string> alpn_wire(const std::vector<std::string>& protos) {
    std::string w;
    for (const auto& p : protos) {
        if (p.empty() || p.size() > 255) {
            return error_info{"ALPN protocol names must be 1 to 255 bytes", 0, conn_err::xprt_init};
        }
        w += static_cast<char>(p.size());
        w += p;
    }
    return w;
}

/// The settings every OpenSSL context of a configuration shares.
result<ctx_ptr> new_ctx(bool server, const common_config& cfg) {
    ERR_clear_error();
    ctx_ptr ctx(SSL_CTX_new(server ? TLS_server_method() : TLS_client_method()));
    if (!ctx) {
        return fail("out of memory creating an OpenSSL context", conn_err::ssl_no_mem);
    }
    SSL_CTX* c = ctx.get();
    if (cfg.max_version < cfg.min_version) {
        return fail("max_version is lower than min_version");
    }
    // TLS 1.2 is the floor whatever the configuration says.
    SSL_CTX_set_min_proto_version(c, proto_of(cfg.min_version));
    SSL_CTX_set_max_proto_version(c, proto_of(cfg.max_version));
    // No renegotiation in either direction; compression off (CRIME); a bare FIN is reported
    // as an end of stream (we tell it from close_notify ourselves), never answered by an alert.
    SSL_CTX_set_options(c, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                               SSL_OP_IGNORE_UNEXPECTED_EOF |
                               (server ? SSL_OP_CIPHER_SERVER_PREFERENCE : 0));
    // Partial writes: SSL_write returns after each record, so snd_buf can report progress;
    // moving buffer: the caller's ring may hand the same bytes from another address on retry.
    SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    // Read ahead: one lower-layer read fills OpenSSL's whole record buffer instead of a
    // header read then a body read per record (half the recv calls).
    SSL_CTX_set_read_ahead(c, 1);
    if (!cfg.ciphers.empty() && SSL_CTX_set_cipher_list(c, cfg.ciphers.c_str()) != 1) {
        return fail("invalid TLS 1.2 cipher list");
    }
    if (!cfg.ciphersuites.empty() && SSL_CTX_set_ciphersuites(c, cfg.ciphersuites.c_str()) != 1) {
        return fail("invalid TLS 1.3 ciphersuites");
    }
    if (!cfg.groups.empty() && SSL_CTX_set1_groups_list(c, cfg.groups.c_str()) != 1) {
        return fail("invalid key-exchange groups");
    }
    SSL_CTX_set_info_callback(c, info_cb);
    static const unsigned char sid_ctx[] = "xstack";
    // Required for resumption once client certificates are verified; harmless otherwise.
    SSL_CTX_set_session_id_context(c, sid_ctx, sizeof sid_ctx - 1);
    return ctx;
}

BIO* mem_bio(const std::string& pem) noexcept {
    return BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
}

/// Loads a certificate chain and its key into `c`.
result<void> load_cert(SSL_CTX* c, const certificate& cert) {
    ERR_clear_error();
    if (!cert.chain_file.empty()) {
        if (SSL_CTX_use_certificate_chain_file(c, cert.chain_file.c_str()) != 1) {
            return fail("cannot load the certificate chain file");
        }
    } else if (!cert.chain_pem.empty()) {
        BIO* b = mem_bio(cert.chain_pem);
        X509* leaf = b != nullptr ? PEM_read_bio_X509_AUX(b, nullptr, nullptr, nullptr) : nullptr;
        bool ok = leaf != nullptr && SSL_CTX_use_certificate(c, leaf) == 1;
        X509_free(leaf);
        SSL_CTX_clear_chain_certs(c);
        while (ok) {
            X509* extra = PEM_read_bio_X509(b, nullptr, nullptr, nullptr);
            if (extra == nullptr) {
                break;  // end of the PEM text
            }
            if (SSL_CTX_add0_chain_cert(c, extra) != 1) {
                X509_free(extra);
                ok = false;
            }
        }
        BIO_free(b);
        if (!ok) {
            return fail("cannot load the certificate chain");
        }
        ERR_clear_error();  // the PEM end-of-text "error"
    } else {
        return fail("a certificate needs chain_file or chain_pem");
    }
    if (!cert.key_file.empty() || (!cert.chain_file.empty() && cert.key_pem.empty())) {
        const std::string& f = cert.key_file.empty() ? cert.chain_file : cert.key_file;
        if (SSL_CTX_use_PrivateKey_file(c, f.c_str(), SSL_FILETYPE_PEM) != 1) {
            return fail("cannot load the private key file");
        }
    } else {
        const std::string& pem = cert.key_pem.empty() ? cert.chain_pem : cert.key_pem;
        BIO* b = mem_bio(pem);
        EVP_PKEY* k =
            b != nullptr ? PEM_read_bio_PrivateKey(b, nullptr, nullptr, nullptr) : nullptr;
        const bool ok = k != nullptr && SSL_CTX_use_PrivateKey(c, k) == 1;
        EVP_PKEY_free(k);
        BIO_free(b);
        if (!ok) {
            return fail("cannot load the private key");
        }
    }
    if (SSL_CTX_check_private_key(c) != 1) {
        return fail("the private key does not match the certificate");
    }
    return {};
}

/// Loads trusted CAs (file or PEM text) into the context's store.
result<void> load_cas(SSL_CTX* c, const std::string& file, const std::string& pem) {
    ERR_clear_error();
    if (!file.empty()) {
        if (SSL_CTX_load_verify_locations(c, file.c_str(), nullptr) != 1) {
            return fail("cannot load the CA file");
        }
        return {};
    }
    BIO* b = mem_bio(pem);
    X509_STORE* st = SSL_CTX_get_cert_store(c);
    int n = 0;
    while (b != nullptr) {
        X509* x = PEM_read_bio_X509(b, nullptr, nullptr, nullptr);
        if (x == nullptr) {
            break;
        }
        if (X509_STORE_add_cert(st, x) == 1) {
            ++n;
        }
        X509_free(x);
    }
    BIO_free(b);
    ERR_clear_error();
    if (n == 0) {
        return fail("no CA certificate in the PEM text");
    }
    return {};
}

/// The names a certificate answers for: DNS subjectAltNames, else the subject CN.
std::vector<std::string> cert_names(SSL_CTX* c) {
    std::vector<std::string> out;
    X509* x = SSL_CTX_get0_certificate(c);
    if (x == nullptr) {
        return out;
    }
    auto* gens =
        static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(x, NID_subject_alt_name, nullptr, nullptr));
    if (gens != nullptr) {
        for (int i = 0; i < sk_GENERAL_NAME_num(gens); ++i) {
            const GENERAL_NAME* g = sk_GENERAL_NAME_value(gens, i);
            if (g->type == GEN_DNS) {
                const ASN1_STRING* s = g->d.dNSName;
                out.push_back(
                    lower(std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                           static_cast<std::size_t>(ASN1_STRING_length(s)))));
            }
        }
        GENERAL_NAMES_free(gens);
    }
    if (out.empty()) {
        char cn[256];
        if (X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof cn) >
            0) {
            out.push_back(lower(cn));
        }
    }
    ERR_clear_error();
    return out;
}

}  // namespace

// --- context::impl -----------------------------------------------------------------------------

context::impl::~impl() {
    for (auto& e : sni) {
        if (e.ctx != main) {
            SSL_CTX_free(e.ctx);
        }
    }
    SSL_CTX_free(main);
    for (auto& [key, sess] : cache) {
        SSL_SESSION_free(sess);
    }
}

SSL_CTX* context::impl::find_sni(std::string_view name) const noexcept {
    char buf[256];
    if (name.size() >= sizeof buf) {
        return nullptr;
    }
    for (std::size_t i = 0; i < name.size(); ++i) {
        buf[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(name[i])));
    }
    const std::string_view host(buf, name.size());
    // Exact names first, then wildcards, each in configuration order.
    for (const auto& e : sni) {
        for (const auto& n : e.names) {
            if (n == host) {
                return e.ctx;
            }
        }
    }
    for (const auto& e : sni) {
        for (const auto& n : e.names) {
            if (name_matches(n, host)) {
                return e.ctx;
            }
        }
    }
    return nullptr;
}

void context::impl::cache_store(const std::string& key, SSL_SESSION* sess) noexcept {
    const std::lock_guard<std::mutex> lock(cache_mu);
    if (auto it = cache.find(key); it != cache.end()) {
        SSL_SESSION_free(it->second);
        it->second = sess;
        return;
    }
    if (cache.size() >= cache_max && !cache.empty()) {
        SSL_SESSION_free(cache.begin()->second);
        cache.erase(cache.begin());
    }
    try {
        cache.emplace(key, sess);
    } catch (...) {
        SSL_SESSION_free(sess);  // out of memory: this session is simply not cached
    }
}

bool context::impl::cache_apply(const std::string& key, SSL* ssl) noexcept {
    const std::lock_guard<std::mutex> lock(cache_mu);
    auto it = cache.find(key);
    return it != cache.end() && SSL_set_session(ssl, it->second) == 1;
}

void context::impl::cache_drop(const std::string& key) noexcept {
    const std::lock_guard<std::mutex> lock(cache_mu);
    if (auto it = cache.find(key); it != cache.end()) {
        SSL_SESSION_free(it->second);
        cache.erase(it);
    }
}

// --- context -----------------------------------------------------------------------------------

context::~context() {
    if (impl_ != nullptr) {
        impl_->unref();
    }
}

context::context(const context& o) noexcept : impl_(o.impl_) {
    if (impl_ != nullptr) {
        impl_->ref();
    }
}

context& context::operator=(const context& o) noexcept {
    if (this == &o) {
        return *this;
    }
    if (o.impl_ != nullptr) {
        o.impl_->ref();
    }
    if (impl_ != nullptr) {
        impl_->unref();
    }
    impl_ = o.impl_;
    return *this;
}

context& context::operator=(context&& o) noexcept {
    if (this != &o) {
        if (impl_ != nullptr) {
            impl_->unref();
        }
        impl_ = o.impl_;
        o.impl_ = nullptr;
    }
    return *this;
}

bool context::is_server() const noexcept {
    return impl_ != nullptr && impl_->server;
}

std::size_t context::cached_sessions() const noexcept {
    if (impl_ == nullptr) {
        return 0;
    }
    const std::lock_guard<std::mutex> lock(impl_->cache_mu);
    return impl_->cache.size();
}

result<context> context::server(const server_config& cfg) {
    if (cfg.certificates.empty()) {
        return error_info{"a TLS server needs at least one certificate", 0, conn_err::xprt_init};
    }
    auto wire = alpn_wire(cfg.alpn);
    if (!wire) {
        return wire.error();
    }
    auto* im = new (std::nothrow) impl;
    if (im == nullptr) {
        return error_info{"out of memory", 0, conn_err::ssl_no_mem};
    }
    context owner(im);  // frees everything on the error paths
    im->server = true;
    im->strict_sni = cfg.strict_sni;
    im->alpn_mismatch_fatal = cfg.alpn_mismatch_fatal;
    im->alpn_wire = std::move(*wire);
    im->handshake_timeout_ms = cfg.handshake_timeout_ms;
    if (cfg.verify_client != client_verify::none && cfg.client_ca_file.empty() &&
        cfg.client_ca_pem.empty()) {
        return error_info{"client-certificate verification needs client_ca_file or client_ca_pem",
                          0, conn_err::xprt_init};
    }
    for (const auto& cert : cfg.certificates) {
        auto c = new_ctx(true, cfg);
        if (!c) {
            return c.error();
        }
        SSL_CTX* x = c->get();
        if (auto r = load_cert(x, cert); !r) {
            return r.error();
        }
        // Tickets: stateless resumption, no server-side cache to grow or share.
        SSL_CTX_set_session_cache_mode(x, SSL_SESS_CACHE_OFF);
        if (!cfg.session_tickets) {
            SSL_CTX_set_options(x, SSL_OP_NO_TICKET);
            SSL_CTX_set_num_tickets(x, 0);
        }
        SSL_CTX_set_tlsext_servername_callback(x, sni_cb);
        SSL_CTX_set_tlsext_servername_arg(x, im);
        SSL_CTX_set_alpn_select_cb(x, alpn_select_cb, im);
        if (cfg.verify_client != client_verify::none) {
            if (auto r = load_cas(x, cfg.client_ca_file, cfg.client_ca_pem); !r) {
                return r.error();
            }
            // The CertificateRequest names the CAs we accept.
            STACK_OF(X509_NAME)* names = sk_X509_NAME_new_null();
            if (names != nullptr) {
                X509_STORE* st = SSL_CTX_get_cert_store(x);
                STACK_OF(X509_OBJECT)* objs = X509_STORE_get0_objects(st);
                for (int i = 0; i < sk_X509_OBJECT_num(objs); ++i) {
                    X509* ca = X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objs, i));
                    if (ca != nullptr) {
                        X509_NAME* n = X509_NAME_dup(X509_get_subject_name(ca));
                        if (n != nullptr && sk_X509_NAME_push(names, n) <= 0) {
                            X509_NAME_free(n);
                        }
                    }
                }
                SSL_CTX_set_client_CA_list(x, names);
            }
            int mode = SSL_VERIFY_PEER;
            if (cfg.verify_client == client_verify::required) {
                mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
            }
            SSL_CTX_set_verify(x, mode, nullptr);
        }
        std::vector<std::string> names =
            cert.names.empty() ? cert_names(x) : std::vector<std::string>{};
        for (const auto& n : cert.names) {
            names.push_back(lower(n));
        }
        SSL_CTX* raw_ctx = c->release();
        if (im->main == nullptr) {
            im->main = raw_ctx;
        }
        im->sni.push_back({std::move(names), raw_ctx});
    }
    ERR_clear_error();
    return owner;
}

result<context> context::client(const client_config& cfg) {
    auto wire = alpn_wire(cfg.alpn);
    if (!wire) {
        return wire.error();
    }
    auto* im = new (std::nothrow) impl;
    if (im == nullptr) {
        return error_info{"out of memory", 0, conn_err::ssl_no_mem};
    }
    context owner(im);
    im->server = false;
    im->verify = cfg.verify;
    im->handshake_timeout_ms = cfg.handshake_timeout_ms;
    im->cache_on = cfg.session_cache && cfg.session_cache_size > 0;
    im->cache_max = cfg.session_cache_size;
    auto c = new_ctx(false, cfg);
    if (!c) {
        return c.error();
    }
    SSL_CTX* x = c->get();
    if (!wire->empty() &&
        SSL_CTX_set_alpn_protos(x, reinterpret_cast<const unsigned char*>(wire->data()),
                                static_cast<unsigned>(wire->size())) != 0) {
        return fail("cannot set the ALPN list");
    }
    if (cfg.verify) {
        if (cfg.ca_file.empty() && cfg.ca_pem.empty()) {
            if (SSL_CTX_set_default_verify_paths(x) != 1) {
                return fail("cannot load the system CA store");
            }
        } else if (auto r = load_cas(x, cfg.ca_file, cfg.ca_pem); !r) {
            return r.error();
        }
        SSL_CTX_set_verify(x, SSL_VERIFY_PEER, nullptr);
    } else {
        SSL_CTX_set_verify(x, SSL_VERIFY_NONE, nullptr);
    }
    if (!cfg.client_cert.chain_file.empty() || !cfg.client_cert.chain_pem.empty()) {
        if (auto r = load_cert(x, cfg.client_cert); !r) {
            return r.error();
        }
    }
    if (im->cache_on) {
        // Sessions go to our cache (keyed by server name), not to OpenSSL's internal one.
        SSL_CTX_set_session_cache_mode(x, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
        SSL_CTX_sess_set_new_cb(x, new_session_cb);
    } else {
        SSL_CTX_set_session_cache_mode(x, SSL_SESS_CACHE_OFF);
    }
    im->main = c->release();
    ERR_clear_error();
    return owner;
}

}  // namespace xstack::ssl
