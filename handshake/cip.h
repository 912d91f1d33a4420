// handshake/cip.h - NetScaler Client IP insertion (CIP) header parser.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "handshake/parse_types.h"
#include "handshake/proxy_header.h"

namespace xstack::handshake {

/// The two CIP framings (haproxy/doc/netscaler-client-ip-insertion-protocol.txt).
enum class cip_framing : std::uint8_t {
    /// NetScaler < 10.5: magic(4) | length(4, BE, bytes after these 8) | IP header | TCP header
    legacy,
    /// NetScaler >= 10.5: magic(4) | CIP length(4) | type(2, BE, = 1) | length(2, BE, bytes
    /// after these 12) | IP header | TCP header
    standard,
};

struct cip_options {
    /// The magic number both sides agreed on (the first 4 bytes, big-endian).
    std::uint32_t magic = 0;
    /// Largest whole CIP header accepted, else cip_too_big. Real headers are at most
    /// 12 + 60 (IPv4 with options) + 60 (TCP with options) = 132 bytes.
    std::size_t max_header = 1024;
};

struct cip_header {
    cip_framing framing = cip_framing::legacy;
    proxy_addr src;  ///< the client: IP source address, TCP source port (ipv4 or ipv6)
    proxy_addr dst;  ///< IP destination address, TCP destination port
};

/// Parses a CIP header at the start of `in` (see parse_types.h for the shared contract).
///
/// Checks, each as soon as its bytes are there:
///   1. bytes 0-3 == opt.magic (each byte as it arrives)              cip_bad_magic
///   2. byte 8 picks the framing: an IP version nibble 4 or 6 →       cip_bad_proto
///      legacy (the IP header starts at 8); 0x00 → standard, and then
///      byte 9 must be 0x01 (type 1; the IP header starts at 12); else
///   3. total = offset + length field <= opt.max_header               cip_too_big
///   4. IP version (standard framing) is 4 or 6                        cip_bad_proto
///   5. IPv4: IHL >= 5 and length >= IHL*4 + 20;                       cip_bad_len
///      IPv6: length >= 40 + 20 (no extension headers)
///   6. IPv4 protocol / IPv6 next header is TCP (6)                    cip_bad_proto
///   then complete once `total` bytes are present.
/// Fields are read big-endian explicitly (HAProxy truncates a 32-bit read for the standard
/// length, correct only on little-endian hosts) and the length check includes the framing
/// offset (HAProxy compares the peeked size with the length alone). The standard framing's
/// 32-bit "CIP length" is not checked: its exact meaning is not documented well enough, and
/// the 16-bit length already delimits the header. The TCP header beyond its first 20 bytes is
/// not interpreted (NetScaler copies it with options).
///
/// Outcome
///   complete   `value`: framing, src/dst (addresses from the IP header, ports from the TCP
///              header); `length` = offset + length field.
///   need_more  `needed` exact once the length field is in, else a lower bound.
///   error      one of the codes above.
[[nodiscard]] parse_result<cip_header> parse_cip(std::span<const std::byte> in,
                                                 const cip_options& opt) noexcept;

}  // namespace xstack::handshake
