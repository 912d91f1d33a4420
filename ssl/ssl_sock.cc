// ssl/ssl_sock.cc - the TLS transport: a BIO bridge to the layer below, the handshake driven by
// the layer's own tasklet, the data path, shutdown, and the error mapping.
#include <climits>
#include <cstdio>
#include <new>

#include <arpa/inet.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "event/loop.h"
#include "ssl/ssl_internal.h"
#include "xprt/assert.h"
#include "xprt/ledger.h"

namespace xstack::ssl {

using xprt::conn_err;
using xprt::conn_flag;
using xprt::connection;
using xprt::sub_event;
using xprt::sub_events;
using xprt::wait_event;
using xprt::xprt_ctx;
using xprt::xprt_ref;

namespace {

/// Largest plaintext per SSL_write: one TLS record.
constexpr std::size_t max_record = 16384;

ssl_conn& ctx_of(xprt_ctx* ctx) noexcept {
    return *static_cast<ssl_conn*>(ctx);
}
const ssl_conn& ctx_of(const xprt_ctx* ctx) noexcept {
    return *static_cast<const ssl_conn*>(ctx);
}

// --- the BIO bridge: OpenSSL's record I/O goes straight to the layer below --------------------

int bio_write_ex(BIO* b, const char* data, std::size_t len, std::size_t* written) {
    auto* s = static_cast<ssl_conn*>(BIO_get_data(b));
    BIO_clear_retry_flags(b);
    *written = 0;
    if (s == nullptr || len == 0) {
        return 0;
    }
    connection& c = *s->conn;
    // snd_buf does not modify the buffer: the cast only lets OpenSSL's bytes be wrapped.
    auto* p = reinterpret_cast<std::byte*>(const_cast<char*>(data));  // NOLINT
    const auto buf = xprt::buffer::holding(std::span<std::byte>(p, len), len);
    const std::size_t n = s->below_ops->snd_buf(c, s->below, buf, len, s->bio_snd_flags);
    if (n > 0) {
        *written = n;
        return 1;
    }
    if (!c.flags.any(conn_flag::error | conn_flag::sock_wr_sh)) {
        BIO_set_retry_write(b);  // 0 without a failure: WANT_WRITE, we subscribe for send
    }
    return 0;
}

int bio_read_ex(BIO* b, char* out, std::size_t len, std::size_t* got) {
    auto* s = static_cast<ssl_conn*>(BIO_get_data(b));
    BIO_clear_retry_flags(b);
    *got = 0;
    if (s == nullptr || len == 0) {
        return 0;
    }
    connection& c = *s->conn;
    // Zero copy: the layer below writes into OpenSSL's record buffer.
    xprt::buffer buf(std::span<std::byte>(reinterpret_cast<std::byte*>(out), len));
    const std::size_t n = s->below_ops->rcv_buf(c, s->below, buf, len, {});
    if (n > 0) {
        if (s->rx_bytes < sizeof s->first) {
            for (std::size_t i = 0; i < n && s->rx_bytes + i < sizeof s->first; ++i) {
                s->first[s->rx_bytes + i] = static_cast<unsigned char>(out[i]);
            }
        }
        s->rx_bytes += n;
        *got = n;
        return 1;
    }
    if (c.flags.has(conn_flag::error)) {
        return 0;  // no retry, not EOF: SSL_ERROR_SYSCALL
    }
    if (c.flags.has(conn_flag::sock_rd_sh)) {
        s->bio_eof = true;  // BIO_eof() says so: OpenSSL sees the end of input
        return 0;
    }
    BIO_set_retry_read(b);  // nothing now: WANT_READ, we (or the upper layer) subscribe for recv
    return 0;
}

long bio_ctrl(BIO* b, int cmd, long /*num*/, void* /*ptr*/) {
    switch (cmd) {
    case BIO_CTRL_FLUSH:  // writes are synchronous: nothing is ever held here
    case BIO_CTRL_DUP:
        return 1;
    case BIO_CTRL_EOF: {
        const auto* s = static_cast<const ssl_conn*>(BIO_get_data(b));
        return s != nullptr && s->bio_eof ? 1 : 0;
    }
    default:
        return 0;
    }
}

int bio_create(BIO* b) {
    BIO_set_init(b, 1);
    BIO_set_data(b, nullptr);
    return 1;
}

int bio_destroy(BIO* b) {
    BIO_set_data(b, nullptr);
    return 1;
}

BIO_METHOD* bio_method() noexcept {
    // Created once per process and kept (reachable) until exit.
    static BIO_METHOD* const m = [] {
        BIO_METHOD* mm = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "xstack xprt");
        if (mm != nullptr) {
            BIO_meth_set_write_ex(mm, bio_write_ex);
            BIO_meth_set_read_ex(mm, bio_read_ex);
            BIO_meth_set_ctrl(mm, bio_ctrl);
            BIO_meth_set_create(mm, bio_create);
            BIO_meth_set_destroy(mm, bio_destroy);
        }
        return mm;
    }();
    return m;
}

// --- error mapping -------------------------------------------------------------------------------

conn_err from_verify_result(long v) noexcept {
    switch (v) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CERT_NOT_YET_VALID:
    case X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD:
    case X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD:
        return conn_err::ssl_expired;
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
    case X509_V_ERR_EMAIL_MISMATCH:
        return conn_err::ssl_mismatch;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_CERT_UNTRUSTED:
    case X509_V_ERR_CERT_CHAIN_TOO_LONG:
    case X509_V_ERR_INVALID_CA:
        return conn_err::ssl_ca_fail;
    default:
        return conn_err::ssl_crt_fail;
    }
}

