// handshake/hs.h - the handshake pseudo-transport ("HS"): a temporary layer that runs the
// connection's handshake steps through the layer below, then removes itself.
//
// Steps, in this order, each only if its connection flag is set:
//   SOCKS4_SEND   send a SOCKS4 CONNECT request (resumes where a partial send stopped)
//   SOCKS4_RECV   read the 8-byte reply (a partial reply waits; a denial fails SOCKS4_DENY)
//   ACCEPT_CIP    read a NetScaler Client-IP header
//   ACCEPT_PROXY  read a PROXY v1 or v2 header (required, or optional for trusted sources)
//   SEND_PROXY    send a PROXY v1 or v2 header (MSG_MORE when the layer above waits to send)
//
// Receiving never consumes a byte after the header: the layer peeks, parses what it has, and
// consumes only bytes known to belong to the header (all of them while the parser says "need
// more", exactly the header's length once it is complete). A header split at any byte into any
// number of pieces is therefore accepted, and the layer never spins on a level-triggered poller
// while a header is incomplete (consumed bytes leave nothing pending). Everything is read
// through the layer below (never the fd), so HS runs over raw, over any layer, and over test
// fakes.
//
// Placement (xprt::conn_insert_xprt): above raw when raw is the top ("HS>RAW"), otherwise just
// below the top ("SSL>HS>RAW": the PROXY header precedes TLS on the wire).
//
// While HS is present its rcv_buf/snd_buf return 0 and the upper subscriber is only recorded:
// nothing is delivered upward before every step completed and the header was valid. Then HS
// removes itself: it cancels its timer, drops its own subscription below, unlinks itself, hands
// the upper subscription down to the layer below (which wakes it at once if its direction is
// ready, else when it becomes ready: no spurious wakeup, no failed recv), calls the
// configuration's on_done callback, and frees itself. On failure (ERROR with an error code) the
// upper subscriber is woken with its events cleared so it sees the error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "handshake/cip.h"
#include "handshake/proxy_v2.h"
#include "handshake/socks4.h"
#include "handshake/source_list.h"
#include "xprt/conn_error.h"
#include "xprt/connection.h"
#include "xprt/xprt_ops.h"

namespace xstack::handshake {

/// The handshake transport's operations (registry slot xprt_id::handshake, name "HS").
[[nodiscard]] const xprt::xprt_ops& ops() noexcept;

/// How ACCEPT_PROXY treats connections.
enum class proxy_mode : std::uint8_t {
    /// Every connection must start with a header. With a trusted list, a connection from a
    /// source outside it fails at once with PRX_UNTRUSTED.
    required,
    /// A header is allowed, not required, and only from sources in the trusted list: the first
    /// bytes are examined (peeked, never consumed) until they either complete a PROXY signature
    /// or cannot be one, or until `detect_ms` passes without a signature. No header: the layer
    /// leaves and the bytes reach the layer above unchanged. A signature from a source outside
    /// the list fails with PRX_UNTRUSTED.
    optional,
};

/// Configuration shared by the connections of a listener or a server; must outlive them.
struct hs_config {
    proxy_options proxy;  ///< receive limits (header size, TLV caps)
    proxy_mode mode = proxy_mode::required;
    const source_list* trusted = nullptr;  ///< required for proxy_mode::optional
    std::uint32_t detect_ms = 200;         ///< optional mode: decide "no header" after this
    cip_options cip;                       ///< magic and limit for ACCEPT_CIP
    /// Whole-handshake deadline; 0 disables. Expiry fails the pending step with its timeout
    /// code (SOCKS4_TIMEOUT, CIP_TIMEOUT, PRX_TIMEOUT).
    std::uint32_t timeout_ms = 5000;
    /// Called once the layer is gone (success: ok == true; failure: ERROR is set), after the
    /// upper subscription was handed down or woken. May destroy the connection.
    void (*on_done)(xprt::connection& c, bool ok, void* arg) noexcept = nullptr;
    void* on_done_arg = nullptr;
};

/// Per-connection values of the outgoing steps (SEND_PROXY, SOCKS4_SEND).
struct hs_send {
    std::uint8_t proxy_version = 2;  ///< 1 or 2
    /// The header: command (LOCAL for connections the proxy originates itself), the client's
    /// addresses (src/dst), TLVs. Views are read during attach() only: the header is built then.
    proxy_v2_spec v2;
    xprt::sock_addr socks4_target;  ///< the final destination asked of the SOCKS4 proxy
    std::string_view socks4_user = socks4_default_user_id;
};

/// Inserts the handshake layer for the handshake flags already set on `c` (ACCEPT_PROXY,
/// ACCEPT_CIP, SEND_PROXY, SOCKS4_SEND, SOCKS4_RECV) and configures it. Outgoing headers are
/// built now (`send` must be given when SEND_PROXY or SOCKS4_SEND is set). Control path. The
/// layer starts with conn_xprt_start (or now, when the chain is already started).
/// @return the layer's context, or nullptr with err_code set (ERROR already set, no handshake
///         flag, header not encodable, out of memory).
xprt::xprt_ctx* attach(xprt::connection& c, const hs_config& cfg, const hs_send* send = nullptr);

/// Removes an unfinished handshake layer without closing the layers below, clears the
/// handshake flags, and leaves the chain as it was before attach() (e.g. RAW), so an outgoing
/// connection can be retried. Returns false if no handshake layer is in the chain.
bool abort(xprt::connection& c) noexcept;

/// Outcome counters of handshake layers, per thread, summed by hs_stats_sum().
enum class hs_counter : std::uint8_t {
    proxy_v1,      ///< PROXY v1 headers accepted
    proxy_v2,      ///< PROXY v2 headers accepted (LOCAL included)
    proxy_local,   ///< of which LOCAL
    proxy_absent,  ///< optional mode: no header, bytes passed through
    cip,           ///< CIP headers accepted
    socks4,        ///< SOCKS4 requests granted
    sent_v1,       ///< PROXY v1 headers sent
    sent_v2,       ///< PROXY v2 headers sent
    failed,        ///< handshakes failed (any code)
    count_
};
struct hs_stats {
    std::uint64_t counters[static_cast<std::size_t>(hs_counter::count_)] = {};
    std::uint64_t errors[xprt::conn_err_count] = {};  ///< failures by error code
    [[nodiscard]] std::uint64_t operator[](hs_counter c) const noexcept {
        return counters[static_cast<std::size_t>(c)];
    }
};
/// Sum over every thread (threads that exited included).
[[nodiscard]] hs_stats hs_stats_sum();

}  // namespace xstack::handshake
