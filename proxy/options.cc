// proxy/options.cc
#include "proxy/options.h"

#include <charconv>
#include <cstdio>

#include "xprt/sock_addr.h"

namespace xstack::proxy {

std::string_view to_string(splice_mode m) noexcept {
    switch (m) {
    case splice_mode::auto_:
        return "auto";
    case splice_mode::always:
        return "always";
    case splice_mode::never:
        return "never";
    }
    return "?";
}

std::string_view to_string(poller_mode m) noexcept {
    switch (m) {
    case poller_mode::epoll:
        return "epoll";
    case poller_mode::epoll_et:
        return "epoll-et";
    case poller_mode::poll:
        return "poll";
    }
    return "?";
}

namespace {

enum class opt_id : std::uint8_t {
    listen,
    connect,
    accept_proxy,
    tls_cert,
    tls_key,
    alpn,
    send_proxy,
    send_proxy_v2,
    tls,
    tls_ca,
    tls_sni,
    tls_no_verify,
    splice,
    pipe_size,
    tfo,
    poller,
    threads,
    handshake_timeout,
    idle_timeout,
    stats_socket,
    help,
    count_
};

struct opt_def {
    std::string_view name;
    opt_id id;
    bool takes_value;
    bool needs_tls;  ///< refused in a build without OpenSSL
};

constexpr opt_def defs[] = {
    {"--listen", opt_id::listen, true, false},
    {"--connect", opt_id::connect, true, false},
    {"--accept-proxy", opt_id::accept_proxy, false, false},
    {"--tls-cert", opt_id::tls_cert, true, true},
    {"--tls-key", opt_id::tls_key, true, true},
    {"--alpn", opt_id::alpn, true, true},
    {"--send-proxy", opt_id::send_proxy, false, false},
    {"--send-proxy-v2", opt_id::send_proxy_v2, false, false},
    {"--tls", opt_id::tls, false, true},
    {"--tls-ca", opt_id::tls_ca, true, true},
    {"--tls-sni", opt_id::tls_sni, true, true},
    {"--tls-no-verify", opt_id::tls_no_verify, false, true},
    {"--splice", opt_id::splice, true, false},
    {"--pipe-size", opt_id::pipe_size, true, false},
    {"--tfo", opt_id::tfo, false, false},
    {"--poller", opt_id::poller, true, false},
    {"--threads", opt_id::threads, true, false},
    {"--handshake-timeout", opt_id::handshake_timeout, true, false},
    {"--idle-timeout", opt_id::idle_timeout, true, false},
    {"--stats-socket", opt_id::stats_socket, true, false},
    {"--help", opt_id::help, false, false},
    {"-h", opt_id::help, false, false},
};

parse_outcome fail(std::string msg) {
    parse_outcome o;
    o.what = parse_outcome::kind::error;
    o.message = std::move(msg);
    return o;
}

bool parse_u32(std::string_view s, std::uint32_t max, std::uint32_t& out) {
    if (s.empty() || s.size() > 10) {
        return false;
    }
    for (const char ch : s) {
        if (ch < '0' || ch > '9') {
            return false;  // no sign, no spaces, no suffix
        }
    }
    std::uint64_t v = 0;
    const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
    if (r.ec != std::errc() || r.ptr != s.data() + s.size() || v > max) {
        return false;
    }
    out = static_cast<std::uint32_t>(v);
    return true;
}

/// "HOST:PORT", "[V6]:PORT" (HOST a literal or a name) or "unix:PATH"; port 1..65535, or 0
/// too when `port_zero_ok` (listen: any free port).
bool valid_address(std::string_view text, bool port_zero_ok, std::string& why) {
    if (text.starts_with("unix:")) {
        if (text.size() == 5 || !xprt::sock_addr::parse(text)) {
            why = "invalid UNIX socket path";
            return false;
        }
        return true;
    }
    std::string_view host;
    std::string_view port;
    if (!xprt::split_host_port(text, host, port) || host.empty()) {
        why = "expected HOST:PORT or [IPV6]:PORT";
        return false;
    }
    std::uint32_t p = 0;
    if (!parse_u32(port, 65535, p) || (p == 0 && !port_zero_ok)) {
        why = port_zero_ok ? "port must be 0..65535" : "port must be 1..65535";
        return false;
    }
    if (host.front() == '[' || host.find(':') != std::string_view::npos) {
        if (!xprt::sock_addr::parse(text)) {
            why = "invalid IPv6 address";
            return false;
        }
        return true;
    }
    // A name or an IPv4 literal: names are letters, digits, '-', '.' and '_'.
    for (const char ch : host) {
        const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                        (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_';
        if (!ok) {
            why = "invalid host name";
            return false;
        }
    }
    return true;
}

bool split_alpn(std::string_view list, std::vector<std::string>& out, std::string& why) {
    out.clear();
    while (true) {
        const std::size_t comma = list.find(',');
        const std::string_view item = list.substr(0, comma);
        if (item.empty() || item.size() > 255) {
            why = "ALPN protocols must be 1..255 bytes, separated by single commas";
            return false;
        }
        for (const char ch : item) {
            if (ch <= ' ' || ch > '~') {
                why = "ALPN protocols must be printable ASCII without spaces";
                return false;
            }
        }
        out.emplace_back(item);
        if (comma == std::string_view::npos) {
            return true;
        }
        list.remove_prefix(comma + 1);
    }
}

}  // namespace

parse_outcome parse_args(int argc, const char* const* argv, bool tls_available) {
    std::vector<std::string> args;
    for (int i = 1; i < argc; ++i) {
        args.emplace_back(argv[i]);
    }
    return parse_args(args, tls_available);
}

parse_outcome parse_args(const std::vector<std::string>& args, bool tls_available) {
    parse_outcome out;
    options& o = out.opts;
    bool seen[static_cast<std::size_t>(opt_id::count_)] = {};

    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string_view arg = args[i];
        std::string_view value;
        bool inline_value = false;
        if (arg.starts_with("--")) {
            const std::size_t eq = arg.find('=');
            if (eq != std::string_view::npos) {
                value = arg.substr(eq + 1);
                arg = arg.substr(0, eq);
                inline_value = true;
            }
        }
        const opt_def* def = nullptr;
        for (const opt_def& d : defs) {
            if (d.name == arg) {
                def = &d;
                break;
            }
        }
        if (def == nullptr) {
            if (!arg.starts_with("-")) {
                return fail("unexpected argument '" + std::string(args[i]) + "'");
            }
            return fail("unknown option '" + std::string(arg) + "' (see --help)");
        }
        if (def->id == opt_id::help) {
            if (inline_value) {
                return fail("--help takes no value");
            }
            out.what = parse_outcome::kind::help;
            return out;
        }
        const auto idx = static_cast<std::size_t>(def->id);
        if (seen[idx]) {
            return fail("option " + std::string(def->name) + " given more than once");
        }
        seen[idx] = true;
        if (def->needs_tls && !tls_available) {
            return fail(std::string(def->name) +
                        ": TLS is not available (this build has no OpenSSL)");
        }
        if (def->takes_value) {
            if (!inline_value) {
                if (i + 1 >= args.size()) {
                    return fail("option " + std::string(def->name) + " needs a value");
                }
                value = args[++i];
            }
            if (value.empty()) {
                return fail("option " + std::string(def->name) + " needs a non-empty value");
            }
        } else if (inline_value) {
            return fail("option " + std::string(def->name) + " takes no value");
        }

        std::string why;
        std::uint32_t n = 0;
        switch (def->id) {
        case opt_id::listen:
            if (!valid_address(value, true, why)) {
                return fail("--listen '" + std::string(value) + "': " + why);
            }
            o.listen = value;
            break;
        case opt_id::connect:
            if (!valid_address(value, false, why)) {
                return fail("--connect '" + std::string(value) + "': " + why);
            }
            o.connect = value;
            break;
        case opt_id::accept_proxy:
            o.accept_proxy = true;
            break;
        case opt_id::tls_cert:
            o.tls_cert = value;
            break;
        case opt_id::tls_key:
            o.tls_key = value;
            break;
        case opt_id::alpn:
            if (!split_alpn(value, o.alpn, why)) {
                return fail("--alpn '" + std::string(value) + "': " + why);
            }
            break;
        case opt_id::send_proxy:
            o.send_proxy = 1;
            break;
        case opt_id::send_proxy_v2:
            o.send_proxy = 2;
            break;
        case opt_id::tls:
            o.tls = true;
            break;
        case opt_id::tls_ca:
            o.tls_ca = value;
            break;
        case opt_id::tls_sni:
            o.tls_sni = value;
            break;
        case opt_id::tls_no_verify:
            o.tls_no_verify = true;
            break;
        case opt_id::splice:
            if (value == "auto") {
                o.splice = splice_mode::auto_;
            } else if (value == "always") {
                o.splice = splice_mode::always;
            } else if (value == "never") {
                o.splice = splice_mode::never;
            } else {
                return fail("--splice '" + std::string(value) +
                            "': expected auto, always or never");
            }
            break;
        case opt_id::pipe_size:
            if (!parse_u32(value, 1u << 30, n) || n < 4096) {
                return fail("--pipe-size '" + std::string(value) +
                            "': expected bytes, 4096..1073741824");
            }
            o.pipe_size = n;
            break;
        case opt_id::tfo:
            o.tfo = true;
            break;
        case opt_id::poller:
            if (value == "epoll-et") {
                o.poller = poller_mode::epoll_et;
            } else if (value == "epoll") {
                o.poller = poller_mode::epoll;
            } else if (value == "poll") {
                o.poller = poller_mode::poll;
            } else {
                return fail("--poller '" + std::string(value) +
                            "': expected epoll-et, epoll or poll");
            }
            break;
        case opt_id::threads:
            if (!parse_u32(value, 64, n) || n == 0) {
                return fail("--threads '" + std::string(value) + "': expected 1..64");
            }
            o.threads = static_cast<int>(n);
            break;
        case opt_id::handshake_timeout:
            if (!parse_u32(value, 86400000u, n)) {
                return fail("--handshake-timeout '" + std::string(value) +
                            "': expected milliseconds, 0..86400000 (0: none)");
            }
            o.handshake_timeout_ms = n;
            break;
        case opt_id::idle_timeout:
            if (!parse_u32(value, 86400000u, n)) {
                return fail("--idle-timeout '" + std::string(value) +
                            "': expected milliseconds, 0..86400000 (0: none)");
            }
            o.idle_timeout_ms = n;
            break;
        case opt_id::stats_socket:
            if (value.size() >= sizeof(sockaddr_un{}.sun_path)) {
                return fail("--stats-socket: path too long");
            }
            o.stats_socket = value;
            break;
        case opt_id::help:
        case opt_id::count_:
            break;
        }
    }

