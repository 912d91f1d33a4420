// xprt/sock_addr.h - a socket address (IPv4, IPv6 or UNIX) with text conversions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

namespace xstack::xprt {

/// A socket address. Empty (family AF_UNSPEC) until set.
struct sock_addr {
    sockaddr_storage ss{};
    socklen_t len = 0;

    [[nodiscard]] bool empty() const noexcept { return len == 0; }
    [[nodiscard]] int family() const noexcept { return len == 0 ? AF_UNSPEC : ss.ss_family; }
    [[nodiscard]] const sockaddr* sa() const noexcept {
        return reinterpret_cast<const sockaddr*>(&ss);
    }
    [[nodiscard]] sockaddr* sa() noexcept { return reinterpret_cast<sockaddr*>(&ss); }
    /// Port in host order (0 for UNIX or empty).
    [[nodiscard]] std::uint16_t port() const noexcept;
    void set_port(std::uint16_t p) noexcept;

    static sock_addr ipv4(std::uint32_t host_order_addr, std::uint16_t port) noexcept;
    static sock_addr ipv6(const std::uint8_t (&addr)[16], std::uint16_t port) noexcept;
    /// A UNIX socket path; a leading '@' makes an abstract-namespace address.
    static std::optional<sock_addr> unix_path(std::string_view path) noexcept;

    /// Numeric forms only: "1.2.3.4:80", "[::1]:443", "unix:/path" or "unix:@abstract".
    /// Names are resolved by raw::resolve (a syscall-level concern).
    static std::optional<sock_addr> parse(std::string_view text) noexcept;

    /// "1.2.3.4:80", "[::1]:443", "unix:/path", "-" when empty.
    [[nodiscard]] std::string to_string() const;
    /// Address without port: "1.2.3.4", "::1", "/path".
    [[nodiscard]] std::string host_string() const;

    bool operator==(const sock_addr& o) const noexcept;
};

/// Splits "HOST:PORT" / "[V6]:PORT" into host and port text; false when malformed.
bool split_host_port(std::string_view text, std::string_view& host,
                     std::string_view& port) noexcept;

}  // namespace xstack::xprt
