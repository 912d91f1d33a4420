// fuzz/proxy_v2_fuzz.cc - libFuzzer target: PROXY v2 parser (parse_proxy_v2) with default and wide
// limits: TLV tiling, decoders, monotonicity. Invariants live in fuzz/fuzz_checks.h (also replayed
// by tests/handshake/corpus_replay_test.cc).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>

#include "fuzz/fuzz_checks.h"

// NOLINTNEXTLINE(readability-identifier-naming): the name libFuzzer calls.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::byte> in(reinterpret_cast<const std::byte*>(data), size);
    if (const char* broken = xstack::fuzz::check_proxy_v2(in)) {
        (void)std::fprintf(stderr, "invariant broken: %s\n", broken);
        std::abort();
    }
    return 0;
}
