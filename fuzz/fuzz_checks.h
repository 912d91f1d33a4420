// fuzz/fuzz_checks.h - invariants of the handshake parsers, shared by the fuzz drivers and by
// tests/handshake/corpus_replay_test.cc (so CI checks the same properties on the corpora).
//
// Each check_* function returns nullptr when every invariant holds, else a literal naming the
// broken one; the fuzz drivers abort on it, the replay test reports it.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <span>
#include <string>

#include "handshake/cip.h"
#include "handshake/proxy.h"
#include "handshake/socks4.h"

namespace xstack::fuzz {

namespace hs = xstack::handshake;

/// Options with every limit at the wire format's maximum.
inline hs::proxy_options wide_proxy_options() noexcept {
    hs::proxy_options o;
    o.max_header = hs::proxy_v2_max_length;
    o.max_tlv = 0xFFFF;
    o.max_authority = 0xFFFF;
    o.max_unique_id = 0xFFFF;
    return o;
}

/// The magic the CIP seeds use.
inline constexpr std::uint32_t cip_seed_magic = 0x1234ABCDu;

inline std::string hex_of(std::span<const std::byte> b) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string s;
    for (const std::byte x : b) {
        const auto v = std::to_integer<unsigned>(x);
        s += digits[v >> 4];
        s += digits[v & 15];
    }
    return s;
}

inline std::string describe(const hs::proxy_addr& a) {
    char buf[64];
    switch (a.kind) {
    case hs::addr_kind::none:
        return "-";
    case hs::addr_kind::ipv4:
        std::snprintf(buf, sizeof buf, "%u.%u.%u.%u:%u", a.ip[0], a.ip[1], a.ip[2], a.ip[3],
                      a.port);
        return buf;
    case hs::addr_kind::ipv6:
        return "[" + hex_of(std::as_bytes(std::span(a.ip))) + "]:" + std::to_string(a.port);
    case hs::addr_kind::unix_path:
        return "unix:" + hex_of(a.path);
    }
    return "?";
}

/// A stable, value-only summary of a result (no pointers), for comparisons and messages.
inline std::string describe(const hs::parse_result<hs::proxy_header>& r) {
    std::string s(hs::to_string(r.status));
    if (r.failed()) {
        return s + " " + std::string(xprt::to_string(r.error));
    }
    if (r.need_more()) {
        return s + " " + std::to_string(r.needed);
    }
    const hs::proxy_header& h = r.value;
    s += " len=" + std::to_string(r.length) + " v" + std::to_string(h.version) + " " +
         std::string(hs::to_string(h.command)) + " " + std::string(hs::to_string(h.family)) +
         " src=" + describe(h.src) + " dst=" + describe(h.dst) +
         " tlv_offset=" + std::to_string(h.tlv_offset) + " tlvs=";
    for (const hs::tlv t : h.tlvs) {
        s += std::to_string(static_cast<unsigned>(t.type)) + ":" + hex_of(t.value) + ",";
    }
    return s;
}

inline std::string describe(const hs::parse_result<hs::cip_header>& r) {
    std::string s(hs::to_string(r.status));
    if (r.failed()) {
        return s + " " + std::string(xprt::to_string(r.error));
    }
    if (r.need_more()) {
        return s + " " + std::to_string(r.needed);
    }
    return s + " len=" + std::to_string(r.length) +
           (r.value.framing == hs::cip_framing::legacy ? " legacy" : " standard") +
           " src=" + describe(r.value.src) + " dst=" + describe(r.value.dst);
}

inline std::string describe(const hs::parse_result<hs::socks4_reply>& r) {
    std::string s(hs::to_string(r.status));
    if (r.failed()) {
        return s + " " + std::string(xprt::to_string(r.error)) +
               " code=" + std::to_string(r.value.code);
    }
    if (r.need_more()) {
        return s + " " + std::to_string(r.needed);
    }
    return s + " len=" + std::to_string(r.length) + " code=" + std::to_string(r.value.code);
}

/// Calls `fn` on an exact-size heap copy of `in`, so that ASan reports any read beyond the
/// bytes a parser was given. Results hold views into their input: `fn` must extract what it
/// needs before returning.
template <class Fn>
auto with_copy(std::span<const std::byte> in, Fn&& fn) {
    std::unique_ptr<std::byte[]> copy(new std::byte[in.size() == 0 ? 1 : in.size()]);
    if (!in.empty()) {
        std::memcpy(copy.get(), in.data(), in.size());
    }
    return fn(std::span<const std::byte>(copy.get(), in.size()));
}

/// describe() of `parse` run on an exact-size copy of `in`.
template <class Parse>
std::string parse_copy(Parse&& parse, std::span<const std::byte> in) {
    return with_copy(in, [&](std::span<const std::byte> b) { return describe(parse(b)); });
}

