// xprt/conn_flags.cc
#include "xprt/conn_flags.h"

#include <array>
#include <charconv>
#include <cstdio>

namespace xstack::xprt {

namespace {
struct flag_desc {
    conn_flag f;
    std::string_view name;
    std::string_view doc;
};
constexpr std::array table = {
#define XS_X(e, bit, name, doc) flag_desc{conn_flag::e, name, doc},
    XS_CONN_FLAGS(XS_X)
#undef XS_X
};
}  // namespace

std::string_view to_string(conn_flag f) noexcept {
    for (const auto& d : table) {
        if (d.f == f) {
            return d.name;
        }
    }
    return "?";
}

std::string_view describe(conn_flag f) noexcept {
    for (const auto& d : table) {
        if (d.f == f) {
            return d.doc;
        }
    }
    return "";
}

std::string to_string(conn_flags f) {
    if (f.empty()) {
        return "0";
    }
    std::string out;
    for (const auto& d : table) {
        if (f.has(d.f)) {
            if (!out.empty()) {
                out += '|';
            }
            out += d.name;
        }
    }
    const auto rest = (f & ~conn_mask::all).bits();
    if (rest != 0) {
        char hex[16];
        std::snprintf(hex, sizeof hex, "0x%x", static_cast<unsigned>(rest));
        if (!out.empty()) {
            out += '|';
        }
        out += hex;
    }
    return out;
}

bool conn_flags_from_string(std::string_view s, conn_flags& out) {
    conn_flags acc;
    if (s == "0") {
        out = acc;
        return true;
    }
    // One term per '|'-separated field, the last one included: "", "A|" and "A||B" contain an
    // empty term, which is neither a name nor a number (to_string never prints one).
    for (bool last = false; !last;) {
        const auto bar = s.find('|');
        const std::string_view term = s.substr(0, bar);
        last = bar == std::string_view::npos;
        s = last ? std::string_view{} : s.substr(bar + 1);
        bool found = false;
        for (const auto& d : table) {
            if (d.name == term) {
                acc.set(d.f);
                found = true;
                break;
            }
        }
        if (!found) {
            std::uint32_t v = 0;
            int base = 10;
            std::string_view digits = term;
            if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) {
                digits.remove_prefix(2);
                base = 16;
            }
            const auto r = std::from_chars(digits.data(), digits.data() + digits.size(), v, base);
            if (digits.empty() || r.ec != std::errc() || r.ptr != digits.data() + digits.size()) {
                return false;
            }
            acc |= conn_flags::from_bits(v);
        }
    }
    out = acc;
    return true;
}

}  // namespace xstack::xprt
