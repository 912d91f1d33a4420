// tools/pp/pp.cc - xstack-pp: decode and encode PROXY / CIP headers (see pp.h, docs/pp.md).
#include "tools/pp/pp.h"

#include <array>
#include <charconv>
#include <cstring>
#include <fstream>
#include <iterator>
#include <utility>

#include <arpa/inet.h>

#include "handshake/cip.h"
#include "handshake/crc32c.h"
#include "handshake/proxy.h"
#include "handshake/proxy_header.h"
#include "handshake/proxy_v1.h"
#include "handshake/proxy_v2.h"
#include "xprt/conn_error.h"
#include "xprt/sock_addr.h"

namespace xstack::tools::pp {
namespace {

using handshake::addr_kind;
using handshake::proxy_addr;
using handshake::tlv;
using handshake::tlv_type;

constexpr std::string_view help =
    R"(xstack-pp - decode or encode PROXY protocol (v1/v2) and NetScaler CIP headers

Usage:
  xstack-pp decode [--hex] [--cip MAGIC] [FILE]
  xstack-pp encode --v1|--v2 [--local] [--src ADDR:PORT] [--dst ADDR:PORT]
                   [--alpn X] [--authority X] [--unique-id X] [--netns X]
                   [--tlv TYPE=HEX]... [--crc32c] [--hex]
  xstack-pp --help

decode
  Reads one header from FILE (or stdin when FILE is absent or "-") and prints one JSON object
  on one line. The version (1 or 2) is detected from the first byte, as the xstack receiver
  does, and the receiver's default limits apply (4096-byte header, 1024-byte TLV values).
  --hex         the input is hex text (either case; spaces, tabs and newlines are ignored)
  --cip MAGIC   decode a NetScaler Client IP header with this magic number (decimal or 0x hex)
  Output, valid header (exit 0):
    {"version": 2, "command": "PROXY", "family": "TCP4", "src": "192.0.2.1:12345",
     "dst": "198.51.100.2:443", "header_length": 33, "trailing": 0, "tlv_offset": 28,
     "tlvs": [{"type": 1, "name": "ALPN", "length": 2, "value_hex": "6832", "value": "h2"}]}
    family: TCP4 TCP6 UNKNOWN (v1) UNSPEC UDP4 UDP6 UNIX_STREAM UNIX_DGRAM; src/dst are absent
    when the header has no address (LOCAL, UNSPEC, UNKNOWN), "[v6]:port" for IPv6, the path
    for UNIX ("@name" for an abstract one); trailing = bytes after the header.
    TLV fields: type, name (null if unknown), length, value_hex, and when known: value (ALPN,
    AUTHORITY, UNIQUE_ID, NETNS, text SSL sub-TLVs), valid (CRC32C), client, verify and
    sub_tlvs (SSL), subtype and vpce_id (AWS 0xEA).
  Output, invalid header (exit 1):  {"error": "PRX_BAD_HDR", "message": "malformed PROXY header"}
  Output, incomplete (exit 3):      {"incomplete": true, "needed": 12}
    needed = bytes still missing (exact for v2 once 16 bytes are in, a lower bound otherwise)
  --cip output: {"framing": "legacy"|"standard", "src", "dst", "header_length", "trailing"}
  JSON strings: '"' and '\' are escaped, and bytes < 0x20, 0x7F and >= 0x80 are written as
  \u00XX (one code point per byte: read strings back as Latin-1 to get the exact bytes).

encode
  Writes one header to stdout: raw bytes, or lower-case hex and a newline with --hex.
  --v1 | --v2       the version (exactly one)
  --local           v2 only: a LOCAL header (no address block; --src/--dst optional, ignored)
  --src, --dst      ADDR:PORT with ADDR an IPv4 address or a bracketed IPv6 one ([::1]:443);
                    required unless --local. Mixed families give TCP6 with the IPv4 side
                    v4-mapped (::ffff:a.b.c.d), as the library's builders do.
  --alpn X, --authority X, --unique-id X, --netns X
                    v2 only: the TLV with text X (not written when X is empty)
  --tlv TYPE=HEX    v2 only, repeatable: a TLV of TYPE (0..255, decimal or 0x hex) with the
                    value HEX (may be empty); written first, in command-line order
  --crc32c          v2 only: add a CRC32C TLV
  --hex             write hex text instead of raw bytes
  Example: xstack-pp encode --v2 --src 192.0.2.1:12345 --dst 198.51.100.2:443 --alpn h2 \
             | xstack-pp decode

Exit codes: 0 ok, 1 invalid header, 2 usage error (or unreadable FILE, bad hex text),
3 incomplete header. See docs/pp.md for the full JSON schema.
)";

// ---- JSON output ----------------------------------------------------------------------------

// A write-only JSON builder for one line: ", " between members, ": " after keys.
class json_writer {
public:
    void begin_object() {
        before_value();
        out_.push_back('{');
        first_.push_back(true);
    }
    void end_object() {
        out_.push_back('}');
        first_.pop_back();
    }
    void begin_array() {
        before_value();
        out_.push_back('[');
        first_.push_back(true);
    }
    void end_array() {
        out_.push_back(']');
        first_.pop_back();
    }
    void key(std::string_view k) {
        separate();
        append_json_string(out_, k);
        out_.append(": ");
        after_key_ = true;
    }
    void string(std::string_view v) {
        before_value();
        append_json_string(out_, v);
    }
    void number(std::uint64_t v) {
        before_value();
        out_.append(std::to_string(v));
    }
    void boolean(bool v) {
        before_value();
        out_.append(v ? "true" : "false");
    }
    void null() {
        before_value();
        out_.append("null");
    }
    [[nodiscard]] std::string finish() {
        out_.push_back('\n');
        return std::move(out_);
    }

