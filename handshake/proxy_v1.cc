// handshake/proxy_v1.cc
//
// One left-to-right pass over the bytes present. Every field is judged as soon as it is seen:
// a field cut by the end of the input must still be a prefix of a valid field (else the line
// is rejected right there), a field ended by its terminator must be valid as a whole. The
// prefix and whole-line paths share this code, which is what keeps them in agreement.
#include "handshake/proxy_v1.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <string_view>

#include <netinet/in.h>

#include "handshake/ip_text_internal.h"

namespace xstack::handshake {

namespace {

using detail::text_check;

constexpr std::string_view v1_signature = "PROXY ";
constexpr std::size_t unknown_rest_start = 13;  // strlen("PROXY UNKNOWN")
// Shortest complete lines per protocol, for the need_more lower bound.
constexpr std::size_t min_tcp4_line = 32;  // "PROXY TCP4 0.0.0.0 0.0.0.0 0 0\r\n"
constexpr std::size_t min_tcp6_line = 22;  // "PROXY TCP6 :: :: 0 0\r\n"

struct field {
    std::string_view text;
    std::size_t end = 0;      // index of the terminator (or of the end of the scanned text)
    bool terminated = false;  // a ' ', '\r' or '\n' follows the text
    char term = 0;
};

// The characters at `pos` up to a space, CR or LF. At most `cap` characters are scanned:
// callers pass one more than the longest valid field, so a longer run of characters is judged
// (and rejected) on its first `cap` characters instead of being scanned to the end.
field scan_field(const char* s, std::size_t n, std::size_t pos, std::size_t cap) noexcept {
    const std::size_t limit = std::min(n, pos + cap);
    std::size_t end = pos;
    while (end < limit && s[end] != ' ' && s[end] != '\r' && s[end] != '\n') {
        ++end;
    }
    field f;
    f.text = std::string_view(s + pos, end - pos);
    f.end = end;
    f.terminated = end < limit;
    f.term = f.terminated ? s[end] : '\0';
    return f;
}

bool is_prefix_of(std::string_view p, std::string_view word) noexcept {
    return p.size() <= word.size() && word.substr(0, p.size()) == p;
}

std::size_t lower_bound_needed(std::size_t min_line, std::size_t have) noexcept {
    return have < min_line ? min_line - have : 1;
}

// "PROXY UNKNOWN" then either CRLF or a space and anything up to CRLF. `i` is the index of the
// byte after "UNKNOWN".
void parse_unknown_rest(const char* s, std::size_t n, std::size_t i,
                        parse_result<proxy_header>& r) noexcept {
    for (; i < n; ++i) {
        const char c = s[i];
        if (c == '\n') {
            r.fail(xprt::conn_err::prx_bad_hdr);  // LF without CR
            return;
        }
        if (c == '\r') {
            // The length check below ran on the byte before: a CR here leaves room for the LF.
            if (i + 1 == n) {
                r.more(1);
                return;
            }
            if (s[i + 1] != '\n') {
                r.fail(xprt::conn_err::prx_bad_hdr);  // CR without LF
                return;
            }
            r.done(i + 2);
            return;
        }
        if (i + 3 > proxy_v1_max_length) {
            // Any other byte at index 105 or later leaves no room for CRLF within 107 bytes.
            r.fail(xprt::conn_err::prx_line_too_long);
            return;
        }
    }
    r.more(lower_bound_needed(proxy_v1_min_length, n));
}

void put(char* line, std::size_t& n, std::string_view s) noexcept {
    std::memcpy(line + n, s.data(), s.size());
    n += s.size();
}

void put_port(char* line, std::size_t& n, std::uint16_t port) noexcept {
    const auto res = std::to_chars(line + n, line + n + 5, port);
    n = static_cast<std::size_t>(res.ptr - line);
}

}  // namespace

parse_result<proxy_header> parse_proxy_v1(std::span<const std::byte> in) noexcept {
    parse_result<proxy_header> r;
    const char* s = reinterpret_cast<const char*>(in.data());
    const std::size_t n = in.size();

    const std::size_t sig = std::min(n, v1_signature.size());
    if (sig != 0 && std::memcmp(s, v1_signature.data(), sig) != 0) {
        r.fail(xprt::conn_err::prx_not_hdr);
        return r;
    }
    if (n < v1_signature.size()) {
        r.more(proxy_v1_min_length - n);
        return r;
    }

    // Protocol: "TCP4", "TCP6" or "UNKNOWN".
    const field proto = scan_field(s, n, v1_signature.size(), 8);
    if (!proto.terminated) {
        if (is_prefix_of(proto.text, "TCP4") || is_prefix_of(proto.text, "TCP6") ||
            is_prefix_of(proto.text, "UNKNOWN")) {
            r.more(lower_bound_needed(proxy_v1_min_length, n));
        } else {
            r.fail(xprt::conn_err::prx_bad_proto);
        }
        return r;
    }
    if (proto.text.empty()) {
        r.fail(xprt::conn_err::prx_bad_hdr);  // "PROXY  ..." or "PROXY \r\n"
        return r;
    }
    r.value.version = 1;
    r.value.command = proxy_command::proxy;
    if (proto.text == "UNKNOWN") {
        r.value.family = proxy_family::unspec;
        parse_unknown_rest(s, n, unknown_rest_start, r);
        return r;
    }
    bool v4;
    if (proto.text == "TCP4") {
        v4 = true;
    } else if (proto.text == "TCP6") {
        v4 = false;
    } else {
        r.fail(xprt::conn_err::prx_bad_proto);
        return r;
    }
    if (proto.term != ' ') {
        r.fail(xprt::conn_err::prx_bad_hdr);  // "PROXY TCP4\r\n": the fields are missing
        return r;
    }
    r.value.family = v4 ? proxy_family::tcp4 : proxy_family::tcp6;
    const std::size_t min_line = v4 ? min_tcp4_line : min_tcp6_line;
    const std::size_t addr_cap = (v4 ? detail::ipv4_text_max : detail::ipv6_text_max) + 1;

    // src SP dst SP sport SP dport CR LF
    std::size_t pos = proto.end + 1;
    std::uint8_t ip4[2][4] = {};
    std::uint8_t ip6[2][16] = {};
    std::uint16_t ports[2] = {};
    for (int idx = 0; idx < 4; ++idx) {
        const bool is_addr = idx < 2;
        const field f = scan_field(s, n, pos, is_addr ? addr_cap : 6);
        if (f.terminated && f.text.empty()) {
            r.fail(xprt::conn_err::prx_bad_hdr);  // a separator where a field should start
            return r;
        }
        text_check c;
        if (is_addr) {
            const auto k = static_cast<std::size_t>(idx);
            c = v4 ? detail::check_ipv4_text(f.text, f.terminated, ip4[k])
                   : detail::check_ipv6_text(f.text, f.terminated, ip6[k]);
        } else {
            c = detail::check_port_text(f.text, f.terminated, ports[idx - 2]);
        }
        if (c == text_check::bad) {
            r.fail(xprt::conn_err::prx_bad_addr);
            return r;
        }
        if (c == text_check::partial) {
            r.more(lower_bound_needed(min_line, n));
            return r;
        }
        if (f.term != (idx < 3 ? ' ' : '\r')) {
            r.fail(xprt::conn_err::prx_bad_hdr);  // missing/extra field, space before CRLF, LF
            return r;
        }
        pos = f.end + 1;
    }
    if (pos == n) {
        r.more(1);
        return r;
    }
    if (s[pos] != '\n') {
        r.fail(xprt::conn_err::prx_bad_hdr);  // CR without LF
        return r;
    }
    if (v4) {
        r.value.src = proxy_addr::ipv4(ip4[0], ports[0]);
        r.value.dst = proxy_addr::ipv4(ip4[1], ports[1]);
    } else {
        r.value.src = proxy_addr::ipv6(ip6[0], ports[0]);
        r.value.dst = proxy_addr::ipv6(ip6[1], ports[1]);
    }
    r.done(pos + 1);
    return r;
}

std::size_t build_proxy_v1(const xprt::sock_addr& src, const xprt::sock_addr& dst,
                           std::span<std::byte> out) noexcept {
    char line[proxy_v1_max_length + 1];
    std::size_t n = 0;
    const int fs = src.family();
    const int fd = dst.family();
    const bool ip_s = fs == AF_INET || fs == AF_INET6;
    const bool ip_d = fd == AF_INET || fd == AF_INET6;
    if (fs == AF_INET && fd == AF_INET) {
        put(line, n, "PROXY TCP4 ");
        for (const xprt::sock_addr* a : {&src, &dst}) {
            std::uint8_t b[4];
            detail::ipv4_bytes(*a, b);
            char text[detail::ipv4_text_max + 1];
            put(line, n, std::string_view(text, detail::format_ipv4(b, text)));
            put(line, n, " ");
        }
    } else if (ip_s && ip_d) {
        put(line, n, "PROXY TCP6 ");
        for (const xprt::sock_addr* a : {&src, &dst}) {
            std::uint8_t b[16];
            detail::ipv6_bytes(*a, b);
            char text[detail::ipv6_text_max + 1];
            put(line, n, std::string_view(text, detail::format_ipv6(b, text)));
            put(line, n, " ");
        }
    } else {
        put(line, n, "PROXY UNKNOWN\r\n");
    }
    if (ip_s && ip_d) {
        put_port(line, n, src.port());
        put(line, n, " ");
        put_port(line, n, dst.port());
        put(line, n, "\r\n");
    }
    if (out.size() < n) {
        return 0;
    }
    std::memcpy(out.data(), line, n);
    return n;
}

}  // namespace xstack::handshake
