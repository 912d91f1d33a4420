// tests/support/pass_layer.cc
#include "tests/support/pass_layer.h"

#include "xprt/connection.h"

namespace xstack::test {

pass_layer::pass_layer(std::string_view name, call_log* log)
    : detail::name_holder{std::string(name)},
      xprt::pass_through_ops(xprt::xprt_id::test, held_name),
      log_(log) {}

void pass_layer::log(std::string_view what) const noexcept {
    if (log_ == nullptr) {
        return;
    }
    try {
        std::string e(held_name);
        e += '.';
        e += what;
        log_->add(std::move(e));
    } catch (...) {  // NOLINT(bugprone-empty-catch): out of memory in a test log
    }
}

result<void> pass_layer::init(xprt::connection& c, xprt::xprt_ctx*& ctx) const noexcept {
    if (ctx != nullptr) {
        return {};  // idempotent
    }
    auto r = pass_through_ops::init(c, ctx);
    if (!r) {
        c.set_errcode(r.error().code);
        return r;
    }
    ++live_;
    log("init");
    return {};
}

result<void> pass_layer::start(xprt::connection& c, xprt::xprt_ctx* ctx) const noexcept {
    auto r = pass_through_ops::start(c, ctx);  // the layer below first
    if (r) {
        log("start");
    }
    return r;
}

void pass_layer::close(xprt::connection& c, xprt::xprt_ctx* ctx) const noexcept {
    log("close");
    --live_;
    pass_through_ops::close(c, ctx);  // closes the layer below, frees the context
}

}  // namespace xstack::test