    // Members in one call, for the common cases.
    void member(std::string_view k, std::string_view v) {
        key(k);
        string(v);
    }
    void member(std::string_view k, std::uint64_t v) {
        key(k);
        number(v);
    }

private:
    void separate() {
        if (!first_.empty()) {
            if (!first_.back()) {
                out_.append(", ");
            }
            first_.back() = false;
        }
    }
    void before_value() {
        if (after_key_) {
            after_key_ = false;
            return;
        }
        separate();
    }

    std::string out_;
    std::vector<bool> first_;  // per open container: nothing written in it yet
    bool after_key_ = false;
};

std::string format_addr(const proxy_addr& a) {
    std::string out;
    char buf[INET6_ADDRSTRLEN + 1] = {};
    switch (a.kind) {
    case addr_kind::none:
        break;
    case addr_kind::ipv4:
        inet_ntop(AF_INET, a.ip.data(), buf, sizeof buf);
        out.append(buf).append(":").append(std::to_string(a.port));
        break;
    case addr_kind::ipv6:
        inet_ntop(AF_INET6, a.ip.data(), buf, sizeof buf);
        out.append("[").append(buf).append("]:").append(std::to_string(a.port));
        break;
    case addr_kind::unix_path:
        // path_text() drops an abstract name's leading NUL; mark it with '@' as sock_addr does.
        if (!a.path.empty() && a.path[0] == std::byte{0}) {
            out.push_back('@');
        }
        out.append(a.path_text());
        break;
    }
    return out;
}

void write_addresses(json_writer& w, const proxy_addr& src, const proxy_addr& dst) {
    if (src.kind != addr_kind::none) {
        w.member("src", format_addr(src));
    }
    if (dst.kind != addr_kind::none) {
        w.member("dst", format_addr(dst));
    }
}

// Names only where the spec defines the type: top-level types, or SSL sub-types (0x21-0x28
// mean nothing at the top level, and top-level types mean nothing inside SSL).
std::optional<std::string_view> tlv_name(std::uint8_t type, bool sub) {
    const bool is_sub = type >= 0x21 && type <= 0x28;
    const bool is_top =
        (type >= 0x01 && type <= 0x05) || type == 0x20 || type == 0x30 || type == 0xEA;
    if ((sub && !is_sub) || (!sub && !is_top)) {
        return std::nullopt;
    }
    return handshake::to_string(static_cast<tlv_type>(type));
}

std::uint32_t read_be32(std::span<const std::byte> b) {
    return std::uint32_t{std::to_integer<std::uint8_t>(b[0])} << 24 |
           std::uint32_t{std::to_integer<std::uint8_t>(b[1])} << 16 |
           std::uint32_t{std::to_integer<std::uint8_t>(b[2])} << 8 |
           std::uint32_t{std::to_integer<std::uint8_t>(b[3])};
}

// Recomputes the CRC32C of `header` with the 4-byte field at `value` taken as zero. The parser
// already rejected a wrong CRC (PRX_BAD_CRC): this is an independent check, not a second opinion
// the output depends on for acceptance.
bool crc_matches(std::span<const std::byte> header, std::span<const std::byte> value) {
    if (value.size() != 4 || value.data() < header.data() ||
        value.data() + 4 > header.data() + header.size()) {
        return false;
    }
    const auto at = static_cast<std::size_t>(value.data() - header.data());
    constexpr std::array<std::byte, 4> zero{};
    std::uint32_t crc = handshake::crc32c(header.first(at));
    crc = handshake::crc32c_extend(crc, zero);
    crc = handshake::crc32c_extend(crc, header.subspan(at + 4));
    return crc == read_be32(value);
}

void write_tlv_common(json_writer& w, const tlv& t, bool sub) {
    const auto type = static_cast<std::uint8_t>(t.type);
    w.member("type", type);
    w.key("name");
    if (const auto n = tlv_name(type, sub)) {
        w.string(*n);
    } else {
        w.null();
    }
    w.member("length", t.value.size());
    w.member("value_hex", to_hex(t.value));
}

void write_sub_tlv(json_writer& w, const tlv& t) {
    w.begin_object();
    write_tlv_common(w, t, true);
    if (t.type >= tlv_type::ssl_version && t.type <= tlv_type::ssl_sig_scheme) {
        w.member("value", t.text());
    }
    w.end_object();
}

void write_tlv(json_writer& w, const tlv& t, std::span<const std::byte> header) {
    w.begin_object();
    write_tlv_common(w, t, false);
    switch (t.type) {
    case tlv_type::alpn:
    case tlv_type::authority:
    case tlv_type::unique_id:
    case tlv_type::netns:
        w.member("value", t.text());
        break;
    case tlv_type::crc32c:
        w.key("valid");
        w.boolean(crc_matches(header, t.value));
        break;
    case tlv_type::ssl:
        if (const auto ssl = handshake::decode_ssl_tlv(t.value)) {
            w.member("client", ssl->client);
            w.member("verify", ssl->verify);
            w.key("sub_tlvs");
            w.begin_array();
            for (const tlv sub : ssl->sub_tlvs) {
                write_sub_tlv(w, sub);
            }
            w.end_array();
        }
        break;
    case tlv_type::aws:
        if (!t.value.empty()) {
            w.member("subtype", std::to_integer<std::uint8_t>(t.value[0]));
        }
        if (const auto id = handshake::decode_aws_vpce_id(t.value)) {
            w.member("vpce_id", *id);
        }
        break;
    default:
        break;
    }
    w.end_object();
}

run_output error_output(xprt::conn_err e) {
    json_writer w;
    w.begin_object();
    w.member("error", xprt::to_string(e));
    w.member("message", xprt::describe(e));
    w.end_object();
    return {exit_invalid, w.finish(), {}};
}

run_output incomplete_output(std::size_t needed) {
    json_writer w;
    w.begin_object();
    w.key("incomplete");
    w.boolean(true);
    w.member("needed", needed);
    w.end_object();
    return {exit_incomplete, w.finish(), {}};
}

run_output usage_error(std::string message) {
    run_output r;
    r.code = exit_usage;
    r.err = "xstack-pp: " + std::move(message) + "\nTry 'xstack-pp --help'.\n";
    return r;
}

// ---- command-line parsing -------------------------------------------------------------------

// Walks `args`: options "--name", "--name VALUE" or "--name=VALUE", and positionals.
class arg_reader {
public:
    explicit arg_reader(std::span<const std::string> args) : args_(args) {}