bool looks_like_tls(const ssl_conn& s) noexcept {
    // A TLS record starts with a content type (handshake 22; alert 21 from a server refusing
    // us) and the major version 3.
    if (s.rx_bytes == 0) {
        return true;
    }
    const bool type_ok = s.first[0] == 22 || (s.first[0] == 21 && !s.cfg->server);
    return type_ok && (s.rx_bytes < 2 || s.first[1] == 3);
}

/// The code for a failed handshake, from what we saw and OpenSSL's first queued error.
conn_err classify_handshake(const ssl_conn& s, int ssl_err) noexcept {
    if (s.timed_out) {
        return conn_err::ssl_timeout;
    }
    if (s.sni_mismatch) {
        return conn_err::ssl_mismatch_sni;
    }
    if (s.no_alpn) {
        return conn_err::ssl_no_alpn;
    }
    const unsigned long e = ERR_peek_error();
    const int reason = ERR_GET_LIB(e) == ERR_LIB_SSL ? ERR_GET_REASON(e) : 0;
    switch (reason) {
    case SSL_R_CERTIFICATE_VERIFY_FAILED:
        return from_verify_result(SSL_get_verify_result(s.ssl));
    case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
        return conn_err::ssl_no_cert;
    case SSL_R_TLSV1_ALERT_NO_APPLICATION_PROTOCOL:
        return conn_err::ssl_no_alpn;
    case SSL_R_TLSV1_UNRECOGNIZED_NAME:
        return conn_err::ssl_mismatch_sni;
    default:
        break;
    }
    if (!looks_like_tls(s)) {
        return conn_err::ssl_not_tls;
    }
    // The peer went away: before any byte (a port scan, a health check) or inside the exchange.
    if (ssl_err == SSL_ERROR_SYSCALL || ssl_err == SSL_ERROR_ZERO_RETURN || s.bio_eof ||
        reason == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
        return s.rx_bytes == 0 ? conn_err::ssl_empty : conn_err::ssl_abort;
    }
    return conn_err::ssl_handshake;
}

/// OpenSSL's text for the current failure (static strings only: nothing to free).
const char* reason_text(const ssl_conn& s, conn_err code) noexcept {
    switch (code) {
    case conn_err::ssl_timeout:
        return "handshake timeout";
    case conn_err::ssl_ca_fail:
    case conn_err::ssl_crt_fail:
    case conn_err::ssl_expired:
    case conn_err::ssl_mismatch:
        return X509_verify_cert_error_string(SSL_get_verify_result(s.ssl));
    default:
        break;
    }
    const unsigned long e = ERR_peek_error();
    const char* r = e != 0 ? ERR_reason_error_string(e) : nullptr;
    if (r != nullptr) {
        return r;
    }
    return xprt::describe(code).data();  // the code tables hold literals
}

// --- tls_info ------------------------------------------------------------------------------------

const char* hash_name(int nid) noexcept {
    switch (nid) {
    case NID_sha1:
        return "sha1";
    case NID_sha224:
        return "sha224";
    case NID_sha256:
        return "sha256";
    case NID_sha384:
        return "sha384";
    case NID_sha512:
        return "sha512";
    default:
        return nullptr;
    }
}

/// The IANA name of the signature scheme the peer used ("ecdsa_secp256r1_sha256").
std::string sig_scheme(SSL* ssl, EVP_PKEY* peer_key) {
    int type = NID_undef;
    int hash = NID_undef;
    if (SSL_get_peer_signature_type_nid(ssl, &type) != 1) {
        return {};
    }
    (void)SSL_get_peer_signature_nid(ssl, &hash);
    const char* h = hash_name(hash);
    switch (type) {
    case EVP_PKEY_ED25519:
        return "ed25519";
    case EVP_PKEY_ED448:
        return "ed448";
    case EVP_PKEY_RSA:
        return h != nullptr ? std::string("rsa_pkcs1_") + h : "rsa_pkcs1";
    case EVP_PKEY_RSA_PSS: {
        // rsae: PSS with an rsaEncryption key; pss: with an RSASSA-PSS key.
        const bool rsae = peer_key == nullptr || EVP_PKEY_get_base_id(peer_key) == EVP_PKEY_RSA;
        return std::string(rsae ? "rsa_pss_rsae_" : "rsa_pss_pss_") + (h != nullptr ? h : "");
    }
    case EVP_PKEY_EC:
        switch (hash) {
        case NID_sha256:
            return "ecdsa_secp256r1_sha256";
        case NID_sha384:
            return "ecdsa_secp384r1_sha384";
        case NID_sha512:
            return "ecdsa_secp521r1_sha512";
        default:
            return h != nullptr ? std::string("ecdsa_") + h : "ecdsa";
        }
    default:
        return OBJ_nid2sn(type) != nullptr ? OBJ_nid2sn(type) : "";
    }
}

