// tools/demo/proxy_demo.cc - xstack-proxy-demo: xstack-proxy at work, in one process on loopback.
//
// An echo backend and a keep-alive client run in this thread's event loop; xstack-proxy runs
// in-process (proxy::server) on its own worker thread between them:
//
//   client  --PROXY v1 (made-up address) + TLS-->  xstack-proxy  --PROXY v2 + plain-->  backend
//   SSL>HS>RAW -> SSL>RAW                          fe SSL>HS>RAW -> SSL>RAW               HS>RAW
//                                                  be HS>RAW -> RAW                       -> RAW
//
// It prints the chains at each hop while handshaking and after, the client address the backend
// learnt from the PROXY v2 header, the proxy's log line and "show info", the syscalls made on
// each side of this thread, and the time per exchange. A second, plain run moves a bulk
// transfer through the proxy with --splice always. Exit status 0 when every check passed.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "event/loop.h"
#include "event/sys.h"
#include "handshake/hs.h"
#include "proxy/options.h"
#include "proxy/proxy.h"
#include "tools/demo/echo.h"
#include "xstack/config.h"
#if XS_HAVE_OPENSSL
#include "ssl/ssl.h"
#include "ssl/throwaway_pki.h"
#endif

namespace {

using namespace xstack;

constexpr const char* prog = "xstack-proxy-demo";

void usage(std::FILE* out) {
    std::fprintf(
        out,
        "usage: xstack-proxy-demo [--requests N] [--size BYTES] [--bulk BYTES]\n"
        "                         [--splice always|auto|never] [--client-addr IP:PORT]\n"
        "                         [--no-tls] [--timeout SECONDS]\n"
        "Runs an echo backend and a keep-alive client in one event loop and xstack-proxy\n"
        "(in-process, its own thread) between them, on loopback with port 0 everywhere. The\n"
        "client announces a made-up address in a PROXY v1 header, then speaks TLS (when the\n"
        "build has OpenSSL); the proxy terminates both (--accept-proxy, --tls-cert with a\n"
        "certificate generated now) and sends a PROXY v2 header to the backend, whose\n"
        "handshake layer reads it. Prints the chains at each hop, the address the backend saw,\n"
        "the proxy's log line and 'show info', syscall counts and the time per exchange.\n"
        "  --requests N          keep-alive exchanges through the proxy (default 1000)\n"
        "  --size BYTES          bytes per request, 1..16384 (default 1024)\n"
        "  --bulk BYTES          then a plain run with --splice MODE moving BYTES each way\n"
        "                        in 15 KiB exchanges (default 4194304; 0: skip it)\n"
        "  --splice MODE         the bulk run's --splice: always (default), auto or never\n"
        "  --client-addr ADDR    the client address announced in PROXY v1 (default\n"
        "                        192.0.2.10:5555)\n"
        "  --no-tls              no TLS between the client and the proxy\n"
        "  --timeout SECONDS     give up a run after this long (default 60)\n"
        "Exit status: 0 success, 1 a check failed (the reason is on stderr), 2 usage error.\n");
}

bool parse_size(const char* s, std::size_t& out) {
    char* end = nullptr;
    errno = 0;
    const unsigned long long v = std::strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || s[0] == '-') {
        return false;
    }
    out = static_cast<std::size_t>(v);
    return true;
}

struct settings {
    std::size_t requests = 1000;
    std::size_t size = 1024;
    std::size_t bulk = 4u << 20;
    std::string client_addr = "192.0.2.10:5555";
    bool tls = XS_HAVE_OPENSSL != 0;
    std::string splice = "always";
    std::size_t timeout_s = 60;
};

/// The proxy's log lines (written from its worker thread).
struct log_sink {
    std::mutex m;
    std::condition_variable cv;
    std::vector<std::string> lines;

    static void on_log(void* ctx, std::string_view line) noexcept {
        auto* self = static_cast<log_sink*>(ctx);
        try {
            const std::lock_guard<std::mutex> g(self->m);
            self->lines.emplace_back(line);
        } catch (...) {
            return;  // out of memory: the line is lost
        }
        self->cv.notify_all();
    }
    std::size_t count() {
        const std::lock_guard<std::mutex> g(m);
        return lines.size();
    }
    std::vector<std::string> all() {
        const std::lock_guard<std::mutex> g(m);
        return lines;
    }
};

