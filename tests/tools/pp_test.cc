// tests/tools/pp_test.cc - xstack-pp: decode tables, encode, the encode -> decode round trip,
// hex and CIP input, JSON escaping, and the built program run through pipes.
#include "tools/pp/pp.h"

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <ostream>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "handshake/crc32c.h"
#include "xprt/sock_addr.h"

#ifndef XS_PP_BINARY
#error "XS_PP_BINARY must name the built xstack-pp (see tests/tools/CMakeLists.txt)"
#endif

namespace xstack::tools::pp {
namespace {

// ---- a strict JSON reader, for checking what the tool writes --------------------------------

// Everything the tool writes: objects (key order kept), arrays, strings, unsigned integers,
// booleans and null. Strings hold one char per code point; code points above 0xFF, raw bytes
// >= 0x80 and raw control characters are rejected, because the tool promises pure-ASCII JSON
// whose \u00XX escapes stand for single bytes.
struct json {
    enum class kind { null, boolean, number, string, array, object } k = kind::null;
    bool b = false;
    std::uint64_t n = 0;
    std::string s;
    std::vector<json> items;         // array elements, or object member values
    std::vector<std::string> names;  // object member names, parallel to `items`

    [[nodiscard]] bool has(std::string_view key) const {
        for (const auto& name : names) {
            if (name == key) {
                return true;
            }
        }
        return false;
    }
    [[nodiscard]] const json& operator[](std::string_view key) const {
        for (std::size_t i = 0; i < names.size(); ++i) {
            if (names[i] == key) {
                return items[i];
            }
        }
        ADD_FAILURE() << "no member '" << key << "'";
        static const json missing;
        return missing;
    }
    [[nodiscard]] const json& at(std::size_t i) const {
        if (i < items.size()) {
            return items[i];
        }
        ADD_FAILURE() << "no item " << i;
        static const json missing;
        return missing;
    }
};

class json_reader {
public:
    explicit json_reader(std::string_view text) : t_(text) {}

    // The whole text as one value (surrounding whitespace allowed); nullopt if not valid JSON.
    std::optional<json> read_all() {
        json v;
        ws();
        if (!value(v, 0)) {
            return std::nullopt;
        }
        ws();
        if (i_ != t_.size()) {
            return std::nullopt;
        }
        return v;
    }

private:
    void ws() {
        while (i_ < t_.size() &&
               (t_[i_] == ' ' || t_[i_] == '\n' || t_[i_] == '\t' || t_[i_] == '\r')) {
            ++i_;
        }
    }
    bool lit(std::string_view l) {
        if (t_.substr(i_, l.size()) != l) {
            return false;
        }
        i_ += l.size();
        return true;
    }
    bool value(json& v, int depth) {
        if (i_ >= t_.size() || depth > 16) {
            return false;
        }
        const char c = t_[i_];
        if (c == '{') {
            return object(v, depth);
        }
        if (c == '[') {
            return array(v, depth);
        }
        if (c == '"') {
            v.k = json::kind::string;
            return string(v.s);
        }
        if (c == 't' || c == 'f') {
            v.k = json::kind::boolean;
            v.b = c == 't';
            return lit(v.b ? "true" : "false");
        }
        if (c == 'n') {
            v.k = json::kind::null;
            return lit("null");
        }
        if (c >= '0' && c <= '9') {
            v.k = json::kind::number;
            if (c == '0' && i_ + 1 < t_.size() && t_[i_ + 1] >= '0' && t_[i_ + 1] <= '9') {
                return false;  // no leading zeros in JSON
            }
            while (i_ < t_.size() && t_[i_] >= '0' && t_[i_] <= '9') {
                v.n = v.n * 10 + static_cast<std::uint64_t>(t_[i_++] - '0');
            }
            return true;
        }
        return false;
    }
    bool string(std::string& out) {
        ++i_;  // the opening quote
        while (i_ < t_.size()) {
            const auto c = static_cast<unsigned char>(t_[i_++]);
            if (c == '"') {
                return true;
            }
            if (c < 0x20 || c >= 0x80) {
                return false;
            }
            if (c != '\\') {
                out.push_back(static_cast<char>(c));
                continue;
            }
            if (i_ >= t_.size()) {
                return false;
            }
            const char e = t_[i_++];
            switch (e) {
            case '"':
            case '\\':
            case '/':
                out.push_back(e);
                break;
            case 'b':
                out.push_back('\b');
                break;
            case 'f':
                out.push_back('\f');
                break;
            case 'n':
                out.push_back('\n');
                break;
            case 'r':
                out.push_back('\r');
                break;
            case 't':
                out.push_back('\t');
                break;
            case 'u': {
                if (i_ + 4 > t_.size()) {
                    return false;
                }
                unsigned cp = 0;
                for (int k = 0; k < 4; ++k) {
                    const char h = t_[i_++];
                    cp <<= 4;
                    if (h >= '0' && h <= '9') {
                        cp |= static_cast<unsigned>(h - '0');
                    } else if (h >= 'a' && h <= 'f') {
                        cp |= static_cast<unsigned>(h - 'a' + 10);
                    } else if (h >= 'A' && h <= 'F') {
                        cp |= static_cast<unsigned>(h - 'A' + 10);
                    } else {
                        return false;
                    }
                }
                if (cp > 0xFF) {
                    return false;  // the tool only escapes single bytes
                }
                out.push_back(static_cast<char>(cp));
                break;
            }
            default:
                return false;
            }
        }
        return false;
    }
    bool array(json& v, int depth) {
        v.k = json::kind::array;
        ++i_;
        ws();
        if (lit("]")) {
            return true;
        }
        for (;;) {
            json item;
            ws();
            if (!value(item, depth + 1)) {
                return false;
            }
            v.items.push_back(std::move(item));
            ws();
            if (lit("]")) {
                return true;
            }
            if (!lit(",")) {
                return false;
            }
        }
    }
    bool object(json& v, int depth) {
        v.k = json::kind::object;
        ++i_;
        ws();
        if (lit("}")) {
            return true;
        }
        for (;;) {
            ws();
            std::string key;
            if (i_ >= t_.size() || t_[i_] != '"' || !string(key) || v.has(key)) {
                return false;  // duplicate keys are a bug too
            }
            ws();
            if (!lit(":")) {
                return false;
            }
            ws();
            json item;
            if (!value(item, depth + 1)) {
                return false;
            }
            v.names.push_back(std::move(key));
            v.items.push_back(std::move(item));
            ws();
            if (lit("}")) {
                return true;
            }
            if (!lit(",")) {
                return false;
            }
        }
    }