std::string key_alg(EVP_PKEY* k) {
    if (k == nullptr) {
        return {};
    }
    const int bits = EVP_PKEY_get_bits(k);
    switch (EVP_PKEY_get_base_id(k)) {
    case EVP_PKEY_RSA:
    case EVP_PKEY_RSA_PSS:
        return "RSA" + std::to_string(bits);
    case EVP_PKEY_EC:
        return "EC" + std::to_string(bits);
    case EVP_PKEY_ED25519:
        return "ED25519";
    case EVP_PKEY_ED448:
        return "ED448";
    default:
        return "UNKNOWN" + std::to_string(bits);
    }
}

void fill_info(ssl_conn& s) noexcept {
    xprt::tls_info& i = s.info;
    SSL* ssl = s.ssl;
    try {
        i.handshake_done = true;
        i.resumed = SSL_session_reused(ssl) == 1;
        i.version = SSL_get_version(ssl);
        if (const SSL_CIPHER* ci = SSL_get_current_cipher(ssl); ci != nullptr) {
            i.cipher = SSL_CIPHER_get_name(ci);
        }
        if (const char* sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name); sni != nullptr) {
            i.sni = sni;
        }
        const unsigned char* alpn = nullptr;
        unsigned alpn_len = 0;
        SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
        if (alpn != nullptr) {
            i.alpn.assign(reinterpret_cast<const char*>(alpn), alpn_len);
        }
        i.verify_result = SSL_get_verify_result(ssl);
        X509* peer = SSL_get0_peer_certificate(ssl);
        EVP_PKEY* pk = peer != nullptr ? X509_get0_pubkey(peer) : nullptr;
        if (peer != nullptr) {
            i.client_cert = true;
            i.client_cert_in_conn = !i.resumed;
            X509_NAME* subj = X509_get_subject_name(peer);
            const int idx = X509_NAME_get_index_by_NID(subj, NID_commonName, -1);
            if (idx >= 0) {
                ASN1_STRING* d = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, idx));
                unsigned char* utf8 = nullptr;
                const int n = ASN1_STRING_to_UTF8(&utf8, d);
                if (n >= 0 && utf8 != nullptr) {
                    i.peer_cn.assign(reinterpret_cast<const char*>(utf8),
                                     static_cast<std::size_t>(n));
                }
                OPENSSL_free(utf8);
            }
            if (const char* sn = OBJ_nid2sn(X509_get_signature_nid(peer)); sn != nullptr) {
                i.sig_alg = sn;
            }
            i.key_alg = key_alg(pk);
        }
        if (X509* own = SSL_get_certificate(ssl); own != nullptr) {
            if (const char* sn = OBJ_nid2sn(X509_get_signature_nid(own)); sn != nullptr) {
                i.local_sig_alg = sn;
            }
            i.local_key_alg = key_alg(X509_get0_pubkey(own));
        }
        if (const auto g = static_cast<int>(SSL_get_negotiated_group(ssl)); g > 0) {
            const char* gn = SSL_group_to_name(ssl, g);
            if (gn == nullptr) {
                gn = OBJ_nid2sn(g);
            }
            i.group = gn != nullptr ? gn : "";
        }
        i.sig_scheme = sig_scheme(ssl, pk);
    } catch (...) {  // NOLINT(bugprone-empty-catch): out of memory: the fields stay partial
    }
    ERR_clear_error();
}

// --- subscriptions ------------------------------------------------------------------------------

/// Wakes the upper subscriber for `ev` (one-shot: its bits are cleared first).
void wake_upper(ssl_conn& s, sub_events ev) noexcept {
    wait_event* w = s.upper;
    if (w == nullptr) {
        return;
    }
    const sub_events hit = ev.empty() ? w->events : (w->events & ev);
    if (hit.empty() && !ev.empty()) {
        return;
    }
    w->events.clear(hit);
    if (w->events.empty()) {
        s.upper = nullptr;
    }
    if (w->task != nullptr) {
        w->task->wake();
    }
}

/// Wakes the upper subscriber with every event cleared (handshake end, failure, close).
void wake_upper_all(ssl_conn& s) noexcept {
    wait_event* w = s.upper;
    if (w == nullptr) {
        return;
    }
    s.upper = nullptr;
    w->events.reset();
    if (w->task != nullptr) {
        w->task->wake();
    }
}

void subscribe_below(ssl_conn& s, sub_events ev) noexcept {
    ev.clear(s.own.events);
    if (ev.empty() || s.below_ops == nullptr) {
        return;
    }
    s.own_req |= ev;
    s.below_ops->subscribe(*s.conn, s.below, ev, s.own);
}

void unsubscribe_below(ssl_conn& s, sub_events ev) noexcept {
    ev = ev & s.own.events;
    if (!ev.empty() && s.below_ops != nullptr) {
        s.below_ops->unsubscribe(*s.conn, s.below, ev, s.own);
    }
    s.own_req.clear(ev);
}

