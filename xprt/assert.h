// xprt/assert.h - assertions: XS_ASSERT (cold paths, live at XS_DEBUG_STRICT >= 1) and
// XS_ASSERT_HOT (data path, live only at XS_DEBUG_STRICT >= 2). Never assert on peer input.
#pragma once

#include "xstack/config.h"

namespace xstack::detail {
[[noreturn]] void assert_fail(const char* expr, const char* file, int line) noexcept;
}  // namespace xstack::detail

#if XS_DEBUG_STRICT >= 1
#define XS_ASSERT(c) ((c) ? (void)0 : ::xstack::detail::assert_fail(#c, __FILE__, __LINE__))
#else
#define XS_ASSERT(c) ((void)sizeof(!(c)))
#endif

#if XS_DEBUG_STRICT >= 2
#define XS_ASSERT_HOT(c) XS_ASSERT(c)
#else
#define XS_ASSERT_HOT(c) ((void)sizeof(!(c)))
#endif