    std::string_view t_;
    std::size_t i_ = 0;
};

// The tool's stdout for decode: exactly one line holding one JSON object.
json parse_line(const std::string& out) {
    EXPECT_FALSE(out.empty());
    EXPECT_EQ(out.find('\n'), out.size() - 1) << "one line, newline-terminated: " << out;
    auto v = json_reader(out).read_all();
    EXPECT_TRUE(v.has_value()) << "not valid JSON: " << out;
    EXPECT_TRUE(v && v->k == json::kind::object) << out;
    return v.value_or(json{});
}

TEST(PpJsonReaderTest, RejectsWhatIsNotJson) {
    // The reader guards every other test: make sure it can say no.
    for (const char* bad : {R"({)", R"({"a": 1,})", R"({"a" 1})", R"([1 2])", "{\"a\": \"\x01\"}",
                            "{\"a\": \"\xc3\xa9\"}", R"({"a": 01})", R"({"a": 1}{)",
                            R"({"a": tru})", R"({"a": 1, "a": 2})", R"("\x41")"}) {
        EXPECT_FALSE(json_reader(bad).read_all().has_value()) << bad;
    }
    const auto ok = json_reader(R"({"a": [1, true, null, "x\u0041\u00ff"], "b": {}})").read_all();
    ASSERT_TRUE(ok.has_value());
    EXPECT_EQ((*ok)["a"].at(3).s, "xA\xff");
}

// ---- byte helpers ---------------------------------------------------------------------------

std::string hex(std::string_view h) {
    auto b = parse_hex_text(h);
    EXPECT_TRUE(b.has_value()) << h;
    std::string out;
    if (b) {
        out.assign(reinterpret_cast<const char*>(b->data()), b->size());
    }
    return out;
}

std::span<const std::byte> as_bytes(const std::string& s) {
    return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

std::string be16(std::size_t v) {
    return {static_cast<char>(v >> 8 & 0xFF), static_cast<char>(v & 0xFF)};
}

const std::string sig = hex("0d0a0d0a000d0a515549540a");

// A v2 header: signature, ver_cmd, fam, length of `body`, body.
std::string v2(std::uint8_t ver_cmd, std::uint8_t fam, const std::string& body) {
    return sig + std::string{static_cast<char>(ver_cmd), static_cast<char>(fam)} +
           be16(body.size()) + body;
}

std::string rec(std::uint8_t type, const std::string& value) {
    return std::string(1, static_cast<char>(type)) + be16(value.size()) + value;
}

// A 108-byte UNIX address field.
std::string unix_field(std::string_view path) {
    std::string f(path);
    f.resize(108, '\0');
    return f;
}

// A v2 header with a CRC32C TLV (first TLV, after `before`) filled in correctly.
std::string with_crc(std::uint8_t ver_cmd, std::uint8_t fam, const std::string& before,
                     const std::string& after) {
    std::string h = v2(ver_cmd, fam, before + rec(0x03, std::string(4, '\0')) + after);
    const std::size_t at = 16 + before.size() + 3;
    const std::uint32_t crc = handshake::crc32c(as_bytes(h));
    for (std::size_t k = 0; k < 4; ++k) {
        h[at + k] = static_cast<char>(crc >> (24 - 8 * k) & 0xFF);
    }
    return h;
}

const std::string tcp4_block = hex("c0000201 c6336402 3039 01bb");
const std::string tcp6_block =
    hex("20010db8000000000000000000000001 20010db8000000000000000000000002 3039 01bb");

// An AWS NLB health check as captured in kubernetes/kubernetes#57250: LOCAL, family 0x11,
// CRC32C and a 74-byte NOOP right at byte 16 (no address block).
const std::string aws_health_check =
    hex("0d0a0d0a000d0a515549540a 2011 0054 030004bce5951f 04004a") + std::string(74, '\0');

// HAProxy's `send-proxy-v2 proxy-v2-options crc32c,unique-id` with a 0xE1 TLV "foo"; the CRC
// was computed by an independent bitwise implementation (tests/handshake/proxy_v2_test.cc).
const std::string haproxy_crc_header =
    hex("0d0a0d0a000d0a515549540a 2111 0025 7f000001 7f000001 9f20 46ae "
        "e10003666f6f 0300045a4d9bdf 050009544553542d49442d31");

std::string ssl_value() {
    return hex("07 00000000") + rec(0x21, "TLSv1.3") + rec(0x22, "client.example") +
           rec(0x23, "TLS_AES_128_GCM_SHA256") + rec(0x24, "SHA256") + rec(0x25, "RSA2048") +
           rec(0x26, "X25519") + rec(0x27, "rsa_pss_rsae_sha256") + rec(0x28, hex("3082")) +
           rec(0x01, "x");
}

// ---- decode: table --------------------------------------------------------------------------

struct decode_case {
    const char* name;
    std::string input;
    int code;
    std::string line;  // the whole expected stdout line, without the newline
};

void PrintTo(const decode_case& c, std::ostream* os) {
    *os << c.name;
}

class PpDecodeTableTest : public ::testing::TestWithParam<decode_case> {};

TEST_P(PpDecodeTableTest, PrintsTheExpectedLineAndExitCode) {
    const decode_case& c = GetParam();
    const run_output r = decode_proxy(as_bytes(c.input));
    EXPECT_EQ(r.code, c.code);
    EXPECT_EQ(r.out, c.line + "\n");
    EXPECT_TRUE(r.err.empty());
    (void)parse_line(r.out);
}

std::string tcp4_prefix(std::size_t len, std::size_t trailing = 0) {
    return R"({"version": 2, "command": "PROXY", "family": "TCP4", "src": "192.0.2.1:12345", )"
           R"("dst": "198.51.100.2:443", "header_length": )" +
           std::to_string(len) + R"(, "trailing": )" + std::to_string(trailing) +
           R"(, "tlv_offset": 28, "tlvs": )";
}

INSTANTIATE_TEST_SUITE_P(
    Cases, PpDecodeTableTest,
    ::testing::Values(
        // v1
        decode_case{"V1Tcp4", "PROXY TCP4 192.0.2.1 198.51.100.2 12345 443\r\n", 0,
                    R"({"version": 1, "command": "PROXY", "family": "TCP4", )"
                    R"("src": "192.0.2.1:12345", "dst": "198.51.100.2:443", )"
                    R"("header_length": 45, "trailing": 0, "tlvs": []})"},
        decode_case{"V1Tcp6", "PROXY TCP6 2001:db8::1 2001:db8::2 12345 443\r\n", 0,
                    R"({"version": 1, "command": "PROXY", "family": "TCP6", )"
                    R"("src": "[2001:db8::1]:12345", "dst": "[2001:db8::2]:443", )"
                    R"("header_length": 46, "trailing": 0, "tlvs": []})"},
        decode_case{"V1Tcp6Mapped", "PROXY TCP6 ::ffff:192.0.2.1 2001:db8::2 1 2\r\n", 0,
                    R"({"version": 1, "command": "PROXY", "family": "TCP6", )"
                    R"("src": "[::ffff:192.0.2.1]:1", "dst": "[2001:db8::2]:2", )"
                    R"("header_length": 45, "trailing": 0, "tlvs": []})"},
        decode_case{"V1Unknown", "PROXY UNKNOWN\r\n", 0,
                    R"({"version": 1, "command": "PROXY", "family": "UNKNOWN", )"
                    R"("header_length": 15, "trailing": 0, "tlvs": []})"},
        decode_case{"V1UnknownWithFieldsAndTrailing", "PROXY UNKNOWN ffff::1 ffff::2 1 2\r\nGET", 0,
                    R"({"version": 1, "command": "PROXY", "family": "UNKNOWN", )"
                    R"("header_length": 35, "trailing": 3, "tlvs": []})"},
        // v2, every family
        decode_case{"V2Tcp4", v2(0x21, 0x11, tcp4_block), 0, tcp4_prefix(28) + "[]}"},
        decode_case{"V2Tcp4WithTrailingBytes", v2(0x21, 0x11, tcp4_block) + "GET / HTTP/1.1\r\n", 0,
                    tcp4_prefix(28, 16) + "[]}"},
        decode_case{"V2Tcp6", v2(0x21, 0x21, tcp6_block), 0,
                    R"({"version": 2, "command": "PROXY", "family": "TCP6", )"
                    R"("src": "[2001:db8::1]:12345", "dst": "[2001:db8::2]:443", )"
                    R"("header_length": 52, "trailing": 0, "tlv_offset": 52, "tlvs": []})"},
        decode_case{"V2Udp4", v2(0x21, 0x12, tcp4_block), 0,
                    R"({"version": 2, "command": "PROXY", "family": "UDP4", )"
                    R"("src": "192.0.2.1:12345", "dst": "198.51.100.2:443", )"
                    R"("header_length": 28, "trailing": 0, "tlv_offset": 28, "tlvs": []})"},
        decode_case{"V2Udp6", v2(0x21, 0x22, tcp6_block), 0,
                    R"({"version": 2, "command": "PROXY", "family": "UDP6", )"
                    R"("src": "[2001:db8::1]:12345", "dst": "[2001:db8::2]:443", )"
                    R"("header_length": 52, "trailing": 0, "tlv_offset": 52, "tlvs": []})"},
        decode_case{"V2UnixStream",
                    v2(0x21, 0x31, unix_field("/run/client.sock") + unix_field("/run/srv.sock")), 0,
                    R"({"version": 2, "command": "PROXY", "family": "UNIX_STREAM", )"
                    R"("src": "/run/client.sock", "dst": "/run/srv.sock", )"
                    R"("header_length": 232, "trailing": 0, "tlv_offset": 232, "tlvs": []})"},
        decode_case{"V2UnixDgramAbstractAndOddBytes",
                    v2(0x21, 0x32,
                       unix_field(std::string("\0abstract", 9)) + unix_field("/tmp/\"\xff\x01")),
                    0,
                    R"({"version": 2, "command": "PROXY", "family": "UNIX_DGRAM", )"
                    R"("src": "@abstract", "dst": "/tmp/\"\u00ff\u0001", )"
                    R"("header_length": 232, "trailing": 0, "tlv_offset": 232, "tlvs": []})"},
        decode_case{"V2ProxyUnspecWithTlvAt16", v2(0x21, 0x00, rec(0x04, "")), 0,
                    R"({"version": 2, "command": "PROXY", "family": "UNSPEC", )"
                    R"("header_length": 19, "trailing": 0, "tlv_offset": 16, "tlvs": [)"
                    R"({"type": 4, "name": "NOOP", "length": 0, "value_hex": ""}]})"},
        decode_case{"V2Local", v2(0x20, 0x00, ""), 0,
                    R"({"version": 2, "command": "LOCAL", "family": "UNSPEC", )"
                    R"("header_length": 16, "trailing": 0, "tlv_offset": 16, "tlvs": []})"},
        decode_case{"V2LocalKeepsAddressesHidden", v2(0x20, 0x11, tcp4_block + rec(0x05, "id")), 0,
                    R"({"version": 2, "command": "LOCAL", "family": "TCP4", )"
                    R"("header_length": 33, "trailing": 0, "tlv_offset": 28, "tlvs": [)"
                    R"({"type": 5, "name": "UNIQUE_ID", "length": 2, "value_hex": "6964", )"
                    R"("value": "id"}]})"},
        decode_case{"V2LocalAwsHealthCheckTlvsAt16", aws_health_check, 0,
                    R"({"version": 2, "command": "LOCAL", "family": "TCP4", )"
                    R"("header_length": 100, "trailing": 0, "tlv_offset": 16, "tlvs": [)"
                    R"({"type": 3, "name": "CRC32C", "length": 4, "value_hex": "bce5951f", )"
                    R"("valid": true}, {"type": 4, "name": "NOOP", "length": 74, "value_hex": ")" +
                        std::string(148, '0') + R"("}]})"},
        // every TLV kind
        decode_case{"V2TextTlvs",
                    v2(0x21, 0x11,
                       tcp4_block + rec(0x01, "h2") + rec(0x02, "example.com") + rec(0x05, "ID-1") +
                           rec(0x30, "blue")),
                    0,
                    tcp4_prefix(61) +
                        R"([{"type": 1, "name": "ALPN", "length": 2, "value_hex": "6832", )"
                        R"("value": "h2"}, {"type": 2, "name": "AUTHORITY", "length": 11, )"
                        R"("value_hex": "6578616d706c652e636f6d", "value": "example.com"}, )"
                        R"({"type": 5, "name": "UNIQUE_ID", "length": 4, "value_hex": )"
                        R"("49442d31", "value": "ID-1"}, {"type": 48, "name": "NETNS", )"
                        R"("length": 4, "value_hex": "626c7565", "value": "blue"}]})"},
        decode_case{"V2TextTlvEscapesQuotesControlAndHighBytes",
                    v2(0x21, 0x11, tcp4_block + rec(0x02, "a\"b\\c\n\x7f\xc3\xa9")), 0,
                    tcp4_prefix(40) + R"([{"type": 2, "name": "AUTHORITY", "length": 9, )"
                                      R"("value_hex": "6122625c630a7fc3a9", )"
                                      R"("value": "a\"b\\c\u000a\u007f\u00c3\u00a9"}]})"},
        decode_case{"V2SslWithEverySubTlv", v2(0x21, 0x11, tcp4_block + rec(0x20, ssl_value())), 0,
                    tcp4_prefix(147) +
                        R"([{"type": 32, "name": "SSL", "length": 116, "value_hex": ")" +
                        [] {
                            const std::string v = ssl_value();
                            return to_hex(as_bytes(v));
                        }() +
                        R"(", "client": 7, "verify": 0, "sub_tlvs": [)"
                        R"({"type": 33, "name": "SSL_VERSION", "length": 7, )"
                        R"("value_hex": "544c5376312e33", "value": "TLSv1.3"}, )"
                        R"({"type": 34, "name": "SSL_CN", "length": 14, )"
                        R"("value_hex": "636c69656e742e6578616d706c65", )"
                        R"("value": "client.example"}, )"
                        R"({"type": 35, "name": "SSL_CIPHER", "length": 22, "value_hex": )"
                        R"("544c535f4145535f3132385f47434d5f534841323536", )"
                        R"("value": "TLS_AES_128_GCM_SHA256"}, )"
                        R"({"type": 36, "name": "SSL_SIG_ALG", "length": 6, )"
                        R"("value_hex": "534841323536", "value": "SHA256"}, )"
                        R"({"type": 37, "name": "SSL_KEY_ALG", "length": 7, )"
                        R"("value_hex": "52534132303438", "value": "RSA2048"}, )"
                        R"({"type": 38, "name": "SSL_GROUP", "length": 6, )"
                        R"("value_hex": "583235353139", "value": "X25519"}, )"
                        R"({"type": 39, "name": "SSL_SIG_SCHEME", "length": 19, "value_hex": )"
                        R"("7273615f7073735f727361655f736861323536", )"
                        R"("value": "rsa_pss_rsae_sha256"}, )"
                        R"({"type": 40, "name": "SSL_CLIENT_CERT", "length": 2, )"
                        R"("value_hex": "3082"}, )"
                        R"({"type": 1, "name": null, "length": 1, "value_hex": "78"}]}]})"},
        decode_case{"V2SslVerifyIsBigEndianAndSubTlvsMayBeAbsent",
                    v2(0x21, 0x11, tcp4_block + rec(0x20, hex("01 00000102"))), 0,
                    tcp4_prefix(36) +
                        R"([{"type": 32, "name": "SSL", "length": 5, "value_hex": "0100000102", )"
                        R"("client": 1, "verify": 258, "sub_tlvs": []}]})"},
        decode_case{"V2AwsVpceIdOtherSubtypeAndUnknownTypes",
                    v2(0x21, 0x11,
                       tcp4_block + rec(0xEA, "\x01vpce-08d2bf15fac5001c9") + rec(0xEA, "\x02z") +
                           rec(0xE1, "foo") + rec(0x21, "")),
                    0,
                    tcp4_prefix(68) +
                        R"([{"type": 234, "name": "AWS", "length": 23, "value_hex": )"
                        R"("01767063652d3038643262663135666163353030316339", "subtype": 1, )"
                        R"("vpce_id": "vpce-08d2bf15fac5001c9"}, {"type": 234, "name": "AWS", )"
                        R"("length": 2, "value_hex": "027a", "subtype": 2}, )"
                        R"({"type": 225, "name": null, "length": 3, "value_hex": "666f6f"}, )"
                        R"({"type": 33, "name": null, "length": 0, "value_hex": ""}]})"},
        decode_case{"V2CrcValid", haproxy_crc_header, 0,
                    R"({"version": 2, "command": "PROXY", "family": "TCP4", )"
                    R"("src": "127.0.0.1:40736", "dst": "127.0.0.1:18094", "header_length": 53, )"
                    R"("trailing": 0, "tlv_offset": 28, "tlvs": [{"type": 225, "name": null, )"
                    R"("length": 3, "value_hex": "666f6f"}, {"type": 3, "name": "CRC32C", )"
                    R"("length": 4, "value_hex": "5a4d9bdf", "valid": true}, {"type": 5, )"
                    R"("name": "UNIQUE_ID", "length": 9, "value_hex": "544553542d49442d31", )"
                    R"("value": "TEST-ID-1"}]})"},
        // invalid (exit 1)
        decode_case{"V2CrcInvalid",
                    [] {
                        std::string h = haproxy_crc_header;
                        h[h.size() - 1] = '2';  // TEST-ID-2: the CRC no longer matches
                        return h;
                    }(),
                    1, R"({"error": "PRX_BAD_CRC", "message": "PROXY v2 CRC32C mismatch"})"},
        decode_case{"NotAHeader", "GET / HTTP/1.1\r\n", 1,
                    R"({"error": "PRX_NOT_HDR", "message": "not a PROXY header"})"},
        decode_case{"V1TwoSpaces", "PROXY TCP4  1.2.3.4", 1,
                    R"({"error": "PRX_BAD_HDR", "message": "malformed PROXY header"})"},
        decode_case{"V1BadAddress", "PROXY TCP4 300", 1,
                    R"({"error": "PRX_BAD_ADDR", "message": )"
                    R"("invalid address or port in PROXY header"})"},
        decode_case{"V2BadVersion", sig + hex("3111"), 1,
                    R"({"error": "PRX_BAD_VERSION", "message": )"
                    R"("PROXY v2 signature with a version other than 2"})"},
        decode_case{"V2TlvOverrunsHeader", v2(0x21, 0x11, tcp4_block + hex("010005 6832")), 1,
                    R"({"error": "PRX_BAD_TLV", "message": )"
                    R"("PROXY v2 TLVs do not end exactly at the header end"})"},
        decode_case{"V2BadSslTlv", v2(0x21, 0x11, tcp4_block + rec(0x20, hex("01 0000"))), 1,
                    R"({"error": "PRX_BAD_SSL_TLV", "message": "malformed PROXY v2 SSL TLV"})"},
        // incomplete (exit 3)
        decode_case{"Empty", "", 3, R"({"incomplete": true, "needed": 15})"},
        decode_case{"V1Prefix", "PROXY TCP4 1.2.3.4", 3, R"({"incomplete": true, "needed": 14})"},
        decode_case{"V2FixedPartIn", v2(0x21, 0x11, tcp4_block).substr(0, 20), 3,
                    R"({"incomplete": true, "needed": 8})"}),
    [](const ::testing::TestParamInfo<decode_case>& tp) { return std::string(tp.param.name); });

