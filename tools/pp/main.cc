// tools/pp/main.cc - xstack-pp: decode or encode a PROXY / NetScaler CIP header (see pp.h).
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "tools/pp/pp.h"

int main(int argc, char** argv) {
    std::vector<std::string> args;
    for (int i = 1; i < argc; ++i) {
        args.emplace_back(argv[i]);
    }
    const auto r = xstack::tools::pp::run(args, std::cin);
    // stdio, not iostreams, for the output: encode writes raw bytes and must not be reformatted.
    const bool out_ok = std::fwrite(r.out.data(), 1, r.out.size(), stdout) == r.out.size() &&
                        std::fflush(stdout) == 0;
    if (!r.err.empty()) {
        (void)std::fwrite(r.err.data(), 1, r.err.size(), stderr);
    }
    if (!out_ok) {
        (void)std::fputs("xstack-pp: cannot write to stdout\n", stderr);
        return xstack::tools::pp::exit_usage;
    }
    return r.code;
}
