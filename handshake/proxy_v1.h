// handshake/proxy_v1.h - PROXY protocol version 1 (text): strict parser and builder.
#pragma once

#include <cstddef>
#include <span>

#include "handshake/parse_types.h"
#include "handshake/proxy_header.h"
#include "xprt/sock_addr.h"

namespace xstack::handshake {

/// Longest v1 line, CRLF included (spec: "PROXY UNKNOWN" with IPv6-sized fields).
inline constexpr std::size_t proxy_v1_max_length = 107;
/// Shortest v1 line: "PROXY UNKNOWN\r\n".
inline constexpr std::size_t proxy_v1_min_length = 15;

/// Parses a PROXY v1 line at the start of `in` (see parse_types.h for the shared contract).
///
/// Accepted, and nothing else:
///   "PROXY TCP4 <ipv4> <ipv4> <port> <port>\r\n"
///   "PROXY TCP6 <ipv6> <ipv6> <port> <port>\r\n"
///   "PROXY UNKNOWN\r\n" and "PROXY UNKNOWN <anything without CR or LF>\r\n"
/// with exactly one space between fields and the whole line, CRLF included, within 107 bytes.
///   - IPv4: four decimal octets 0..255 without leading zeros ("0" itself is fine).
///   - IPv6: canonical text only, exactly as glibc's inet_ntop prints it (lower case, no
///     leading zeros, longest zero run compressed, "::ffff:1.2.3.4" for mapped addresses).
///     We chose canonical-only because the spec asks for it, every mainstream sender
///     (HAProxy, nginx, Envoy) prints addresses with inet_ntop or an equivalent, and one
///     spelling per address removes ambiguity (e.g. in logs and ACLs). "2001:DB8::1",
///     "2001:0db8::1" and "0:0:0:0:0:0:0:1" are rejected.
///   - Ports: 0..65535, decimal digits only, no sign, no leading zeros.
///   - The UNKNOWN rest of line is ignored (spec), only scanned for CR/LF and the length.
///
/// Outcome
///   complete    `value`: version 1, command proxy; family tcp4 (src/dst ipv4), tcp6
///               (src/dst ipv6, a mapped address stays ipv6) or unspec for UNKNOWN (no
///               addresses); `length` = the line length including CRLF.
///   need_more   a strict prefix of some valid line; `needed` is a lower bound.
///   error       prx_not_hdr        the input does not start with "PROXY "
///               prx_bad_proto      the protocol is not TCP4, TCP6 or UNKNOWN
///               prx_bad_addr       an address or port is not valid text for its field
///               prx_bad_hdr        a separator problem: two spaces, a missing or extra field,
///                                  a lone CR or LF, a space before CRLF
///               prx_line_too_long  no CRLF within 107 bytes (only possible with UNKNOWN)
///   Errors are reported at the first byte that makes the line invalid, e.g. on "PROXY TCP4
///   300" (prx_bad_addr), "PROXY TCP4 01" (leading zero) or "PROXY TCP6 1.2" (IPv4 text).
[[nodiscard]] parse_result<proxy_header> parse_proxy_v1(std::span<const std::byte> in) noexcept;

/// Writes the v1 line for a connection from `src` to `dst` into `out`.
///
/// Both AF_INET: "PROXY TCP4 ..."; both IP with at least one AF_INET6: "PROXY TCP6 ..." with
/// IPv4 sides written as IPv4-mapped IPv6 ("::ffff:a.b.c.d"); anything else (an empty or
/// UNIX address): "PROXY UNKNOWN\r\n". Addresses in canonical text (what the parser accepts).
///
/// @return the line length (at most 104), or 0 when `out` is too small (nothing written).
///         An `out` of proxy_v1_max_length bytes always suffices.
[[nodiscard]] std::size_t build_proxy_v1(const xprt::sock_addr& src, const xprt::sock_addr& dst,
                                         std::span<std::byte> out) noexcept;

}  // namespace xstack::handshake