TEST(PpDecodeTest, CrcTlvIsCheckedWhereverItSits) {
    // A CRC after an address block and another TLV, built here: valid, then one bit off.
    std::string h = with_crc(0x21, 0x21, tcp6_block + rec(0x01, "h2"), rec(0x04, "pad"));
    auto r = decode_proxy(as_bytes(h));
    ASSERT_EQ(r.code, exit_ok) << r.out;
    const json j = parse_line(r.out);
    ASSERT_EQ(j["tlvs"].items.size(), 3u);
    EXPECT_EQ(j["tlvs"].at(1)["name"].s, "CRC32C");
    EXPECT_TRUE(j["tlvs"].at(1)["valid"].b);

    h[20] = static_cast<char>(h[20] ^ 1);
    r = decode_proxy(as_bytes(h));
    EXPECT_EQ(r.code, exit_invalid);
    EXPECT_EQ(parse_line(r.out)["error"].s, "PRX_BAD_CRC");
}

TEST(PpDecodeTest, EveryPrefixOfAValidHeaderIsIncomplete) {
    for (const std::string& full :
         {std::string("PROXY TCP6 2001:db8::1 2001:db8::2 12345 443\r\n"), haproxy_crc_header}) {
        for (std::size_t n = 0; n < full.size(); ++n) {
            const std::string part = full.substr(0, n);
            const auto r = decode_proxy(as_bytes(part));
            ASSERT_EQ(r.code, exit_incomplete) << n << ": " << r.out;
            const json j = parse_line(r.out);
            EXPECT_TRUE(j["incomplete"].b);
            EXPECT_GE(j["needed"].n, 1u);
            EXPECT_LE(j["needed"].n, full.size() - n);
        }
    }
}

