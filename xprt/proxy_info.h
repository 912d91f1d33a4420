// xprt/proxy_info.h - what a received PROXY (or NetScaler CIP) header said, kept on the
// connection after the handshake layer has removed itself.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "xprt/sock_addr.h"

namespace xstack::xprt {

/// Where the information came from.
enum class proxy_source : std::uint8_t { none, proxy_v1, proxy_v2, cip };

/// A received header, as plain data. The TLV bytes are a copy of the v2 TLV area exactly as
/// received (iterate them with handshake::tlv_list); empty for v1, CIP and TLV-less headers.
struct proxy_info {
    proxy_source source = proxy_source::none;
    bool local = false;           ///< v2 LOCAL: the addresses are the connection's own
    std::uint8_t family = 0;      ///< v2 family byte (v1: 0x11 TCP4, 0x21 TCP6, 0x00 UNKNOWN)
    bool addresses_used = false;  ///< src/dst describe the original client (PROXY over TCP)
    sock_addr src;                ///< announced source (empty when not announced or not IP)
    sock_addr dst;                ///< announced destination
    std::vector<std::byte> tlvs;  ///< v2 TLVs as received (allocated only when present)

    [[nodiscard]] std::span<const std::byte> tlv_bytes() const noexcept { return tlvs; }
};

}  // namespace xstack::xprt