/// What the layer below must report for the upper subscriber's events to make progress.
sub_events lower_needs(const ssl_conn& s, sub_events upper) noexcept {
    sub_events need;
    if (upper.has(sub_event::recv)) {
        need |= s.rx_need.empty() ? sub_events(sub_event::recv) : s.rx_need;
    }
    if (upper.has(sub_event::send)) {
        need |= s.tx_need.empty() ? sub_events(sub_event::send) : s.tx_need;
    }
    return need;
}

/// Empties this thread's error queue before an SSL_* call whose SSL_get_error must be reliable
/// (a stale entry left by unrelated code would read as a fatal error). SSL_get_error decides
/// on ERR_peek_error() != 0, so peeking first is the same guarantee; it only reads the queue's
/// ends, where ERR_clear_error walks and frees all 16 slots even when the queue is empty: about
/// 1% of the user-space instructions of a TLS bulk transfer, under 0.1% with the peek.
void clear_stale_errors() noexcept {
    if (ERR_peek_error() != 0) {
        ERR_clear_error();
    }
}

// --- handshake -----------------------------------------------------------------------------------

void end_handshake_common(ssl_conn& s) noexcept {
    s.conn->loop().disarm(s.timer);
    unsubscribe_below(s, s.own.events);
    s.own_req = {};
}

void handshake_failed(ssl_conn& s, int ssl_err) noexcept {
    connection& c = *s.conn;
    const conn_err code = classify_handshake(s, ssl_err);
    s.reason = reason_text(s, code);
    ERR_clear_error();
    if (!s.cfg->server && s.cfg->cache_on) {
        s.cfg->cache_drop(s.cache_key);  // the cached session may be the cause
    }
    c.report_term(xprt::term_loc::xprt,
                  code == conn_err::ssl_timeout ? xprt::term_type::timeout
                  : (code == conn_err::ssl_empty || code == conn_err::ssl_abort)
                      ? xprt::term_type::truncated_shutr
                      : xprt::term_type::rcv_err);
    // After a failure of the layer below, its code stays (first writer wins): ERESET says more
    // than SSL_ABORT.
    c.fail(code);
    xprt::ledger_add(xprt::xprt_id::ssl, xprt::ledger_item::hs_failed);
    end_handshake_common(s);
}

void handshake_succeeded(ssl_conn& s) noexcept {
    connection& c = *s.conn;
    c.flags.clear(conn_flag::ssl_wait_hs | conn_flag::wait_l6_conn | conn_flag::wait_l4_conn);
    s.hs_done = true;
    fill_info(s);
    xprt::ledger_add(xprt::xprt_id::ssl, xprt::ledger_item::hs_done);
    const std::uint64_t now = c.loop().now_ns();
    xprt::ledger_add(xprt::xprt_id::ssl, xprt::ledger_item::hs_ns,
                     s.hs_start_ns != 0 && now > s.hs_start_ns ? now - s.hs_start_ns : 0);
    end_handshake_common(s);
}

/// One handshake step. True when the handshake ended (either way).
bool handshake_step(ssl_conn& s) noexcept {
    connection& c = *s.conn;
    if (s.timer.expired(c.loop().now_ms())) {
        s.timed_out = true;
        handshake_failed(s, SSL_ERROR_NONE);
        return true;
    }
    if (c.flags.has(conn_flag::error)) {
        handshake_failed(s, SSL_ERROR_SYSCALL);
        return true;
    }
    clear_stale_errors();
    const int r = SSL_do_handshake(s.ssl);
    if (r == 1) {
        handshake_succeeded(s);
        return true;
    }
    const int e = SSL_get_error(s.ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        subscribe_below(s, e == SSL_ERROR_WANT_READ ? sub_event::recv : sub_event::send);
        return false;
    }
    handshake_failed(s, e);
    return true;
}

/// The layer's tasklet: drives the handshake, then relays the lower layer's wakeups.
void io_cb(event::tasklet& /*t*/, void* p) noexcept {
    ssl_conn& s = *static_cast<ssl_conn*>(p);
    connection& c = *s.conn;
    // Directions that fired below since the last run: asked and no longer registered (an
    // immediate wake by an already-ready layer never registers the bit).
    const sub_events fired = s.own_req & ~s.own.events;
    s.own_req = s.own_req & s.own.events;
    if (c.flags.has(conn_flag::error) && !s.hs_done && s.reason != nullptr) {
        wake_upper_all(s);  // the handshake already failed: nothing more to drive
        return;
    }
    if (c.flags.has(conn_flag::ssl_wait_hs)) {
        if (handshake_step(s)) {
            wake_upper_all(s);  // handshake over (or failed): the upper layer retries
        }
        return;
    }
    if (c.flags.has(conn_flag::error) || s.upper == nullptr) {
        wake_upper_all(s);
        return;
    }
    sub_events ev;
    const sub_events up = s.upper->events;
    if (up.has(sub_event::recv) && (s.rx_need.empty() || s.rx_need.any(fired))) {
        ev |= sub_event::recv;
    }
    if (up.has(sub_event::send) && (s.tx_need.empty() || s.tx_need.any(fired))) {
        ev |= sub_event::send;
    }
    if (!ev.empty()) {
        wake_upper(s, ev);
    }
    // What is still wanted and no longer registered below (e.g. the other direction fired).
    if (s.upper != nullptr) {
        subscribe_below(s, lower_needs(s, s.upper->events));
    }
}