// ---- decode: command line, hex text, files, CIP ---------------------------------------------

run_output decode_args(std::vector<std::string> args, const std::string& stdin_text) {
    std::istringstream in(stdin_text);
    return run_decode(args, in);
}

TEST(PpDecodeArgsTest, HexTextMayContainWhitespaceAndNewlines) {
    const std::string text =
        "0D0A0D0A 000D0A51\n5549540a\r\n\t21 11 00 0c\n"
        "c0 00 02 01  c6 33 64 02\n3039 01bb\n";
    const auto r = decode_args({"--hex"}, text);
    EXPECT_EQ(r.code, exit_ok) << r.err;
    EXPECT_EQ(r.out, tcp4_prefix(28) + "[]}\n");
}

TEST(PpDecodeArgsTest, BadHexTextIsAUsageError) {
    for (const char* text : {"0d0a0", "0d0a0d0g", "0x0d", "0d,0a"}) {
        const auto r = decode_args({"--hex"}, text);
        EXPECT_EQ(r.code, exit_usage) << text;
        EXPECT_TRUE(r.out.empty());
        EXPECT_NE(r.err.find("hex"), std::string::npos) << r.err;
    }
}

TEST(PpDecodeArgsTest, RawInputMayHoldAnyByte) {
    const std::string h = v2(0x21, 0x11, tcp4_block + rec(0x02, std::string("\0\x80", 2)));
    const auto r = decode_args({}, h);
    ASSERT_EQ(r.code, exit_ok) << r.out;
    EXPECT_EQ(parse_line(r.out)["tlvs"].at(0)["value"].s, std::string("\0\x80", 2));
}

