// tools/demo/main.cc - xstack-demo: an echo exchange through the transport chain on loopback,
// with what happened: the chain, the flags, and the syscalls each side made.
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <system_error>

#include "event/loop.h"
#include "event/sys.h"
#include "raw/traffic.h"
#include "registry/registry.h"
#include "tools/demo/echo.h"
#include "xstack/config.h"

namespace {

/// strerror without its shared static buffer.
std::string errno_text(int e) {
    return std::generic_category().message(e);
}

using namespace xstack;

void usage(std::FILE* out) {
    std::fprintf(out,
                 "usage: xstack-demo [--requests N] [--size BYTES] [--poller epoll|epoll-et|poll]\n"
                 "                   [--address HOST:PORT|unix:PATH]\n"
                 "Runs an echo server and a keep-alive client through the transport chain on\n"
                 "loopback in one event loop and prints the chain, the connection flags and the\n"
                 "syscalls made on each side (counted by the library's syscall seam).\n"
                 "  --requests N     request/response exchanges on one connection (default 1000)\n"
                 "  --size BYTES     bytes per request, 1..16384 (default 1024)\n"
                 "  --poller KIND    event poller (default epoll, level-triggered)\n"
                 "  --address ADDR   where the echo server listens (default 127.0.0.1:0)\n");
}

bool parse_size(const char* s, std::size_t& out) {
    char* end = nullptr;
    errno = 0;
    const unsigned long long v = std::strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0') {
        return false;
    }
    out = static_cast<std::size_t>(v);
    return true;
}

void print_side(const sys::hooks& h, const char* who, int fd) {
    std::printf("  %-7s fd %-3d recv %6llu (failed %llu)  send %6llu  epoll_ctl %llu  total %llu\n",
                who, fd, static_cast<unsigned long long>(h.count(sys::call::recv, fd)),
                static_cast<unsigned long long>(h.failures(sys::call::recv, fd)),
                static_cast<unsigned long long>(h.count(sys::call::send, fd)),
                static_cast<unsigned long long>(h.count(sys::call::epoll_ctl, fd)),
                static_cast<unsigned long long>(h.total(fd)));
}

}  // namespace

