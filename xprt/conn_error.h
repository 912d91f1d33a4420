// xprt/conn_error.h - one error code per failure, stable and named.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace xstack::xprt {

// The list is append-only within each group's reserved range: the numeric values are exposed in
// logs and on the stats socket. X(enumerator, "NAME", "what happened").
#define XS_CONN_ERRORS(X)                                                                    \
    X(none, "NONE", "no error")                                                              \
    /* PROXY protocol, receive side */                                                       \
    X(prx_empty, "PRX_EMPTY", "connection closed before any PROXY header byte")              \
    X(prx_abort, "PRX_ABORT", "connection closed or failed inside the PROXY header")         \
    X(prx_timeout, "PRX_TIMEOUT", "timeout while waiting for the PROXY header")              \
    X(prx_truncated, "PRX_TRUNCATED", "PROXY header truncated")                              \
    X(prx_not_hdr, "PRX_NOT_HDR", "not a PROXY header")                                      \
    X(prx_bad_hdr, "PRX_BAD_HDR", "malformed PROXY header")                                  \
    X(prx_bad_proto, "PRX_BAD_PROTO", "unsupported protocol or family in PROXY header")      \
    X(prx_bad_addr, "PRX_BAD_ADDR", "invalid address or port in PROXY header")               \
    X(prx_bad_len, "PRX_BAD_LEN", "PROXY v2 length shorter than the family's address block") \
    X(prx_bad_tlv, "PRX_BAD_TLV", "PROXY v2 TLVs do not end exactly at the header end")      \
    X(prx_bad_crc, "PRX_BAD_CRC", "PROXY v2 CRC32C mismatch")                                \
    X(prx_bad_crc_len, "PRX_BAD_CRC_LEN", "PROXY v2 CRC32C TLV is not 4 bytes")              \
    X(prx_too_big, "PRX_TOO_BIG", "PROXY header longer than the configured maximum")         \
    X(prx_tlv_too_big, "PRX_TLV_TOO_BIG", "PROXY v2 TLV longer than the configured maximum") \
    X(prx_authority_too_long, "PRX_AUTHORITY_TOO_LONG", "PROXY v2 AUTHORITY over 255 bytes") \
    X(prx_unique_id_too_long, "PRX_UNIQUE_ID_TOO_LONG", "PROXY v2 UNIQUE_ID over 128 bytes") \
    X(prx_bad_ssl_tlv, "PRX_BAD_SSL_TLV", "malformed PROXY v2 SSL TLV")                      \
    X(prx_untrusted, "PRX_UNTRUSTED", "PROXY header from a source outside the trusted list") \
    X(prx_send, "PRX_SEND", "failed to send the PROXY header")                               \
    X(prx_bad_version, "PRX_BAD_VERSION", "PROXY v2 signature with a version other than 2")  \
    X(prx_bad_cmd, "PRX_BAD_CMD", "PROXY v2 command other than LOCAL or PROXY")              \
    X(prx_line_too_long, "PRX_LINE_TOO_LONG", "PROXY v1 line without CRLF within 107 bytes") \
    X(prx_dup_crc, "PRX_DUP_CRC", "PROXY v2 header with more than one CRC32C TLV")           \
    /* NetScaler Client IP insertion */                                                      \
    X(cip_empty, "CIP_EMPTY", "connection closed before any CIP byte")                       \
    X(cip_abort, "CIP_ABORT", "connection closed or failed inside the CIP header")           \
    X(cip_timeout, "CIP_TIMEOUT", "timeout while waiting for the CIP header")                \
    X(cip_truncated, "CIP_TRUNCATED", "CIP header truncated")                                \
    X(cip_bad_magic, "CIP_BAD_MAGIC", "CIP magic number mismatch")                           \
    X(cip_bad_proto, "CIP_BAD_PROTO", "CIP header carries an unsupported protocol")          \
    X(cip_bad_len, "CIP_BAD_LEN", "CIP header length inconsistent")                          \
    X(cip_too_big, "CIP_TOO_BIG", "CIP header longer than the configured maximum")           \
    /* SOCKS4 client */                                                                      \
    X(socks4_send, "SOCKS4_SEND", "failed to send the SOCKS4 request")                       \
    X(socks4_recv, "SOCKS4_RECV", "failed to receive the SOCKS4 reply")                      \
    X(socks4_deny, "SOCKS4_DENY", "SOCKS4 proxy denied the request")                         \
    X(socks4_abort, "SOCKS4_ABORT", "connection closed during the SOCKS4 exchange")          \
    X(socks4_timeout, "SOCKS4_TIMEOUT", "timeout during the SOCKS4 exchange")                \
    X(socks4_bad_reply, "SOCKS4_BAD_REPLY", "malformed SOCKS4 reply")                        \
    /* TLS */                                                                                \
    X(ssl_empty, "SSL_EMPTY", "connection closed before any TLS byte")                       \
    X(ssl_abort, "SSL_ABORT", "connection closed during the TLS handshake")                  \
    X(ssl_timeout, "SSL_TIMEOUT", "timeout during the TLS handshake")                        \
    X(ssl_no_mem, "SSL_NO_MEM", "out of memory in TLS")                                      \
    X(ssl_reneg, "SSL_RENEG", "TLS renegotiation refused")                                   \
    X(ssl_ca_fail, "SSL_CA_FAIL", "peer certificate chain does not verify")                  \
    X(ssl_crt_fail, "SSL_CRT_FAIL", "peer certificate rejected")                             \
    X(ssl_expired, "SSL_EXPIRED", "peer certificate expired or not yet valid")               \
    X(ssl_mismatch, "SSL_MISMATCH", "peer certificate does not match the host name")         \
    X(ssl_mismatch_sni, "SSL_MISMATCH_SNI", "no certificate for the requested SNI")          \
    X(ssl_no_alpn, "SSL_NO_ALPN", "no shared ALPN protocol")                                 \
    X(ssl_no_cert, "SSL_NO_CERT", "peer sent no certificate")                                \
    X(ssl_handshake, "SSL_HANDSHAKE", "TLS handshake failure")                               \
    X(ssl_not_tls, "SSL_NOT_TLS", "peer did not speak TLS")                                  \
    X(ssl_fatal, "SSL_FATAL", "fatal TLS error after the handshake")                         \
    /* socket level (errno classes) */                                                       \
    X(pollerr, "POLLERR", "the poller reported an error on the socket")                      \
    X(erefused, "EREFUSED", "connection refused")                                            \
    X(ereset, "ERESET", "connection reset by peer")                                          \
    X(eunreach, "EUNREACH", "network or host unreachable")                                   \
    X(etimedout, "ETIMEDOUT", "connection timed out at the TCP level")                       \
    X(enomem, "ENOMEM", "out of kernel memory")                                              \
    X(ebadf, "EBADF", "bad file descriptor")                                                 \
    X(efault, "EFAULT", "bad address")                                                       \
    X(einval, "EINVAL", "invalid argument")                                                  \
    X(enconn, "ENCONN", "socket not connected")                                              \
    X(ensock, "ENSOCK", "not a socket")                                                      \
    X(enobufs, "ENOBUFS", "no buffer space")                                                 \
    X(epipe, "EPIPE", "write after shutdown or on a closed connection")                      \
    X(free_ports, "FREE_PORTS", "no free local port")                                        \
    X(addr_inuse, "ADDR_INUSE", "local address in use")                                      \
    X(sock_err, "SOCK_ERR", "other socket error")                                            \
    /* timeouts and resource errors owned by the upper layers */                             \
    X(connect_timeout, "CONNECT_TIMEOUT", "connect timeout")                                 \
    X(idle_timeout, "IDLE_TIMEOUT", "idle timeout")                                          \
    X(no_xprt, "NO_XPRT", "transport not built into this library")                           \
    X(xprt_init, "XPRT_INIT", "transport initialisation failed")                             \
    X(internal, "INTERNAL", "internal error")

/// One error code per failure. A connection keeps the first code set (first writer wins).
enum class conn_err : std::uint8_t {
#define XS_X(e, name, doc) e,
    XS_CONN_ERRORS(XS_X)
#undef XS_X
};

/// Number of error codes (for per-code counters).
inline constexpr std::size_t conn_err_count = 0
// A term of the sum "0 +1 +1 ...", one per code: not an expression on its own.
// NOLINTNEXTLINE(bugprone-macro-parentheses)
#define XS_X(e, name, doc) +1
    XS_CONN_ERRORS(XS_X)
#undef XS_X
    ;

/// Stable upper-case name, e.g. "PRX_TIMEOUT". Never empty.
[[nodiscard]] std::string_view to_string(conn_err e) noexcept;
/// One-line human description.
[[nodiscard]] std::string_view describe(conn_err e) noexcept;
/// Reverse lookup by name (exact, upper case); conn_err::none and false if unknown.
[[nodiscard]] bool conn_err_from_string(std::string_view name, conn_err& out) noexcept;
/// Translate an errno value into the matching socket-level code (anything unknown: sock_err).
[[nodiscard]] conn_err conn_err_from_errno(int err) noexcept;

}  // namespace xstack::xprt