/// One command to the proxy's stats socket (HAProxy CLI style: send a line, read until the
/// server closes), with 2 s timeouts. Empty on failure.
std::string stats_command(const std::string& path, std::string_view cmd) {
    const auto a = xprt::sock_addr::unix_path(path);
    if (!a) {
        return {};
    }
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return {};
    }
    timeval tv{};
    tv.tv_sec = 2;
    (void)::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    (void)::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    std::string out;
    if (::connect(fd, a->sa(), a->len) == 0) {
        const std::string line = std::string(cmd) + "\n";
        if (::send(fd, line.data(), line.size(), MSG_NOSIGNAL) ==
            static_cast<ssize_t>(line.size())) {
            char buf[4096];
            for (;;) {
                const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
                if (n < 0 && errno == EINTR) {
                    continue;
                }
                if (n <= 0) {
                    break;
                }
                out.append(buf, static_cast<std::size_t>(n));
            }
        }
    }
    ::close(fd);
    return out;
}

/// Prints `text` with every line indented.
void print_indented(const std::string& text, const char* indent) {
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t eol = text.find('\n', pos);
        if (eol == std::string::npos) {
            eol = text.size();
        }
        std::printf("%s%.*s\n", indent, static_cast<int>(eol - pos), text.data() + pos);
        pos = eol + 1;
    }
}

/// The value of "Key: value" in a show info answer ("?" if absent).
std::string info_field(const std::string& info, std::string_view key) {
    const std::string needle = "\n" + std::string(key) + ": ";
    const std::string hay = "\n" + info;
    const std::size_t p = hay.find(needle);
    if (p == std::string::npos) {
        return "?";
    }
    const std::size_t b = p + needle.size();
    return hay.substr(b, hay.find('\n', b) - b);
}

void print_side(const sys::hooks& h, const char* who, int fd) {
    std::printf("  %-8s fd %-3d recv %6llu (failed %llu)  send %6llu  epoll_ctl %llu  total %llu\n",
                who, fd, static_cast<unsigned long long>(h.count(sys::call::recv, fd)),
                static_cast<unsigned long long>(h.failures(sys::call::recv, fd)),
                static_cast<unsigned long long>(h.count(sys::call::send, fd)),
                static_cast<unsigned long long>(h.count(sys::call::epoll_ctl, fd)),
                static_cast<unsigned long long>(h.total(fd)));
}

std::string_view source_name(xprt::proxy_source s) noexcept {
    switch (s) {
    case xprt::proxy_source::proxy_v1:
        return "a PROXY v1 header";
    case xprt::proxy_source::proxy_v2:
        return "a PROXY v2 header";
    case xprt::proxy_source::cip:
        return "a NetScaler CIP header";
    case xprt::proxy_source::none:
        break;
    }
    return "the TCP peer: no PROXY header";
}

/// What one run puts between the client and the backend.
struct scenario {
    const char* title;
    bool proxy_headers;  ///< client sends PROXY v1, proxy --accept-proxy and --send-proxy-v2
    bool tls;            ///< client <-> proxy in TLS
    const char* splice;  ///< --splice mode
    std::size_t requests;
    std::size_t size;
};

/// Shared by the runs: TLS material and where the certificate file is.
struct tls_material {
#if XS_HAVE_OPENSSL
    ssl::context client_ctx;
#endif
    std::string cert_file;  ///< leaf + key, PEM, for --tls-cert
};

/// What the client's setup hook needs (see echo_client::set_setup).
struct client_setup {
    const scenario* sc = nullptr;
    tls_material* tm = nullptr;
    handshake::hs_config hs_cfg;
    handshake::hs_send hs_send;

