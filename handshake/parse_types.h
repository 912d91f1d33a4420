// handshake/parse_types.h - the one result type shared by every handshake parser.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "xprt/conn_error.h"

namespace xstack::handshake {

/// What a parser concluded from the bytes received so far.
enum class parse_status : std::uint8_t {
    /// The input starts with a whole, valid header of `length` bytes, decoded into `value`.
    /// Bytes after it (`input.size() - length` of them) belong to the layer above.
    complete,
    /// The input is a strict prefix of at least one valid header: call again once at least
    /// `needed` more bytes have arrived (on the whole input, not only the new bytes).
    need_more,
    /// No continuation of the input can become a valid header; `error` says why.
    error,
};

/// "complete", "need_more" or "error".
[[nodiscard]] constexpr std::string_view to_string(parse_status s) noexcept {
    switch (s) {
    case parse_status::complete:
        return "complete";
    case parse_status::need_more:
        return "need_more";
    case parse_status::error:
        return "error";
    }
    return "unknown";
}

/// The result of parse_proxy, parse_proxy_v1, parse_proxy_v2, parse_cip and
/// parse_socks4_reply.
///
/// Contract shared by all parsers
///   - Pure functions: no I/O, no allocation, no exception, no state kept between calls. Call
///     again on the whole input received so far (they are cheap on a prefix: the longest
///     header is bounded by a limit checked as soon as the length is known).
///   - Monotonic: for an input that yields need_more, any longer input yields need_more,
///     complete, or an error; for an input that yields an error, every longer input yields the
///     same error. A header split at any offset therefore gives the same final outcome as the
///     whole header (the "chunking" fuzz target checks this).
///   - An error is reported as soon as the bytes seen can no longer start a valid header (for
///     example "PROXY TCP4 300" is already `prx_bad_addr`); each parser's header says which
///     checks, if any, wait for the whole header (PROXY v2 TLVs and CRC, for instance).
///   - Never an error without a code: `error != conn_err::none` exactly when status == error.
///     Parsers never return prx_truncated, prx_empty, prx_abort or prx_timeout (nor their CIP
///     and SOCKS4 twins): a short input is need_more, and deciding that no more bytes will
///     come (end of stream, deadline) is the handshake layer's job.
///   - `value` may hold views into the input (TLVs, UNIX paths): it is valid only while the
///     input bytes stay alive and unchanged.
template <class T>
struct parse_result {
    parse_status status = parse_status::need_more;
    /// Why the input was rejected (status == error), else conn_err::none.
    xprt::conn_err error = xprt::conn_err::none;
    /// status == complete: the header's length in bytes (never more than the input's size).
    std::size_t length = 0;
    /// status == need_more: a lower bound (>= 1) on the bytes still missing; exact once the
    /// parser knows the header's total length (PROXY v2 after 16 bytes, CIP after its length
    /// field, the SOCKS4 reply).
    std::size_t needed = 1;
    /// status == complete: the decoded header. parse_socks4_reply also fills `value.code` on a
    /// socks4_deny error (see socks4.h).
    T value{};

    [[nodiscard]] bool complete() const noexcept { return status == parse_status::complete; }
    [[nodiscard]] bool need_more() const noexcept { return status == parse_status::need_more; }
    [[nodiscard]] bool failed() const noexcept { return status == parse_status::error; }

    /// Marks the result as an error with code `e`.
    void fail(xprt::conn_err e) noexcept {
        status = parse_status::error;
        error = e;
        length = 0;
        needed = 0;
    }
    /// Marks the result as need_more, `n` (>= 1) bytes missing at least.
    void more(std::size_t n) noexcept {
        status = parse_status::need_more;
        error = xprt::conn_err::none;
        needed = n == 0 ? 1 : n;
    }
    /// Marks the result as complete with a header of `len` bytes (`value` filled by the caller).
    void done(std::size_t len) noexcept {
        status = parse_status::complete;
        error = xprt::conn_err::none;
        length = len;
        needed = 0;
    }
};

}  // namespace xstack::handshake