TEST(PpDecodeArgsTest, ReadsAFileAndDashMeansStdin) {
    const std::string path = ::testing::TempDir() + "pp_test_input.bin";
    {
        std::ofstream f(path, std::ios::binary);
        f << "PROXY UNKNOWN\r\nxy";
    }
    auto r = decode_args({path}, "ignored");
    EXPECT_EQ(r.code, exit_ok);
    EXPECT_EQ(parse_line(r.out)["trailing"].n, 2u);
    r = decode_args({"--", "-"}, "PROXY UNKNOWN\r\n");
    EXPECT_EQ(r.code, exit_ok);
    EXPECT_EQ(parse_line(r.out)["trailing"].n, 0u);
    EXPECT_EQ(std::remove(path.c_str()), 0);

    r = decode_args({path}, "");
    EXPECT_EQ(r.code, exit_usage);
    EXPECT_NE(r.err.find("cannot open"), std::string::npos);
}

TEST(PpDecodeArgsTest, RejectsBadUsage) {
    for (const auto& args : std::vector<std::vector<std::string>>{{"a", "b"},
                                                                  {"--bogus"},
                                                                  {"--cip"},
                                                                  {"--cip", "0x1FFFFFFFF"},
                                                                  {"--cip", "-1"},
                                                                  {"--cip", "zz"},
                                                                  {"--hex=1"}}) {
        const auto r = decode_args(args, "PROXY UNKNOWN\r\n");
        EXPECT_EQ(r.code, exit_usage) << testing::PrintToString(args);
        EXPECT_TRUE(r.out.empty());
        EXPECT_FALSE(r.err.empty());
    }
}

// A legacy CIP header (magic, length, IPv4 + TCP) from 192.0.2.1:12345 to 198.51.100.2:443.
std::string cip_legacy_v4(std::uint32_t magic) {
    std::string ip(20, '\0');
    ip[0] = 0x45;
    ip[9] = 6;
    const std::string addrs = hex("c0000201 c6336402");
    ip.replace(12, 8, addrs);
    std::string tcp(20, '\0');
    tcp.replace(0, 4, hex("3039 01bb"));
    tcp[12] = 0x50;
    const std::string m = {static_cast<char>(magic >> 24), static_cast<char>(magic >> 16 & 0xFF),
                           static_cast<char>(magic >> 8 & 0xFF), static_cast<char>(magic & 0xFF)};
    return m + hex("00000028") + ip + tcp;
}

// A standard-framing CIP header with IPv6 + TCP from [2001:db8::1]:12345 to [2001:db8::2]:443.
std::string cip_standard_v6(std::uint32_t magic) {
    std::string ip(40, '\0');
    ip[0] = 0x60;
    ip[6] = 6;
    ip.replace(8, 32, hex("20010db8000000000000000000000001 20010db8000000000000000000000002"));
    std::string tcp(20, '\0');
    tcp.replace(0, 4, hex("3039 01bb"));
    const std::string m = {static_cast<char>(magic >> 24), static_cast<char>(magic >> 16 & 0xFF),
                           static_cast<char>(magic >> 8 & 0xFF), static_cast<char>(magic & 0xFF)};
    return m + hex("00000048 0001 003c") + ip + tcp;
}

TEST(PpCipTest, DecodesLegacyIpv4WithHexMagicAndTrailingBytes) {
    const auto r = decode_args({"--cip", "0x1234ABCD"}, cip_legacy_v4(0x1234ABCD) + "GET");
    EXPECT_EQ(r.code, exit_ok) << r.err;
    EXPECT_EQ(r.out,
              R"({"framing": "legacy", "src": "192.0.2.1:12345", "dst": "198.51.100.2:443", )"
              R"("header_length": 48, "trailing": 3})"
              "\n");
}

TEST(PpCipTest, DecodesStandardIpv6WithDecimalMagicFromHexText) {
    const std::string bin = cip_standard_v6(305441741);  // 0x1234ABCD
    const auto r = decode_args({"--hex", "--cip=305441741"}, to_hex(as_bytes(bin)) + "\n");
    EXPECT_EQ(r.code, exit_ok) << r.err;
    EXPECT_EQ(r.out, R"({"framing": "standard", "src": "[2001:db8::1]:12345", )"
                     R"("dst": "[2001:db8::2]:443", "header_length": 72, "trailing": 0})"
                     "\n");
}

TEST(PpCipTest, ReportsBadMagicAndIncompleteHeaders) {
    auto r = decode_cip(as_bytes(cip_legacy_v4(0x1234ABCD)), 0xCAFEBABE);
    EXPECT_EQ(r.code, exit_invalid);
    EXPECT_EQ(r.out, R"({"error": "CIP_BAD_MAGIC", "message": "CIP magic number mismatch"})"
                     "\n");
    const std::string full = cip_legacy_v4(7);
    r = decode_cip(as_bytes(full.substr(0, 30)), 7);
    EXPECT_EQ(r.code, exit_incomplete);
    EXPECT_EQ(r.out, "{\"incomplete\": true, \"needed\": 18}\n");
}

// ---- encode ---------------------------------------------------------------------------------

run_output encode(std::vector<std::string> args) {
    return run_encode(args);
}

