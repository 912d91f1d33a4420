// proxy/options.h - the xstack-proxy command line: the options, a strict parser, the help text.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace xstack::proxy {

enum class splice_mode : std::uint8_t { auto_, always, never };
[[nodiscard]] std::string_view to_string(splice_mode m) noexcept;
/// The workers' poller (event::poller_kind): "epoll", "epoll-et" or "poll".
enum class poller_mode : std::uint8_t { epoll, epoll_et, poll };
[[nodiscard]] std::string_view to_string(poller_mode m) noexcept;

/// Everything the command line can say. Defaults are the documented ones.
struct options {
    // Addresses, as given ("HOST:PORT", "[V6]:PORT", a name); resolved by server::create.
    std::string listen;
    std::string connect;

    // Frontend
    bool accept_proxy = false;
    std::string tls_cert;           ///< PEM chain (+ key unless tls_key): terminate TLS
    std::string tls_key;            ///< PEM key
    std::vector<std::string> alpn;  ///< server ALPN preference

    // Backend
    int send_proxy = 0;  ///< 0: none, 1: PROXY v1, 2: PROXY v2
    bool tls = false;    ///< originate TLS
    std::string tls_ca;  ///< empty: the system store
    std::string tls_sni;
    bool tls_no_verify = false;

    // Transport
    splice_mode splice = splice_mode::auto_;
    std::uint32_t pipe_size = 1u << 20;  ///< F_SETPIPE_SZ for splicing pipes (kernel may cap)
    bool tfo = false;
    poller_mode poller = poller_mode::epoll_et;
    int threads = 1;
    std::uint32_t handshake_timeout_ms = 5000;  ///< 0: none
    std::uint32_t idle_timeout_ms = 60000;      ///< 0: none

    // Observability
    std::string stats_socket;

    [[nodiscard]] bool frontend_tls() const noexcept { return !tls_cert.empty(); }
};

/// What parse_args concluded.
struct parse_outcome {
    enum class kind : std::uint8_t {
        run,    ///< `opts` holds a valid configuration
        help,   ///< --help / -h: print usage_text(), exit 0
        error,  ///< `message` says what is wrong: print it on stderr, exit 2
    };
    kind what = kind::error;
    options opts;
    std::string message;
};

/// Parses argv[1..argc-1] strictly: unknown options, missing or malformed values, repeated
/// options, stray arguments and contradictory combinations are errors. `--opt=value` and
/// `--opt value` are both accepted. TLS options are refused when `tls_available` is false
/// (a build without OpenSSL).
[[nodiscard]] parse_outcome parse_args(int argc, const char* const* argv, bool tls_available);
/// The same over a vector (tests).
[[nodiscard]] parse_outcome parse_args(const std::vector<std::string>& args, bool tls_available);

/// The --help text.
[[nodiscard]] std::string usage_text();

}  // namespace xstack::proxy