    static result<void> run(xprt::connection& c, void* ctx) noexcept {
        auto* self = static_cast<client_setup*>(ctx);
#if XS_HAVE_OPENSSL
        if (self->sc->tls) {
            // Verified against the demo CA for "localhost" (the leaf's SAN).
            auto r = ssl::attach(c, self->tm->client_ctx, {.sni = "localhost"});
            if (!r) {
                return r;
            }
        }
#endif
        if (self->sc->proxy_headers) {
            // SEND_PROXY goes below TLS: the header precedes the ClientHello on the wire.
            c.flags.set(xprt::conn_flag::send_proxy);
            if (handshake::attach(c, self->hs_cfg, &self->hs_send) == nullptr) {
                return error_info{"handshake::attach (SEND_PROXY) failed", 0, c.err_code};
            }
        }
        return {};
    }
};

struct watchdog {
    event::loop* loop;
    bool fired = false;
    static void on_fire(event::tasklet& /*t*/, void* ctx) noexcept {
        auto* w = static_cast<watchdog*>(ctx);
        w->fired = true;
        w->loop->stop();
    }
};

int fail(const std::string& why) {
    std::fflush(stdout);
    std::fprintf(stderr, "%s: FAILED: %s\n", prog, why.c_str());
    return 1;
}

/// One run: backend, proxy, client. Returns 0 on success, else prints why and returns 1.
int run_scenario(const scenario& sc, const settings& st, tls_material& tm, int index) {
    std::printf("\n=== %s ===\n", sc.title);
    event::loop loop;
    if (!loop.ok()) {
        return fail("cannot create the poller: " + std::generic_category().message(errno));
    }
    sys::hooks hooks;  // counts this thread's syscalls (the client's and the backend's)

    // The backend: the library's echo server, reading the PROXY v2 header with its handshake
    // layer when the proxy sends one.
    handshake::hs_config backend_hs;
    demo::echo_server backend(loop);
    if (sc.proxy_headers) {
        backend.set_accept_proxy(&backend_hs);
    }
    if (auto r = backend.open(*xprt::sock_addr::parse("127.0.0.1:0")); !r) {
        return fail(std::string("backend cannot listen: ") +
                    std::generic_category().message(r.error().sys_errno));
    }

    // The proxy, configured with its command line.
    const std::string stats_path =
        "@xstack-proxy-demo." + std::to_string(::getpid()) + "." + std::to_string(index);
    std::vector<std::string> args = {"--listen", "127.0.0.1:0", "--connect",
                                     backend.address().to_string()};
    if (sc.proxy_headers) {
        args.emplace_back("--accept-proxy");
    }
    if (sc.tls) {
        args.emplace_back("--tls-cert");
        args.push_back(tm.cert_file);
    }
    if (sc.proxy_headers) {
        args.emplace_back("--send-proxy-v2");
    }
    args.emplace_back("--splice");
    args.emplace_back(sc.splice);
    args.emplace_back("--stats-socket");
    args.push_back(stats_path);
    std::string cmdline = "xstack-proxy";
    for (const auto& a : args) {
        cmdline += " " + a;
    }
    const auto parsed = proxy::parse_args(args, XS_HAVE_OPENSSL != 0);
    if (parsed.what != proxy::parse_outcome::kind::run) {
        return fail("proxy options refused: " + parsed.message);
    }
    std::string err;
    auto px = proxy::server::create(parsed.opts, err);
    if (!px) {
        return fail("proxy::server::create: " + err);
    }
    log_sink logs;
    px->set_log(log_sink::on_log, &logs);
    if (!px->start(err)) {
        return fail("proxy::server::start: " + err);
    }
    struct stopper {
        proxy::server* s;
        ~stopper() {
            s->request_stop();
            s->wait();
        }
    } stop_px{px.get()};
    std::printf("backend  echo server (library, one event loop) on %s\n",
                backend.address().to_string().c_str());
    std::printf("proxy    %s\n         (in-process, its own thread) listening on %s\n",
                cmdline.c_str(), px->address().to_string().c_str());

    // The client: PROXY v1 announcing a made-up address, then TLS, through the library.
    client_setup setup;
    setup.sc = &sc;
    setup.tm = &tm;
    setup.hs_send.proxy_version = 1;
    setup.hs_send.v2.src = *xprt::sock_addr::parse(st.client_addr);
    setup.hs_send.v2.dst = px->address();
    demo::echo_client client(loop, sc.size, sc.requests);
    client.set_setup(client_setup::run, &setup);
    if (auto r = client.start(px->address()); !r) {
        return fail(std::string("client start failed: ") + r.error().what + " (" +
                    std::string(xprt::to_string(r.error().code)) + ")");
    }
    std::printf(
        "client   fd %d, %zu exchanges of %zu bytes%s\n", client.fd(), sc.requests, sc.size,
        sc.proxy_headers ? (", announcing " + st.client_addr + " in PROXY v1").c_str() : "");

    std::printf("\nchains before the first byte (handshakes pending):\n");
    std::printf("  client   %s\n", xprt::conn_chain(client.conn()).c_str());
    // This thread's loop has not run yet: the proxy has accepted (the kernel completed the
    // connect) and waits for the client's first bytes.
    std::string early;
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (std::chrono::steady_clock::now() < give_up) {
        early = stats_command(stats_path, "show conn");
        if (early.find("\nstream ") != std::string::npos) {
            break;
        }
        ::usleep(10000);
    }
    std::printf("  proxy    'show conn':\n");
    print_indented(early.empty() ? "(no answer)" : early, "           | ");

    const auto t0 = std::chrono::steady_clock::now();  // handshakes included
    watchdog wd{&loop};
    event::tasklet wd_task(loop, watchdog::on_fire, &wd, "watchdog");
    event::timer wd_timer(wd_task);
    loop.arm_in(wd_timer, static_cast<std::uint64_t>(st.timeout_s) * 1000u);

    // Until the backend has accepted (its chain as built: HS>RAW with a PROXY header to read).
    while (backend.stats().sessions == 0 && !client.done() && !wd.fired) {
        loop.run_once(100);
    }
    if (backend.stats().sessions > 0) {
        std::printf("  backend  %s (as accepted)\n", backend.accept_chain().c_str());
    }
    // First exchange: every hop is live and its handshakes are over.
    while (client.completed() == 0 && !client.done() && !wd.fired) {
        loop.run_once(100);
    }
    if (client.done() || wd.fired) {
        loop.disarm(wd_timer);
        return fail(wd.fired ? "timed out before the first exchange"
                             : "the first exchange failed: " +
                                   std::string(xprt::to_string(client.error())) + "\n" +
                                   xprt::conn_show(client.conn()));
    }
    std::printf("\nafter the first exchange:\n  client   %s\n",
                xprt::conn_chain(client.conn()).c_str());
    if (const auto* ti = client.conn().tls(); ti != nullptr) {
        std::printf("           %s %s, group %s, server certificate CN=%s verified (%s)\n",
                    ti->version.c_str(), ti->cipher.c_str(), ti->group.c_str(), ti->peer_cn.c_str(),
                    ti->verify_result == 0 ? "ok" : "FAILED");
    }
    if (const xprt::connection* bc = backend.session_conn(0); bc != nullptr) {
        std::printf(
            "  backend  %s, client %s (from %s), TCP peer %s\n", xprt::conn_chain(*bc).c_str(),
            bc->client_addr().to_string().c_str(),
            std::string(source_name(bc->proxy ? bc->proxy->source : xprt::proxy_source::none))
                .c_str(),
            bc->src.to_string().c_str());
    }
    const std::string conns = stats_command(stats_path, "show conn");
    std::printf("  proxy    'show conn' on %s:\n", stats_path.c_str());
    print_indented(conns.empty() ? "(no answer)" : conns, "           | ");

    loop.run();
    const auto t1 = std::chrono::steady_clock::now();
    // Let the backend see the end of its session and the proxy log the stream.
    for (int i = 0; i < 500 && !wd.fired && (backend.open_sessions() > 0 || logs.count() == 0);
         ++i) {
        loop.run_once(10);
    }
    loop.disarm(wd_timer);
    if (wd.fired) {
        return fail("timed out after " + std::to_string(st.timeout_s) + " s");
    }

    const double secs = std::chrono::duration<double>(t1 - t0).count();
    std::printf("\nresult: %s, %zu/%zu exchanges of %zu bytes, %.1f us per exchange, error %s\n",
                client.failed() ? "FAILED" : "ok", client.completed(), sc.requests, sc.size,
                1e6 * secs / static_cast<double>(std::max<std::size_t>(client.completed(), 1)),
                std::string(xprt::to_string(client.error())).c_str());
    const std::string seen = backend.last_client().to_string();
    std::printf("backend saw client %s (from %s); %llu bytes in, %llu bytes out\n", seen.c_str(),
                std::string(source_name(backend.last_client_source())).c_str(),
                static_cast<unsigned long long>(backend.stats().bytes_in),
                static_cast<unsigned long long>(backend.stats().bytes_out));

    std::printf("\nproxy log:\n");
    const auto lines = logs.all();
    for (const auto& l : lines) {
        std::printf("  %s\n", l.c_str());
    }
    std::string info = stats_command(stats_path, "show info");
    const bool info_from_socket = !info.empty();
    if (!info_from_socket) {
        info = px->show_info();
    }

    if (sc.proxy_headers) {
        std::printf("\nproxy 'show info' (%s):\n",
                    info_from_socket ? "stats socket" : "proxy::server::show_info()");
        print_indented(info, "  ");
        std::printf(
            "  (TotalBytesOut counts every byte raw sent in this process: the demo's "
            "client and backend too)\n");
    } else {
        std::printf(
            "\nproxy 'show info' (splice): Splice %s, SplicedStreams %s, "
            "TotalSplicedBytesOut %s of TotalBytesOut %s (process-wide)\n",
            info_field(info, "Splice").c_str(), info_field(info, "SplicedStreams").c_str(),
            info_field(info, "TotalSplicedBytesOut").c_str(),
            info_field(info, "TotalBytesOut").c_str());
    }

    if (sys::hooks_compiled) {
        std::printf(
            "\nsyscalls of this thread per side (whole connection; the proxy's run on "
            "its own thread and are not counted):\n");
        print_side(hooks, "client", client.fd());
        print_side(hooks, "backend", backend.last_fd());
        const auto waits = hooks.count(sys::call::epoll_wait) + hooks.count(sys::call::poll);
        std::printf("  loop     %llu epoll_wait for %zu exchanges (%.3f per exchange)\n",
                    static_cast<unsigned long long>(waits), sc.requests,
                    static_cast<double>(waits) / static_cast<double>(sc.requests));
    } else {
        std::printf("\n(syscall counting is compiled out of this build: use the dev preset)\n");
    }

    // The checks.
    if (client.failed() || client.completed() != sc.requests) {
        return fail(std::string(sc.title) + ": the client failed with " +
                    std::string(xprt::to_string(client.error())));
    }
    if (backend.stats().closed != 1 || lines.size() != 1 ||
        lines[0].find("code=NONE") == std::string::npos) {
        return fail(std::string(sc.title) +
                    ": expected one backend session closed and one proxy log line with code=NONE");
    }
    if (sc.proxy_headers) {
        if (backend.last_client_source() != xprt::proxy_source::proxy_v2 ||
            seen != st.client_addr) {
            return fail("the backend saw client " + seen + " from " +
                        std::string(source_name(backend.last_client_source())) + ", expected " +
                        st.client_addr + " from a PROXY v2 header");
        }
        if (lines[0].rfind(st.client_addr + " ", 0) != 0) {
            return fail("the proxy log line does not start with " + st.client_addr);
        }
    } else if (std::string_view(sc.splice) == "always" &&
               (info_field(info, "SplicedStreams") == "0" ||
                info_field(info, "TotalSplicedBytesOut") == "0")) {
        return fail("--splice always moved no byte with splice");
    }
    std::printf("\n%s: ok\n", sc.title);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    settings st;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        const bool has_value = i + 1 < argc;
        if (a == "--help" || a == "-h") {
            usage(stdout);
            return 0;
        }
        if (a == "--no-tls") {
            st.tls = false;
            continue;
        }
        bool ok = false;
        if (a == "--requests") {
            ok = has_value && parse_size(argv[i + 1], st.requests) && st.requests > 0;
        } else if (a == "--size") {
            ok = has_value && parse_size(argv[i + 1], st.size) && st.size > 0 &&
                 st.size <= xprt::buffer_pool::area_size();
        } else if (a == "--bulk") {
            ok = has_value && parse_size(argv[i + 1], st.bulk);
        } else if (a == "--splice") {
            ok = has_value;
            if (ok) {
                st.splice = argv[i + 1];
                ok = st.splice == "auto" || st.splice == "always" || st.splice == "never";
            }
        } else if (a == "--timeout") {
            ok = has_value && parse_size(argv[i + 1], st.timeout_s) && st.timeout_s > 0 &&
                 st.timeout_s <= 3600;
        } else if (a == "--client-addr") {
            ok = has_value;
            if (ok) {
                st.client_addr = argv[i + 1];
                const auto ca = xprt::sock_addr::parse(st.client_addr);
                ok = ca.has_value() && (ca->family() == AF_INET || ca->family() == AF_INET6);
                if (ok) {
                    st.client_addr = ca->to_string();  // canonical, as the backend prints it
                }
            }
        }
        if (!ok) {
            std::fprintf(stderr, "%s: bad argument '%s'\n", prog, argv[i]);
            usage(stderr);
            return 2;
        }
        ++i;
    }
    if (st.tls && XS_HAVE_OPENSSL == 0) {
        st.tls = false;
    }

    std::printf("xstack %s proxy demo: client -> xstack-proxy -> echo backend, on loopback\n",
                XS_VERSION_STRING);
    tls_material tm;
    std::string tmp_dir;
