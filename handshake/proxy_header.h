// handshake/proxy_header.h - what a PROXY header (v1 or v2) says, as plain views.
//
// These types are produced by the parsers (proxy_v1.h, proxy_v2.h, proxy.h, cip.h) and never
// allocate: addresses are stored inline, TLVs and UNIX paths are views into the parsed input.
// To keep a header after its bytes are gone, copy the TLV bytes (`tlv_list::bytes()`) and
// rebuild a tlv_list over the copy.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <span>
#include <string_view>

#include "xprt/sock_addr.h"

namespace xstack::handshake {

/// The v2 command (low nibble of byte 13). v1 headers are always `proxy`.
enum class proxy_command : std::uint8_t {
    local = 0x0,  ///< made by the proxy itself (health check): use the real endpoints
    proxy = 0x1,  ///< relayed: the header's addresses describe the original connection
};

/// Address family and transport, valued as the v2 `fam` byte. v1 `TCP4`, `TCP6` and
/// `UNKNOWN` map to tcp4, tcp6 and unspec.
enum class proxy_family : std::uint8_t {
    unspec = 0x00,       ///< no address (v2 UNSPEC, v1 UNKNOWN)
    tcp4 = 0x11,         ///< INET + STREAM
    udp4 = 0x12,         ///< INET + DGRAM
    tcp6 = 0x21,         ///< INET6 + STREAM
    udp6 = 0x22,         ///< INET6 + DGRAM
    unix_stream = 0x31,  ///< UNIX + STREAM
    unix_dgram = 0x32,   ///< UNIX + DGRAM
};

/// "PROXY" or "LOCAL".
[[nodiscard]] std::string_view to_string(proxy_command c) noexcept;
/// "UNSPEC", "TCP4", "UDP4", "TCP6", "UDP6", "UNIX_STREAM", "UNIX_DGRAM" ("INVALID" otherwise).
/// A v1 UNKNOWN header is reported as unspec; print "UNKNOWN" for version 1 if you need the
/// v1 spelling.
[[nodiscard]] std::string_view to_string(proxy_family f) noexcept;
/// True for the seven combinations the spec defines (every other `fam` byte is rejected).
[[nodiscard]] bool is_valid_family(std::uint8_t fam) noexcept;
/// Size of the v2 address block for a family: 12 (INET), 36 (INET6), 216 (UNIX), 0 (UNSPEC).
[[nodiscard]] std::size_t address_block_size(proxy_family f) noexcept;

enum class addr_kind : std::uint8_t {
    none,       ///< not present (LOCAL, UNSPEC, v1 UNKNOWN)
    ipv4,       ///< ip[0..3] and port
    ipv6,       ///< ip[0..15] and port
    unix_path,  ///< path (108 raw bytes as received)
};

/// An address announced by a header.
///
/// Why not xprt::sock_addr: a sockaddr_storage is 128 bytes and cannot hold a 108-byte UNIX
/// path without a terminator; this struct is ~40 bytes, has no padding surprises, and converts
/// with to_sock_addr() where a socket address is needed.
struct proxy_addr {
    addr_kind kind = addr_kind::none;
    std::uint16_t port = 0;             ///< host order; 0 for unix_path and none
    std::array<std::uint8_t, 16> ip{};  ///< network order; IPv4 uses ip[0..3], the rest is 0
    std::span<const std::byte> path{};  ///< unix_path: the 108-byte field, a view into the input

    [[nodiscard]] static proxy_addr ipv4(const std::uint8_t (&a)[4], std::uint16_t port) noexcept;
    [[nodiscard]] static proxy_addr ipv6(const std::uint8_t (&a)[16], std::uint16_t port) noexcept;
    /// The UNIX path up to its first NUL; for an abstract address (first byte NUL), the name
    /// after that NUL up to the next NUL. Empty for other kinds.
    [[nodiscard]] std::string_view path_text() const noexcept;