TEST(PpEncodeTest, WritesV1Lines) {
    EXPECT_EQ(encode({"--v1", "--src", "192.0.2.1:12345", "--dst", "198.51.100.2:443"}).out,
              "PROXY TCP4 192.0.2.1 198.51.100.2 12345 443\r\n");
    EXPECT_EQ(encode({"--v1", "--src=[2001:db8::1]:1", "--dst=[2001:db8::2]:2"}).out,
              "PROXY TCP6 2001:db8::1 2001:db8::2 1 2\r\n");
    // Mixed families: TCP6 with the IPv4 side v4-mapped, as build_proxy_v1 does.
    const auto r = encode({"--v1", "--src", "192.0.2.1:1", "--dst", "[2001:db8::2]:2", "--hex"});
    EXPECT_EQ(r.code, exit_ok);
    EXPECT_EQ(r.out, to_hex(as_bytes("PROXY TCP6 ::ffff:192.0.2.1 2001:db8::2 1 2\r\n")) + "\n");
}

TEST(PpEncodeTest, WritesV2Headers) {
    EXPECT_EQ(encode({"--v2", "--src", "192.0.2.1:12345", "--dst", "198.51.100.2:443"}).out,
              v2(0x21, 0x11, tcp4_block));
    EXPECT_EQ(encode({"--v2", "--src", "[2001:db8::1]:12345", "--dst", "[2001:db8::2]:443"}).out,
              v2(0x21, 0x21, tcp6_block));
    // TLV order is the builder's: custom (command-line order), CRC32C, ALPN, AUTHORITY,
    // UNIQUE_ID, NETNS.
    const auto r = encode({"--v2", "--src", "192.0.2.1:12345", "--dst", "198.51.100.2:443",
                           "--netns", "blue", "--unique-id", "ID-1", "--authority", "example.com",
                           "--alpn", "h2", "--tlv", "0xE1=666F6F", "--tlv", "4=", "--crc32c"});
    ASSERT_EQ(r.code, exit_ok) << r.err;
    EXPECT_EQ(r.out, with_crc(0x21, 0x11, tcp4_block + rec(0xE1, "foo") + rec(0x04, ""),
                              rec(0x01, "h2") + rec(0x02, "example.com") + rec(0x05, "ID-1") +
                                  rec(0x30, "blue")));
}

TEST(PpEncodeTest, WritesV2LocalWithOrWithoutAddresses) {
    EXPECT_EQ(encode({"--v2", "--local", "--hex"}).out, "0d0a0d0a000d0a515549540a20000000\n");
    EXPECT_EQ(encode({"--v2", "--local", "--src", "192.0.2.1:1", "--tlv", "0xEA=01"}).out,
              v2(0x20, 0x00, rec(0xEA, "\x01")));
}

TEST(PpEncodeTest, RejectsBadUsageWithExit2) {
    const std::vector<std::string> ends = {"--src", "192.0.2.1:1", "--dst", "192.0.2.2:2"};
    auto with = [&](std::vector<std::string> a) {
        a.insert(a.end(), ends.begin(), ends.end());
        return a;
    };
    const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
        {with({"--v1", "--local"}), "--local is only valid with --v2"},
        {with({"--v1", "--alpn", "h2"}), "--alpn is only valid with --v2"},
        {with({"--v1", "--authority", "a"}), "--authority is only valid with --v2"},
        {with({"--v1", "--unique-id", "a"}), "--unique-id is only valid with --v2"},
        {with({"--v1", "--tlv", "1=00"}), "--tlv is only valid with --v2"},
        {with({"--v1", "--crc32c"}), "--crc32c is only valid with --v2"},
        {with({}), "needs --v1 or --v2"},
        {with({"--v1", "--v2"}), "exactly one of --v1 and --v2"},
        {{"--v2", "--src", "192.0.2.1:1"}, "needs --src and --dst"},
        {{"--v1", "--dst", "192.0.2.1:1"}, "needs --src and --dst"},
        {{"--v2", "--src", "192.0.2.1", "--dst", "192.0.2.2:2"}, "not IPV4:PORT or [IPV6]:PORT"},
        {{"--v2", "--src", "::1:80", "--dst", "192.0.2.2:2"}, "not IPV4:PORT"},
        {{"--v2", "--src", "unix:/x", "--dst", "192.0.2.2:2"}, "not IPV4:PORT"},
        {{"--v2", "--src", "192.0.2.1:65536", "--dst", "192.0.2.2:2"}, "not IPV4:PORT"},
        {{"--v2", "--src", "host.example:80", "--dst", "192.0.2.2:2"}, "not IPV4:PORT"},
        {with({"--v2", "--src", "192.0.2.9:9"}), "--src given twice"},
        {with({"--v2", "--tlv", "256=00"}), "is not 0..255"},
        {with({"--v2", "--tlv", "0x=00"}), "is not 0..255"},
        {with({"--v2", "--tlv", "1=0"}), "is not hex bytes"},
        {with({"--v2", "--tlv", "1"}), "needs TYPE=HEX"},
        {{"--v2", "--src", "192.0.2.1:1", "--dst", "192.0.2.2:2", "--alpn"},
         "--alpn needs one value"},
        {with({"--v2", "--bogus"}), "unknown option '--bogus'"},
        {with({"--v2", "extra"}), "no positional argument"},
    };
    for (const auto& [args, message] : cases) {
        const auto r = encode(args);
        EXPECT_EQ(r.code, exit_usage) << testing::PrintToString(args);
        EXPECT_TRUE(r.out.empty());
        EXPECT_NE(r.err.find(message), std::string::npos)
            << testing::PrintToString(args) << " -> " << r.err;
    }
}

TEST(PpEncodeTest, RefusesAHeaderTooLongToEncode) {
    const auto r = encode({"--v2", "--src", "192.0.2.1:1", "--dst", "192.0.2.2:2", "--authority",
                           std::string(65536, 'a')});
    EXPECT_EQ(r.code, exit_usage);
    EXPECT_NE(r.err.find("cannot be encoded"), std::string::npos);
}

// ---- round trip -----------------------------------------------------------------------------

std::string mapped(const xprt::sock_addr& a) {
    return "[::ffff:" + a.host_string() + "]:" + std::to_string(a.port());
}

