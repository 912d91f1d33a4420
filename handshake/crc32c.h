// handshake/crc32c.h - CRC32C (Castagnoli), as used by the PROXY v2 CRC32C TLV.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace xstack::handshake {

/// CRC32C of `data` (RFC 3720 B.4 / RFC 4960 App. B: reflected polynomial 0x82F63B78, initial
/// value and final XOR 0xFFFFFFFF). crc32c("123456789") == 0xE3069283.
///
/// Uses the SSE4.2 crc32 instruction when the CPU has it (checked once, at the first call),
/// else a slicing-by-8 table. Thread-safe, no allocation.
[[nodiscard]] std::uint32_t crc32c(std::span<const std::byte> data) noexcept;

/// Continues a CRC: crc32c_extend(crc32c(a), b) == crc32c(a followed by b), and
/// crc32c_extend(0, a) == crc32c(a). Lets the PROXY parser checksum a header with its CRC field
/// taken as zero without copying it.
[[nodiscard]] std::uint32_t crc32c_extend(std::uint32_t crc,
                                          std::span<const std::byte> data) noexcept;

namespace detail {
/// The portable implementation (always available), same contract as crc32c_extend.
[[nodiscard]] std::uint32_t crc32c_extend_sw(std::uint32_t crc,
                                             std::span<const std::byte> data) noexcept;
/// The SSE4.2 implementation; call only when crc32c_hw_available().
[[nodiscard]] std::uint32_t crc32c_extend_hw(std::uint32_t crc,
                                             std::span<const std::byte> data) noexcept;
/// True when this build and CPU can run crc32c_extend_hw.
[[nodiscard]] bool crc32c_hw_available() noexcept;
}  // namespace detail

}  // namespace xstack::handshake
