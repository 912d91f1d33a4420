// xprt/ledger.cc
#include "xprt/ledger.h"

#include "event/thread_counters.h"

namespace xstack::xprt {

namespace {
struct ledger_tag {};
using cells = event::thread_counters<xprt_id_count * ledger_item_count, ledger_tag>;
}  // namespace

void ledger_add(xprt_id id, ledger_item item, std::uint64_t v) noexcept {
    cells::add(static_cast<std::size_t>(id) * ledger_item_count + static_cast<std::size_t>(item),
               v);
}

std::array<ledger_row, xprt_id_count> ledger_sum() {
    const auto all = cells::sum();
    std::array<ledger_row, xprt_id_count> out{};
    for (std::size_t id = 0; id < xprt_id_count; ++id) {
        for (std::size_t i = 0; i < ledger_item_count; ++i) {
            out[id].v[i] = all[id * ledger_item_count + i];
        }
    }
    return out;
}

}  // namespace xstack::xprt