    [[nodiscard]] bool done() const { return i_ >= args_.size(); }
    // The next word; `inline_value` is set for "--name=VALUE" (the word is then "--name").
    std::string_view next() {
        std::string_view w = args_[i_++];
        inline_value_.reset();
        if (!only_positionals_ && w.starts_with("--")) {
            if (const auto eq = w.find('='); eq != std::string_view::npos) {
                inline_value_ = w.substr(eq + 1);
                w = w.substr(0, eq);
            }
        }
        return w;
    }
    [[nodiscard]] bool is_option(std::string_view w) {
        if (only_positionals_) {
            return false;
        }
        if (w == "--") {
            only_positionals_ = true;
            return true;
        }
        return w.size() > 1 && w[0] == '-';
    }
    // The value of the option just read; nullopt when missing.
    std::optional<std::string_view> value() {
        if (inline_value_) {
            return std::exchange(inline_value_, std::nullopt);
        }
        if (i_ >= args_.size()) {
            return std::nullopt;
        }
        return std::string_view(args_[i_++]);
    }
    // True when a flag without value was given one ("--hex=1").
    [[nodiscard]] bool has_inline_value() const { return inline_value_.has_value(); }

private:
    std::span<const std::string> args_;
    std::size_t i_ = 0;
    std::optional<std::string_view> inline_value_;
    bool only_positionals_ = false;
};

bool is_help(std::string_view w) {
    return w == "--help" || w == "-h";
}

// "ADDR:PORT" with ADDR IPv4 or [IPv6]; UNIX paths and names are not accepted.
std::optional<xprt::sock_addr> parse_endpoint(std::string_view text) {
    if (text.starts_with("unix:")) {
        return std::nullopt;
    }
    auto a = xprt::sock_addr::parse(text);
    if (!a || (a->family() != AF_INET && a->family() != AF_INET6)) {
        return std::nullopt;
    }
    return a;
}

std::vector<std::byte> to_bytes(std::string_view s) {
    std::vector<std::byte> b(s.size());
    if (!s.empty()) {
        std::memcpy(b.data(), s.data(), s.size());
    }
    return b;
}

std::string read_all(std::istream& in) {
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

// ---- public helpers -------------------------------------------------------------------------

void append_json_string(std::string& out, std::string_view s) {
    static constexpr char digits[] = "0123456789abcdef";
    out.push_back('"');
    for (const char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if (c == '"' || c == '\\') {
            out.push_back('\\');
            out.push_back(ch);
        } else if (c < 0x20 || c >= 0x7F) {
            out.append("\\u00");
            out.push_back(digits[c >> 4]);
            out.push_back(digits[c & 0xF]);
        } else {
            out.push_back(ch);
        }
    }
    out.push_back('"');
}

std::string to_hex(std::span<const std::byte> b) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(b.size() * 2);
    for (const std::byte x : b) {
        const auto v = std::to_integer<unsigned>(x);
        out.push_back(digits[v >> 4]);
        out.push_back(digits[v & 0xF]);
    }
    return out;
}

std::optional<std::vector<std::byte>> parse_hex_text(std::string_view text) {
    std::vector<std::byte> out;
    out.reserve(text.size() / 2);
    int hi = -1;
    for (const char c : text) {
        int v = 0;
        if (c >= '0' && c <= '9') {
            v = c - '0';
        } else if (c >= 'a' && c <= 'f') {
            v = c - 'a' + 10;
        } else if (c >= 'A' && c <= 'F') {
            v = c - 'A' + 10;
        } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f') {
            continue;
        } else {
            return std::nullopt;
        }
        if (hi < 0) {
            hi = v;
        } else {
            out.push_back(static_cast<std::byte>(hi << 4 | v));
            hi = -1;
        }
    }
    if (hi >= 0) {
        return std::nullopt;
    }
    return out;
}

