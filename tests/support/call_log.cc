// tests/support/call_log.cc
#include "tests/support/call_log.h"

#include <algorithm>

namespace xstack::test {

std::size_t call_log::count(std::string_view entry) const noexcept {
    return static_cast<std::size_t>(std::count(entries_.begin(), entries_.end(), entry));
}

std::vector<std::string> call_log::matching(std::string_view needle) const {
    std::vector<std::string> out;
    for (const auto& e : entries_) {
        if (e.find(needle) != std::string::npos) {
            out.push_back(e);
        }
    }
    return out;
}

std::string call_log::joined(std::string_view sep) const {
    std::string out;
    for (const auto& e : entries_) {
        if (!out.empty()) {
            out += sep;
        }
        out += e;
    }
    return out;
}

}  // namespace xstack::test