/// Sets an error after the handshake (data path).
void data_failed(ssl_conn& s, conn_err code) noexcept {
    connection& c = *s.conn;
    const unsigned long e = ERR_peek_error();
    const char* r = e != 0 ? ERR_reason_error_string(e) : nullptr;
    s.reason = r != nullptr ? r : xprt::describe(code).data();
    ERR_clear_error();
    c.report_term(xprt::term_loc::xprt, xprt::term_type::rcv_err);
    c.fail(code);
}

bool is_ip_literal(const std::string& host) noexcept {
    unsigned char buf[16];
    return inet_pton(AF_INET, host.c_str(), buf) == 1 ||
           inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

const ssl_conn* find_layer(const connection& c) noexcept;

// --- the operations ------------------------------------------------------------------------------

class ssl_ops final : public xprt::xprt_ops {
public:
    [[nodiscard]] xprt::xprt_id id() const noexcept override { return xprt::xprt_id::ssl; }
    [[nodiscard]] std::string_view name() const noexcept override { return "SSL"; }

    result<void> init(connection& c, xprt_ctx*& ctx) const noexcept override {
        if (ctx != nullptr) {
            return {};  // idempotent
        }
        // The layer needs its configuration: ssl::attach() creates the context.
        c.set_errcode(conn_err::xprt_init);
        return error_info{"the TLS layer needs a context: use ssl::attach()", 0,
                          conn_err::xprt_init};
    }

    result<void> start(connection& c, xprt_ctx* ctx) const noexcept override {
        auto r = xprt_ops::start(c, ctx);  // the layer below first
        if (!r) {
            return r;
        }
        begin(ctx_of(ctx));
        return {};
    }

    /// Arms the timeout and runs the first handshake step from the run queue (speculatively:
    /// a client sends its ClientHello without waiting for a poll event).
    static void begin(ssl_conn& s) noexcept {
        if (!s.conn->flags.has(conn_flag::ssl_wait_hs)) {
            return;
        }
        if (s.timeout_ms != 0 && !s.timer.armed()) {
            s.conn->loop().arm_in(s.timer, s.timeout_ms);
        }
        if (s.hs_start_ns == 0) {
            s.hs_start_ns = s.conn->loop().now_ns();
        }
        s.task.wake();
    }

    void close(connection& c, xprt_ctx* ctx) const noexcept override {
        ssl_conn* s = &ctx_of(ctx);
        unsubscribe_below(*s, s->own.events);
        // A forwarded subscription is cancelled by the layer below's close, like any
        // subscription registered there; only the one we keep is woken here.
        s->fwd_w = nullptr;
        wake_upper_all(*s);
        if (s->hs_done && !c.flags.has(conn_flag::error)) {
            // Closing a healthy connection without close_notify is normal: tell OpenSSL, or
            // SSL_free marks the session (shared with our client cache) not resumable.
            SSL_set_shutdown(s->ssl, SSL_get_shutdown(s->ssl) | SSL_SENT_SHUTDOWN);
        }
        if (s->below_ops != nullptr) {
            const xprt_ref b{s->below_ops, s->below};
            s->below_ops = nullptr;
            s->below = nullptr;
            b.ops->close(c, b.ctx);
        }
        delete s;
    }

    std::size_t rcv_buf(connection& c, xprt_ctx* ctx, xprt::buffer& buf, std::size_t count,
                        xprt::rcv_flags flags) const noexcept override {
        ssl_conn& s = ctx_of(ctx);
        if (c.flags.any(conn_flag::ssl_wait_hs | conn_flag::error) || s.rx_eof) {
            return 0;
        }
        if (s.reneg) {
            data_failed(s, conn_err::ssl_reneg);
            return 0;
        }
        s.rx_need = {};
        count = std::min(count, buf.room());
        const bool peek = flags.has(xprt::rcv_flag::peek);
        std::size_t done = 0;
        // Once per call, not per SSL_read: every failure path below drains the queue and a
        // successful call leaves nothing in it.
        clear_stale_errors();
        while (done < count) {
            const auto hunk = buf.room_hunks(count - done)[0];
            std::size_t n = 0;
            const int r = peek ? SSL_peek_ex(s.ssl, hunk.data(), hunk.size(), &n)
                               : SSL_read_ex(s.ssl, hunk.data(), hunk.size(), &n);
            if (r == 1) {
                buf.commit(n);
                done += n;
                if (peek || flags.has(xprt::rcv_flag::read_once)) {
                    break;
                }
                continue;
            }
            const int e = SSL_get_error(s.ssl, r);
            if (e == SSL_ERROR_WANT_READ) {
                s.rx_need = sub_event::recv;
            } else if (e == SSL_ERROR_WANT_WRITE) {
                s.rx_need = sub_event::send;  // e.g. a KeyUpdate answer waits for room below
            } else if (e == SSL_ERROR_ZERO_RETURN) {
                // End of the TLS stream. OpenSSL reports a bare FIN the same way (we set
                // IGNORE_UNEXPECTED_EOF); it is a close_notify only if our BIO saw no EOF.
                s.rx_eof = true;
                s.close_notify = !s.bio_eof;
                ERR_clear_error();
                if (!c.flags.has(conn_flag::sock_rd_sh)) {
                    c.flags.set(conn_flag::sock_rd_sh);
                    c.report_term(xprt::term_loc::xprt, xprt::term_type::shutr);
                }
            } else if (c.flags.has(conn_flag::error)) {
                s.rx_eof = true;  // the layer below failed and set its code
                ERR_clear_error();
            } else {
                s.rx_eof = true;
                data_failed(s, conn_err::ssl_fatal);
            }
            break;
        }
        if (s.reneg) {
            data_failed(s, conn_err::ssl_reneg);
        }
        xprt::ledger_io(xprt::xprt_id::ssl, false, done, !s.rx_need.empty());
        return done;
    }

    std::size_t snd_buf(connection& c, xprt_ctx* ctx, const xprt::buffer& buf, std::size_t count,
                        xprt::snd_flags flags) const noexcept override {
        ssl_conn& s = ctx_of(ctx);
        if (c.flags.any(conn_flag::ssl_wait_hs | conn_flag::error)) {
            return 0;
        }
        if (s.shut_sent) {
            c.fail(conn_err::epipe);  // like raw after a write shutdown
            return 0;
        }
        s.tx_need = {};
        count = std::min(count, buf.data());
        std::size_t done = 0;
        clear_stale_errors();  // once per call, as in rcv_buf
        for (const auto& h : buf.data_hunks(count)) {
            std::size_t off = 0;
            while (off < h.size()) {
                const std::size_t len = h.size() - off;
                // More follows this record: let the layer below delay (MSG_MORE).
                s.bio_snd_flags = flags;
                if (count - done > max_record) {
                    s.bio_snd_flags |= xprt::snd_flag::more;
                }
                std::size_t n = 0;
                const int r = SSL_write_ex(s.ssl, h.data() + off, len, &n);
                if (r == 1) {
                    off += n;
                    done += n;
                    continue;
                }
                const int e = SSL_get_error(s.ssl, r);
                if (e == SSL_ERROR_WANT_WRITE) {
                    s.tx_need = sub_event::send;
                } else if (e == SSL_ERROR_WANT_READ) {
                    s.tx_need = sub_event::recv;
                } else if (c.flags.has(conn_flag::error)) {
                    ERR_clear_error();  // the layer below failed and set its code
                } else {
                    data_failed(s, conn_err::ssl_fatal);
                }
                s.bio_snd_flags = {};
                xprt::ledger_io(xprt::xprt_id::ssl, true, done, !s.tx_need.empty());
                return done;
            }
        }
        s.bio_snd_flags = {};
        xprt::ledger_io(xprt::xprt_id::ssl, true, done, false);
        return done;
    }

    void subscribe(connection& c, xprt_ctx* ctx, sub_events ev,
                   wait_event& w) const noexcept override {
        ssl_conn& s = ctx_of(ctx);
        XS_ASSERT(s.upper == nullptr || s.upper == &w);
        XS_ASSERT(!ev.any(~xprt::sub_both));
        if (&w == s.fwd_w) {
            // `w` may still be registered below from a forwarded subscription: take it back,
            // this call decides again where its events go.
            const sub_events had = w.events;
            if (!had.empty() && s.below_ops != nullptr) {
                s.below_ops->unsubscribe(c, s.below, had, w);
            }
            s.fwd_w = nullptr;
            ev |= had;
        }
        if (c.flags.has(conn_flag::error)) {
            w.events |= ev;
            s.upper = &w;
            wake_upper_all(s);  // failed (SSL_WAIT_HS stays set after a failed handshake)
            return;
        }
        if (c.flags.has(conn_flag::ssl_wait_hs)) {
            w.events |= ev;
            s.upper = &w;
            return;  // recorded: woken when the handshake ends
        }
        // Progress is possible now without the layer below: wake at once.
        sub_events now;
        if (ev.has(sub_event::recv) && s.rx_need.empty()) {
            now |= sub_event::recv;  // the last read stopped on count, not on WANT_*
        }
        if (ev.has(sub_event::send) && s.tx_need.empty()) {
            now |= sub_event::send;
        }
        ev.clear(now);
        if (!now.empty() && w.task != nullptr) {
            w.task->wake();
        }
        if (ev.empty()) {
            return;
        }
        // Fast path: OpenSSL needs from below exactly the direction asked (a read waits for
        // bytes, a write for room) and nothing of ours is registered there: hand `w` to the
        // layer below, which wakes it directly (no relay through our tasklet).
        const bool same = (!ev.has(sub_event::recv) || s.rx_need == sub_events(sub_event::recv)) &&
                          (!ev.has(sub_event::send) || s.tx_need == sub_events(sub_event::send));
        if (same && s.own.events.empty() && s.upper == nullptr && s.below_ops != nullptr) {
            s.fwd_w = &w;
            s.below_ops->subscribe(c, s.below, ev, w);
            return;
        }
        // Relay: our own wait_event asks below for what OpenSSL needs; io_cb wakes `w`.
        w.events |= ev;
        s.upper = &w;
        subscribe_below(s, lower_needs(s, w.events));
    }

    void unsubscribe(connection& c, xprt_ctx* ctx, sub_events ev,
                     wait_event& w) const noexcept override {
        ssl_conn& s = ctx_of(ctx);
        if (&w == s.fwd_w) {
            if (s.below_ops != nullptr) {
                s.below_ops->unsubscribe(c, s.below, ev, w);
            }
            if (w.events.empty()) {
                s.fwd_w = nullptr;
            }
            return;
        }
        XS_ASSERT(s.upper == nullptr || s.upper == &w);
        w.events.clear(ev);
        if (s.upper == &w && w.events.empty()) {
            s.upper = nullptr;
        }
        if (c.flags.has(conn_flag::ssl_wait_hs)) {
            return;  // our own subscription belongs to the handshake
        }
        const sub_events still =
            s.upper != nullptr ? lower_needs(s, s.upper->events) : sub_events{};
        unsubscribe_below(s, s.own.events & ~still);
    }

    void shutw(connection& c, xprt_ctx* ctx, bool clean) const noexcept override {
        ssl_conn& s = ctx_of(ctx);
        if (!s.shut_sent && s.hs_done && !c.flags.any(conn_flag::ssl_wait_hs | conn_flag::error)) {
            s.shut_sent = true;
            if (clean) {
                // One non-blocking attempt: close_notify goes out now or never (the socket's
                // shutdown follows at once in conn_shutw).
                ERR_clear_error();
                (void)SSL_shutdown(s.ssl);
                ERR_clear_error();
            } else {
                SSL_set_quiet_shutdown(s.ssl, 1);
            }
        }
        xprt_ops::shutw(c, ctx, clean);
    }

    bool add_xprt(connection& c, xprt_ctx* ctx, xprt_ref to_add,
                  xprt_ref* old) const noexcept override {
        ssl_conn& s = ctx_of(ctx);
        // Our registration cannot move to the new layer now (conn_insert_xprt links it below
        // only after we return): drop it, and let our tasklet retry through the new layer; the
        // dropped events stay in own_req, so the tasklet treats them as fired.
        const sub_events had = s.own.events;
        if (!had.empty() && s.below_ops != nullptr) {
            s.below_ops->unsubscribe(c, s.below, had, s.own);
        }
        // A subscription forwarded to the old lower layer (data phase) stays there: it may be
        // delivered already and its wait_event gone, so we cannot touch it. Layers are inserted
        // for handshakes, before any data flows; doing it under a pending forwarded
        // subscription is not supported.
        const bool ok = xprt_ops::add_xprt(c, ctx, to_add, old);
        if (!had.empty()) {
            s.task.wake();
        }
        return ok;
    }

    bool remove_xprt(connection& c, xprt_ctx* ctx, const xprt_ctx* to_remove,
                     xprt_ref replacement) const noexcept override {
        ssl_conn& s = ctx_of(ctx);
        if (s.below != to_remove) {
            return xprt_ops::remove_xprt(c, ctx, to_remove, replacement);
        }
        // A layer removing itself has already dropped (and woken) its subscriber; if anything is
        // left, forget it there and retry through the replacement, as in add_xprt.
        const bool had = !s.own.events.empty();
        s.own.events = {};
        s.below_ops = replacement.ops;
        s.below = replacement.ctx;
        if (had) {
            s.task.wake();
        }
        return true;
    }

    [[nodiscard]] xprt::splice_cap can_splice(const connection& /*c*/,
                                              const xprt_ctx* /*ctx*/) const noexcept override {
        return xprt::splice_cap::cannot;  // user-space crypto transforms every byte (no kTLS)
    }

    [[nodiscard]] std::string_view alpn(const connection& /*c*/,
                                        const xprt_ctx* ctx) const noexcept override {
        const ssl_conn& s = ctx_of(ctx);
        return s.hs_done ? std::string_view(s.info.alpn) : std::string_view{};
    }

    [[nodiscard]] const xprt::tls_info* tls(const connection& /*c*/,
                                            const xprt_ctx* ctx) const noexcept override {
        const ssl_conn& s = ctx_of(ctx);
        return s.hs_done ? &s.info : nullptr;
    }

    void show(const connection& /*c*/, const xprt_ctx* ctx, std::string& out) const override {
        const ssl_conn& s = ctx_of(ctx);
        char buf[256];
        const char* st = s.hs_done ? "done" : s.reason != nullptr ? "failed" : "running";
        (void)std::snprintf(
            buf, sizeof buf, "SSL ctx=%p %s hs=%s ver=%s own=%u upper=%u rx_need=%u tx_need=%u",
            static_cast<const void*>(ctx), s.cfg->server ? "server" : "client", st,
            s.hs_done ? s.info.version.c_str() : "-", static_cast<unsigned>(s.own.events.bits()),
            s.upper != nullptr ? static_cast<unsigned>(s.upper->events.bits()) : 0u,
            static_cast<unsigned>(s.rx_need.bits()), static_cast<unsigned>(s.tx_need.bits()));
        out += buf;
        if (s.reason != nullptr) {
            out += " reason=";
            out += s.reason;
        }
    }
};

const ssl_ops ssl_instance;

const ssl_conn* find_layer(const connection& c) noexcept {
    for (xprt_ref l = c.xprt; l; l = l.ops->below(l.ctx)) {
        if (l.ops == &ssl_instance) {
            return &ctx_of(l.ctx);
        }
    }
    return nullptr;
}

}  // namespace