std::optional<std::uint32_t> parse_number(std::string_view text, std::uint32_t max) {
    int base = 10;
    if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
        base = 16;
        text.remove_prefix(2);
    }
    if (text.empty() || text[0] == '+' || text[0] == '-') {
        return std::nullopt;
    }
    std::uint64_t v = 0;
    const auto r = std::from_chars(text.data(), text.data() + text.size(), v, base);
    if (r.ec != std::errc() || r.ptr != text.data() + text.size() || v > max) {
        return std::nullopt;
    }
    return static_cast<std::uint32_t>(v);
}

std::string_view help_text() noexcept {
    return help;
}

// ---- decode ---------------------------------------------------------------------------------

run_output decode_proxy(std::span<const std::byte> input) {
    const auto r = handshake::parse_proxy(input);
    if (r.failed()) {
        return error_output(r.error);
    }
    if (r.need_more()) {
        return incomplete_output(r.needed);
    }
    const handshake::proxy_header& h = r.value;
    const auto header = input.first(r.length);

    json_writer w;
    w.begin_object();
    w.member("version", h.version);
    w.member("command", handshake::to_string(h.command));
    w.member("family", h.version == 1 && h.family == handshake::proxy_family::unspec
                           ? std::string_view("UNKNOWN")
                           : handshake::to_string(h.family));
    write_addresses(w, h.src, h.dst);
    w.member("header_length", r.length);
    w.member("trailing", input.size() - r.length);
    if (h.version == 2) {
        w.member("tlv_offset", h.tlv_offset);
    }
    w.key("tlvs");
    w.begin_array();
    for (const tlv t : h.tlvs) {
        write_tlv(w, t, header);
    }
    w.end_array();
    w.end_object();
    return {exit_ok, w.finish(), {}};
}

