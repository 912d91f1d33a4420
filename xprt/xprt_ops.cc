// xprt/xprt_ops.cc - default behaviours of the transport contract.
#include "xprt/xprt_ops.h"

#include <cstdio>

#include "xprt/assert.h"
#include "xprt/connection.h"

namespace xstack::xprt {

std::string_view to_string(xprt_id id) noexcept {
    switch (id) {
    case xprt_id::raw:
        return "raw";
    case xprt_id::ssl:
        return "ssl";
    case xprt_id::handshake:
        return "handshake";
    case xprt_id::test:
        return "test";
    }
    return "?";
}

result<void> xprt_ops::start(connection& c, xprt_ctx* ctx) const noexcept {
    if (ctx != nullptr && ctx->below_ops != nullptr) {
        return ctx->below_ops->start(c, ctx->below);
    }
    return {};
}

pipe_io xprt_ops::rcv_pipe(connection& /*c*/, xprt_ctx* /*ctx*/, pipe& /*p*/,
                           std::size_t /*count*/) const noexcept {
    return pipe_io::unsupported();
}

pipe_io xprt_ops::snd_pipe(connection& /*c*/, xprt_ctx* /*ctx*/, pipe& /*p*/,
                           std::size_t /*count*/) const noexcept {
    return pipe_io::unsupported();
}

void xprt_ops::shutw(connection& c, xprt_ctx* ctx, bool clean) const noexcept {
    if (ctx != nullptr && ctx->below_ops != nullptr) {
        ctx->below_ops->shutw(c, ctx->below, clean);
    }
}

bool xprt_ops::add_xprt(connection& /*c*/, xprt_ctx* ctx, xprt_ref to_add,
                        xprt_ref* old) const noexcept {
    if (ctx == nullptr) {
        return false;
    }
    if (old != nullptr) {
        *old = {ctx->below_ops, ctx->below};
    }
    ctx->below_ops = to_add.ops;
    ctx->below = to_add.ctx;
    return true;
}

bool xprt_ops::remove_xprt(connection& c, xprt_ctx* ctx, const xprt_ctx* to_remove,
                           xprt_ref replacement) const noexcept {
    if (ctx == nullptr || ctx->below_ops == nullptr) {
        XS_ASSERT(false && "remove_xprt reached the bottom of the chain");
        return false;
    }
    if (ctx->below == to_remove) {
        ctx->below_ops = replacement.ops;
        ctx->below = replacement.ctx;
        return true;
    }
    return ctx->below_ops->remove_xprt(c, ctx->below, to_remove, replacement);
}

xprt_ref xprt_ops::below(const xprt_ctx* ctx) const noexcept {
    if (ctx == nullptr) {
        return {};
    }
    return {ctx->below_ops, ctx->below};
}

splice_cap xprt_ops::can_splice(const connection& c, const xprt_ctx* ctx) const noexcept {
    const xprt_ref b = below(ctx);
    return b ? b.ops->can_splice(c, b.ctx) : splice_cap::cannot;
}

std::string_view xprt_ops::alpn(const connection& c, const xprt_ctx* ctx) const noexcept {
    const xprt_ref b = below(ctx);
    return b ? b.ops->alpn(c, b.ctx) : std::string_view{};
}

const tls_info* xprt_ops::tls(const connection& c, const xprt_ctx* ctx) const noexcept {
    const xprt_ref b = below(ctx);
    return b ? b.ops->tls(c, b.ctx) : nullptr;
}

void xprt_ops::show(const connection& /*c*/, const xprt_ctx* ctx, std::string& out) const {
    out += name();
    if (ctx != nullptr) {
        char buf[32];
        std::snprintf(buf, sizeof buf, " ctx=%p", static_cast<const void*>(ctx));
        out += buf;
    }
}

}  // namespace xstack::xprt