int main(int argc, char** argv) {
    std::size_t requests = 1000;
    std::size_t size = 1024;
    event::loop_options lo;
    std::string address = "127.0.0.1:0";
    // Every option but --help takes one value: options and values go in pairs.
    for (int i = 1; i < argc; i += 2) {
        const std::string_view a = argv[i];
        const bool has_value = i + 1 < argc;
        if (a == "--help" || a == "-h") {
            usage(stdout);
            return 0;
        }
        bool ok = false;
        if (a == "--requests") {
            ok = has_value && parse_size(argv[i + 1], requests) && requests > 0;
        } else if (a == "--size") {
            ok = has_value && parse_size(argv[i + 1], size) && size > 0 &&
                 size <= xprt::buffer_pool::area_size();
        } else if (a == "--poller") {
            ok = has_value && event::poller_kind_from_string(argv[i + 1], lo.poller);
        } else if (a == "--address") {
            ok = has_value;
            if (ok) {
                address = argv[i + 1];
            }
        }
        if (!ok) {
            std::fprintf(stderr, "xstack-demo: bad argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    auto addr = xprt::sock_addr::parse(address);
    if (!addr) {
        std::fprintf(stderr, "xstack-demo: bad address '%s'\n", address.c_str());
        return 2;
    }

    std::printf("xstack %s demo: %zu exchanges of %zu bytes, poller %s\n", XS_VERSION_STRING,
                requests, size, std::string(event::to_string(lo.poller)).c_str());
    std::printf("transports built in:");
    for (auto id : {xprt::xprt_id::raw, xprt::xprt_id::ssl, xprt::xprt_id::handshake}) {
        const auto* ops = registry::xprt_get(id);
        std::printf(" %s=%s", std::string(xprt::to_string(id)).c_str(),
                    ops != nullptr ? std::string(ops->name()).c_str() : "(not built in)");
    }
    std::printf("\n");

    event::loop loop(lo);
    if (!loop.ok()) {
        std::fprintf(stderr, "xstack-demo: cannot create the poller: %s\n",
                     errno_text(errno).c_str());
        return 1;
    }
    sys::hooks hooks;  // counts this thread's syscalls (a no-op in release builds)

    demo::echo_server server(loop);
    if (auto r = server.open(*addr); !r) {
        std::fprintf(stderr, "xstack-demo: cannot listen on %s: %s\n", address.c_str(),
                     errno_text(r.error().sys_errno).c_str());
        return 1;
    }
    demo::echo_client client(loop, size, requests);
    const auto t0 = std::chrono::steady_clock::now();
    if (auto r = client.start(server.address()); !r) {
        std::fprintf(stderr, "xstack-demo: connect failed: %s\n", r.error().what);
        return 1;
    }
    std::printf("server listening on %s, client connected from fd %d\n",
                server.address().to_string().c_str(), client.fd());

    // A watchdog: the loop stops when the client is done, or after 60 s whatever happens.
    struct watchdog_state {
        event::loop* loop;
        bool fired;
    } wd{&loop, false};
    event::tasklet wd_task(
        loop,
        [](event::tasklet& /*t*/, void* ctx) noexcept {
            auto* w = static_cast<watchdog_state*>(ctx);
            w->fired = true;
            w->loop->stop();
        },
        &wd, "watchdog");
    event::timer wd_timer(wd_task);
    loop.arm_in(wd_timer, 60000);
    // First exchange: show both ends of the connection while it is live.
    while (client.completed() == 0 && !client.done() && !wd.fired) {
        loop.run_once(100);
    }
    if (const xprt::connection* sc = server.session_conn(0); sc != nullptr && !client.done()) {
        std::printf("\nafter the first exchange:\n  client: %s\n  server: %s\n",
                    xprt::conn_show(client.conn()).c_str(), xprt::conn_show(*sc).c_str());
    }
    loop.run();
    loop.disarm(wd_timer);
    if (wd.fired) {
        std::fprintf(stderr, "xstack-demo: timed out after 60 s\n");
        return 1;
    }
    std::printf("\nclient connection when done: %s\n", xprt::conn_show(client.conn()).c_str());
    // Let the server see the client's close and finish its session.
    const auto t1 = std::chrono::steady_clock::now();
    for (int i = 0; i < 100 && server.open_sessions() > 0; ++i) {
        loop.run_once(10);
    }

    const double secs = std::chrono::duration<double>(t1 - t0).count();
    std::printf("\nresult: %s, %zu/%zu exchanges, %.1f us per exchange, error %s\n",
                client.failed() ? "FAILED" : "ok", client.completed(), requests,
                1e6 * secs / static_cast<double>(std::max<std::size_t>(client.completed(), 1)),
                std::string(xprt::to_string(client.error())).c_str());
    std::printf("server: %llu bytes in, %llu bytes out, %llu session(s) closed\n",
                static_cast<unsigned long long>(server.stats().bytes_in),
                static_cast<unsigned long long>(server.stats().bytes_out),
                static_cast<unsigned long long>(server.stats().closed));

    if (sys::hooks_compiled) {
        std::printf("\nsyscalls per side (whole connection, including connect/accept/close):\n");
        print_side(hooks, "server", server.last_fd());
        print_side(hooks, "client", client.fd());
        const auto waits = hooks.count(sys::call::epoll_wait) + hooks.count(sys::call::poll);
        std::printf(
            "  loop    %llu waits (epoll_wait or poll) for %zu exchanges (%.3f per exchange)\n",
            static_cast<unsigned long long>(waits), requests,
            static_cast<double>(waits) / static_cast<double>(requests));
    } else {
        std::printf("\n(syscall counting is compiled out of this build: use the dev preset)\n");
    }
    const auto& ps = loop.the_poller().stats();
    std::printf(
        "poller: %llu waits, %llu events, epoll_ctl add/mod/del %llu/%llu/%llu, %llu of %llu "
        "updates needed no syscall\n",
        static_cast<unsigned long long>(ps.waits), static_cast<unsigned long long>(ps.events),
        static_cast<unsigned long long>(ps.ctl_add), static_cast<unsigned long long>(ps.ctl_mod),
        static_cast<unsigned long long>(ps.ctl_del),
        static_cast<unsigned long long>(ps.updates_noop),
        static_cast<unsigned long long>(ps.updates_seen));
    const auto bp = xprt::buffer_pool::stats();
    std::printf(
        "buffers: %llu taken from the pool, %llu allocated from the heap, %llu in use now\n",
        static_cast<unsigned long long>(bp.takes), static_cast<unsigned long long>(bp.allocated),
        static_cast<unsigned long long>(bp.in_use));
    const auto tr = raw::traffic_sum(loop.now_ms());
    std::printf("traffic: %llu bytes sent by raw on this thread\n",
                static_cast<unsigned long long>(tr.bytes_out));
    return client.failed() ? 1 : 0;
}