    /// Same kind, port, IP bytes and path bytes (by content).
    bool operator==(const proxy_addr& o) const noexcept;
};

/// The address as a socket address: AF_INET, AF_INET6 (a v1 TCP6 "::ffff:a.b.c.d" stays a
/// v4-mapped AF_INET6, as received), AF_UNIX (path_text(); '@' prefix for abstract names), or
/// an empty sock_addr for `none` and unusable paths.
[[nodiscard]] xprt::sock_addr to_sock_addr(const proxy_addr& a) noexcept;

/// PROXY v2 TLV types (spec section 2.2). Any other byte value may appear in a tlv too.
enum class tlv_type : std::uint8_t {
    alpn = 0x01,             ///< negotiated application protocol, opaque bytes
    authority = 0x02,        ///< host name (usually the TLS SNI), UTF-8
    crc32c = 0x03,           ///< 4-byte CRC32C of the header, big-endian
    noop = 0x04,             ///< padding, no meaning
    unique_id = 0x05,        ///< opaque connection id, at most 128 bytes
    ssl = 0x20,              ///< client (1) + verify (4, BE) + sub-TLVs
    ssl_version = 0x21,      ///< sub-TLV: TLS version text, e.g. "TLSv1.3"
    ssl_cn = 0x22,           ///< sub-TLV: client certificate subject CN
    ssl_cipher = 0x23,       ///< sub-TLV: cipher name
    ssl_sig_alg = 0x24,      ///< sub-TLV: certificate signature algorithm
    ssl_key_alg = 0x25,      ///< sub-TLV: certificate key algorithm
    ssl_group = 0x26,        ///< sub-TLV: key-exchange group
    ssl_sig_scheme = 0x27,   ///< sub-TLV: signature scheme
    ssl_client_cert = 0x28,  ///< sub-TLV: client certificate, DER
    netns = 0x30,            ///< network namespace name, US-ASCII
    aws = 0xEA,              ///< AWS: subtype byte, 0x01 = VPC endpoint id
};

/// "ALPN", "AUTHORITY", "CRC32C", "NOOP", "UNIQUE_ID", "SSL", "SSL_VERSION", "SSL_CN",
/// "SSL_CIPHER", "SSL_SIG_ALG", "SSL_KEY_ALG", "SSL_GROUP", "SSL_SIG_SCHEME",
/// "SSL_CLIENT_CERT", "NETNS", "AWS"; "" for types without a name.
[[nodiscard]] std::string_view to_string(tlv_type t) noexcept;

/// One TLV as received.
struct tlv {
    tlv_type type{};
    std::span<const std::byte> value{};

    /// The value as characters (no validation: ALPN, AUTHORITY, NETNS, ... are opaque bytes).
    [[nodiscard]] std::string_view text() const noexcept {
        return {reinterpret_cast<const char*>(value.data()), value.size()};
    }
};

/// A sequence of TLV records (`type(1) length(2, BE) value`) viewed in place: the TLVs of a
/// header, or the sub-TLVs of an SSL TLV. Arrival order, duplicates kept.
///
/// Iteration never reads outside `bytes()`: it stops at the first record that does not fit.
/// Over a list produced by a parser every record fits (the parser checked).
class tlv_list {
public:
    class iterator {
    public:
        using iterator_category = std::forward_iterator_tag;
        using value_type = tlv;
        using difference_type = std::ptrdiff_t;
        using pointer = void;
        using reference = tlv;

        iterator() noexcept = default;
        [[nodiscard]] tlv operator*() const noexcept;
        iterator& operator++() noexcept;
        iterator operator++(int) noexcept {
            iterator old = *this;
            ++*this;
            return old;
        }
        bool operator==(const iterator& o) const noexcept { return p_ == o.p_; }

    private:
        friend class tlv_list;
        iterator(const std::byte* p, const std::byte* end, int filter) noexcept;
        void settle() noexcept;  // moves to end if the record at p_ doesn't fit or is filtered

        const std::byte* p_ = nullptr;
        const std::byte* end_ = nullptr;
        int filter_ = -1;  // -1: every type; else only records of this type
    };

    /// Records of one type, in arrival order.
    class typed_range {
    public:
        [[nodiscard]] iterator begin() const noexcept { return begin_; }
        [[nodiscard]] iterator end() const noexcept { return end_; }

    private:
        friend class tlv_list;
        typed_range(iterator b, iterator e) noexcept : begin_(b), end_(e) {}
        iterator begin_;
        iterator end_;
    };

    constexpr tlv_list() noexcept = default;
    /// A list over `bytes`; records that do not fit are not visited.
    explicit tlv_list(std::span<const std::byte> bytes) noexcept : bytes_(bytes) {}

