// tests/ssl/openssl_peer.h - blocking TLS peers made with OpenSSL directly (independent of the
// ssl layer under test), for tests outside tests/ssl: no OpenSSL type in this header, so those
// tests include no OpenSSL header. Part of xstack_ssl_test_certs (builds with OpenSSL only).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace xstack::test::tls {

/// A blocking TLS client on a connected fd (owned: closed by the destructor) that verifies the
/// server's certificate against `ca_file` and the name `sni`, which it also sends.
class openssl_client {
public:
    /// `alpn_wire`: protocols in ALPN wire format ("\x02h2\x08http/1.1"); empty: no ALPN.
    openssl_client(int fd, const std::string& ca_file, const char* sni,
                   std::string_view alpn_wire = {});
    ~openssl_client();
    openssl_client(const openssl_client&) = delete;
    openssl_client& operator=(const openssl_client&) = delete;

    [[nodiscard]] int fd() const noexcept;
    bool handshake();
    bool write(std::string_view s);
    /// Reads until `n` bytes or the end of the stream / an error: returns what it got.
    std::string read_exactly(std::size_t n);
    [[nodiscard]] std::string alpn() const;
    /// Sends close_notify.
    void shutdown_tls();

private:
    struct impl;
    std::unique_ptr<impl> p_;
};

/// A blocking TLS echo server on an accepted fd: handshake with the certificate chain and key
/// files, echo until the end of the stream, close_notify, then shut and close the fd.
void openssl_echo(int fd, const std::string& chain_file, const std::string& key_file);

}  // namespace xstack::test::tls