#if XS_HAVE_OPENSSL
    if (st.tls) {
        ssl::throwaway_pki certs;
        std::string err;
        if (!ssl::make_throwaway_pki(certs, err)) {
            return fail("certificate generation: " + err);
        }
        char tmpl[] = "/tmp/xstack-proxy-demo.XXXXXX";
        if (::mkdtemp(tmpl) == nullptr) {
            return fail("mkdtemp: " + std::generic_category().message(errno));
        }
        tmp_dir = tmpl;
        tm.cert_file = tmp_dir + "/proxy.pem";
        {
            std::ofstream f(tm.cert_file, std::ios::binary);
            f << certs.server_pem;
            if (!f.flush()) {
                return fail("cannot write " + tm.cert_file);
            }
        }
        ssl::client_config cc;
        cc.ca_pem = certs.ca_pem;
        auto ctx = ssl::context::client(cc);
        if (!ctx) {
            return fail(std::string("TLS client context: ") + ctx.error().what);
        }
        tm.client_ctx = *ctx;
        std::printf("TLS: certificate generated now: %s\n     written to %s\n",
                    certs.subject.c_str(), tm.cert_file.c_str());
    }
#endif
    if (!st.tls) {
        std::printf("TLS: %s\n", XS_HAVE_OPENSSL ? "off (--no-tls)"
                                                 : "not available (this build has no OpenSSL)");
    }
    struct cleanup {
        std::string dir;
        ~cleanup() {
            if (!dir.empty()) {
                std::error_code ec;
                std::filesystem::remove_all(dir, ec);
            }
        }
    } rm_tmp{tmp_dir};

    const std::string title1 = std::string(st.tls ? "TLS + PROXY" : "PROXY") +
                               " keep-alive run: client " + (st.tls ? "SSL>HS>RAW" : "HS>RAW") +
                               " -> proxy -> backend HS>RAW";
    const scenario keepalive{title1.c_str(), true, st.tls, "auto", st.requests, st.size};
    int rc = run_scenario(keepalive, st, tm, 1);
    if (rc == 0 && st.bulk > 0) {
        // Exchanges of 15 KiB, less than one 16 KiB buffer: a read that fills a buffer exactly
        // cannot tell that nothing follows, so the reader's next recv fails with EAGAIN (one
        // per exchange at 16 KiB, on the demo's client and backend as on the proxy).
        const std::size_t chunk = xprt::buffer_pool::area_size() - 1024;
        const std::size_t n = std::max<std::size_t>(1, (st.bulk + chunk - 1) / chunk);
        const std::string title2 =
            "plain bulk run with --splice " + st.splice + ": RAW -> proxy -> RAW";
        const scenario bulk{title2.c_str(), false, false, st.splice.c_str(), n, chunk};
        rc = run_scenario(bulk, st, tm, 2);
    }
    if (rc == 0) {
        std::printf("\n%s: all checks passed\n", prog);
    }
    return rc;
}
