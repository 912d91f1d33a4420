// handshake/source_list.h - a list of trusted source networks (CIDR) for PROXY headers.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "xprt/result.h"
#include "xprt/sock_addr.h"

namespace xstack::handshake {

/// Networks whose connections may send a PROXY header: "10.0.0.0/8", "192.0.2.7", "::1",
/// "2001:db8::/32", "unix" (every UNIX-socket peer). An IPv4 entry also matches the
/// IPv4-mapped IPv6 form of its addresses.
class source_list {
public:
    /// Parses a comma- or space-separated list. Host bits beyond the prefix must be zero.
    static result<source_list> parse(std::string_view text);
    /// Adds one entry ("a.b.c.d[/n]", "ipv6[/n]" or "unix").
    result<void> add(std::string_view entry);
    [[nodiscard]] bool contains(const xprt::sock_addr& a) const noexcept;
    [[nodiscard]] bool empty() const noexcept { return nets_.empty() && !unix_; }
    [[nodiscard]] std::size_t size() const noexcept { return nets_.size() + (unix_ ? 1 : 0); }

private:
    struct net {
        std::array<std::uint8_t, 16> addr{};  ///< IPv4 stored as ::ffff:a.b.c.d
        std::uint8_t prefix = 0;              ///< over the 128-bit form
    };
    std::vector<net> nets_;
    bool unix_ = false;
};

}  // namespace xstack::handshake
