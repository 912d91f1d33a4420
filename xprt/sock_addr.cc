// xprt/sock_addr.cc
#include "xprt/sock_addr.h"

#include <charconv>
#include <cstring>

#include <arpa/inet.h>

namespace xstack::xprt {

std::uint16_t sock_addr::port() const noexcept {
    switch (family()) {
    case AF_INET:
        return ntohs(reinterpret_cast<const sockaddr_in*>(&ss)->sin_port);
    case AF_INET6:
        return ntohs(reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_port);
    default:
        return 0;
    }
}

void sock_addr::set_port(std::uint16_t p) noexcept {
    switch (family()) {
    case AF_INET:
        reinterpret_cast<sockaddr_in*>(&ss)->sin_port = htons(p);
        break;
    case AF_INET6:
        reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port = htons(p);
        break;
    default:
        break;
    }
}

sock_addr sock_addr::ipv4(std::uint32_t host_order_addr, std::uint16_t port) noexcept {
    sock_addr a;
    auto* in = reinterpret_cast<sockaddr_in*>(&a.ss);
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    in->sin_addr.s_addr = htonl(host_order_addr);
    a.len = sizeof(sockaddr_in);
    return a;
}

sock_addr sock_addr::ipv6(const std::uint8_t (&addr)[16], std::uint16_t port) noexcept {
    sock_addr a;
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&a.ss);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    std::memcpy(&in6->sin6_addr, addr, 16);
    a.len = sizeof(sockaddr_in6);
    return a;
}

std::optional<sock_addr> sock_addr::unix_path(std::string_view path) noexcept {
    sock_addr a;
    auto* un = reinterpret_cast<sockaddr_un*>(&a.ss);
    if (path.empty() || path.size() >= sizeof(un->sun_path)) {
        return std::nullopt;
    }
    un->sun_family = AF_UNIX;
    std::memcpy(un->sun_path, path.data(), path.size());
    if (path[0] == '@') {
        un->sun_path[0] = '\0';  // abstract namespace: the length delimits the name
        a.len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size());
    } else {
        un->sun_path[path.size()] = '\0';
        a.len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
    }
    return a;
}

bool split_host_port(std::string_view text, std::string_view& host,
                     std::string_view& port) noexcept {
    if (text.empty()) {
        return false;
    }
    if (text.front() == '[') {
        const auto close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
            return false;
        }
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
    } else {
        const auto colon = text.rfind(':');
        if (colon == std::string_view::npos) {
            return false;
        }
        host = text.substr(0, colon);
        if (host.find(':') != std::string_view::npos) {
            return false;  // bare IPv6 must be bracketed
        }
        port = text.substr(colon + 1);
    }
    return !host.empty() && !port.empty();
}

std::optional<sock_addr> sock_addr::parse(std::string_view text) noexcept {
    if (text.substr(0, 5) == "unix:") {
        return unix_path(text.substr(5));
    }
    std::string_view host;
    std::string_view port;
    if (!split_host_port(text, host, port)) {
        return std::nullopt;
    }
    unsigned p = 0;
    const auto r = std::from_chars(port.data(), port.data() + port.size(), p);
    if (r.ec != std::errc() || r.ptr != port.data() + port.size() || p > 65535) {
        return std::nullopt;
    }
    char buf[64];
    if (host.size() >= sizeof buf) {
        return std::nullopt;
    }
    std::memcpy(buf, host.data(), host.size());
    buf[host.size()] = '\0';
    if (text.front() != '[') {
        in_addr v4{};
        if (inet_pton(AF_INET, buf, &v4) != 1) {
            return std::nullopt;
        }
        return ipv4(ntohl(v4.s_addr), static_cast<std::uint16_t>(p));
    }
    in6_addr v6{};
    if (inet_pton(AF_INET6, buf, &v6) != 1) {
        return std::nullopt;
    }
    std::uint8_t raw6[16];
    std::memcpy(raw6, &v6, 16);
    return ipv6(raw6, static_cast<std::uint16_t>(p));
}

std::string sock_addr::host_string() const {
    char buf[INET6_ADDRSTRLEN + 1] = {};
    switch (family()) {
    case AF_INET:
        inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&ss)->sin_addr, buf, sizeof buf);
        return buf;
    case AF_INET6:
        inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_addr, buf,
                  sizeof buf);
        return buf;
    case AF_UNIX: {
        const auto* un = reinterpret_cast<const sockaddr_un*>(&ss);
        const std::size_t n = len > offsetof(sockaddr_un, sun_path)
                                  ? static_cast<std::size_t>(len) - offsetof(sockaddr_un, sun_path)
                                  : 0;
        if (n == 0) {
            return "";
        }
        if (un->sun_path[0] == '\0') {
            std::string out("@");
            out.append(un->sun_path + 1, n - 1);
            return out;
        }
        return std::string(un->sun_path, strnlen(un->sun_path, n));
    }
    default:
        return "-";
    }
}

std::string sock_addr::to_string() const {
    // Appends rather than operator+ chains: GCC 12 at -O3 warns falsely on those (PR 105329).
    std::string out;
    switch (family()) {
    case AF_INET:
        out = host_string();
        out.append(":").append(std::to_string(port()));
        return out;
    case AF_INET6:
        out.append("[").append(host_string()).append("]:").append(std::to_string(port()));
        return out;
    case AF_UNIX:
        out.append("unix:").append(host_string());
        return out;
    default:
        return "-";
    }
}

bool sock_addr::operator==(const sock_addr& o) const noexcept {
    return len == o.len && std::memcmp(&ss, &o.ss, len) == 0;
}

}  // namespace xstack::xprt