run_output decode_cip(std::span<const std::byte> input, std::uint32_t magic) {
    handshake::cip_options opt;
    opt.magic = magic;
    const auto r = handshake::parse_cip(input, opt);
    if (r.failed()) {
        return error_output(r.error);
    }
    if (r.need_more()) {
        return incomplete_output(r.needed);
    }
    json_writer w;
    w.begin_object();
    w.member("framing", r.value.framing == handshake::cip_framing::legacy ? "legacy" : "standard");
    write_addresses(w, r.value.src, r.value.dst);
    w.member("header_length", r.length);
    w.member("trailing", input.size() - r.length);
    w.end_object();
    return {exit_ok, w.finish(), {}};
}

run_output run_decode(std::span<const std::string> args, std::istream& in) {
    arg_reader a(args);
    bool hex = false;
    std::optional<std::uint32_t> magic;
    std::optional<std::string> file;
    while (!a.done()) {
        const std::string_view w = a.next();
        if (!a.is_option(w)) {
            if (file) {
                return usage_error("decode takes at most one FILE");
            }
            file = std::string(w);
        } else if (w == "--") {
            continue;
        } else if (is_help(w)) {
            return {exit_ok, std::string(help), {}};
        } else if (w == "--hex") {
            if (a.has_inline_value()) {
                return usage_error("--hex takes no value");
            }
            hex = true;
        } else if (w == "--cip") {
            const auto v = a.value();
            if (!v) {
                return usage_error("--cip needs a MAGIC number");
            }
            magic = parse_number(*v, 0xFFFFFFFFu);
            if (!magic) {
                return usage_error("--cip: '" + std::string(*v) +
                                   "' is not a 32-bit number (decimal or 0x hex)");
            }
        } else {
            return usage_error("decode: unknown option '" + std::string(w) + "'");
        }
    }

    std::string raw;
    if (!file || *file == "-") {
        raw = read_all(in);
    } else {
        std::ifstream f(*file, std::ios::binary);
        if (!f) {
            return usage_error("cannot open '" + *file + "'");
        }
        raw = read_all(f);
        if (f.bad()) {
            return usage_error("cannot read '" + *file + "'");
        }
    }

    std::vector<std::byte> bytes;
    if (hex) {
        auto b = parse_hex_text(raw);
        if (!b) {
            return usage_error(
                "--hex: the input is not hex text (digits and whitespace, an even number of "
                "digits)");
        }
        bytes = std::move(*b);
    } else {
        bytes = to_bytes(raw);
    }
    return magic ? decode_cip(bytes, *magic) : decode_proxy(bytes);
}

// ---- encode ---------------------------------------------------------------------------------

