// tests/support/run_until.cc
#include "tests/support/run_until.h"

#include <algorithm>
#include <chrono>

namespace xstack::test {

bool run_until(event::loop& l, const std::function<bool()>& pred, int timeout_ms) {
    using clock = std::chrono::steady_clock;
    const auto deadline = clock::now() + std::chrono::milliseconds(timeout_ms);
    while (!pred()) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()).count();
        if (left <= 0) {
            return false;
        }
        // Bounded wait: the predicate may depend on another thread or on real time.
        l.run_once(static_cast<int>(std::min<long long>(left, 50)));
    }
    return true;
}

void run_iterations(event::loop& l, int n) {
    for (int i = 0; i < n; ++i) {
        l.run_once(0);
    }
}

}  // namespace xstack::test
