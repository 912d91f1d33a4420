// handshake/proxy.h - PROXY protocol receive entry point: detects v1 or v2.
#pragma once

#include <span>

#include "handshake/parse_types.h"
#include "handshake/proxy_header.h"
#include "handshake/proxy_v1.h"
#include "handshake/proxy_v2.h"

namespace xstack::handshake {

/// Parses a PROXY header of either version at the start of `in` (see parse_types.h).
///
/// The first byte decides, as soon as it arrives: 'P' → parse_proxy_v1, 0x0D (the first byte
/// of the v2 signature) → parse_proxy_v2 with `opt`; anything else → prx_not_hdr. An empty
/// input needs at least proxy_v1_min_length bytes. The outcome is exactly the chosen parser's.
[[nodiscard]] parse_result<proxy_header> parse_proxy(std::span<const std::byte> in,
                                                     const proxy_options& opt = {}) noexcept;

}  // namespace xstack::handshake
