// handshake/proxy_v2.cc
#include "handshake/proxy_v2.h"

#include <algorithm>
#include <cstring>

#include <netinet/in.h>

#include "handshake/crc32c.h"
#include "handshake/ip_text_internal.h"

namespace xstack::handshake {

namespace {

using xprt::conn_err;

constexpr std::byte tlv_crc{0x03};

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

struct tlv_verdict {
    conn_err err = conn_err::none;
    bool structure_ok = false;  // check 6 passed (records tile the area, CRC TLV sane)
};

// Checks 6-8 of the header comment on the TLV area [off, hdr.size()) of a complete header.
tlv_verdict check_tlvs(std::span<const std::byte> hdr, std::size_t off,
                       const proxy_options& opt) noexcept {
    tlv_verdict v;
    const std::byte* p = hdr.data();
    const std::size_t total = hdr.size();

    // 6. Structure. Also finds the CRC value, which must be checked before the caps: on a
    // corrupted header the CRC mismatch is the accurate diagnosis.
    std::size_t crc_at = 0;  // offset of the CRC value; 0 = no CRC TLV (can't be at 0)
    for (std::size_t i = off; i < total;) {
        if (total - i < 3) {
            v.err = conn_err::prx_bad_tlv;
            return v;
        }
        const std::size_t len = load_be16(p + i + 1);
        if (len > total - i - 3) {
            v.err = conn_err::prx_bad_tlv;
            return v;
        }
        if (p[i] == tlv_crc) {
            if (len != 4) {
                v.err = conn_err::prx_bad_crc_len;
                return v;
            }
            if (crc_at != 0) {
                v.err = conn_err::prx_dup_crc;
                return v;
            }
            crc_at = i + 3;
        }
        i += 3 + len;
    }
    v.structure_ok = true;

    // 7. CRC32C over the whole header with the value read as zeros, without copying it.
    if (crc_at != 0) {
        static constexpr std::byte zeros[4] = {};
        std::uint32_t crc = crc32c_extend(0, hdr.first(crc_at));
        crc = crc32c_extend(crc, zeros);
        crc = crc32c_extend(crc, hdr.subspan(crc_at + 4));
        if (crc != load_be32(p + crc_at)) {
            v.err = conn_err::prx_bad_crc;
            return v;
        }
    }

    // 8. Caps and the SSL TLV's own structure.
    for (std::size_t i = off; i < total;) {
        const std::size_t len = load_be16(p + i + 1);
        if (len > opt.max_tlv) {
            v.err = conn_err::prx_tlv_too_big;
            return v;
        }
        switch (static_cast<tlv_type>(u8(p[i]))) {
        case tlv_type::authority:
            if (len > opt.max_authority) {
                v.err = conn_err::prx_authority_too_long;
                return v;
            }
            break;
        case tlv_type::unique_id:
            if (len > opt.max_unique_id) {
                v.err = conn_err::prx_unique_id_too_long;
                return v;
            }
            break;
        case tlv_type::ssl:
            if (!decode_ssl_tlv(hdr.subspan(i + 3, len))) {
                v.err = conn_err::prx_bad_ssl_tlv;
                return v;
            }
            break;
        default:
            break;
        }
        i += 3 + len;
    }
    return v;
}

void decode_addresses(const std::byte* p, proxy_family fam, proxy_header& h) noexcept {
    switch (fam) {
    case proxy_family::tcp4:
    case proxy_family::udp4: {
        std::uint8_t s[4];
        std::uint8_t d[4];
        std::memcpy(s, p + 16, 4);
        std::memcpy(d, p + 20, 4);
        h.src = proxy_addr::ipv4(s, load_be16(p + 24));
        h.dst = proxy_addr::ipv4(d, load_be16(p + 26));
        break;
    }
    case proxy_family::tcp6:
    case proxy_family::udp6: {
        std::uint8_t s[16];
        std::uint8_t d[16];
        std::memcpy(s, p + 16, 16);
        std::memcpy(d, p + 32, 16);
        h.src = proxy_addr::ipv6(s, load_be16(p + 48));
        h.dst = proxy_addr::ipv6(d, load_be16(p + 50));
        break;
    }
    case proxy_family::unix_stream:
    case proxy_family::unix_dgram:
        h.src.kind = addr_kind::unix_path;
        h.src.path = std::span<const std::byte>(p + 16, 108);
        h.dst.kind = addr_kind::unix_path;
        h.dst.path = std::span<const std::byte>(p + 124, 108);
        break;
    case proxy_family::unspec:
        break;
    }
}

// ---- builder ----------------------------------------------------------------------------------

struct layout {
    std::uint8_t ver_cmd = 0x20;  // version 2, LOCAL
    std::uint8_t fam = 0x00;
    std::size_t block = 0;
};

layout choose_layout(const proxy_v2_spec& spec) noexcept {
    layout l;
    if (spec.command != proxy_command::proxy) {
        return l;
    }
    const int fs = spec.src.family();
    const int fd = spec.dst.family();
    if (fs == AF_INET && fd == AF_INET) {
        return {0x21, 0x11, 12};
    }
    if ((fs == AF_INET || fs == AF_INET6) && (fd == AF_INET || fd == AF_INET6)) {
        return {0x21, 0x21, 36};
    }
    return l;  // unknown or non-IP addresses: LOCAL, as HAProxy does
}

// Adds a TLV of `len` value bytes to `total`; false when the value cannot be encoded.
bool add_tlv(std::size_t& total, std::size_t len) noexcept {
    if (len > 0xFFFF) {
        return false;
    }
    total += 3 + len;
    return true;
}

struct ssl_sub {
    tlv_type type;
    std::span<const std::byte> value;
};

std::span<const std::byte> as_bytes(std::string_view s) noexcept {
    return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

std::array<ssl_sub, 8> ssl_subs(const ssl_info& s) noexcept {
    return {{{tlv_type::ssl_version, as_bytes(s.version)},
             {tlv_type::ssl_cn, as_bytes(s.cn)},
             {tlv_type::ssl_cipher, as_bytes(s.cipher)},
             {tlv_type::ssl_sig_alg, as_bytes(s.sig_alg)},
             {tlv_type::ssl_key_alg, as_bytes(s.key_alg)},
             {tlv_type::ssl_group, as_bytes(s.group)},
             {tlv_type::ssl_sig_scheme, as_bytes(s.sig_scheme)},
             {tlv_type::ssl_client_cert, s.client_cert}}};
}

// Length of the SSL TLV value; 0 when a sub-TLV cannot be encoded (a valid value is >= 5).
std::size_t ssl_value_size(const ssl_info& s) noexcept {
    std::size_t n = 5;
    for (const ssl_sub& sub : ssl_subs(s)) {
        if (!sub.value.empty() && !add_tlv(n, sub.value.size())) {
            return 0;
        }
    }
    return n;
}

class writer {
public:
    explicit writer(std::byte* p) noexcept : p_(p) {}
    void u8(std::uint8_t v) noexcept { p_[n_++] = std::byte{v}; }
    void be16(std::size_t v) noexcept {
        u8(static_cast<std::uint8_t>(v >> 8 & 0xFF));
        u8(static_cast<std::uint8_t>(v & 0xFF));
    }
    void bytes(const void* src, std::size_t len) noexcept {
        if (len != 0) {
            std::memcpy(p_ + n_, src, len);
            n_ += len;
        }
    }
    void tlv(tlv_type t, std::span<const std::byte> v) noexcept {
        u8(static_cast<std::uint8_t>(t));
        be16(v.size());
        bytes(v.data(), v.size());
    }
    [[nodiscard]] std::size_t size() const noexcept { return n_; }

private:
    std::byte* p_;
    std::size_t n_ = 0;
};

}  // namespace

parse_result<proxy_header> parse_proxy_v2(std::span<const std::byte> in,
                                          const proxy_options& opt) noexcept {
    parse_result<proxy_header> r;
    const std::byte* p = in.data();
    const std::size_t n = in.size();

    const std::size_t sig = std::min(n, proxy_v2_signature.size());
    if (sig != 0 && std::memcmp(p, proxy_v2_signature.data(), sig) != 0) {
        r.fail(conn_err::prx_not_hdr);
        return r;
    }
    if (n < 13) {
        r.more(proxy_v2_fixed_length - n);
        return r;
    }
    const std::uint8_t ver_cmd = u8(p[12]);
    if (ver_cmd >> 4 != 2) {
        r.fail(conn_err::prx_bad_version);
        return r;
    }
    const auto cmd = static_cast<std::uint8_t>(ver_cmd & 0x0F);
    if (cmd > 1) {
        r.fail(conn_err::prx_bad_cmd);
        return r;
    }
    if (n < 14) {
        r.more(proxy_v2_fixed_length - n);
        return r;
    }
    if (!is_valid_family(u8(p[13]))) {
        r.fail(conn_err::prx_bad_proto);
        return r;
    }
    if (n < proxy_v2_fixed_length) {
        r.more(proxy_v2_fixed_length - n);
        return r;
    }
    const auto fam = static_cast<proxy_family>(u8(p[13]));
    const auto command = static_cast<proxy_command>(cmd);
    const std::size_t len = load_be16(p + 14);
    const std::size_t total = proxy_v2_fixed_length + len;
    if (total > opt.max_header) {
        r.fail(conn_err::prx_too_big);
        return r;
    }
    const std::size_t block = address_block_size(fam);
    if (command == proxy_command::proxy && len < block) {
        r.fail(conn_err::prx_bad_len);
        return r;
    }
    if (n < total) {
        r.more(total - n);
        return r;
    }

    const auto hdr = in.first(total);
    std::size_t off = proxy_v2_fixed_length;
    tlv_verdict v;
    if (command == proxy_command::proxy) {
        off += block;
        v = check_tlvs(hdr, off, opt);
    } else {
        // LOCAL: see the header comment for why two layouts are tried. Structure alone picks
        // the layout, so a corrupted AWS health check (CRC mismatch at byte 16) is rejected
        // rather than re-read from byte 28, where its zero padding would also tile.
        v = check_tlvs(hdr, off, opt);
        if (!v.structure_ok && block != 0 && len >= block) {
            const tlv_verdict after_block = check_tlvs(hdr, off + block, opt);
            if (after_block.structure_ok) {
                off += block;
                v = after_block;
            }
        }
    }
    if (v.err != conn_err::none) {
        r.fail(v.err);
        return r;
    }

    proxy_header& h = r.value;
    h.version = 2;
    h.command = command;
    h.family = fam;
    h.tlv_offset = static_cast<std::uint16_t>(off);
    if (command == proxy_command::proxy) {
        decode_addresses(p, fam, h);
    }
    h.tlvs = tlv_list(hdr.subspan(off));
    r.done(total);
    return r;
}

std::size_t proxy_v2_size(const proxy_v2_spec& spec) noexcept {
    std::size_t total = proxy_v2_fixed_length + choose_layout(spec).block;
    for (const tlv& t : spec.custom) {
        if (!add_tlv(total, t.value.size())) {
            return 0;
        }
    }
    if (spec.crc32c) {
        total += 3 + 4;
    }
    for (const std::size_t len : {spec.alpn.size(), spec.authority.size(), spec.unique_id.size()}) {
        if (len != 0 && !add_tlv(total, len)) {
            return 0;
        }
    }
    if (spec.ssl != nullptr) {
        const std::size_t ssl_len = ssl_value_size(*spec.ssl);
        if (ssl_len == 0 || !add_tlv(total, ssl_len)) {
            return 0;
        }
    }
    if (!spec.netns.empty() && !add_tlv(total, spec.netns.size())) {
        return 0;
    }
    return total > proxy_v2_max_length ? 0 : total;
}

std::size_t build_proxy_v2(const proxy_v2_spec& spec, std::span<std::byte> out) noexcept {
    const std::size_t total = proxy_v2_size(spec);
    if (total == 0 || out.size() < total) {
        return 0;
    }
    const layout l = choose_layout(spec);
    writer w(out.data());
    w.bytes(proxy_v2_signature.data(), proxy_v2_signature.size());
    w.u8(l.ver_cmd);
    w.u8(l.fam);
    w.be16(total - proxy_v2_fixed_length);
    if (l.fam == 0x11) {
        for (const xprt::sock_addr* a : {&spec.src, &spec.dst}) {
            std::uint8_t b[4];
            detail::ipv4_bytes(*a, b);
            w.bytes(b, 4);
        }
    } else if (l.fam == 0x21) {
        for (const xprt::sock_addr* a : {&spec.src, &spec.dst}) {
            std::uint8_t b[16];
            detail::ipv6_bytes(*a, b);
            w.bytes(b, 16);
        }
    }
    if (l.block != 0) {
        w.be16(spec.src.port());
        w.be16(spec.dst.port());
    }
    for (const tlv& t : spec.custom) {
        w.tlv(t.type, t.value);
    }
    std::size_t crc_at = 0;
    if (spec.crc32c) {
        static constexpr std::byte zeros[4] = {};
        crc_at = w.size() + 3;
        w.tlv(tlv_type::crc32c, zeros);
    }
    if (!spec.alpn.empty()) {
        w.tlv(tlv_type::alpn, spec.alpn);
    }
    if (!spec.authority.empty()) {
        w.tlv(tlv_type::authority, as_bytes(spec.authority));
    }
    if (!spec.unique_id.empty()) {
        w.tlv(tlv_type::unique_id, as_bytes(spec.unique_id));
    }
    if (spec.ssl != nullptr) {
        const ssl_info& s = *spec.ssl;
        w.u8(static_cast<std::uint8_t>(tlv_type::ssl));
        w.be16(ssl_value_size(s));
        w.u8(s.client);
        w.u8(static_cast<std::uint8_t>(s.verify >> 24));
        w.u8(static_cast<std::uint8_t>(s.verify >> 16 & 0xFF));
        w.u8(static_cast<std::uint8_t>(s.verify >> 8 & 0xFF));
        w.u8(static_cast<std::uint8_t>(s.verify & 0xFF));
        for (const ssl_sub& sub : ssl_subs(s)) {
            if (!sub.value.empty()) {
                w.tlv(sub.type, sub.value);
            }
        }
    }
    if (!spec.netns.empty()) {
        w.tlv(tlv_type::netns, as_bytes(spec.netns));
    }
    if (crc_at != 0) {
        // Last, over the finished header: the field still holds the zeros the spec requires.
        const std::uint32_t crc = crc32c(out.first(total));
        out[crc_at] = std::byte{static_cast<std::uint8_t>(crc >> 24)};
        out[crc_at + 1] = std::byte{static_cast<std::uint8_t>(crc >> 16 & 0xFF)};
        out[crc_at + 2] = std::byte{static_cast<std::uint8_t>(crc >> 8 & 0xFF)};
        out[crc_at + 3] = std::byte{static_cast<std::uint8_t>(crc & 0xFF)};
    }
    return w.size();
}

}  // namespace xstack::handshake
