// ssl/ssl.h - the TLS transport ("SSL"): OpenSSL behind a BIO that calls the layer below, so it
// stacks over any lower layer (raw, the handshake layer, a test fake, another TLS layer).
//
// This header is OpenSSL-free on purpose: consumers of the installed package include it
// without OpenSSL headers; every OpenSSL type stays behind context's pimpl and in ssl/*.cc.
//
// Using it
//
//   // once, control path (may allocate, may read files):
//   ssl::server_config sc;
//   sc.certificates.push_back({.chain_file = "/etc/x/site.pem"});   // chain + key in one file
//   sc.alpn = {"h2", "http/1.1"};
//   auto srv = ssl::context::server(sc);                             // result<context>
//
//   // per accepted connection:
//   xprt::conn_prepare(c, &raw::sock_ctrl(), registry::xprt_get(xprt::xprt_id::raw));
//   raw::accept_init(c, fd, peer);
//   ssl::attach(c, *srv);                      // SSL>RAW; WAIT_L6_CONN|SSL_WAIT_HS set
//   [xprt::conn_insert_xprt(c, hs_ops)]        // optional: a PROXY layer goes below SSL
//   xprt::conn_xprt_start(c);                  // the handshake starts at once (speculative)
//
//   // outgoing: the same with ssl::context::client(cc) and
//   ssl::attach(c, cli, {.sni = "example.com"});   // verifies the certificate for that name
//
// How a connection gets its configuration: ssl::attach() is the layer's init. It puts the TLS
// layer on TOP of whatever chain the connection has (RAW, PASS>RAW, HS>RAW, ...), so layers
// inserted later with conn_insert_xprt() go below it (SSL>HS>RAW). ops().init() alone has no
// configuration and fails with XPRT_INIT: build TLS connections with attach(), not
// conn_prepare(c, ctrl, &ssl::ops()). Attaching to a chain that is already started (STARTTLS)
// starts the handshake at once.
//
// Behaviour (the contract of xprt/xprt_ops.h, plus):
//   - The handshake is driven by the layer's own tasklet and its own subscription to the layer
//     below, from start() on, with a timeout (SSL_TIMEOUT). Until it ends rcv_buf/snd_buf
//     return 0 and subscriptions are only recorded; the subscriber is woken when it ends, with
//     ERROR set if it failed. Success clears SSL_WAIT_HS, WAIT_L6_CONN and WAIT_L4_CONN.
//   - Afterwards the layer below is asked for the direction OpenSSL needs. When that is the
//     direction subscribed (a read waiting for bytes, a write for room: the common case) the
//     subscriber's wait_event is handed down as is; otherwise (a read that must send, a write
//     that must receive) the layer's own wait_event is registered below and the subscriber is
//     woken when that direction fires. Recv subscriptions wake at once when OpenSSL still holds
//     received bytes; any subscription wakes at once after a failure.
//   - Send rule: OpenSSL keeps a record it could not send. After a short snd_buf the next call
//     must present at least the bytes that were not taken (the caller consumes only what was
//     sent, so this holds for every caller that follows the contract); fewer fails with
//     SSL_FATAL.
//   - End of input: a close_notify or a bare TCP FIN both set SOCK_RD_SH without ERROR (a FIN
//     without close_notify is an ordinary end of stream); close_notify_received() tells them
//     apart for protocols that must detect truncation. shutw(clean) sends close_notify
//     (nothing while the handshake runs); the other direction stays usable (half-close).
//   - Errors: one SSL_* code per failure (conn_err), OpenSSL's error queue cleared before each
//     SSL_* call and drained on every failure; failure_reason() gives OpenSSL's text.
//   - tls() returns the session details (xprt::tls_info) once the handshake is done; alpn()
//     the negotiated protocol. can_splice: cannot (no kTLS).
//   - No heap allocation per data call once a connection is established (OpenSSL's record
//     buffers are kept for the connection's lifetime).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "xprt/connection.h"
#include "xprt/result.h"
#include "xprt/xprt_ops.h"

