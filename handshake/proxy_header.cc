// handshake/proxy_header.cc
#include "handshake/proxy_header.h"

#include <cstring>

namespace xstack::handshake {

namespace {

std::uint16_t load_be16(const std::byte* p) noexcept {
    return static_cast<std::uint16_t>((std::to_integer<unsigned>(p[0]) << 8) |
                                      std::to_integer<unsigned>(p[1]));
}

}  // namespace

std::string_view to_string(proxy_command c) noexcept {
    switch (c) {
    case proxy_command::local:
        return "LOCAL";
    case proxy_command::proxy:
        return "PROXY";
    }
    return "INVALID";
}

std::string_view to_string(proxy_family f) noexcept {
    switch (f) {
    case proxy_family::unspec:
        return "UNSPEC";
    case proxy_family::tcp4:
        return "TCP4";
    case proxy_family::udp4:
        return "UDP4";
    case proxy_family::tcp6:
        return "TCP6";
    case proxy_family::udp6:
        return "UDP6";
    case proxy_family::unix_stream:
        return "UNIX_STREAM";
    case proxy_family::unix_dgram:
        return "UNIX_DGRAM";
    }
    return "INVALID";
}

bool is_valid_family(std::uint8_t fam) noexcept {
    switch (fam) {
    case 0x00:
    case 0x11:
    case 0x12:
    case 0x21:
    case 0x22:
    case 0x31:
    case 0x32:
        return true;
    default:
        return false;
    }
}

std::size_t address_block_size(proxy_family f) noexcept {
    switch (f) {
    case proxy_family::tcp4:
    case proxy_family::udp4:
        return 12;  // src4 dst4 sport dport
    case proxy_family::tcp6:
    case proxy_family::udp6:
        return 36;  // src16 dst16 sport dport
    case proxy_family::unix_stream:
    case proxy_family::unix_dgram:
        return 216;  // 2 x 108-byte paths
    case proxy_family::unspec:
        return 0;
    }
    return 0;
}

proxy_addr proxy_addr::ipv4(const std::uint8_t (&a)[4], std::uint16_t port) noexcept {
    proxy_addr r;
    r.kind = addr_kind::ipv4;
    r.port = port;
    std::memcpy(r.ip.data(), a, 4);
    return r;
}

proxy_addr proxy_addr::ipv6(const std::uint8_t (&a)[16], std::uint16_t port) noexcept {
    proxy_addr r;
    r.kind = addr_kind::ipv6;
    r.port = port;
    std::memcpy(r.ip.data(), a, 16);
    return r;
}

std::string_view proxy_addr::path_text() const noexcept {
    if (kind != addr_kind::unix_path || path.empty()) {
        return {};
    }
    const char* p = reinterpret_cast<const char*>(path.data());
    const std::size_t start = p[0] == '\0' ? 1 : 0;
    std::size_t end = start;
    while (end < path.size() && p[end] != '\0') {
        ++end;
    }
    return {p + start, end - start};
}

bool proxy_addr::operator==(const proxy_addr& o) const noexcept {
    return kind == o.kind && port == o.port && ip == o.ip && path.size() == o.path.size() &&
           (path.empty() || std::memcmp(path.data(), o.path.data(), path.size()) == 0);
}

xprt::sock_addr to_sock_addr(const proxy_addr& a) noexcept {
    switch (a.kind) {
    case addr_kind::ipv4: {
        const std::uint32_t v = (std::uint32_t{a.ip[0]} << 24) | (std::uint32_t{a.ip[1]} << 16) |
                                (std::uint32_t{a.ip[2]} << 8) | std::uint32_t{a.ip[3]};
        return xprt::sock_addr::ipv4(v, a.port);
    }
    case addr_kind::ipv6: {
        std::uint8_t raw[16];
        std::memcpy(raw, a.ip.data(), 16);
        return xprt::sock_addr::ipv6(raw, a.port);
    }
    case addr_kind::unix_path: {
        // sock_addr::unix_path marks abstract names with a leading '@'. A path that does not
        // fit a sockaddr_un with its terminator yields an empty address.
        char buf[110];
        const std::string_view name = a.path_text();
        const bool abstract = !a.path.empty() && a.path[0] == std::byte{0};
        if (name.size() + 1 > sizeof buf - 1) {
            return {};
        }
        std::size_t n = 0;
        if (abstract) {
            buf[n++] = '@';
        }
        std::memcpy(buf + n, name.data(), name.size());
        n += name.size();
        if (n == 0) {
            return {};
        }
        return xprt::sock_addr::unix_path(std::string_view(buf, n)).value_or(xprt::sock_addr{});
    }
    case addr_kind::none:
        break;
    }
    return {};
}

std::string_view to_string(tlv_type t) noexcept {
    switch (t) {
    case tlv_type::alpn:
        return "ALPN";
    case tlv_type::authority:
        return "AUTHORITY";
    case tlv_type::crc32c:
        return "CRC32C";
    case tlv_type::noop:
        return "NOOP";
    case tlv_type::unique_id:
        return "UNIQUE_ID";
    case tlv_type::ssl:
        return "SSL";
    case tlv_type::ssl_version:
        return "SSL_VERSION";
    case tlv_type::ssl_cn:
        return "SSL_CN";
    case tlv_type::ssl_cipher:
        return "SSL_CIPHER";
    case tlv_type::ssl_sig_alg:
        return "SSL_SIG_ALG";
    case tlv_type::ssl_key_alg:
        return "SSL_KEY_ALG";
    case tlv_type::ssl_group:
        return "SSL_GROUP";
    case tlv_type::ssl_sig_scheme:
        return "SSL_SIG_SCHEME";
    case tlv_type::ssl_client_cert:
        return "SSL_CLIENT_CERT";
    case tlv_type::netns:
        return "NETNS";
    case tlv_type::aws:
        return "AWS";
    }
    return "";
}

// ---- tlv_list ---------------------------------------------------------------------------------

tlv_list::iterator::iterator(const std::byte* p, const std::byte* end, int filter) noexcept
    : p_(p), end_(end), filter_(filter) {
    settle();
}

void tlv_list::iterator::settle() noexcept {
    while (p_ != end_) {
        const auto left = static_cast<std::size_t>(end_ - p_);
        if (left < 3 || std::size_t{load_be16(p_ + 1)} > left - 3) {
            p_ = end_;  // a record that does not fit ends the walk
            return;
        }
        if (filter_ < 0 || std::to_integer<int>(p_[0]) == filter_) {
            return;
        }
        p_ += 3 + load_be16(p_ + 1);
    }
}

tlv tlv_list::iterator::operator*() const noexcept {
    return tlv{static_cast<tlv_type>(std::to_integer<std::uint8_t>(p_[0])),
               std::span<const std::byte>(p_ + 3, load_be16(p_ + 1))};
}

tlv_list::iterator& tlv_list::iterator::operator++() noexcept {
    p_ += 3 + load_be16(p_ + 1);
    settle();
    return *this;
}

tlv_list::iterator tlv_list::begin() const noexcept {
    return {bytes_.data(), bytes_.data() + bytes_.size(), -1};
}

tlv_list::iterator tlv_list::end() const noexcept {
    const std::byte* e = bytes_.data() + bytes_.size();
    return {e, e, -1};
}

std::size_t tlv_list::size() const noexcept {
    std::size_t n = 0;
    for (auto it = begin(); it != end(); ++it) {
        ++n;
    }
    return n;
}

std::optional<tlv> tlv_list::find(tlv_type t) const noexcept {
    const auto r = all(t);
    if (r.begin() == r.end()) {
        return std::nullopt;
    }
    return *r.begin();
}

tlv_list::typed_range tlv_list::all(tlv_type t) const noexcept {
    const std::byte* e = bytes_.data() + bytes_.size();
    const int f = static_cast<int>(t);
    return {iterator(bytes_.data(), e, f), iterator(e, e, f)};
}

std::size_t tlv_list::count(tlv_type t) const noexcept {
    std::size_t n = 0;
    for ([[maybe_unused]] const tlv v : all(t)) {
        ++n;
    }
    return n;
}

// ---- SSL and AWS ------------------------------------------------------------------------------

std::optional<ssl_tlv> decode_ssl_tlv(std::span<const std::byte> value) noexcept {
    if (value.size() < 5) {
        return std::nullopt;
    }
    const auto sub = value.subspan(5);
    // Sub-TLVs must tile the rest exactly, as top-level TLVs tile the header.
    std::size_t off = 0;
    while (off < sub.size()) {
        if (sub.size() - off < 3) {
            return std::nullopt;
        }
        const std::size_t len = load_be16(sub.data() + off + 1);
        if (len > sub.size() - off - 3) {
            return std::nullopt;
        }
        off += 3 + len;
    }
    ssl_tlv s;
    s.client = std::to_integer<std::uint8_t>(value[0]);
    s.verify = (std::uint32_t{std::to_integer<std::uint8_t>(value[1])} << 24) |
               (std::uint32_t{std::to_integer<std::uint8_t>(value[2])} << 16) |
               (std::uint32_t{std::to_integer<std::uint8_t>(value[3])} << 8) |
               std::uint32_t{std::to_integer<std::uint8_t>(value[4])};
    s.sub_tlvs = tlv_list(sub);
    return s;
}

std::optional<std::string_view> ssl_tlv::text_of(tlv_type t) const noexcept {
    const auto v = sub_tlvs.find(t);
    if (!v) {
        return std::nullopt;
    }
    return v->text();
}

std::optional<std::string_view> ssl_tlv::version() const noexcept {
    return text_of(tlv_type::ssl_version);
}
std::optional<std::string_view> ssl_tlv::cn() const noexcept {
    return text_of(tlv_type::ssl_cn);
}
std::optional<std::string_view> ssl_tlv::cipher() const noexcept {
    return text_of(tlv_type::ssl_cipher);
}
std::optional<std::string_view> ssl_tlv::sig_alg() const noexcept {
    return text_of(tlv_type::ssl_sig_alg);
}
std::optional<std::string_view> ssl_tlv::key_alg() const noexcept {
    return text_of(tlv_type::ssl_key_alg);
}
std::optional<std::string_view> ssl_tlv::group() const noexcept {
    return text_of(tlv_type::ssl_group);
}
std::optional<std::string_view> ssl_tlv::sig_scheme() const noexcept {
    return text_of(tlv_type::ssl_sig_scheme);
}
std::optional<std::span<const std::byte>> ssl_tlv::client_cert() const noexcept {
    const auto v = sub_tlvs.find(tlv_type::ssl_client_cert);
    if (!v) {
        return std::nullopt;
    }
    return v->value;
}

std::optional<std::string_view> decode_aws_vpce_id(std::span<const std::byte> value) noexcept {
    if (value.empty() || std::to_integer<std::uint8_t>(value[0]) != aws_subtype_vpce_id) {
        return std::nullopt;
    }
    return std::string_view(reinterpret_cast<const char*>(value.data()) + 1, value.size() - 1);
}

// ---- proxy_header accessors -------------------------------------------------------------------

std::optional<std::span<const std::byte>> proxy_header::alpn() const noexcept {
    const auto t = tlvs.find(tlv_type::alpn);
    if (!t) {
        return std::nullopt;
    }
    return t->value;
}

std::optional<std::string_view> proxy_header::authority() const noexcept {
    const auto t = tlvs.find(tlv_type::authority);
    if (!t) {
        return std::nullopt;
    }
    return t->text();
}

std::optional<std::string_view> proxy_header::unique_id() const noexcept {
    const auto t = tlvs.find(tlv_type::unique_id);
    if (!t) {
        return std::nullopt;
    }
    return t->text();
}

std::optional<std::string_view> proxy_header::netns() const noexcept {
    const auto t = tlvs.find(tlv_type::netns);
    if (!t) {
        return std::nullopt;
    }
    return t->text();
}

std::optional<std::uint32_t> proxy_header::crc32c() const noexcept {
    const auto t = tlvs.find(tlv_type::crc32c);
    if (!t || t->value.size() != 4) {
        return std::nullopt;
    }
    const auto& v = t->value;
    return (std::uint32_t{std::to_integer<std::uint8_t>(v[0])} << 24) |
           (std::uint32_t{std::to_integer<std::uint8_t>(v[1])} << 16) |
           (std::uint32_t{std::to_integer<std::uint8_t>(v[2])} << 8) |
           std::uint32_t{std::to_integer<std::uint8_t>(v[3])};
}

std::optional<ssl_tlv> proxy_header::ssl() const noexcept {
    const auto t = tlvs.find(tlv_type::ssl);
    if (!t) {
        return std::nullopt;
    }
    return decode_ssl_tlv(t->value);
}

std::optional<std::string_view> proxy_header::aws_vpce_id() const noexcept {
    for (const tlv t : tlvs.all(tlv_type::aws)) {
        if (auto id = decode_aws_vpce_id(t.value)) {
            return id;
        }
    }
    return std::nullopt;
}

}  // namespace xstack::handshake
