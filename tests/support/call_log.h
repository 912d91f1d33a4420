// tests/support/call_log.h - an ordered record of calls shared by several test layers.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace xstack::test {

/// Entries such as "FAKE.start", "PASS.close", "ctrl.close" in the order the calls happened,
/// so a test can assert ordering across layers (start bottom-up, close top-down, ctrl close
/// after xprt close).
class call_log {
public:
    void add(std::string entry) { entries_.push_back(std::move(entry)); }
    [[nodiscard]] const std::vector<std::string>& entries() const noexcept { return entries_; }
    /// How many entries equal `entry`.
    [[nodiscard]] std::size_t count(std::string_view entry) const noexcept;
    /// Entries containing `needle` (e.g. ".close" or "FAKE.").
    [[nodiscard]] std::vector<std::string> matching(std::string_view needle) const;
    /// "a,b,c"
    [[nodiscard]] std::string joined(std::string_view sep = ",") const;
    void clear() noexcept { entries_.clear(); }

private:
    std::vector<std::string> entries_;
};

}  // namespace xstack::test
