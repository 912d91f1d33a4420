// handshake/ip_text.cc - strict IP text for PROXY v1.
//
// Canonical IPv6 prefixes
//   A PROXY v1 parser must say "need more" for any prefix of a valid line and fail as soon as
//   the prefix cannot become valid. For IPv4 and ports a left-to-right scan decides that. For
//   canonical IPv6 text it is less obvious ("1:0:0:0:" is viable: "1:0:0:0::" is canonical),
//   so we use the fact that the *shape* of a canonical text depends only on which of the eight
//   16-bit groups are zero: for each of the 256 zero masks we derive the template inet_ntop
//   would print (':' and '0' literal, 'h' a non-zero group of 1-4 lower-case hex digits, 'H'
//   the same but not "ffff", "ffff" literal, 'D' a dotted quad whose 16-bit halves must be
//   zero or non-zero as the mask says) and accept a prefix when it is a prefix of some
//   template's language. This runs only while a field is incomplete, so its cost (at most 256
//   short matches) is off the common path where the whole line is already there.
#include <array>
#include <cstring>

#include <netinet/in.h>

#include "handshake/ip_text_internal.h"

namespace xstack::handshake::detail {

namespace {

bool is_digit(char c) noexcept {
    return c >= '0' && c <= '9';
}
bool is_lower_hex(char c) noexcept {
    return is_digit(c) || (c >= 'a' && c <= 'f');
}

int hex_value(char c) noexcept {
    if (is_digit(c)) {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

// The zero-group run inet_ntop compresses: the longest run of >= 2 zero groups, the first one
// on a tie; base = -1 when there is none.
struct zero_run {
    int base = -1;
    int len = 0;
};

template <class IsZero>
zero_run best_zero_run(IsZero is_zero) noexcept {
    zero_run best;
    zero_run cur;
    for (int i = 0; i < 8; ++i) {
        if (is_zero(i)) {
            if (cur.base < 0) {
                cur = {i, 1};
            } else {
                ++cur.len;
            }
        } else if (cur.base >= 0) {
            if (cur.len > best.len) {
                best = cur;
            }
            cur = {};
        }
    }
    if (cur.base >= 0 && cur.len > best.len) {
        best = cur;
    }
    if (best.len < 2) {
        best = {};
    }
    return best;
}

// Mixed notation, as inet_ntop decides it: the first 96 bits zero (IPv4-compatible, the run
// is then exactly groups 0-5 since group 6 is non-zero), or 80 zero bits then ffff (mapped).
bool mixed_tail(const zero_run& r, bool group5_is_ffff) noexcept {
    return r.base == 0 && (r.len == 6 || (r.len == 5 && group5_is_ffff));
}

// Prefix match of `s` against a dotted quad whose halves (octets 0-1 and 2-3) must be
// non-zero when nz[k], zero otherwise. An octet's zero-ness is final from its first digit
// ("0" cannot grow: a leading zero is invalid), which lets partial input be judged.
bool match_dotted_prefix(std::string_view s, const std::array<bool, 2>& nz) noexcept {
    std::array<int, 4> typed{};  // -1 unknown, 0 zero, 1 non-zero
    typed.fill(-1);
    std::size_t pos = 0;
    auto halves_ok = [&]() {
        for (std::size_t k = 0; k < 2; ++k) {
            const int a = typed[2 * k];
            const int b = typed[2 * k + 1];
            if (nz[k]) {
                if (a == 0 && b == 0) {
                    return false;
                }
            } else if (a == 1 || b == 1) {
                return false;
            }
        }
        return true;
    };
    for (std::size_t o = 0; o < 4; ++o) {
        if (pos == s.size()) {
            return halves_ok();
        }
        if (o > 0) {
            if (s[pos] != '.') {
                return false;
            }
            if (++pos == s.size()) {
                return halves_ok();
            }
        }
        const std::size_t start = pos;
        int val = 0;
        while (pos < s.size() && is_digit(s[pos])) {
            if (pos > start && s[start] == '0') {
                return false;
            }
            val = val * 10 + (s[pos] - '0');
            if (val > 255) {
                return false;
            }
            ++pos;
        }
        if (pos == start) {
            return false;
        }
        typed[o] = val == 0 ? 0 : 1;
    }
    return pos == s.size() && halves_ok();
}

// Prefix match of `s` against one template (see the file comment for the alphabet).
bool match_template_prefix(std::string_view s, std::string_view t,
                           const std::array<bool, 2>& dotted_nz) noexcept {
    std::size_t i = 0;
    for (const char item : t) {
        if (i == s.size()) {
            return true;
        }
        switch (item) {
        case 'h':
        case 'H': {
            std::size_t j = i;
            while (j < s.size() && j - i < 4 && is_lower_hex(s[j])) {
                ++j;
            }
            if (j == i || s[i] == '0') {
                return false;
            }
            if (item == 'H' && s.substr(i, j - i) == "ffff") {
                return false;
            }
            i = j;
            break;
        }
        case 'D':
            return match_dotted_prefix(s.substr(i), dotted_nz);
        default:  // ':', '0', 'f' match themselves
            if (s[i] != item) {
                return false;
            }
            ++i;
            break;
        }
    }
    return i == s.size();
}

// The template inet_ntop follows for a zero mask (bit i set = group i non-zero). `mapped`
// selects the ::ffff:a.b.c.d form for the masks where group 5 may be ffff.
std::size_t make_template(unsigned mask, bool mapped, char (&t)[24]) noexcept {
    auto nz = [mask](int i) { return (mask >> static_cast<unsigned>(i) & 1u) != 0; };
    const zero_run r = best_zero_run([&](int i) { return !nz(i); });
    std::size_t n = 0;
    for (int i = 0; i < 8; ++i) {
        if (r.base >= 0 && i >= r.base && i < r.base + r.len) {
            if (i == r.base) {
                t[n++] = ':';
            }
            continue;
        }
        if (i != 0) {
            t[n++] = ':';
        }
        if (i == 6 && mixed_tail(r, mapped)) {
            t[n++] = 'D';
            return n;
        }
        if (i == 5 && mapped) {
            for (const char c : {'f', 'f', 'f', 'f'}) {
                t[n++] = c;
            }
        } else if (!nz(i)) {
            t[n++] = '0';
        } else {
            // A group 5 that is not ffff when groups 0-4 are zero: inet_ntop would print the
            // mapped form for ffff, so the hex form excludes it.
            t[n++] = (i == 5 && r.base == 0 && r.len == 5) ? 'H' : 'h';
        }
    }
    if (r.base >= 0 && r.base + r.len == 8) {
        t[n++] = ':';
    }
    return n;
}

}  // namespace

text_check check_ipv4_text(std::string_view s, bool complete, std::uint8_t (&out)[4]) noexcept {
    int octet = 0;
    int digits = 0;
    int val = 0;
    for (const char c : s) {
        if (is_digit(c)) {
            if (digits == 1 && val == 0) {
                return text_check::bad;  // leading zero
            }
            val = val * 10 + (c - '0');
            if (val > 255) {
                return text_check::bad;
            }
            ++digits;
        } else if (c == '.') {
            if (digits == 0 || octet == 3) {
                return text_check::bad;
            }
            out[octet++] = static_cast<std::uint8_t>(val);
            digits = 0;
            val = 0;
        } else {
            return text_check::bad;
        }
    }
    if (!complete) {
        return text_check::partial;
    }
    if (octet != 3 || digits == 0) {
        return text_check::bad;
    }
    out[3] = static_cast<std::uint8_t>(val);
    return text_check::ok;
}

text_check check_port_text(std::string_view s, bool complete, std::uint16_t& out) noexcept {
    std::uint32_t val = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        if (!is_digit(c) || (i == 1 && s[0] == '0')) {
            return text_check::bad;
        }
        val = val * 10 + static_cast<std::uint32_t>(c - '0');
        if (val > 65535) {
            return text_check::bad;
        }
    }
    if (!complete) {
        return text_check::partial;
    }
    if (s.empty()) {
        return text_check::bad;
    }
    out = static_cast<std::uint16_t>(val);
    return text_check::ok;
}

bool parse_ipv6_any(std::string_view s, std::uint8_t (&out)[16]) noexcept {
    std::array<std::uint16_t, 8> words{};
    int n = 0;
    int gap = -1;  // index in `words` where "::" stands
    std::size_t i = 0;
    if (s.size() >= 2 && s[0] == ':' && s[1] == ':') {
        gap = 0;
        i = 2;
    } else if (!s.empty() && s[0] == ':') {
        return false;
    }
    while (i < s.size()) {
        const std::size_t start = i;
        unsigned val = 0;
        while (i < s.size() && i - start < 5 && hex_value(s[i]) >= 0) {
            val = (val << 4) | static_cast<unsigned>(hex_value(s[i]));
            ++i;
        }
        if (i < s.size() && s[i] == '.') {
            // Dotted-quad tail: the last 32 bits.
            std::uint8_t v4[4];
            if (n > 6 || check_ipv4_text(s.substr(start), true, v4) != text_check::ok) {
                return false;
            }
            words[static_cast<std::size_t>(n++)] = static_cast<std::uint16_t>(v4[0] << 8 | v4[1]);
            words[static_cast<std::size_t>(n++)] = static_cast<std::uint16_t>(v4[2] << 8 | v4[3]);
            break;
        }
        if (i == start || i - start > 4 || n == 8) {
            return false;
        }
        words[static_cast<std::size_t>(n++)] = static_cast<std::uint16_t>(val);
        if (i == s.size()) {
            break;
        }
        if (s[i] != ':') {
            return false;
        }
        if (++i == s.size()) {
            return false;  // a single trailing ':'
        }
        if (s[i] == ':') {
            if (gap >= 0) {
                return false;  // a second "::"
            }
            gap = n;
            ++i;
        }
    }
    if (gap < 0 ? n != 8 : n > 7) {
        return false;
    }
    std::array<std::uint16_t, 8> full{};
    const auto used = static_cast<std::size_t>(n);
    if (gap < 0) {
        full = words;
    } else {
        // Groups before "::" stay in front, the ones after it move to the end.
        const auto g = static_cast<std::size_t>(gap);
        const std::size_t tail = used - g;
        for (std::size_t k = 0; k < g; ++k) {
            full[k] = words[k];
        }
        for (std::size_t k = 0; k < tail; ++k) {
            full[8 - tail + k] = words[g + k];
        }
    }
    for (std::size_t k = 0; k < 8; ++k) {
        out[2 * k] = static_cast<std::uint8_t>(full[k] >> 8);
        out[2 * k + 1] = static_cast<std::uint8_t>(full[k] & 0xFF);
    }
    return true;
}

std::size_t format_ipv4(const std::uint8_t (&a)[4], char (&out)[ipv4_text_max + 1]) noexcept {
    std::size_t n = 0;
    for (int k = 0; k < 4; ++k) {
        if (k > 0) {
            out[n++] = '.';
        }
        const unsigned v = a[k];
        if (v >= 100) {
            out[n++] = static_cast<char>('0' + v / 100);
        }
        if (v >= 10) {
            out[n++] = static_cast<char>('0' + v / 10 % 10);
        }
        out[n++] = static_cast<char>('0' + v % 10);
    }
    out[n] = '\0';
    return n;
}

std::size_t format_ipv6(const std::uint8_t (&a)[16], char (&out)[ipv6_text_max + 1]) noexcept {
    std::array<std::uint16_t, 8> w{};
    for (std::size_t k = 0; k < 8; ++k) {
        w[k] = static_cast<std::uint16_t>(a[2 * k] << 8 | a[2 * k + 1]);
    }
    const zero_run r = best_zero_run([&](int i) { return w[static_cast<std::size_t>(i)] == 0; });
    static constexpr char hex[] = "0123456789abcdef";
    std::size_t n = 0;
    for (int i = 0; i < 8; ++i) {
        if (r.base >= 0 && i >= r.base && i < r.base + r.len) {
            if (i == r.base) {
                out[n++] = ':';
            }
            continue;
        }
        if (i != 0) {
            out[n++] = ':';
        }
        if (i == 6 && mixed_tail(r, w[5] == 0xFFFF)) {
            char v4[ipv4_text_max + 1];
            const std::uint8_t tail[4] = {a[12], a[13], a[14], a[15]};
            const std::size_t len = format_ipv4(tail, v4);
            std::memcpy(out + n, v4, len);
            n += len;
            out[n] = '\0';
            return n;
        }
        const unsigned v = w[static_cast<std::size_t>(i)];
        bool started = false;
        for (int shift = 12; shift >= 0; shift -= 4) {
            const unsigned d = v >> static_cast<unsigned>(shift) & 0xFu;
            if (d != 0 || started || shift == 0) {
                out[n++] = hex[d];
                started = true;
            }
        }
    }
    if (r.base >= 0 && r.base + r.len == 8) {
        out[n++] = ':';
    }
    out[n] = '\0';
    return n;
}

bool ipv6_canonical_prefix(std::string_view s) noexcept {
    if (s.size() > ipv6_text_max) {
        return false;
    }
    for (const char c : s) {
        if (!is_lower_hex(c) && c != ':' && c != '.') {
            return false;
        }
    }
    for (unsigned mask = 0; mask < 256; ++mask) {
        const std::array<bool, 2> dotted_nz = {(mask >> 6 & 1u) != 0, (mask >> 7 & 1u) != 0};
        char t[24];
        std::size_t n = make_template(mask, false, t);
        if (match_template_prefix(s, std::string_view(t, n), dotted_nz)) {
            return true;
        }
        // Groups 0-4 zero and group 5 non-zero: group 5 may be ffff (mapped form).
        if ((mask & 0x3Fu) == 0x20u) {
            n = make_template(mask, true, t);
            if (match_template_prefix(s, std::string_view(t, n), dotted_nz)) {
                return true;
            }
        }
    }
    return false;
}

text_check check_ipv6_text(std::string_view s, bool complete, std::uint8_t (&out)[16]) noexcept {
    if (!complete) {
        return ipv6_canonical_prefix(s) ? text_check::partial : text_check::bad;
    }
    if (s.size() > ipv6_text_max || !parse_ipv6_any(s, out)) {
        return text_check::bad;
    }
    char canon[ipv6_text_max + 1];
    const std::size_t n = format_ipv6(out, canon);
    return std::string_view(canon, n) == s ? text_check::ok : text_check::bad;
}

void ipv4_bytes(const xprt::sock_addr& a, std::uint8_t (&out)[4]) noexcept {
    std::memcpy(out, &reinterpret_cast<const sockaddr_in*>(&a.ss)->sin_addr, 4);
}

void ipv6_bytes(const xprt::sock_addr& a, std::uint8_t (&out)[16]) noexcept {
    if (a.family() == AF_INET6) {
        std::memcpy(out, &reinterpret_cast<const sockaddr_in6*>(&a.ss)->sin6_addr, 16);
        return;
    }
    std::memset(out, 0, 10);
    out[10] = 0xFF;
    out[11] = 0xFF;
    std::uint8_t v4[4];
    ipv4_bytes(a, v4);
    std::memcpy(out + 12, v4, 4);
}

}  // namespace xstack::handshake::detail
