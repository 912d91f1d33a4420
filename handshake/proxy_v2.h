// handshake/proxy_v2.h - PROXY protocol version 2 (binary): parser and builder.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "handshake/parse_types.h"
#include "handshake/proxy_header.h"
#include "xprt/sock_addr.h"

namespace xstack::handshake {

/// The 12-byte v2 signature.
inline constexpr std::array<std::uint8_t, 12> proxy_v2_signature = {
    0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
/// Fixed part: signature, ver_cmd, fam, len.
inline constexpr std::size_t proxy_v2_fixed_length = 16;
/// Largest header the wire format can express (16 + 65535).
inline constexpr std::size_t proxy_v2_max_length = 16 + 65535;

/// Receive-side limits. The defaults follow HAProxy (TLV and field caps) and go-proxyproto /
/// nginx (4 KiB header).
struct proxy_options {
    /// Largest whole v2 header (16 + len) accepted, else prx_too_big. Values above
    /// proxy_v2_max_length mean "no limit but the wire format's".
    std::size_t max_header = 4096;
    /// Largest value of any single TLV (NOOP and SSL included), else prx_tlv_too_big. Raise it
    /// when peers send client certificates in the SSL TLV.
    std::size_t max_tlv = 1024;
    /// Largest AUTHORITY value (255 = the longest DNS name), else prx_authority_too_long.
    std::size_t max_authority = 255;
    /// Largest UNIQUE_ID value (the spec's 128), else prx_unique_id_too_long.
    std::size_t max_unique_id = 128;
};

/// Parses a PROXY v2 header at the start of `in` (see parse_types.h for the shared contract).
///
/// Checks, in this order (the order in which the bytes arrive, so a prefix that already fails
/// one of the first five reports it at once):
///   1. signature (each byte as it arrives)                         prx_not_hdr
///   2. version nibble == 2                                         prx_bad_version
///   3. command nibble: 0 LOCAL or 1 PROXY                          prx_bad_cmd
///   4. family byte in {00 11 12 21 22 31 32}                       prx_bad_proto
///   5. 16 + len <= opt.max_header                                  prx_too_big
///      PROXY: len >= the family's address block (12/36/216/0)      prx_bad_len
///   then, once all 16 + len bytes are present (need_more until then, `needed` exact):
///   6. TLV structure: records tile the rest of the header exactly  prx_bad_tlv
///      (3 bytes at least per record, none overruns the end); a CRC32C TLV is 4 bytes
///      (prx_bad_crc_len) and appears at most once (prx_dup_crc)
///   7. CRC32C, when present: CRC32C of the whole header with the   prx_bad_crc
///      CRC value taken as zero equals the value read big-endian
///   8. caps: every TLV value <= max_tlv                             prx_tlv_too_big
///      AUTHORITY <= max_authority                                   prx_authority_too_long
///      UNIQUE_ID <= max_unique_id                                   prx_unique_id_too_long
///      SSL: >= 5 bytes and sub-TLVs tiling it exactly               prx_bad_ssl_tlv
///   NOOP, NETNS, ALPN, AWS and unknown types have no rule beyond the caps.
/// Nothing is returned as complete before the whole header passed every check.
///
/// Addresses and TLV placement
///   PROXY + TCP4/TCP6: src/dst decoded, use_addresses() is true, TLVs after the block.
///   PROXY + UDP4/UDP6/UNIX: src/dst decoded (UNIX paths as views), use_addresses() false,
///   the connection keeps its real endpoints. PROXY + UNSPEC: no address, TLVs at 16.
///   LOCAL: addresses are never decoded (src/dst stay `none`) and TLVs are looked for in two
///   places, because senders disagree: AWS NLB health checks send LOCAL with family 0x11 and
///   TLVs right at byte 16 (no address block), while other senders put an address block
///   first. The layout is chosen by structure alone (check 6): TLVs at byte 16 (HAProxy and
///   AWS) if the records from there tile the header exactly, else at 16 + the family's block
///   if `len` covers it and the records from there tile; checks 7-8 then apply to the chosen
///   layout only (`tlv_offset` tells which). Deciding by structure, not by "whichever passes",
///   keeps the CRC meaningful: a corrupted AWS health check fails its CRC at byte 16 instead
///   of being re-read from byte 28, where its zero padding would also tile. When neither
///   layout tiles, the error is the one found at byte 16 (prx_bad_tlv, prx_bad_crc_len or
///   prx_dup_crc), as the spec's "TLVs end exactly at the header end" rule requires.
///
/// Outcome
///   complete   `value`: version 2, command, family, tlv_offset, src/dst as above, `tlvs`
///              over every TLV (views into `in`); `length` = 16 + len.
///   need_more  `needed` = bytes missing (exact once the fixed part is in).
///   error      one of the codes above.
[[nodiscard]] parse_result<proxy_header> parse_proxy_v2(std::span<const std::byte> in,
                                                        const proxy_options& opt = {}) noexcept;

/// The SSL TLV to send. Empty strings are omitted.
struct ssl_info {
    std::uint8_t client = 0;   ///< ssl_client_bits
    std::uint32_t verify = 0;  ///< written big-endian
    std::string_view version;
    std::string_view cn;
    std::string_view cipher;
    std::string_view sig_alg;
    std::string_view key_alg;
    std::string_view group;
    std::string_view sig_scheme;
    std::span<const std::byte> client_cert;
};

/// What build_proxy_v2 writes.
struct proxy_v2_spec {
    /// proxy: addresses from src/dst (see build_proxy_v2); local: no address, family UNSPEC.
    proxy_command command = proxy_command::proxy;
    xprt::sock_addr src;
    xprt::sock_addr dst;
    /// Custom TLVs, written first and in this order (any type, empty values allowed).
    std::span<const tlv> custom;
    /// Add a CRC32C TLV (computed over the finished header).
    bool crc32c = false;
    /// Known TLVs, written only when non-empty (or non-null for ssl).
    std::span<const std::byte> alpn;
    std::string_view authority;
    std::string_view unique_id;
    const ssl_info* ssl = nullptr;
    std::string_view netns;
};

/// Size of the header build_proxy_v2 would write for `spec`, or 0 when it cannot be encoded
/// (a TLV value over 65535 bytes, or a header over proxy_v2_max_length).
[[nodiscard]] std::size_t proxy_v2_size(const proxy_v2_spec& spec) noexcept;

/// Writes a v2 header into `out`.
///
/// Command and family: LOCAL writes ver_cmd 0x20 and family 0x00 with no address block. PROXY
/// writes TCP4 (0x11) when both addresses are AF_INET, TCP6 (0x21) when both are IP and one is
/// AF_INET6 (the IPv4 side as ::ffff:a.b.c.d), and, like HAProxy, falls back to LOCAL + UNSPEC
/// when an address is empty or not IP. Transport is always STREAM.
/// TLVs follow the address block in a fixed order: custom (in spec order), CRC32C, ALPN,
/// AUTHORITY, UNIQUE_ID, SSL (sub-TLVs VERSION, CN, CIPHER, SIG_ALG, KEY_ALG, GROUP,
/// SIG_SCHEME, CLIENT_CERT), NETNS. The CRC32C value is computed last, over the whole header
/// with the field zeroed, and stored big-endian.
/// No validation of receive-side caps: a spec with a 300-byte AUTHORITY is written as asked.
///
/// @return the header length, or 0 when the spec cannot be encoded or `out` is smaller than
///         proxy_v2_size(spec) (then `out` is left untouched).
[[nodiscard]] std::size_t build_proxy_v2(const proxy_v2_spec& spec,
                                         std::span<std::byte> out) noexcept;

}  // namespace xstack::handshake