// Random specs, encoded by the tool and decoded by the tool: every field comes back.
TEST(PpRoundTripTest, RandomSpecsDecodeToWhatWasEncoded) {
    std::mt19937 rng(20261127);
    auto below = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
    auto random_bytes = [&](std::size_t max_len, bool allow_nul) {
        std::string s(below(max_len + 1), '\0');
        for (char& c : s) {
            c = static_cast<char>(allow_nul ? rng() : 1 + rng() % 255);
        }
        return s;
    };
    auto random_addr = [&](bool v6) {
        const auto port = static_cast<std::uint16_t>(rng());
        if (!v6) {
            return xprt::sock_addr::ipv4(static_cast<std::uint32_t>(rng()), port);
        }
        std::uint8_t ip[16];
        for (auto& x : ip) {
            x = static_cast<std::uint8_t>(rng() % 3 == 0 ? 0 : rng());
        }
        return xprt::sock_addr::ipv6(ip, port);
    };
    // Top-level types whose values have no structure the parser checks (not CRC32C or SSL).
    const std::array<std::uint8_t, 9> free_types = {0x01, 0x02, 0x04, 0x05, 0x30,
                                                    0xE0, 0xEA, 0xF0, 0x21};

    for (int iter = 0; iter < 300; ++iter) {
        SCOPED_TRACE(iter);
        const int version = 1 + static_cast<int>(below(2));
        const bool local = version == 2 && below(5) == 0;
        const bool src6 = below(2) == 1;
        const bool dst6 = below(2) == 1;
        const xprt::sock_addr src = random_addr(src6);
        const xprt::sock_addr dst = random_addr(dst6);
        std::vector<std::string> args = {version == 1 ? "--v1" : "--v2", "--src", src.to_string(),
                                         "--dst", dst.to_string()};
        if (local) {
            args.emplace_back("--local");
        }
        struct expected_tlv {
            std::uint8_t type;
            std::string value;
        };
        std::vector<expected_tlv> want;
        bool crc = false;
        if (version == 2) {
            for (std::size_t k = below(4); k > 0; --k) {
                const std::uint8_t type = free_types[below(free_types.size())];
                const std::string v = random_bytes(type == 0x02 ? 40 : 100, true);
                args.emplace_back("--tlv");
                args.push_back(std::to_string(type) + "=" + to_hex(as_bytes(v)));
                want.push_back({type, v});
            }
            crc = below(2) == 1;
            if (crc) {
                args.emplace_back("--crc32c");
                want.push_back({0x03, ""});  // value unknown in advance
            }
            // Text options: argv strings cannot hold NUL; empty ones are not written.
            const std::array<std::pair<const char*, std::uint8_t>, 4> opts = {
                {{"--alpn", 0x01},
                 {"--authority", 0x02},
                 {"--unique-id", 0x05},
                 {"--netns", 0x30}}};
            for (const auto& [opt, type] : opts) {
                if (below(2) == 1) {
                    const std::string v = random_bytes(60, false);
                    args.emplace_back(opt);
                    args.push_back(v);
                    if (!v.empty()) {
                        want.push_back({type, v});
                    }
                }
            }
        }
        const bool as_hex = below(2) == 1;
        if (as_hex) {
            args.emplace_back("--hex");
        }

        const auto enc = encode(args);
        ASSERT_EQ(enc.code, exit_ok) << enc.err;
        std::istringstream in(enc.out);
        const auto dec =
            run_decode(as_hex ? std::vector<std::string>{"--hex"} : std::vector<std::string>{}, in);
        ASSERT_EQ(dec.code, exit_ok) << dec.out;
        const json j = parse_line(dec.out);

        EXPECT_EQ(j["version"].n, static_cast<std::uint64_t>(version));
        EXPECT_EQ(j["command"].s, local ? "LOCAL" : "PROXY");
        EXPECT_EQ(j["trailing"].n, 0u);
        EXPECT_EQ(j["header_length"].n, as_hex ? enc.out.size() / 2 : enc.out.size());
        if (local) {
            EXPECT_EQ(j["family"].s, "UNSPEC");
            EXPECT_FALSE(j.has("src"));
            EXPECT_FALSE(j.has("dst"));
        } else {
            const bool v6 = src6 || dst6;
            EXPECT_EQ(j["family"].s, v6 ? "TCP6" : "TCP4");
            EXPECT_EQ(j["src"].s, v6 && !src6 ? mapped(src) : src.to_string());
            EXPECT_EQ(j["dst"].s, v6 && !dst6 ? mapped(dst) : dst.to_string());
        }
        const auto& tlvs = j["tlvs"].items;
        ASSERT_EQ(tlvs.size(), want.size());
        for (std::size_t k = 0; k < want.size(); ++k) {
            EXPECT_EQ(tlvs[k]["type"].n, want[k].type) << k;
            if (want[k].type == 0x03) {
                EXPECT_TRUE(tlvs[k]["valid"].b);
                EXPECT_EQ(tlvs[k]["length"].n, 4u);
                continue;
            }
            EXPECT_EQ(tlvs[k]["length"].n, want[k].value.size());
            EXPECT_EQ(tlvs[k]["value_hex"].s, to_hex(as_bytes(want[k].value)));
            const auto t = want[k].type;
            if (t == 0x01 || t == 0x02 || t == 0x05 || t == 0x30) {
                EXPECT_EQ(tlvs[k]["value"].s, want[k].value) << "type " << int{t};
            } else {
                EXPECT_FALSE(tlvs[k].has("value")) << "type " << int{t};
            }
        }
    }
}

// ---- helpers --------------------------------------------------------------------------------

TEST(PpJsonTest, EveryByteValueRoundTripsThroughAPureAsciiString) {
    std::string all;
    for (int c = 0; c < 256; ++c) {
        all.push_back(static_cast<char>(c));
    }
    std::string out;
    append_json_string(out, all);
    for (const char c : out) {
        EXPECT_TRUE(c >= 0x20 && c < 0x7F) << int{c};
    }
    const auto v = json_reader(out).read_all();
    ASSERT_TRUE(v.has_value()) << out;
    EXPECT_EQ(v->s, all);
    EXPECT_NE(out.find(R"(\u0000\u0001)"), std::string::npos);
    EXPECT_NE(out.find(R"(\u00ff")"), std::string::npos);
    EXPECT_NE(out.find(R"( !\"#)"), std::string::npos);
    EXPECT_NE(out.find(R"([\\])"), std::string::npos);
}

TEST(PpHelpersTest, ParsesNumbersInDecimalAndHex) {
    EXPECT_EQ(parse_number("0", 255), 0u);
    EXPECT_EQ(parse_number("255", 255), 255u);
    EXPECT_EQ(parse_number("0xEA", 255), 0xEAu);
    EXPECT_EQ(parse_number("0Xea", 255), 0xEAu);
    EXPECT_EQ(parse_number("0xFFFFFFFF", 0xFFFFFFFFu), 0xFFFFFFFFu);
    for (const char* bad : {"", "256", "0x", "0x100", "-1", "+1", "1a", " 1", "0x-1", "ea"}) {
        EXPECT_FALSE(parse_number(bad, 255).has_value()) << bad;
    }
    EXPECT_FALSE(parse_number("4294967296", 0xFFFFFFFFu).has_value());
}

TEST(PpHelpersTest, HelpDocumentsEveryOptionAndExitCode) {
    std::istringstream in;
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"--help"}, {"-h"}, {"help"}, {"decode", "--help"}, {"encode", "--v1", "--help"}}) {
        const auto r = run(args, in);
        EXPECT_EQ(r.code, exit_ok);
        EXPECT_EQ(r.out, help_text());
    }
    for (const char* word :
         {"decode",       "encode",  "--hex",    "--cip",    "--v1",        "--v2",
          "--local",      "--src",   "--dst",    "--alpn",   "--authority", "--unique-id",
          "--netns",      "--tlv",   "--crc32c", "0 ok",     "1 invalid",   "2 usage",
          "3 incomplete", "\\u00XX", "vpce_id",  "sub_tlvs", "valid"}) {
        EXPECT_NE(help_text().find(word), std::string_view::npos) << word;
    }
}

