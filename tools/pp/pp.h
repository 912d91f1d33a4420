// tools/pp/pp.h - xstack-pp, a PROXY protocol (v1/v2) and NetScaler CIP debugging tool: decodes
// a header to one line of JSON, or encodes one from command-line options.
//
// Everything main() does is here, over strings and streams, so the tests can run the tool
// without spawning a process. The JSON schema and the exit codes are documented in docs/pp.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <istream>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace xstack::tools::pp {

/// Process exit codes (stable: scripts test them).
enum exit_code : int {
    exit_ok = 0,          ///< decode: a valid header; encode: header written; --help
    exit_invalid = 1,     ///< decode: the input can never become a valid header
    exit_usage = 2,       ///< bad command line, unreadable file, bad hex text
    exit_incomplete = 3,  ///< decode: the input is a strict prefix of a valid header
};

/// What a run produced: the exit code, the bytes for stdout and the text for stderr.
struct run_output {
    int code = exit_ok;
    std::string out;  ///< stdout: JSON + '\n' (decode), header bytes or hex + '\n' (encode)
    std::string err;  ///< stderr: usage errors only
};

/// Runs `xstack-pp <args...>` (`args` excludes the program name). `in` is read only by decode
/// without a FILE argument (or with FILE "-"), to its end.
[[nodiscard]] run_output run(std::span<const std::string> args, std::istream& in);

/// `xstack-pp decode ...` (`args` are the words after "decode").
[[nodiscard]] run_output run_decode(std::span<const std::string> args, std::istream& in);

/// `xstack-pp encode ...` (`args` are the words after "encode").
[[nodiscard]] run_output run_encode(std::span<const std::string> args);

/// The decode of `input` as a PROXY header (v1 or v2, detected by handshake::parse_proxy with
/// the default proxy_options): `code` is exit_ok, exit_invalid or exit_incomplete and `out` the
/// JSON object followed by '\n'. `err` stays empty.
[[nodiscard]] run_output decode_proxy(std::span<const std::byte> input);

/// Same for a NetScaler CIP header whose agreed magic number is `magic`.
[[nodiscard]] run_output decode_cip(std::span<const std::byte> input, std::uint32_t magic);

/// Hex text to bytes: digits in either case; ASCII whitespace (space, tab, CR, LF, VT, FF) is
/// ignored wherever it appears. nullopt on any other character or an odd number of digits.
[[nodiscard]] std::optional<std::vector<std::byte>> parse_hex_text(std::string_view text);

/// Lower-case hex of `b`, no separators.
[[nodiscard]] std::string to_hex(std::span<const std::byte> b);

/// Appends `s` to `out` as a quoted JSON string. '"' and '\\' are backslash-escaped; bytes below
/// 0x20, 0x7F and every byte >= 0x80 are written as \u00XX, so the output is pure ASCII and
/// always valid JSON whatever the input, and each code point of the decoded JSON string is
/// exactly one input byte (read it back as Latin-1 to get the original bytes).
void append_json_string(std::string& out, std::string_view s);

/// Parses "123" or "0x7b" (also "0X7B") into a value <= `max`; nullopt otherwise.
[[nodiscard]] std::optional<std::uint32_t> parse_number(std::string_view text, std::uint32_t max);

/// The --help text.
[[nodiscard]] std::string_view help_text() noexcept;

}  // namespace xstack::tools::pp
