// handshake/socks4.cc
#include "handshake/socks4.h"

#include <cstring>

#include <netinet/in.h>

#include "handshake/ip_text_internal.h"

namespace xstack::handshake {

namespace {
std::uint8_t u8(std::byte b) noexcept {
    return std::to_integer<std::uint8_t>(b);
}
}  // namespace

parse_result<socks4_reply> parse_socks4_reply(std::span<const std::byte> in) noexcept {
    parse_result<socks4_reply> r;
    const std::size_t n = in.size();
    if (n >= 1 && u8(in[0]) != 0 && u8(in[0]) != 4) {
        r.fail(xprt::conn_err::socks4_bad_reply);
        return r;
    }
    if (n >= 2 && u8(in[1]) != socks4_granted) {
        r.fail(xprt::conn_err::socks4_deny);
        r.value.code = u8(in[1]);
        return r;
    }
    if (n < socks4_reply_size) {
        r.more(socks4_reply_size - n);
        return r;
    }
    r.value.code = u8(in[1]);
    r.value.port = static_cast<std::uint16_t>(u8(in[2]) << 8 | u8(in[3]));
    for (std::size_t i = 0; i < 4; ++i) {
        r.value.ip[i] = u8(in[4 + i]);
    }
    r.done(socks4_reply_size);
    return r;
}

std::size_t build_socks4_request(const xprt::sock_addr& dst, std::span<std::byte> out,
                                 std::string_view user_id) noexcept {
    std::uint8_t ip[4];
    if (dst.family() == AF_INET) {
        detail::ipv4_bytes(dst, ip);
    } else if (dst.family() == AF_INET6) {
        std::uint8_t v6[16];
        detail::ipv6_bytes(dst, v6);
        static constexpr std::uint8_t mapped_prefix[12] = {0, 0, 0, 0, 0,    0,
                                                           0, 0, 0, 0, 0xFF, 0xFF};
        if (std::memcmp(v6, mapped_prefix, 12) != 0) {
            return 0;
        }
        std::memcpy(ip, v6 + 12, 4);
    } else {
        return 0;
    }
    const std::size_t len = socks4_request_size(user_id);
    if (user_id.find('\0') != std::string_view::npos || out.size() < len) {
        return 0;
    }
    const std::uint16_t port = dst.port();
    std::byte* p = out.data();
    p[0] = std::byte{4};  // VN
    p[1] = std::byte{1};  // CD: CONNECT
    p[2] = std::byte{static_cast<std::uint8_t>(port >> 8)};
    p[3] = std::byte{static_cast<std::uint8_t>(port & 0xFF)};
    std::memcpy(p + 4, ip, 4);
    if (!user_id.empty()) {
        std::memcpy(p + 8, user_id.data(), user_id.size());
    }
    p[8 + user_id.size()] = std::byte{0};
    return len;
}

}  // namespace xstack::handshake