    [[nodiscard]] iterator begin() const noexcept;
    [[nodiscard]] iterator end() const noexcept;
    [[nodiscard]] bool empty() const noexcept { return begin() == end(); }
    /// Number of records (walks the list).
    [[nodiscard]] std::size_t size() const noexcept;
    /// The first record of type `t`.
    [[nodiscard]] std::optional<tlv> find(tlv_type t) const noexcept;
    /// Every record of type `t`, in arrival order.
    [[nodiscard]] typed_range all(tlv_type t) const noexcept;
    /// Number of records of type `t`.
    [[nodiscard]] std::size_t count(tlv_type t) const noexcept;
    /// The raw bytes the list views.
    [[nodiscard]] std::span<const std::byte> bytes() const noexcept { return bytes_; }

private:
    std::span<const std::byte> bytes_{};
};

/// Bits of the SSL TLV's `client` byte.
enum ssl_client_bits : std::uint8_t {
    ssl_client_ssl = 0x01,        ///< the client connected over TLS
    ssl_client_cert_conn = 0x02,  ///< a client certificate was presented on this connection
    ssl_client_cert_sess = 0x04,  ///< a client certificate was presented in the session
};

/// A decoded SSL TLV (type 0x20).
struct ssl_tlv {
    std::uint8_t client = 0;   ///< ssl_client_bits
    std::uint32_t verify = 0;  ///< 0 when the client certificate was presented and verified
    tlv_list sub_tlvs;         ///< sub-TLVs in arrival order

    /// The first sub-TLV of each type, as text (or bytes for the certificate).
    [[nodiscard]] std::optional<std::string_view> version() const noexcept;
    [[nodiscard]] std::optional<std::string_view> cn() const noexcept;
    [[nodiscard]] std::optional<std::string_view> cipher() const noexcept;
    [[nodiscard]] std::optional<std::string_view> sig_alg() const noexcept;
    [[nodiscard]] std::optional<std::string_view> key_alg() const noexcept;
    [[nodiscard]] std::optional<std::string_view> group() const noexcept;
    [[nodiscard]] std::optional<std::string_view> sig_scheme() const noexcept;
    [[nodiscard]] std::optional<std::span<const std::byte>> client_cert() const noexcept;

private:
    [[nodiscard]] std::optional<std::string_view> text_of(tlv_type t) const noexcept;
};

/// Decodes an SSL TLV value: nullopt when it is shorter than 5 bytes or its sub-TLVs do not
/// end exactly at its end (the parser rejects such a header with prx_bad_ssl_tlv).
[[nodiscard]] std::optional<ssl_tlv> decode_ssl_tlv(std::span<const std::byte> value) noexcept;

/// AWS TLV (0xEA) subtype carrying the VPC endpoint id.
inline constexpr std::uint8_t aws_subtype_vpce_id = 0x01;
/// The VPC endpoint id ("vpce-...") of an AWS TLV value, or nullopt for another subtype or an
/// empty value. Not validated further: AWS documents it as US-ASCII.
[[nodiscard]] std::optional<std::string_view> decode_aws_vpce_id(
    std::span<const std::byte> value) noexcept;

/// A PROXY header as received (v1 or v2).
///
/// Which addresses to use
///   `src`/`dst` are filled whenever the header carries addresses: v1 TCP4/TCP6, v2 PROXY with
///   any family but UNSPEC. Only use_addresses() headers (PROXY over TCP4/TCP6) should replace
///   the connection's endpoints; for UDP and UNIX families the addresses are informative and
///   the connection keeps its real endpoints (spec: "unsupported families fall back to
///   UNSPEC"). LOCAL headers never report addresses, whatever their family.
struct proxy_header {
    std::uint8_t version = 0;  ///< 1 or 2
    proxy_command command = proxy_command::proxy;
    proxy_family family = proxy_family::unspec;
    /// v2: offset of the first TLV (16, or 16 + the address block; see proxy_v2.h for LOCAL).
    /// v1: 0.
    std::uint16_t tlv_offset = 0;
    proxy_addr src;
    proxy_addr dst;
    /// Every TLV received (v2 only), NOOP and CRC32C included, arrival order, duplicates kept.
    tlv_list tlvs;

    /// True for PROXY over TCP4 or TCP6: the connection's endpoints become src/dst.
    [[nodiscard]] bool use_addresses() const noexcept {
        return command == proxy_command::proxy &&
               (family == proxy_family::tcp4 || family == proxy_family::tcp6);
    }
    /// First TLV of each known type, decoded (nullopt when absent).
    [[nodiscard]] std::optional<std::span<const std::byte>> alpn() const noexcept;
    [[nodiscard]] std::optional<std::string_view> authority() const noexcept;
    [[nodiscard]] std::optional<std::string_view> unique_id() const noexcept;
    [[nodiscard]] std::optional<std::string_view> netns() const noexcept;
    /// The CRC32C value carried (already verified by the parser).
    [[nodiscard]] std::optional<std::uint32_t> crc32c() const noexcept;
    [[nodiscard]] std::optional<ssl_tlv> ssl() const noexcept;
    /// The VPC endpoint id of the first AWS TLV with that subtype.
    [[nodiscard]] std::optional<std::string_view> aws_vpce_id() const noexcept;
};

}  // namespace xstack::handshake
