// A program built only against the installed package (find_package(xstack) or pkg-config):
// creates a loop, finds the raw transport by name and prepares a connection on it.
#include <cstdio>

#include "event/loop.h"
#include "raw/raw_sock.h"
#include "registry/registry.h"
#include "xprt/connection.h"
#include "xstack/config.h"

int main() {
    xstack::event::loop loop;
    const xstack::xprt::xprt_ops* raw = xstack::registry::registry::builtin().find("raw");
    if (!loop.ok() || raw == nullptr) {
        std::fprintf(stderr, "consumer: no loop or no raw transport\n");
        return 1;
    }
    xstack::xprt::connection conn(loop);
    if (!xstack::xprt::conn_prepare(conn, &xstack::raw::sock_ctrl(), raw)) {
        return 2;
    }
    const std::string chain = xstack::xprt::conn_chain(conn);
    std::printf("xstack %s: chain %s, tls %s\n", XS_VERSION_STRING, chain.c_str(),
                xstack::registry::has_tls() ? "built in" : "not built in");
    return chain == "RAW" ? 0 : 3;
}
