// xprt/connection.cc - connection life cycle and chain surgery.
#include "xprt/connection.h"

#include <cstdio>
#include <cstdlib>

#include "xprt/assert.h"

namespace xstack {
namespace detail {
void assert_fail(const char* expr, const char* file, int line) noexcept {
    std::fprintf(stderr, "xstack: assertion failed: %s (%s:%d)\n", expr, file, line);
    std::abort();
}
}  // namespace detail

namespace xprt {

connection::~connection() {
    if (xprt || flags.has(conn_flag::ctrl_ready)) {
        conn_force_close(*this);
    }
}

result<void> conn_prepare(connection& c, const ctrl_ops* ctrl, const xprt_ops* top) noexcept {
    c.ctrl = ctrl;
    if (top == nullptr) {
        c.set_errcode(conn_err::no_xprt);
        return error_info{"transport not built into this library", 0, conn_err::no_xprt};
    }
    xprt_ctx* ctx = nullptr;
    auto r = top->init(c, ctx);
    if (!r) {
        c.set_errcode(r.error().code == conn_err::none ? conn_err::xprt_init : r.error().code);
        return r;
    }
    c.xprt = {top, ctx};
    return {};
}

void conn_ctrl_init(connection& c) noexcept {
    if (c.flags.has(conn_flag::ctrl_ready) || c.ctrl == nullptr) {
        return;
    }
    c.flags.set(conn_flag::ctrl_ready);
    c.ctrl->ctrl_init(c);
}

result<void> conn_xprt_start(connection& c) noexcept {
    if (c.flags.has(conn_flag::xprt_ready)) {
        return {};
    }
    if (!c.xprt) {
        return error_info{"no transport to start", 0, conn_err::no_xprt};
    }
    auto r = c.xprt.ops->start(c, c.xprt.ctx);
    if (r) {
        c.flags.set(conn_flag::xprt_ready);
    }
    return r;
}

void conn_xprt_close(connection& c) noexcept {
    if (c.flags.has(conn_flag::xprt_tracked) || !c.xprt) {
        return;
    }
    const xprt_ref top = c.xprt;
    c.xprt = {};
    c.flags.clear(conn_flag::xprt_ready);
    top.ops->close(c, top.ctx);
}

void conn_ctrl_close(connection& c) noexcept {
    if (c.xprt || !c.flags.has(conn_flag::ctrl_ready)) {
        return;
    }
    if (c.flags.has(conn_flag::want_drain) && !c.flags.has(conn_flag::sock_rd_sh) &&
        c.ctrl != nullptr) {
        (void)c.ctrl->drain(c);
    }
    c.flags.clear(conn_flag::ctrl_ready);
    if (c.ctrl != nullptr) {
        c.ctrl->ctrl_close(c);
    }
    c.subs = nullptr;
}

void conn_full_close(connection& c) noexcept {
    conn_xprt_close(c);
    conn_ctrl_close(c);
}

void conn_force_close(connection& c) noexcept {
    c.flags.clear(conn_flag::xprt_tracked);
    conn_full_close(c);
}

void conn_sock_shutw(connection& c, bool clean) noexcept {
    c.report_term(term_loc::fd, term_type::shutw);
    const bool was = c.flags.has(conn_flag::sock_wr_sh);
    c.flags.set(conn_flag::sock_wr_sh);
    if (!was && c.flags.has(conn_flag::ctrl_ready) && clean &&
        !c.flags.has(conn_flag::sock_rd_sh) && c.ctrl != nullptr) {
        c.ctrl->sock_shutw(c);
    }
}

void conn_sock_read0(connection& c) noexcept {
    c.flags.set(conn_flag::sock_rd_sh);
    c.report_term(term_loc::fd, term_type::shutr);
    if (c.flags.has(conn_flag::ctrl_ready) && !c.flags.has(conn_flag::fdless)) {
        c.loop().fds().set_linger_risk(c.fd(), false);
    }
}

void conn_shutw(connection& c, bool clean) noexcept {
    if (c.xprt) {
        c.xprt.ops->shutw(c, c.xprt.ctx, clean);
    }
    conn_sock_shutw(c, clean);
}

xprt_ctx* conn_insert_xprt(connection& c, const xprt_ops& ops) noexcept {
    if (c.flags.has(conn_flag::error) || !c.xprt) {
        return nullptr;
    }
    xprt_ctx* ctx = nullptr;
    auto r = ops.init(c, ctx);
    if (!r || ctx == nullptr) {
        c.set_errcode(r ? conn_err::xprt_init : r.error().code);
        return nullptr;
    }
    const xprt_ref added{&ops, ctx};
    if (c.xprt.ops->id() == xprt_id::raw) {
        // Above raw: the new layer becomes the top.
        ctx->below_ops = c.xprt.ops;
        ctx->below = c.xprt.ctx;
        c.xprt = added;
        return ctx;
    }
    // Below the top: the top takes the new layer as its lower one and hands us its old one.
    xprt_ref old;
    if (!c.xprt.ops->add_xprt(c, c.xprt.ctx, added, &old)) {
        ops.close(c, ctx);
        c.set_errcode(conn_err::xprt_init);
        return nullptr;
    }
    ctx->below_ops = old.ops;
    ctx->below = old.ctx;
    return ctx;
}

bool conn_remove_xprt(connection& c, const xprt_ctx* ctx) noexcept {
    if (!c.xprt || ctx == nullptr) {
        return false;
    }
    if (c.xprt.ctx == ctx) {
        c.xprt = {ctx->below_ops, ctx->below};
        return true;
    }
    // Walk first so that a missing layer is a clean "no" rather than an assertion in raw.
    bool found = false;
    for (xprt_ref l = c.xprt; l; l = l.ops->below(l.ctx)) {
        if (l.ctx == ctx) {
            found = true;
            break;
        }
    }
    return found &&
           c.xprt.ops->remove_xprt(c, c.xprt.ctx, ctx, xprt_ref{ctx->below_ops, ctx->below});
}

std::string conn_chain(const connection& c) {
    std::string out;
    for (xprt_ref l = c.xprt; l; l = l.ops->below(l.ctx)) {
        if (!out.empty()) {
            out += '>';
        }
        out += l.ops->name();
    }
    return out.empty() ? "-" : out;
}

std::size_t conn_chain_depth(const connection& c) noexcept {
    std::size_t n = 0;
    for (xprt_ref l = c.xprt; l; l = l.ops->below(l.ctx)) {
        ++n;
    }
    return n;
}

std::string conn_show(const connection& c) {
    std::string out = "chain=" + conn_chain(c);
    out += " flags=" + to_string(c.flags);
    out += " err=";
    out += to_string(c.err_code);
    out += " term=" + c.term.to_string();
    if (!c.flags.has(conn_flag::fdless)) {
        out += " fd=" + std::to_string(c.fd());
    }
    out += " src=" + c.src.to_string() + " dst=" + c.dst.to_string();
    for (xprt_ref l = c.xprt; l; l = l.ops->below(l.ctx)) {
        out += "\n  ";
        l.ops->show(c, l.ctx, out);
    }
    return out;
}

}  // namespace xprt
}  // namespace xstack
