// ssl/ssl_internal.h - what ssl/*.cc share: the context's state and the per-connection layer
// context. Folder-private (not installed): it includes OpenSSL.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <openssl/ssl.h>

#include "event/tasklet.h"
#include "event/timer.h"
#include "ssl/ssl.h"
#include "xprt/tls_info.h"

namespace xstack::ssl {

/// The shared state behind a context handle.
struct context::impl {
    impl() = default;
    ~impl();
    impl(const impl&) = delete;
    impl& operator=(const impl&) = delete;
    impl(impl&&) = delete;
    impl& operator=(impl&&) = delete;

    void ref() noexcept { refs.fetch_add(1, std::memory_order_relaxed); }
    void unref() noexcept {
        if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            delete this;
        }
    }

    /// Server: the OpenSSL context of the certificate answering for `name` (nullptr: none).
    [[nodiscard]] SSL_CTX* find_sni(std::string_view name) const noexcept;

    // Client session cache (keyed by server name).
    void cache_store(const std::string& key, SSL_SESSION* sess) noexcept;  // takes a reference
    bool cache_apply(const std::string& key, SSL* ssl) noexcept;
    void cache_drop(const std::string& key) noexcept;

    std::atomic<std::uint32_t> refs{1};
    bool server = false;
    SSL_CTX* main = nullptr;  ///< client context, or the server's default certificate
    struct sni_entry {
        std::vector<std::string> names;  ///< lower case; "*.x" wildcards
        SSL_CTX* ctx = nullptr;          ///< owned (the first entry's is `main`)
    };
    std::vector<sni_entry> sni;
    bool strict_sni = false;
    bool alpn_mismatch_fatal = true;
    std::string alpn_wire;  ///< ALPN list in wire format (length-prefixed)
    bool verify = true;     ///< client: verify the server
    std::uint32_t handshake_timeout_ms = 0;

    bool cache_on = false;
    std::size_t cache_max = 0;
    mutable std::mutex cache_mu;
    std::map<std::string, SSL_SESSION*, std::less<>> cache;
};

/// Index of the SSL ex-data slot holding the ssl_conn (a dedicated slot: HAProxy learnt that
/// sharing slot 0 through the app-data macro corrupts memory).
int conn_ex_index() noexcept;

/// The TLS layer's per-connection context.
struct ssl_conn final : xprt::xprt_ctx {
    ssl_conn(xprt::connection& c, context::impl* cfg) noexcept;
    ~ssl_conn();
    ssl_conn(const ssl_conn&) = delete;
    ssl_conn& operator=(const ssl_conn&) = delete;
    ssl_conn(ssl_conn&&) = delete;
    ssl_conn& operator=(ssl_conn&&) = delete;

    xprt::connection* conn;
    context::impl* cfg;  ///< holds a reference
    SSL* ssl = nullptr;
    event::tasklet task;       ///< drives the handshake; relays wakeups afterwards
    event::timer timer;        ///< handshake timeout (declared after `task`: destroyed first)
    xprt::wait_event own;      ///< our subscription to the layer below
    xprt::sub_events own_req;  ///< events asked below since the tasklet last ran
    xprt::wait_event* upper = nullptr;  ///< the upper subscriber (events kept in it)
    /// The upper wait_event last handed to the layer below (its events are the lower layer's
    /// business then). Identity only: never dereferenced unless passed to us again.
    const xprt::wait_event* fwd_w = nullptr;
    /// Direction OpenSSL needs from below to progress a read / a write (empty: not blocked).
    xprt::sub_events rx_need;
    xprt::sub_events tx_need;
    xprt::snd_flags bio_snd_flags;  ///< flags for the BIO's writes during snd_buf
    std::uint32_t timeout_ms = 0;

    std::uint64_t rx_bytes = 0;       ///< TLS bytes received (handshake accounting)
    unsigned char first[2] = {0, 0};  ///< first bytes received (not-TLS detection)
    bool bio_eof = false;             ///< the BIO reported end of input to OpenSSL
    bool rx_eof = false;              ///< SSL_read reported the end of the stream
    bool close_notify = false;        ///< ... and it was a close_notify
    bool shut_sent = false;           ///< shutw done (close_notify sent or suppressed)
    bool hs_done = false;
    std::uint64_t hs_start_ns = 0;  ///< when begin() ran (per-layer ledger)
    bool timed_out = false;
    bool sni_mismatch = false;     ///< set by the SNI callback
    bool no_alpn = false;          ///< set by the ALPN callback
    bool reneg = false;            ///< a TLS <= 1.2 handshake started after completion
    const char* reason = nullptr;  ///< OpenSSL's text for the failure (static storage)
    std::string cache_key;         ///< client: the session-cache key
    xprt::tls_info info;
};

}  // namespace xstack::ssl