namespace xstack::ssl {

/// The TLS transport's operations (registry slot xprt_id::ssl, name "SSL").
[[nodiscard]] const xprt::xprt_ops& ops() noexcept;

enum class tls_version : std::uint8_t { tls1_2, tls1_3 };

/// A certificate chain and its private key, in PEM, from files or from memory.
struct certificate {
    /// PEM file: the leaf certificate first, then intermediates; may also hold the key.
    std::string chain_file{};
    /// PEM file with the private key; empty: the key is in chain_file (or chain_pem).
    std::string key_file{};
    /// The same contents in memory (used when chain_file is empty).
    std::string chain_pem{};
    std::string key_pem{};
    /// Server names (SNI) this certificate answers for, "*.example.com" wildcards allowed.
    /// Empty: the certificate's DNS subjectAltNames (its CN when it has none).
    std::vector<std::string> names{};
};

/// Client-certificate policy of a server.
enum class client_verify : std::uint8_t {
    none,      ///< no certificate requested
    optional,  ///< requested; a presented certificate must verify
    required,  ///< requested and required (else SSL_NO_CERT)
};

/// Settings shared by both roles.
struct common_config {
    tls_version min_version = tls_version::tls1_2;  ///< never lower than TLS 1.2
    tls_version max_version = tls_version::tls1_3;
    std::string ciphers;       ///< TLS <= 1.2 cipher list (OpenSSL syntax); empty: default
    std::string ciphersuites;  ///< TLS 1.3 suites ("TLS_AES_128_GCM_SHA256:..."); empty: default
    std::string groups;        ///< key-exchange groups ("X25519:P-256"); empty: default
    /// ALPN protocols in preference order ({"h2", "http/1.1"}); empty: no ALPN.
    std::vector<std::string> alpn;
    /// The handshake must end within this time (SSL_TIMEOUT); 0: no limit.
    std::uint32_t handshake_timeout_ms = 10000;
};

struct server_config : common_config {
    /// At least one. The first is the default; SNI selects among them by their names.
    std::vector<certificate> certificates;
    /// Refuse a client whose SNI (or lack of it) matches no certificate (SSL_MISMATCH_SNI,
    /// unrecognized_name alert) instead of answering with the default certificate.
    bool strict_sni = false;
    /// A client offering ALPN protocols none of which is ours fails with SSL_NO_ALPN (the
    /// no_application_protocol alert, RFC 7301); false: continue without ALPN.
    bool alpn_mismatch_fatal = true;
    client_verify verify_client = client_verify::none;
    /// CAs accepted for client certificates (file or in-memory PEM); needed unless `none`.
    std::string client_ca_file;
    std::string client_ca_pem;
    /// Stateless session tickets (resumption, TLS 1.2 and 1.3).
    bool session_tickets = true;
};

struct client_config : common_config {
    /// Verify the server's certificate chain and name (on by default; turning it off is an
    /// explicit opt-out).
    bool verify = true;
    /// Trusted CAs (file or in-memory PEM); both empty: the system store.
    std::string ca_file;
    std::string ca_pem;
    /// Client certificate presented when a server asks (chain empty: none).
    certificate client_cert;
    /// Remember sessions per server name and resume them on the next connection.
    bool session_cache = true;
    std::size_t session_cache_size = 1024;
};

/// A TLS configuration for one role: OpenSSL contexts, certificates, callbacks and (client)
/// the session cache. Control path.
///
/// A context is a cheap handle on shared, reference-counted state: copies share it, and every
/// attached connection holds a reference, so the handle may be destroyed while connections
/// still use it. The state is thread-safe: one context may serve connections on every loop.
class context {
public:
    /// Builds a server context (loads and checks every certificate and key).
    static result<context> server(const server_config& cfg);
    /// Builds a client context (loads the CAs and the client certificate, if any).
    static result<context> client(const client_config& cfg);

    context() noexcept = default;  ///< empty: attach() refuses it
    ~context();
    context(const context& o) noexcept;
    context& operator=(const context& o) noexcept;
    context(context&& o) noexcept : impl_(o.impl_) { o.impl_ = nullptr; }
    context& operator=(context&& o) noexcept;

    [[nodiscard]] explicit operator bool() const noexcept { return impl_ != nullptr; }
    [[nodiscard]] bool is_server() const noexcept;
    /// Client: sessions currently kept in the cache.
    [[nodiscard]] std::size_t cached_sessions() const noexcept;

    struct impl;  // ssl/ssl_internal.h
    [[nodiscard]] impl* get_impl() const noexcept { return impl_; }

private:
    explicit context(impl* i) noexcept : impl_(i) {}
    impl* impl_ = nullptr;
};

/// Per-connection options of attach().
struct conn_options {
    /// Client: the server name sent in SNI (not sent for an IP literal) and, unless
    /// verify_host is set, the name the certificate must match. Also the session-cache key.
    std::string_view sni{};
    /// Client: the name or IP address the server certificate must match (default: sni).
    /// With verification on, one of sni / verify_host is required.
    std::string_view verify_host{};
    /// Overrides the context's handshake timeout when not `use_context`.
    static constexpr std::uint32_t use_context = 0xFFFFFFFFu;
    std::uint32_t handshake_timeout_ms = use_context;
};

/// Puts a TLS layer configured by `ctx` on top of `c`'s chain (the layer's init): no I/O,
/// sets SSL_WAIT_HS|WAIT_L6_CONN. The handshake starts with conn_xprt_start() (or at once if
/// the chain is already started). Fails (nothing changed) without a chain, with an empty
/// context, without a host name for a verifying client, or when out of memory (SSL_NO_MEM).
result<void> attach(xprt::connection& c, const context& ctx, const conn_options& opt = {}) noexcept;

/// OpenSSL's text for the failure of the TLS layer of `c` ("certificate has expired",
/// "wrong version number", ...), empty if it has not failed or has no TLS layer.
[[nodiscard]] std::string_view failure_reason(const xprt::connection& c) noexcept;

/// True once the TLS layer of `c` received the peer's close_notify (SOCK_RD_SH without it
/// means a bare TCP FIN).
[[nodiscard]] bool close_notify_received(const xprt::connection& c) noexcept;

}  // namespace xstack::ssl
