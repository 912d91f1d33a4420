// tests/ssl/openssl_peer.cc
#include "tests/ssl/openssl_peer.h"

#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace xstack::test::tls {

struct openssl_client::impl {
    SSL_CTX* ctx = nullptr;
    SSL* ssl = nullptr;
    int fd = -1;
};

openssl_client::openssl_client(int fd, const std::string& ca_file, const char* sni,
                               std::string_view alpn_wire)
    : p_(std::make_unique<impl>()) {
    p_->fd = fd;
    p_->ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_load_verify_locations(p_->ctx, ca_file.c_str(), nullptr);
    SSL_CTX_set_verify(p_->ctx, SSL_VERIFY_PEER, nullptr);
    if (!alpn_wire.empty()) {
        SSL_CTX_set_alpn_protos(p_->ctx, reinterpret_cast<const unsigned char*>(alpn_wire.data()),
                                static_cast<unsigned>(alpn_wire.size()));
    }
    p_->ssl = SSL_new(p_->ctx);
    SSL_set_fd(p_->ssl, fd);
    SSL_set_tlsext_host_name(p_->ssl, sni);
    SSL_set1_host(p_->ssl, sni);
}

openssl_client::~openssl_client() {
    SSL_free(p_->ssl);
    SSL_CTX_free(p_->ctx);
    ERR_clear_error();
    if (p_->fd >= 0) {
        ::close(p_->fd);
    }
}

int openssl_client::fd() const noexcept {
    return p_->fd;
}

bool openssl_client::handshake() {
    return SSL_connect(p_->ssl) == 1;
}

bool openssl_client::write(std::string_view s) {
    return SSL_write(p_->ssl, s.data(), static_cast<int>(s.size())) == static_cast<int>(s.size());
}

std::string openssl_client::read_exactly(std::size_t n) {
    std::string out(n, '\0');
    std::size_t got = 0;
    while (got < n) {
        const int r = SSL_read(p_->ssl, out.data() + got, static_cast<int>(n - got));
        if (r <= 0) {
            break;
        }
        got += static_cast<std::size_t>(r);
    }
    out.resize(got);
    return out;
}

std::string openssl_client::alpn() const {
    const unsigned char* p = nullptr;
    unsigned len = 0;
    SSL_get0_alpn_selected(p_->ssl, &p, &len);
    return {reinterpret_cast<const char*>(p), len};
}

void openssl_client::shutdown_tls() {
    SSL_shutdown(p_->ssl);
}

void openssl_echo(int fd, const std::string& chain_file, const std::string& key_file) {
    SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
    SSL_CTX_use_certificate_chain_file(ctx, chain_file.c_str());
    SSL_CTX_use_PrivateKey_file(ctx, key_file.c_str(), SSL_FILETYPE_PEM);
    SSL* ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    if (SSL_accept(ssl) == 1) {
        char buf[16384];
        for (;;) {
            const int r = SSL_read(ssl, buf, sizeof buf);
            if (r <= 0 || SSL_write(ssl, buf, r) != r) {
                break;
            }
        }
        SSL_shutdown(ssl);
    }
    ERR_clear_error();
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    ::shutdown(fd, SHUT_WR);
    ::close(fd);
}

}  // namespace xstack::test::tls
