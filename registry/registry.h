// registry/registry.h - transport id -> operations. A transport not built into this library
// (ssl without OpenSSL) has no entry: lookups return nullptr, and callers report it.
#pragma once

#include <array>
#include <string_view>

#include "xprt/xprt_ops.h"

namespace xstack::registry {

/// A fixed array of transport operations indexed by xprt_id.
///
/// `builtin()` is the library's registry, filled with every transport compiled in. Tests
/// build their own registries (with fakes) from it or from scratch.
class registry {
public:
    constexpr registry() noexcept = default;

    /// The transports compiled into this library.
    [[nodiscard]] static const registry& builtin() noexcept;

    /// The transport in slot `id`, or nullptr.
    [[nodiscard]] const xprt::xprt_ops* get(xprt::xprt_id id) const noexcept {
        const auto i = static_cast<std::size_t>(id);
        return i < ops_.size() ? ops_[i] : nullptr;
    }
    /// Lookup by name, case-insensitive ("raw", "RAW", "ssl", "hs", "handshake"); nullptr if
    /// no such transport is registered.
    [[nodiscard]] const xprt::xprt_ops* find(std::string_view name) const noexcept;
    /// Fills slot `ops->id()` (replacing what was there); nullptr is ignored.
    void add(const xprt::xprt_ops* ops) noexcept;
    /// Empties a slot.
    void remove(xprt::xprt_id id) noexcept;
    /// Number of filled slots.
    [[nodiscard]] std::size_t size() const noexcept;

private:
    std::array<const xprt::xprt_ops*, xprt::xprt_id_count> ops_{};
};

/// Shorthand for registry::builtin().get(id).
[[nodiscard]] inline const xprt::xprt_ops* xprt_get(xprt::xprt_id id) noexcept {
    return registry::builtin().get(id);
}

/// True if TLS (the ssl transport) is built into this library.
[[nodiscard]] inline bool has_tls() noexcept {
    return xprt_get(xprt::xprt_id::ssl) != nullptr;
}

}  // namespace xstack::registry
