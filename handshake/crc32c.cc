// handshake/crc32c.cc
#include "handshake/crc32c.h"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#define XS_CRC32C_HAVE_SSE42 1
#else
#define XS_CRC32C_HAVE_SSE42 0
#endif

namespace xstack::handshake {

namespace {

constexpr std::uint32_t poly = 0x82F63B78u;  // Castagnoli, bit-reflected

// tables[0] is the classic byte-at-a-time table; tables[k][b] is the CRC of byte b followed by
// k zero bytes, which lets the loop fold 8 input bytes per step with independent lookups.
using crc_tables = std::array<std::array<std::uint32_t, 256>, 8>;

constexpr crc_tables make_tables() noexcept {
    crc_tables t{};
    for (std::uint32_t b = 0; b < 256; ++b) {
        std::uint32_t c = b;
        for (int k = 0; k < 8; ++k) {
            c = (c & 1u) != 0 ? (c >> 1) ^ poly : c >> 1;
        }
        t[0][b] = c;
    }
    for (std::size_t b = 0; b < 256; ++b) {
        for (std::size_t k = 1; k < 8; ++k) {
            const std::uint32_t prev = t[k - 1][b];
            t[k][b] = (prev >> 8) ^ t[0][prev & 0xFFu];
        }
    }
    return t;
}

constexpr crc_tables tables = make_tables();

std::uint64_t load_le64(const unsigned char* p) noexcept {
    // Byte-wise so the result does not depend on the host's byte order.
    std::uint64_t v = 0;
    for (int i = 7; i >= 0; --i) {
        v = (v << 8) | p[i];
    }
    return v;
}

#if XS_CRC32C_HAVE_SSE42
__attribute__((target("sse4.2"))) std::uint32_t extend_hw(std::uint32_t crc, const unsigned char* p,
                                                          std::size_t n) noexcept {
    std::uint64_t c = ~crc;
    while (n >= 8) {
        std::uint64_t v;
        std::memcpy(&v, p, 8);  // unaligned load; x86 is little-endian like the CRC's bit order
        c = _mm_crc32_u64(c, v);
        p += 8;
        n -= 8;
    }
    auto c32 = static_cast<std::uint32_t>(c);
    while (n-- > 0) {
        c32 = _mm_crc32_u8(c32, *p++);
    }
    return ~c32;
}
#endif

std::uint32_t extend_sw(std::uint32_t crc, const unsigned char* p, std::size_t n) noexcept {
    std::uint32_t c = ~crc;
    while (n >= 8) {
        const std::uint64_t v = load_le64(p) ^ c;
        c = tables[7][v & 0xFF] ^ tables[6][(v >> 8) & 0xFF] ^ tables[5][(v >> 16) & 0xFF] ^
            tables[4][(v >> 24) & 0xFF] ^ tables[3][(v >> 32) & 0xFF] ^
            tables[2][(v >> 40) & 0xFF] ^ tables[1][(v >> 48) & 0xFF] ^ tables[0][v >> 56];
        p += 8;
        n -= 8;
    }
    while (n-- > 0) {
        c = (c >> 8) ^ tables[0][(c ^ *p++) & 0xFFu];
    }
    return ~c;
}

using extend_fn = std::uint32_t (*)(std::uint32_t, const unsigned char*, std::size_t) noexcept;

bool cpu_has_sse42() noexcept {
#if XS_CRC32C_HAVE_SSE42
    __builtin_cpu_init();
    return __builtin_cpu_supports("sse4.2") != 0;
#else
    return false;
#endif
}

extend_fn pick() noexcept {
#if XS_CRC32C_HAVE_SSE42
    if (cpu_has_sse42()) {
        return extend_hw;
    }
#endif
    return extend_sw;
}

const unsigned char* bytes_of(std::span<const std::byte> d) noexcept {
    return reinterpret_cast<const unsigned char*>(d.data());
}

}  // namespace

std::uint32_t crc32c_extend(std::uint32_t crc, std::span<const std::byte> data) noexcept {
    // A function-local static: initialised once, thread-safe, and safe to call from other
    // translation units' static initialisers (no init-order dependency).
    static const extend_fn fn = pick();
    return fn(crc, bytes_of(data), data.size());
}

std::uint32_t crc32c(std::span<const std::byte> data) noexcept {
    return crc32c_extend(0, data);
}

namespace detail {

std::uint32_t crc32c_extend_sw(std::uint32_t crc, std::span<const std::byte> data) noexcept {
    return extend_sw(crc, bytes_of(data), data.size());
}

std::uint32_t crc32c_extend_hw(std::uint32_t crc, std::span<const std::byte> data) noexcept {
#if XS_CRC32C_HAVE_SSE42
    return extend_hw(crc, bytes_of(data), data.size());
#else
    return extend_sw(crc, bytes_of(data), data.size());
#endif
}

bool crc32c_hw_available() noexcept {
    return cpu_has_sse42();
}

}  // namespace detail

}  // namespace xstack::handshake
