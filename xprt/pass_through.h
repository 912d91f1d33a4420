// xprt/pass_through.h - a layer that forwards every call to the layer below: the base for layers
// that only intercept a few calls (counting, tracing, tests), and the unit of the chain-cost
// benchmark.
#pragma once

#include <new>
#include <string_view>

#include "xprt/connection.h"
#include "xprt/xprt_ops.h"

namespace xstack::xprt {

/// Forwards data calls, subscriptions, shutdowns and introspection downward unchanged; owns a
/// bare xprt_ctx per connection. Derive and override what you need to intercept; keep the
/// forwarding to `below` for the rest (one indirect call per layer).
class pass_through_ops : public xprt_ops {
public:
    constexpr explicit pass_through_ops(xprt_id id = xprt_id::test,
                                        std::string_view name = "PASS") noexcept
        : id_(id), name_(name) {}

    [[nodiscard]] xprt_id id() const noexcept override { return id_; }
    [[nodiscard]] std::string_view name() const noexcept override { return name_; }

    result<void> init(connection& /*c*/, xprt_ctx*& ctx) const noexcept override {
        if (ctx == nullptr) {
            ctx = new (std::nothrow) xprt_ctx;
            if (ctx == nullptr) {
                return error_info{"out of memory", 0, conn_err::xprt_init};
            }
        }
        return {};
    }
    void close(connection& c, xprt_ctx* ctx) const noexcept override {
        if (ctx->below_ops != nullptr) {
            ctx->below_ops->close(c, ctx->below);
        }
        delete ctx;
    }
    std::size_t rcv_buf(connection& c, xprt_ctx* ctx, buffer& buf, std::size_t count,
                        rcv_flags flags) const noexcept override {
        return ctx->below_ops->rcv_buf(c, ctx->below, buf, count, flags);
    }
    std::size_t snd_buf(connection& c, xprt_ctx* ctx, const buffer& buf, std::size_t count,
                        snd_flags flags) const noexcept override {
        return ctx->below_ops->snd_buf(c, ctx->below, buf, count, flags);
    }
    pipe_io rcv_pipe(connection& c, xprt_ctx* ctx, pipe& p,
                     std::size_t count) const noexcept override {
        return ctx->below_ops->rcv_pipe(c, ctx->below, p, count);
    }
    pipe_io snd_pipe(connection& c, xprt_ctx* ctx, pipe& p,
                     std::size_t count) const noexcept override {
        return ctx->below_ops->snd_pipe(c, ctx->below, p, count);
    }
    void subscribe(connection& c, xprt_ctx* ctx, sub_events ev,
                   wait_event& w) const noexcept override {
        ctx->below_ops->subscribe(c, ctx->below, ev, w);
    }
    void unsubscribe(connection& c, xprt_ctx* ctx, sub_events ev,
                     wait_event& w) const noexcept override {
        ctx->below_ops->unsubscribe(c, ctx->below, ev, w);
    }

private:
    xprt_id id_;
    std::string_view name_;
};

}  // namespace xstack::xprt
