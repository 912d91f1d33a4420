// xprt/result.h - control-path results: a value or an error (std::expected is C++23).
#pragma once

#include <utility>
#include <variant>

#include "xprt/assert.h"
#include "xprt/conn_error.h"

namespace xstack {

/// Why a control-path operation failed. `what` is always a string literal.
struct error_info {
    const char* what = "";
    int sys_errno = 0;                           ///< errno at the failure, 0 if not a syscall
    xprt::conn_err code = xprt::conn_err::none;  ///< matching connection error code, if any
};

/// A value of type T or an error_info, with std::expected's member names.
template <class T>
class [[nodiscard]] result {
public:
    result(T v) : v_(std::in_place_index<0>, std::move(v)) {}  // NOLINT: implicit by design
    result(error_info e) : v_(std::in_place_index<1>, e) {}    // NOLINT: implicit by design

    [[nodiscard]] bool has_value() const noexcept { return v_.index() == 0; }
    explicit operator bool() const noexcept { return has_value(); }
    [[nodiscard]] T& value() & { return std::get<0>(v_); }
    [[nodiscard]] const T& value() const& { return std::get<0>(v_); }
    [[nodiscard]] T&& value() && { return std::get<0>(std::move(v_)); }
    // As std::expected: value() checks (throws std::bad_variant_access); error(), * and -> have
    // has_value() (or its opposite) as a precondition, asserted in checked builds, so code that
    // tested it can use them in noexcept functions.
    [[nodiscard]] const error_info& error() const noexcept {
        XS_ASSERT(!has_value());
        return *std::get_if<1>(&v_);
    }
    T& operator*() & noexcept { return *operator->(); }
    const T& operator*() const& noexcept { return *operator->(); }
    T* operator->() noexcept {
        XS_ASSERT(has_value());
        return std::get_if<0>(&v_);
    }
    const T* operator->() const noexcept {
        XS_ASSERT(has_value());
        return std::get_if<0>(&v_);
    }

private:
    std::variant<T, error_info> v_;
};

template <>
class [[nodiscard]] result<void> {
public:
    result() = default;
    result(error_info e) : err_(e), ok_(false) {}  // NOLINT: implicit by design

    [[nodiscard]] bool has_value() const noexcept { return ok_; }
    explicit operator bool() const noexcept { return ok_; }
    [[nodiscard]] const error_info& error() const noexcept { return err_; }

private:
    error_info err_{};
    bool ok_ = true;
};

}  // namespace xstack