    auto has = [&](opt_id id) { return seen[static_cast<std::size_t>(id)]; };
    if (!has(opt_id::listen)) {
        return fail("--listen HOST:PORT is required");
    }
    if (!has(opt_id::connect)) {
        return fail("--connect HOST:PORT is required");
    }
    if (has(opt_id::send_proxy) && has(opt_id::send_proxy_v2)) {
        return fail("--send-proxy and --send-proxy-v2 are mutually exclusive");
    }
    if (has(opt_id::tls_key) && !has(opt_id::tls_cert)) {
        return fail("--tls-key needs --tls-cert");
    }
    if (has(opt_id::alpn) && !has(opt_id::tls_cert)) {
        return fail("--alpn needs --tls-cert (ALPN is negotiated by the TLS frontend)");
    }
    for (const opt_id id : {opt_id::tls_ca, opt_id::tls_sni, opt_id::tls_no_verify}) {
        if (has(id) && !has(opt_id::tls)) {
            for (const opt_def& d : defs) {
                if (d.id == id) {
                    return fail(std::string(d.name) + " needs --tls");
                }
            }
        }
    }
    if (has(opt_id::tls_ca) && has(opt_id::tls_no_verify)) {
        return fail("--tls-ca and --tls-no-verify are mutually exclusive");
    }
    out.what = parse_outcome::kind::run;
    return out;
}

std::string usage_text() {
    return R"(usage: xstack-proxy --listen HOST:PORT --connect HOST:PORT [options]

An L4 TCP proxy on xstack's transport chain: every accepted connection is forwarded to the
backend, bytes unchanged, in both directions, with half-close propagated each way.
HOST is an IPv4 literal, an [IPv6] literal or a host name; PORT 0 in --listen picks a free port
(the address actually bound is printed on stderr at startup). Runs in the foreground;
SIGTERM or SIGINT stops it (exit status 0). Exit status 2: bad command line; 1: startup failure.

Addresses
  --listen HOST:PORT        where clients connect (required)
  --connect HOST:PORT       the backend (required); a name is resolved once at startup

Frontend (accepted connections)
  --accept-proxy            require a PROXY protocol header (v1 or v2, detected) from every
                            client; its source address becomes the client address
  --tls-cert FILE           terminate TLS: PEM certificate chain (leaf first), with the private
                            key unless --tls-key is given
  --tls-key FILE            PEM private key for --tls-cert
  --alpn LIST               comma-separated ALPN protocols offered by the TLS frontend, in
                            preference order (e.g. h2,http/1.1); needs --tls-cert

Backend (outgoing connections)
  --send-proxy              send a PROXY v1 header with the client's original addresses
  --send-proxy-v2           send a PROXY v2 header instead (exclusive with --send-proxy)
  --tls                     originate TLS to the backend (certificate verified by default)
  --tls-ca FILE             PEM CA certificates trusted for the backend (default: system store)
  --tls-sni NAME            send NAME in SNI and verify the certificate against NAME (default:
                            verify against the --connect host, no SNI for IP literals)
  --tls-no-verify           do not verify the backend certificate (exclusive with --tls-ca)

Transport
  --splice auto|always|never
                            kernel splice between plain TCP sides (default auto: once a
                            direction moves bulk data; see docs/proxy.md)
  --pipe-size BYTES         size asked for the splicing pipes (default 1048576; at most
                            /proc/sys/fs/pipe-max-size without CAP_SYS_RESOURCE)
  --tfo                     TCP Fast Open: on the listener, and on backend connects when client
                            data are already waiting
  --poller epoll-et|epoll|poll
                            the event loops' poller (default epoll-et: edge-triggered, one
                            epoll_ctl per connection; epoll: level-triggered)
  --threads N               N event loops, each with its own SO_REUSEPORT listener (1..64,
                            default 1)
  --handshake-timeout MS    limit for the frontend handshakes (PROXY header, TLS) and for the
                            backend connect + handshakes (default 5000; 0: none)
  --idle-timeout MS         close a connection idle in both directions for MS (default 60000;
                            0: none)

Observability
  --stats-socket PATH       UNIX socket (mode 0600) answering one command per connection:
                              show info   counters as "Key: value" lines
                              show conn   every connection: both chains, flags, error, log
                              help        the command list
  -h, --help                this text

Log: one line per closed client connection on stderr:
  <client> fe=<chain> -> <backend> be=<chain> bytes_in=N bytes_out=N hs_ms=N total_ms=N
  term=<reason> code=<ERROR_CODE> fe_term=<events> be_term=<events>
)";
}

}  // namespace xstack::proxy