/// Invariants every parser result must satisfy.
template <class T>
const char* check_shape(const hs::parse_result<T>& r, std::size_t input_size) {
    switch (r.status) {
    case hs::parse_status::complete:
        if (r.error != xprt::conn_err::none || r.length == 0 || r.length > input_size) {
            return "complete result with an error code or a bad length";
        }
        return nullptr;
    case hs::parse_status::need_more:
        if (r.error != xprt::conn_err::none || r.needed == 0) {
            return "need_more result with an error code or needed == 0";
        }
        return nullptr;
    case hs::parse_status::error:
        if (r.error == xprt::conn_err::none) {
            return "error without a code";
        }
        return nullptr;
    }
    return "unknown status";
}

/// Monotonicity: walking the prefixes of `in` (the first `max_walk` of them), results are
/// need_more until the first other result, and the whole input gives that same result.
template <class Parse>
const char* check_prefixes(Parse&& parse, std::span<const std::byte> in,
                           std::size_t max_walk = 512) {
    const std::size_t walk = std::min(in.size(), max_walk);
    std::string first_final;
    for (std::size_t k = 0; k <= walk && first_final.empty(); ++k) {
        const char* err = nullptr;
        with_copy(in.first(k), [&](std::span<const std::byte> b) {
            const auto r = parse(b);
            err = check_shape(r, k);
            if (!r.need_more()) {
                first_final = describe(r);
            }
            return 0;
        });
        if (err != nullptr) {
            return err;
        }
    }
    const std::string whole = parse_copy(parse, in);
    if (first_final.empty()) {
        if (walk == in.size() && whole.rfind("need_more", 0) != 0) {
            return "prefix walk and whole input differ";
        }
        return nullptr;
    }
    if (whole != first_final) {
        return "an error or completion on a prefix changed on the longer input";
    }
    return nullptr;
}

/// Feeds `in` in chunks whose sizes come from `cuts` (cycled; a 0 means 1), re-parsing the
/// accumulated bytes after each chunk and stopping at the first result that is not
/// need_more; the outcome must equal the whole input's.
template <class Parse>
const char* check_chunked(Parse&& parse, std::span<const std::byte> in,
                          std::span<const std::uint8_t> cuts) {
    const std::string whole = parse_copy(parse, in);
    std::size_t have = 0;
    std::size_t c = 0;
    std::string last;
    for (;;) {
        std::size_t step = cuts.empty() ? in.size() : cuts[c++ % cuts.size()];
        step = std::max<std::size_t>(step, 1);
        have = std::min(in.size(), have + step);
        last = parse_copy(parse, in.first(have));
        if (last.rfind("need_more", 0) != 0 || have == in.size()) {
            break;
        }
    }
    // Stopped at a final result (or ran out of input): the whole input must say the same.
    return last == whole ? nullptr : "chunked feed decided differently from the whole input";
}

inline const char* check_proxy_v1(std::span<const std::byte> in) {
    const auto r = hs::parse_proxy_v1(in);
    if (const char* e = check_shape(r, in.size())) {
        return e;
    }
    if (!in.empty() && in[0] == std::byte{'P'} && describe(hs::parse_proxy(in)) != describe(r)) {
        return "parse_proxy disagrees with parse_proxy_v1";
    }
    if (r.failed()) {
        const auto e = r.error;
        if (e != xprt::conn_err::prx_not_hdr && e != xprt::conn_err::prx_bad_proto &&
            e != xprt::conn_err::prx_bad_addr && e != xprt::conn_err::prx_bad_hdr &&
            e != xprt::conn_err::prx_line_too_long) {
            return "v1 error code outside the documented set";
        }
    }
    if (r.complete()) {
        if (r.length < hs::proxy_v1_min_length || r.length > hs::proxy_v1_max_length ||
            in[r.length - 2] != std::byte{'\r'} || in[r.length - 1] != std::byte{'\n'}) {
            return "complete v1 line with a bad length or not ending in CRLF";
        }
        const hs::proxy_header& h = r.value;
        if (h.family == hs::proxy_family::tcp4 || h.family == hs::proxy_family::tcp6) {
            // Strict parsing + canonical building: the line must rebuild byte for byte.
            std::byte out[hs::proxy_v1_max_length];
            const std::size_t n =
                hs::build_proxy_v1(hs::to_sock_addr(h.src), hs::to_sock_addr(h.dst), out);
            if (n != r.length || std::memcmp(out, in.data(), n) != 0) {
                return "accepted v1 line does not rebuild identically";
            }
        }
    }
    return check_prefixes([](auto b) { return hs::parse_proxy_v1(b); },
                          in.first(std::min<std::size_t>(in.size(), 2 * hs::proxy_v1_max_length)));
}

