// handshake/cip.cc
#include "handshake/cip.h"

#include <cstring>

namespace xstack::handshake {

namespace {

using xprt::conn_err;

constexpr std::size_t legacy_ip_offset = 8;
constexpr std::size_t standard_ip_offset = 12;
constexpr std::size_t ipv4_min_header = 20;
constexpr std::size_t ipv6_header = 40;
constexpr std::size_t tcp_min_header = 20;
constexpr std::uint8_t ip_proto_tcp = 6;

std::uint8_t u8(std::byte b) noexcept {
    return std::to_integer<std::uint8_t>(b);
}

std::uint16_t load_be16(const std::byte* p) noexcept {
    return static_cast<std::uint16_t>(u8(p[0]) << 8 | u8(p[1]));
}

std::uint32_t load_be32(const std::byte* p) noexcept {
    return std::uint32_t{u8(p[0])} << 24 | std::uint32_t{u8(p[1])} << 16 |
           std::uint32_t{u8(p[2])} << 8 | std::uint32_t{u8(p[3])};
}

}  // namespace

parse_result<cip_header> parse_cip(std::span<const std::byte> in, const cip_options& opt) noexcept {
    parse_result<cip_header> r;
    const std::byte* p = in.data();
    const std::size_t n = in.size();
    // Shortest header: 8 + a 20-byte IPv4 header + a 20-byte TCP header.
    constexpr std::size_t min_header = legacy_ip_offset + ipv4_min_header + tcp_min_header;
    auto need = [&](std::size_t upto) { r.more(upto > n ? upto - n : 1); };

    // 1. Magic, byte by byte, so a stranger is turned away at its first differing byte.
    for (std::size_t i = 0; i < 4 && i < n; ++i) {
        if (u8(p[i]) != static_cast<std::uint8_t>(opt.magic >> (8 * (3 - i)) & 0xFF)) {
            r.fail(conn_err::cip_bad_magic);
            return r;
        }
    }
    // 2. Framing, from the byte after the 32-bit length.
    if (n < legacy_ip_offset + 1) {
        need(min_header);
        return r;
    }
    const std::uint8_t b8 = u8(p[8]);
    std::size_t ip_off;
    if ((b8 & 0xF0) == 0x40 || (b8 & 0xF0) == 0x60) {
        r.value.framing = cip_framing::legacy;
        ip_off = legacy_ip_offset;
    } else if (b8 == 0x00) {
        r.value.framing = cip_framing::standard;
        ip_off = standard_ip_offset;
        if (n < 10) {
            need(min_header + 4);
            return r;
        }
        if (u8(p[9]) != 0x01) {
            r.fail(conn_err::cip_bad_proto);  // CIP type other than 1
            return r;
        }
    } else {
        r.fail(conn_err::cip_bad_proto);
        return r;
    }
    // 3. Total length.
    if (n < ip_off) {
        need(ip_off + ipv4_min_header + tcp_min_header);
        return r;
    }
    const std::uint64_t hdr_len = ip_off == legacy_ip_offset ? load_be32(p + 4) : load_be16(p + 10);
    const std::uint64_t total = ip_off + hdr_len;
    if (total > opt.max_header) {
        r.fail(conn_err::cip_too_big);
        return r;
    }
    const auto total_sz = static_cast<std::size_t>(total);
    // 4.-6. The copied IP header.
    if (n < ip_off + 1) {
        need(total_sz);
        return r;
    }
    const auto version = static_cast<std::uint8_t>(u8(p[ip_off]) >> 4);
    std::size_t proto_at;
    if (version == 4) {
        const std::size_t ihl = std::size_t{u8(p[ip_off]) & 0x0Fu} * 4;
        if (ihl < ipv4_min_header || hdr_len < ihl + tcp_min_header) {
            r.fail(conn_err::cip_bad_len);
            return r;
        }
        proto_at = ip_off + 9;
    } else if (version == 6) {
        if (hdr_len < ipv6_header + tcp_min_header) {
            r.fail(conn_err::cip_bad_len);
            return r;
        }
        proto_at = ip_off + 6;
    } else {
        r.fail(conn_err::cip_bad_proto);
        return r;
    }
    if (n <= proto_at) {
        need(total_sz);
        return r;
    }
    if (u8(p[proto_at]) != ip_proto_tcp) {
        r.fail(conn_err::cip_bad_proto);
        return r;
    }
    if (n < total_sz) {
        need(total_sz);
        return r;
    }

    const std::byte* ip = p + ip_off;
    if (version == 4) {
        const std::byte* tcp = ip + std::size_t{u8(ip[0]) & 0x0Fu} * 4;
        std::uint8_t s[4];
        std::uint8_t d[4];
        std::memcpy(s, ip + 12, 4);
        std::memcpy(d, ip + 16, 4);
        r.value.src = proxy_addr::ipv4(s, load_be16(tcp));
        r.value.dst = proxy_addr::ipv4(d, load_be16(tcp + 2));
    } else {
        const std::byte* tcp = ip + ipv6_header;
        std::uint8_t s[16];
        std::uint8_t d[16];
        std::memcpy(s, ip + 8, 16);
        std::memcpy(d, ip + 24, 16);
        r.value.src = proxy_addr::ipv6(s, load_be16(tcp));
        r.value.dst = proxy_addr::ipv6(d, load_be16(tcp + 2));
    }
    r.done(total_sz);
    return r;
}

}  // namespace xstack::handshake