// --- ssl_conn ------------------------------------------------------------------------------------

ssl_conn::ssl_conn(connection& c, context::impl* cf) noexcept
    : conn(&c), cfg(cf), task(c.loop(), io_cb, this, "ssl"), timer(task) {
    cfg->ref();
    own.task = &task;
}

ssl_conn::~ssl_conn() {
    SSL_free(ssl);  // frees the BIO too
    cfg->unref();
}

// --- public API ----------------------------------------------------------------------------------

const xprt::xprt_ops& ops() noexcept {
    return ssl_instance;
}

result<void> attach(connection& c, const context& cx, const conn_options& opt) noexcept {
    context::impl* im = cx.get_impl();
    if (im == nullptr) {
        return error_info{"empty TLS context", 0, conn_err::xprt_init};
    }
    if (!c.xprt) {
        return error_info{"the connection has no transport chain (conn_prepare first)", 0,
                          conn_err::no_xprt};
    }
    if (c.flags.has(conn_flag::error)) {
        return error_info{"the connection has failed", 0, c.err_code};
    }
    BIO_METHOD* meth = bio_method();
    auto* s = new (std::nothrow) ssl_conn(c, im);
    if (s == nullptr || meth == nullptr) {
        delete s;
        c.set_errcode(conn_err::ssl_no_mem);
        return error_info{"out of memory", 0, conn_err::ssl_no_mem};
    }
    auto fail = [&](const char* what, conn_err code) -> result<void> {
        ERR_clear_error();
        delete s;
        c.set_errcode(code);
        return error_info{what, 0, code};
    };
    ERR_clear_error();
    s->ssl = SSL_new(im->main);
    BIO* bio = s->ssl != nullptr ? BIO_new(meth) : nullptr;
    if (bio == nullptr) {
        return fail("out of memory creating the TLS session", conn_err::ssl_no_mem);
    }
    BIO_set_data(bio, s);
    SSL_set_bio(s->ssl, bio, bio);  // one reference for both directions, freed by SSL_free
    SSL_set_ex_data(s->ssl, conn_ex_index(), s);
    s->timeout_ms = opt.handshake_timeout_ms == conn_options::use_context
                        ? im->handshake_timeout_ms
                        : opt.handshake_timeout_ms;
    if (im->server) {
        SSL_set_accept_state(s->ssl);
    } else {
        try {
            const std::string sni(opt.sni);
            const std::string host(opt.verify_host.empty() ? opt.sni : opt.verify_host);
            if (im->verify) {
                if (host.empty()) {
                    return fail(
                        "a verifying TLS client needs a host name (conn_options::sni or "
                        "verify_host); turn client_config::verify off explicitly otherwise",
                        conn_err::xprt_init);
                }
                X509_VERIFY_PARAM* vp = SSL_get0_param(s->ssl);
                const bool ok = is_ip_literal(host)
                                    ? X509_VERIFY_PARAM_set1_ip_asc(vp, host.c_str()) == 1
                                    : (SSL_set1_host(s->ssl, host.c_str()) == 1);
                if (!ok) {
                    return fail("invalid host name to verify", conn_err::xprt_init);
                }
                SSL_set_hostflags(s->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
            }
            // RFC 6066: SNI carries host names only, never IP literals.
            if (!sni.empty() && !is_ip_literal(sni) &&
                SSL_set_tlsext_host_name(s->ssl, sni.c_str()) != 1) {
                return fail("invalid SNI name", conn_err::xprt_init);
            }
            s->cache_key = sni.empty() ? host : sni;
        } catch (...) {
            return fail("out of memory", conn_err::ssl_no_mem);
        }
        if (im->cache_on) {
            (void)im->cache_apply(s->cache_key, s->ssl);
        }
        SSL_set_connect_state(s->ssl);
    }
    ERR_clear_error();
    // On top of the chain: layers inserted later go below us (SSL>HS>RAW).
    s->below_ops = c.xprt.ops;
    s->below = c.xprt.ctx;
    c.xprt = {&ssl_instance, s};
    c.flags.set(conn_flag::ssl_wait_hs | conn_flag::wait_l6_conn);
    if (c.flags.has(conn_flag::xprt_ready)) {
        ssl_ops::begin(*s);  // the chain already runs (STARTTLS): start now
    }
    return {};
}

std::string_view failure_reason(const connection& c) noexcept {
    const ssl_conn* s = find_layer(c);
    return s != nullptr && s->reason != nullptr ? std::string_view(s->reason) : std::string_view{};
}

bool close_notify_received(const connection& c) noexcept {
    const ssl_conn* s = find_layer(c);
    return s != nullptr && s->close_notify;
}

}  // namespace xstack::ssl
