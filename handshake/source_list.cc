// handshake/source_list.cc
#include "handshake/source_list.h"

#include <charconv>
#include <cstring>
#include <string>

#include <arpa/inet.h>

namespace xstack::handshake {

namespace {

// IPv4 addresses are compared in their IPv4-mapped IPv6 form, so one list serves both.
std::array<std::uint8_t, 16> mapped(const std::uint8_t* v4) noexcept {
    std::array<std::uint8_t, 16> a{};
    a[10] = 0xff;
    a[11] = 0xff;
    std::memcpy(a.data() + 12, v4, 4);
    return a;
}

bool to_128(const xprt::sock_addr& s, std::array<std::uint8_t, 16>& out) noexcept {
    if (s.family() == AF_INET) {
        const auto* in = reinterpret_cast<const sockaddr_in*>(&s.ss);
        out = mapped(reinterpret_cast<const std::uint8_t*>(&in->sin_addr));
        return true;
    }
    if (s.family() == AF_INET6) {
        const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&s.ss);
        std::memcpy(out.data(), &in6->sin6_addr, 16);
        return true;
    }
    return false;
}

bool prefix_match(const std::array<std::uint8_t, 16>& a, const std::array<std::uint8_t, 16>& b,
                  unsigned bits) noexcept {
    const unsigned full = bits / 8;
    if (std::memcmp(a.data(), b.data(), full) != 0) {
        return false;
    }
    const unsigned rest = bits % 8;
    if (rest == 0) {
        return true;
    }
    const auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
    return (a[full] & mask) == (b[full] & mask);
}

}  // namespace

result<source_list> source_list::parse(std::string_view text) {
    source_list l;
    while (!text.empty()) {
        const auto sep = text.find_first_of(", \t");
        const std::string_view item = text.substr(0, sep);
        text = sep == std::string_view::npos ? std::string_view{} : text.substr(sep + 1);
        if (item.empty()) {
            continue;
        }
        if (auto r = l.add(item); !r) {
            return r.error();
        }
    }
    return l;
}

result<void> source_list::add(std::string_view entry) {
    if (entry == "unix") {
        unix_ = true;
        return {};
    }
    const auto slash = entry.find('/');
    const std::string host(entry.substr(0, slash));
    net n;
    unsigned max_bits = 128;
    unsigned offset = 0;
    in_addr v4{};
    in6_addr v6{};
    if (inet_pton(AF_INET, host.c_str(), &v4) == 1) {
        n.addr = mapped(reinterpret_cast<const std::uint8_t*>(&v4));
        max_bits = 32;
        offset = 96;
    } else if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
        std::memcpy(n.addr.data(), &v6, 16);
    } else {
        return error_info{"trusted source: not an IPv4 or IPv6 address"};
    }
    unsigned bits = max_bits;
    if (slash != std::string_view::npos) {
        const std::string_view p = entry.substr(slash + 1);
        const auto r = std::from_chars(p.data(), p.data() + p.size(), bits);
        if (p.empty() || r.ec != std::errc() || r.ptr != p.data() + p.size() || bits > max_bits) {
            return error_info{"trusted source: bad prefix length"};
        }
    }
    n.prefix = static_cast<std::uint8_t>(bits + offset);
    // Host bits must be zero: "10.1.2.3/8" is more likely a typo than an intent.
    std::array<std::uint8_t, 16> masked = n.addr;
    for (unsigned i = n.prefix; i < 128; ++i) {
        masked[i / 8] = static_cast<std::uint8_t>(masked[i / 8] & ~(0x80u >> (i % 8)));
    }
    if (masked != n.addr) {
        return error_info{"trusted source: address has bits set beyond the prefix"};
    }
    nets_.push_back(n);
    return {};
}

bool source_list::contains(const xprt::sock_addr& a) const noexcept {
    if (a.family() == AF_UNIX) {
        return unix_;
    }
    std::array<std::uint8_t, 16> v{};
    if (!to_128(a, v)) {
        return false;
    }
    for (const net& n : nets_) {
        if (prefix_match(v, n.addr, n.prefix)) {
            return true;
        }
    }
    return false;
}

}  // namespace xstack::handshake
