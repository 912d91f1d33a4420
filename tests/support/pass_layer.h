// tests/support/pass_layer.h - a pure pass-through transport layer ("PASS").
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "tests/support/call_log.h"
#include "xprt/pass_through.h"

namespace xstack::test {

namespace detail {
/// Holds the layer's name so that it is constructed before the ops base that views it.
struct name_holder {
    std::string held_name;
};
}  // namespace detail

/// Forwards every call to its lower layer unchanged (xprt::pass_through_ops with the test id):
/// what a layer costs when it has nothing to do (benchmarks stack N of them), and a neutral
/// link for chain-surgery tests.
///
/// Data calls are one indirect call each, without allocation or logging. Only the life-cycle
/// calls are logged, as "NAME.init", "NAME.start" (after the layer below started) and
/// "NAME.close" (before the layer below is closed), when a call_log is given. Contexts are
/// heap-allocated by init and freed by close (a second close is a use after free: ASan
/// reports it).
class pass_layer final : private detail::name_holder, public xprt::pass_through_ops {
public:
    explicit pass_layer(std::string_view name = "PASS", call_log* log = nullptr);
    pass_layer(const pass_layer&) = delete;
    pass_layer& operator=(const pass_layer&) = delete;

    /// Contexts created by init and not closed yet.
    [[nodiscard]] std::size_t live_contexts() const noexcept { return live_; }

    // xprt::xprt_ops
    result<void> init(xprt::connection& c, xprt::xprt_ctx*& ctx) const noexcept override;
    result<void> start(xprt::connection& c, xprt::xprt_ctx* ctx) const noexcept override;
    void close(xprt::connection& c, xprt::xprt_ctx* ctx) const noexcept override;

private:
    void log(std::string_view what) const noexcept;

    call_log* log_;
    mutable std::size_t live_ = 0;
};

}  // namespace xstack::test
