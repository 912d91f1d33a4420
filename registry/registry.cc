// registry/registry.cc - fills the builtin registry from the build's list of transports
// (XS_BUILTIN_XPRTS in the generated config header): no OpenSSL test here.
#include "registry/registry.h"

#include <cctype>

#include "xstack/config.h"

// Each built-in transport's folder provides xstack::<name>::ops().
#define XS_DECLARE_OPS(name)              \
    namespace xstack::name {              \
    const xprt::xprt_ops& ops() noexcept; \
    }
XS_BUILTIN_XPRTS(XS_DECLARE_OPS)
#undef XS_DECLARE_OPS

namespace xstack::registry {

namespace {
bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(a[i])) !=
            std::tolower(static_cast<unsigned char>(b[i]))) {
            return false;
        }
    }
    return true;
}
}  // namespace

const registry& registry::builtin() noexcept {
    static const registry r = [] {
        registry b;
#define XS_ADD_OPS(name) b.add(&::xstack::name::ops());
        XS_BUILTIN_XPRTS(XS_ADD_OPS)
#undef XS_ADD_OPS
        return b;
    }();
    return r;
}

const xprt::xprt_ops* registry::find(std::string_view name) const noexcept {
    for (const xprt::xprt_ops* o : ops_) {
        if (o == nullptr) {
            continue;
        }
        if (iequals(o->name(), name) || iequals(xprt::to_string(o->id()), name)) {
            return o;
        }
    }
    return nullptr;
}

void registry::add(const xprt::xprt_ops* ops) noexcept {
    if (ops != nullptr) {
        ops_[static_cast<std::size_t>(ops->id())] = ops;
    }
}

void registry::remove(xprt::xprt_id id) noexcept {
    ops_[static_cast<std::size_t>(id)] = nullptr;
}

std::size_t registry::size() const noexcept {
    std::size_t n = 0;
    for (const auto* o : ops_) {
        n += o != nullptr ? 1 : 0;
    }
    return n;
}

}  // namespace xstack::registry