TEST(PpHelpersTest, UnknownOrMissingCommandIsAUsageError) {
    std::istringstream in;
    for (const auto& args :
         std::vector<std::vector<std::string>>{{}, {"decod"}, {"--v2"}, {"ENCODE"}}) {
        const auto r = run(args, in);
        EXPECT_EQ(r.code, exit_usage);
        EXPECT_TRUE(r.out.empty());
        EXPECT_NE(r.err.find("--help"), std::string::npos);
    }
}

// ---- the built program, through pipes -------------------------------------------------------

struct process_result {
    int code = -1;
    std::string out;
    std::string err;
};

// Runs the xstack-pp binary with `args`, feeding `input` on stdin; collects stdout and stderr.
process_result run_binary(const std::vector<std::string>& args, const std::string& input) {
    process_result res;
    int in_pipe[2];
    int out_pipe[2];
    int err_pipe[2];
    if (pipe(in_pipe) != 0 || pipe(out_pipe) != 0 || pipe(err_pipe) != 0) {
        ADD_FAILURE() << "pipe: " << errno;
        return res;
    }
    std::vector<std::string> argv_s = {XS_PP_BINARY};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    argv.reserve(argv_s.size() + 1);
    for (auto& a : argv_s) {
        argv.push_back(a.data());
    }
    argv.push_back(nullptr);

    const pid_t pid = fork();
    if (pid == 0) {
        dup2(in_pipe[0], 0);
        dup2(out_pipe[1], 1);
        dup2(err_pipe[1], 2);
        for (const int fd :
             {in_pipe[0], in_pipe[1], out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]}) {
            close(fd);
        }
        execv(argv[0], argv.data());
        _exit(127);
    }
    close(in_pipe[0]);
    close(out_pipe[1]);
    close(err_pipe[1]);
    if (pid < 0) {
        ADD_FAILURE() << "fork: " << errno;
        close(in_pipe[1]);
        close(out_pipe[0]);
        close(err_pipe[0]);
        return res;
    }

    // Feed stdin and drain both outputs together, so no pipe can fill up and block the child.
    std::size_t written = 0;
    int in_fd = in_pipe[1];
    if (input.empty()) {
        close(in_fd);
        in_fd = -1;
    }
    std::array<pollfd, 3> fds{};
    bool out_open = true;
    bool err_open = true;
    while (out_open || err_open || in_fd >= 0) {
        fds[0] = {out_open ? out_pipe[0] : -1, POLLIN, 0};
        fds[1] = {err_open ? err_pipe[0] : -1, POLLIN, 0};
        fds[2] = {in_fd, POLLOUT, 0};
        if (poll(fds.data(), fds.size(), 10000) <= 0) {
            ADD_FAILURE() << "xstack-pp hung or poll failed";
            break;
        }
        char buf[4096];
        for (int k = 0; k < 2; ++k) {
            if (fds[static_cast<std::size_t>(k)].revents == 0) {
                continue;
            }
            const ssize_t n = read(fds[static_cast<std::size_t>(k)].fd, buf, sizeof buf);
            if (n > 0) {
                (k == 0 ? res.out : res.err).append(buf, static_cast<std::size_t>(n));
            } else {
                (k == 0 ? out_open : err_open) = false;
            }
        }
        if (in_fd >= 0 && fds[2].revents != 0) {
            const ssize_t n = write(in_fd, input.data() + written, input.size() - written);
            if (n > 0) {
                written += static_cast<std::size_t>(n);
            }
            if (n <= 0 || written == input.size()) {
                close(in_fd);
                in_fd = -1;
            }
        }
    }
    if (in_fd >= 0) {
        close(in_fd);
    }
    close(out_pipe[0]);
    close(err_pipe[0]);
    int status = 0;
    if (waitpid(pid, &status, 0) == pid && WIFEXITED(status)) {
        res.code = WEXITSTATUS(status);
    }
    return res;
}

TEST(PpProgramTest, DecodesFromStdinWithExit0) {
    const auto r = run_binary({"decode"}, v2(0x21, 0x11, tcp4_block) + "xyz");
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, tcp4_prefix(28, 3) + "[]}\n");
    EXPECT_TRUE(r.err.empty());
}

TEST(PpProgramTest, InvalidHeaderExits1WithTheErrorCode) {
    const auto r = run_binary({"decode"}, "PROXY TCP5 x\r\n");
    EXPECT_EQ(r.code, 1);
    EXPECT_EQ(parse_line(r.out)["error"].s, "PRX_BAD_PROTO");
}

TEST(PpProgramTest, BadUsageExits2WithAMessageOnStderr) {
    for (const auto& args : std::vector<std::vector<std::string>>{
             {}, {"encode", "--v1", "--local", "--src", "1.2.3.4:1", "--dst", "1.2.3.4:2"}}) {
        const auto r = run_binary(args, "");
        EXPECT_EQ(r.code, 2);
        EXPECT_TRUE(r.out.empty());
        EXPECT_NE(r.err.find("xstack-pp: "), std::string::npos);
    }
}

TEST(PpProgramTest, IncompleteHeaderExits3) {
    const auto r = run_binary({"decode", "--hex"}, "0d0a0d0a 000d0a51 5549540a 2111 000c\n");
    EXPECT_EQ(r.code, 3);
    EXPECT_EQ(r.out, "{\"incomplete\": true, \"needed\": 12}\n");
}

TEST(PpProgramTest, HelpExits0) {
    const auto r = run_binary({"--help"}, "");
    EXPECT_EQ(r.code, 0);
    EXPECT_EQ(r.out, help_text());
}

TEST(PpProgramTest, EncodePipedIntoDecodeRoundTripsRawBytes) {
    // Raw v2 bytes include NULs: the program must write them unchanged.
    const auto enc = run_binary({"encode", "--v2", "--src", "[2001:db8::1]:0", "--dst",
                                 "192.0.2.2:65535", "--unique-id", "é", "--crc32c"},
                                "");
    ASSERT_EQ(enc.code, 0) << enc.err;
    ASSERT_NE(enc.out.find('\0'), std::string::npos);
    const auto dec = run_binary({"decode"}, enc.out);
    ASSERT_EQ(dec.code, 0) << dec.err;
    EXPECT_EQ(dec.out, R"({"version": 2, "command": "PROXY", "family": "TCP6", )"
                       R"("src": "[2001:db8::1]:0", "dst": "[::ffff:192.0.2.2]:65535", )"
                       R"("header_length": 64, "trailing": 0, "tlv_offset": 52, "tlvs": [)"
                       R"({"type": 3, "name": "CRC32C", "length": 4, "value_hex": ")" +
                           to_hex(as_bytes(enc.out.substr(55, 4))) +
                           R"(", "valid": true}, {"type": 5, "name": "UNIQUE_ID", "length": 2, )"
                           R"("value_hex": "c3a9", "value": "\u00c3\u00a9"}]})"
                           "\n");
}

}  // namespace
}  // namespace xstack::tools::pp