run_output run_encode(std::span<const std::string> args) {
    arg_reader a(args);
    int version = 0;
    bool local = false;
    bool crc = false;
    bool hex = false;
    std::optional<xprt::sock_addr> src;
    std::optional<xprt::sock_addr> dst;
    std::optional<std::string> alpn;
    std::optional<std::string> authority;
    std::optional<std::string> unique_id;
    std::optional<std::string> netns;
    std::vector<std::pair<std::uint8_t, std::vector<std::byte>>> custom;
    std::string v2_only;  // the first v2-only option seen, for the --v1 error message

    // Stores the value of the option just read into `slot`; false if missing or given twice.
    auto take_text = [&](std::optional<std::string>& slot) -> bool {
        const auto v = a.value();
        if (!v || slot) {
            return false;
        }
        slot = std::string(*v);
        return true;
    };

    while (!a.done()) {
        const std::string_view w = a.next();
        if (!a.is_option(w)) {
            return usage_error("encode takes no positional argument ('" + std::string(w) + "')");
        }
        const bool flag = !a.has_inline_value();
        if (w == "--") {
            continue;
        }
        if (is_help(w)) {
            return {exit_ok, std::string(help), {}};
        }
        if (w == "--v1" || w == "--v2") {
            const int v = w == "--v1" ? 1 : 2;
            if (!flag || (version != 0 && version != v)) {
                return usage_error("give exactly one of --v1 and --v2");
            }
            version = v;
        } else if (w == "--local" || w == "--crc32c" || w == "--hex") {
            if (!flag) {
                return usage_error(std::string(w) + " takes no value");
            }
            (w == "--local" ? local : w == "--crc32c" ? crc : hex) = true;
            if (w != "--hex" && v2_only.empty()) {
                v2_only = w;
            }
        } else if (w == "--src" || w == "--dst") {
            auto& slot = w == "--src" ? src : dst;
            const auto v = a.value();
            if (!v) {
                return usage_error(std::string(w) + " needs ADDR:PORT");
            }
            if (slot) {
                return usage_error(std::string(w) + " given twice");
            }
            slot = parse_endpoint(*v);
            if (!slot) {
                return usage_error(std::string(w) + ": '" + std::string(*v) +
                                   "' is not IPV4:PORT or [IPV6]:PORT");
            }
        } else if (w == "--alpn" || w == "--authority" || w == "--unique-id" || w == "--netns") {
            auto& slot = w == "--alpn"        ? alpn
                         : w == "--authority" ? authority
                         : w == "--unique-id" ? unique_id
                                              : netns;
            if (!take_text(slot)) {
                return usage_error(std::string(w) + " needs one value (given at most once)");
            }
            if (v2_only.empty()) {
                v2_only = w;
            }
        } else if (w == "--tlv") {
            const auto v = a.value();
            const auto eq = v ? v->find('=') : std::string_view::npos;
            if (eq == std::string_view::npos) {
                return usage_error("--tlv needs TYPE=HEX");
            }
            const auto type = parse_number(v->substr(0, eq), 255);
            auto value = parse_hex_text(v->substr(eq + 1));
            if (!type) {
                return usage_error("--tlv: TYPE '" + std::string(v->substr(0, eq)) +
                                   "' is not 0..255 (decimal or 0x hex)");
            }
            if (!value) {
                return usage_error("--tlv: '" + std::string(v->substr(eq + 1)) +
                                   "' is not hex bytes");
            }
            custom.emplace_back(static_cast<std::uint8_t>(*type), std::move(*value));
            if (v2_only.empty()) {
                v2_only = w;
            }
        } else {
            return usage_error("encode: unknown option '" + std::string(w) + "'");
        }
    }

    if (version == 0) {
        return usage_error("encode needs --v1 or --v2");
    }
    if (version == 1 && !v2_only.empty()) {
        return usage_error(v2_only + " is only valid with --v2");
    }
    if (!local && (!src || !dst)) {
        return usage_error("encode needs --src and --dst (or --v2 --local)");
    }

    std::vector<std::byte> header;
    if (version == 1) {
        header.resize(handshake::proxy_v1_max_length);
        header.resize(handshake::build_proxy_v1(*src, *dst, header));
        if (header.empty()) {
            return usage_error("the v1 builder could not write the header");
        }
    } else {
        std::vector<tlv> tlvs;
        tlvs.reserve(custom.size());
        for (const auto& [type, value] : custom) {
            tlvs.push_back(tlv{static_cast<tlv_type>(type), value});
        }
        const std::vector<std::byte> alpn_bytes = to_bytes(alpn.value_or(""));
        handshake::proxy_v2_spec spec;
        spec.command = local ? handshake::proxy_command::local : handshake::proxy_command::proxy;
        if (!local) {
            spec.src = *src;
            spec.dst = *dst;
        }
        spec.custom = tlvs;
        spec.crc32c = crc;
        spec.alpn = alpn_bytes;
        if (authority) {
            spec.authority = *authority;
        }
        if (unique_id) {
            spec.unique_id = *unique_id;
        }
        if (netns) {
            spec.netns = *netns;
        }
        const std::size_t size = handshake::proxy_v2_size(spec);
        if (size == 0) {
            return usage_error(
                "the header cannot be encoded (a TLV over 65535 bytes, or a header "
                "over 65551 bytes)");
        }
        header.resize(size);
        if (handshake::build_proxy_v2(spec, header) != size) {
            return usage_error("the v2 builder could not write the header");
        }
    }

    run_output r;
    if (hex) {
        r.out = to_hex(header) + "\n";
    } else {
        r.out.assign(reinterpret_cast<const char*>(header.data()), header.size());
    }
    return r;
}

// ---- dispatch -------------------------------------------------------------------------------

run_output run(std::span<const std::string> args, std::istream& in) {
    if (args.empty()) {
        return usage_error("missing command: decode or encode");
    }
    const std::string_view cmd = args[0];
    if (is_help(cmd) || cmd == "help") {
        return {exit_ok, std::string(help), {}};
    }
    if (cmd == "decode") {
        return run_decode(args.subspan(1), in);
    }
    if (cmd == "encode") {
        return run_encode(args.subspan(1));
    }
    return usage_error("unknown command '" + std::string(cmd) + "' (decode or encode)");
}

}  // namespace xstack::tools::pp