inline const char* check_proxy_v2_with(std::span<const std::byte> in,
                                       const hs::proxy_options& opt) {
    const auto r = hs::parse_proxy_v2(in, opt);
    if (const char* e = check_shape(r, in.size())) {
        return e;
    }
    if (!in.empty() && in[0] == std::byte{0x0D} &&
        describe(hs::parse_proxy(in, opt)) != describe(r)) {
        return "parse_proxy disagrees with parse_proxy_v2";
    }
    if (r.complete()) {
        const hs::proxy_header& h = r.value;
        if (r.length < hs::proxy_v2_fixed_length || r.length > opt.max_header ||
            h.tlv_offset < hs::proxy_v2_fixed_length || h.tlv_offset > r.length) {
            return "complete v2 header with an inconsistent length or TLV offset";
        }
        std::size_t covered = 0;
        for (const hs::tlv t : h.tlvs) {
            covered += 3 + t.value.size();
            if (t.value.size() > opt.max_tlv) {
                return "accepted a TLV over max_tlv";
            }
        }
        if (covered != r.length - h.tlv_offset) {
            return "accepted TLVs do not tile the header";
        }
        if (h.tlvs.find(hs::tlv_type::crc32c).has_value() != h.crc32c().has_value()) {
            return "CRC32C TLV present but not decodable";
        }
        if (h.tlvs.find(hs::tlv_type::ssl) && !h.ssl()) {
            return "accepted an SSL TLV that does not decode";
        }
        if (h.command == hs::proxy_command::local &&
            (h.src.kind != hs::addr_kind::none || h.dst.kind != hs::addr_kind::none)) {
            return "LOCAL header reported addresses";
        }
        (void)hs::to_sock_addr(h.src);
        (void)hs::to_sock_addr(h.dst);
        (void)h.aws_vpce_id();
        if (auto s = h.ssl()) {
            (void)s->version();
            (void)s->client_cert();
        }
        // Trailing bytes are not part of the header.
        if (parse_copy([&](auto b) { return hs::parse_proxy_v2(b, opt); }, in.first(r.length)) !=
            describe(r)) {
            return "v2 header parses differently without its trailing bytes";
        }
    }
    return check_prefixes([&](auto b) { return hs::parse_proxy_v2(b, opt); }, in);
}

inline const char* check_proxy_v2(std::span<const std::byte> in) {
    if (const char* e = check_proxy_v2_with(in, hs::proxy_options{})) {
        return e;
    }
    return check_proxy_v2_with(in, wide_proxy_options());
}

inline const char* check_cip_with(std::span<const std::byte> in, std::uint32_t magic) {
    hs::cip_options opt;
    opt.magic = magic;
    const auto r = hs::parse_cip(in, opt);
    if (const char* e = check_shape(r, in.size())) {
        return e;
    }
    if (r.complete() && (r.value.src.kind == hs::addr_kind::none ||
                         r.value.src.kind != r.value.dst.kind || r.length > opt.max_header)) {
        return "complete CIP header without consistent addresses";
    }
    return check_prefixes([&](auto b) { return hs::parse_cip(b, opt); }, in);
}

inline const char* check_cip(std::span<const std::byte> in) {
    if (const char* e = check_cip_with(in, cip_seed_magic)) {
        return e;
    }
    if (in.size() >= 4) {
        // The input's own first four bytes as the magic, to get past the magic check.
        std::uint32_t m = 0;
        for (std::size_t i = 0; i < 4; ++i) {
            m = m << 8 | std::to_integer<std::uint32_t>(in[i]);
        }
        return check_cip_with(in, m);
    }
    return nullptr;
}

inline const char* check_socks4_reply(std::span<const std::byte> in) {
    const auto r = hs::parse_socks4_reply(in);
    if (const char* e = check_shape(r, in.size())) {
        return e;
    }
    if (r.complete() && (r.length != hs::socks4_reply_size || !r.value.granted())) {
        return "complete SOCKS4 reply that is not an 8-byte grant";
    }
    if (r.failed() && r.error == xprt::conn_err::socks4_deny &&
        r.value.code == hs::socks4_granted) {
        return "SOCKS4 deny carrying the granted code";
    }
    return check_prefixes([](auto b) { return hs::parse_socks4_reply(b); }, in);
}

/// The chunking target's input layout: byte 0 selects the parser, byte 1 the number of chunk
/// sizes that follow (at most 16), then those sizes, then the bytes to parse.
inline const char* check_chunking(std::span<const std::byte> data) {
    if (data.size() < 2) {
        return nullptr;
    }
    const auto sel = std::to_integer<unsigned>(data[0]) % 5;
    const std::size_t ncuts =
        std::min<std::size_t>(std::to_integer<std::size_t>(data[1]) % 17, data.size() - 2);
    const auto* cut_ptr = reinterpret_cast<const std::uint8_t*>(data.data() + 2);
    const std::span<const std::uint8_t> cuts(cut_ptr, ncuts);
    const auto in = data.subspan(2 + ncuts);
    switch (sel) {
    case 0:
        return check_chunked([](auto b) { return hs::parse_proxy(b); }, in, cuts);
    case 1: {
        const hs::proxy_options wide = wide_proxy_options();
        return check_chunked([&](auto b) { return hs::parse_proxy(b, wide); }, in, cuts);
    }
    case 2: {
        hs::cip_options opt;
        opt.magic = cip_seed_magic;
        return check_chunked([&](auto b) { return hs::parse_cip(b, opt); }, in, cuts);
    }
    case 3:
        return check_chunked([](auto b) { return hs::parse_socks4_reply(b); }, in, cuts);
    default:
        return check_chunked([](auto b) { return hs::parse_proxy_v1(b); }, in, cuts);
    }
}

}  // namespace xstack::fuzz
