// xprt/term_log.h - the first termination events of a connection: "who closed first".
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace xstack::xprt {

/// Where a termination event was seen.
enum class term_loc : std::uint8_t {
    fd = 1,    ///< socket level (raw transport, fd callback)
    hs = 2,    ///< handshake layer
    xprt = 3,  ///< a transport layer (ssl, ...)
    app = 4,   ///< the layer above the chain (stream, application)
};

/// What happened.
enum class term_type : std::uint8_t {
    shutw = 1,            ///< write side shut by us
    shutr = 2,            ///< read side shut (peer FIN)
    rcv_err = 3,          ///< error on receive
    snd_err = 4,          ///< error on send
    truncated_shutr = 5,  ///< peer closed inside a handshake or message
    truncated_rcv_err = 6,
    connect_err = 7,  ///< connect failed
    intercepted = 8,  ///< closed by us on purpose (kill, limit)
    connect_poll_err = 9,
    poll_err = 10,
    poll_hup = 11,
    timeout = 12,
};

/// Up to four events, each one byte: location nibble (bit 3 set for the backend side) and type
/// nibble. An event is appended only while there is room and if it differs from the last one.
class term_log {
public:
    void add(term_loc where, term_type what, bool backend = false) noexcept {
        const auto loc =
            static_cast<std::uint8_t>(static_cast<std::uint8_t>(where) | (backend ? 8u : 0u));
        const auto ev = static_cast<std::uint8_t>((loc << 4) | static_cast<std::uint8_t>(what));
        if (n_ == ev_.size() || (n_ > 0 && ev_[n_ - 1] == ev)) {
            return;
        }
        ev_[n_++] = ev;
    }
    [[nodiscard]] std::size_t size() const noexcept { return n_; }
    [[nodiscard]] std::uint8_t at(std::size_t i) const noexcept { return ev_[i]; }
    /// All events packed in a 32-bit word, first event in the low byte.
    [[nodiscard]] std::uint32_t packed() const noexcept {
        std::uint32_t v = 0;
        for (std::size_t i = 0; i < n_; ++i) {
            v |= static_cast<std::uint32_t>(ev_[i]) << (8 * i);
        }
        return v;
    }
    void clear() noexcept { n_ = 0; }
    /// "fd.shutr,fd.shutw" (backend locations are prefixed with "b"), "-" when empty.
    [[nodiscard]] std::string to_string() const;

private:
    std::array<std::uint8_t, 4> ev_{};
    std::size_t n_ = 0;
};

}  // namespace xstack::xprt
