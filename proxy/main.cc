// proxy/main.cc - xstack-proxy: see proxy/options.cc (--help) and docs/proxy.md.
#include "proxy/proxy.h"

int main(int argc, char** argv) {
    return xstack::proxy::run_main(argc, argv);
}
