// handshake/ip_text_internal.h - IP address text for PROXY v1: strict parsing, canonical
// formatting, and "can this prefix still become a valid address" checks.
//
// Folder-private: used by proxy_v1.cc and its tests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "xprt/sock_addr.h"

namespace xstack::handshake::detail {

/// Longest IPv6 text format_ipv6 can produce ("ffff:...:ffff" = 39; mixed forms are shorter).
inline constexpr std::size_t ipv6_text_max = 39;
/// Longest IPv4 text ("255.255.255.255").
inline constexpr std::size_t ipv4_text_max = 15;

/// Verdict on the characters of one field.
enum class text_check : std::uint8_t {
    ok,       ///< a whole valid field (only when the field is known to be complete)
    partial,  ///< a prefix of at least one valid field: more characters may come
    bad,      ///< no continuation is valid
};

/// IPv4 dotted-quad text: four decimal octets 0..255, no leading zeros, no sign, no spaces.
/// `complete` says whether the field ended (its terminator was seen). On ok, `out` holds the
/// address in network order.
text_check check_ipv4_text(std::string_view s, bool complete, std::uint8_t (&out)[4]) noexcept;

/// A decimal port 0..65535, digits only, no leading zeros. On ok, `out` holds the value.
text_check check_port_text(std::string_view s, bool complete, std::uint16_t& out) noexcept;

/// IPv6 text in canonical form only, i.e. exactly what glibc's inet_ntop prints: lower-case
/// hex without leading zeros, the longest run (first on a tie) of two or more zero groups
/// written "::", a single zero group written "0", and dotted-quad tails for IPv4-mapped
/// (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d, when the first 96 bits are zero and the
/// next 16 are not) addresses. For a field that is not complete, `partial` means that some
/// canonical text starts with `s`, decided exactly (see ip_text.cc).
text_check check_ipv6_text(std::string_view s, bool complete, std::uint8_t (&out)[16]) noexcept;

/// Parses any RFC 4291 section 2.2 text form (upper or lower case, leading zeros, one "::",
/// optional dotted-quad tail). No zone ids. True on success.
bool parse_ipv6_any(std::string_view s, std::uint8_t (&out)[16]) noexcept;

/// Writes the canonical text of `a` (as inet_ntop does) into `out`; returns its length.
std::size_t format_ipv6(const std::uint8_t (&a)[16], char (&out)[ipv6_text_max + 1]) noexcept;

/// Writes "a.b.c.d" into `out`; returns its length.
std::size_t format_ipv4(const std::uint8_t (&a)[4], char (&out)[ipv4_text_max + 1]) noexcept;

/// True when some canonical IPv6 text starts with `s` (s may be empty).
bool ipv6_canonical_prefix(std::string_view s) noexcept;

/// The 4 address bytes (network order) of an AF_INET address.
void ipv4_bytes(const xprt::sock_addr& a, std::uint8_t (&out)[4]) noexcept;
/// The 16 address bytes of an AF_INET6 address, or of an AF_INET address as ::ffff:a.b.c.d
/// (how PROXY senders present IPv4 next to IPv6).
void ipv6_bytes(const xprt::sock_addr& a, std::uint8_t (&out)[16]) noexcept;

}  // namespace xstack::handshake::detail
