// handshake/socks4.h - SOCKS4 client side: CONNECT request builder and reply parser.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "handshake/parse_types.h"
#include "xprt/sock_addr.h"

namespace xstack::handshake {

/// SOCKS4 reply length (VN, CD, DSTPORT, DSTIP).
inline constexpr std::size_t socks4_reply_size = 8;
/// Reply code meaning "request granted".
inline constexpr std::uint8_t socks4_granted = 0x5A;
/// The user id HAProxy sends; with it the request is 16 bytes.
inline constexpr std::string_view socks4_default_user_id = "HAProxy";

/// A SOCKS4 reply.
struct socks4_reply {
    /// CD: 0x5A granted; 0x5B rejected or failed, 0x5C no identd, 0x5D identd mismatch, or
    /// any other value a broken proxy sends.
    std::uint8_t code = 0;
    std::uint16_t port = 0;            ///< DSTPORT (host order); ignored by CONNECT clients
    std::array<std::uint8_t, 4> ip{};  ///< DSTIP; ignored by CONNECT clients

    [[nodiscard]] bool granted() const noexcept { return code == socks4_granted; }
};

/// Parses the 8-byte SOCKS4 reply at the start of `in` (see parse_types.h).
///
///   - VN (byte 0) must be 0, the protocol's value, or 4, which some servers echo from the
///     request; anything else is not a SOCKS4 reply: socks4_bad_reply, as soon as byte 0 is in.
///   - CD (byte 1) other than 0x5A: socks4_deny as soon as byte 1 is in (the reply can no longer
///     be a grant); `value.code` then holds CD (the only case where `value` is filled on an
///     error), so the caller can log "rejected" vs "identd" failures.
///   - Fewer than 8 bytes otherwise: need_more with the exact count (a partial reply waits,
///     as HAProxy does, unlike PROXY and CIP there).
///   - complete: `length` = 8, `value` = code, port, ip. Bytes after the reply belong to the
///     connection.
[[nodiscard]] parse_result<socks4_reply> parse_socks4_reply(std::span<const std::byte> in) noexcept;

/// Size of the request build_socks4_request writes: 8 + user_id.size() + 1 (NUL).
[[nodiscard]] constexpr std::size_t socks4_request_size(
    std::string_view user_id = socks4_default_user_id) noexcept {
    return 9 + user_id.size();
}

/// Writes a SOCKS4 CONNECT request for `dst` into `out`: VN=4, CD=1, DSTPORT (BE), DSTIP,
/// USERID, NUL. 16 bytes with the default user id.
///
/// @return the request length, or 0 (nothing written) when `dst` is neither AF_INET nor an
///         IPv4-mapped AF_INET6 address (SOCKS4 cannot carry IPv6), `user_id` contains a NUL,
///         or `out` is smaller than socks4_request_size(user_id).
[[nodiscard]] std::size_t build_socks4_request(
    const xprt::sock_addr& dst, std::span<std::byte> out,
    std::string_view user_id = socks4_default_user_id) noexcept;

}  // namespace xstack::handshake
