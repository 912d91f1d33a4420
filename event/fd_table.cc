// event/fd_table.cc
#include "event/fd_table.h"

#include <algorithm>

namespace xstack::event {

void fd_table::insert(int fd, iocb_fn cb, void* owner, bool et) {
    if (!valid(fd)) {
        tab_.resize(std::max<std::size_t>(idx(fd) + 1, tab_.size() * 2));
        if (updates_.capacity() < 64) {
            updates_.reserve(64);
        }
    }
    fd_entry& e = tab_[idx(fd)];
    // Keep the generation: it only moves forward, so events queued for an earlier user of this
    // number stay recognisable as stale.
    const bool queued = e.st.has(fd_bit::in_update);
    e.st = fd_bits(fd_bit::in_use) | fd_bit::ready_r | fd_bit::ready_w;
    if (queued) {
        e.st.set(fd_bit::in_update);
    }
    if (et) {
        e.st.set(fd_bit::et);
    }
    e.polled = {};
    e.iocb = cb;
    e.owner = owner;
}

polled_bits fd_table::remove(int fd) noexcept {
    if (!in_use(fd)) {
        return {};
    }
    fd_entry& e = tab_[idx(fd)];
    const polled_bits was = e.polled;
    const bool queued = e.st.has(fd_bit::in_update);
    e.st = queued ? fd_bits(fd_bit::in_update) : fd_bits();
    e.polled = {};
    e.iocb = nullptr;
    e.owner = nullptr;
    ++e.gen;
    return was;
}

void fd_table::queue_update(int fd) noexcept {
    fd_entry& e = tab_[idx(fd)];
    if (e.st.has(fd_bit::in_update)) {
        return;
    }
    e.st.set(fd_bit::in_update);
    // Reserved at first insert; growth beyond that happens only with many fds changing in one
    // iteration and is amortised.
    updates_.push_back(fd);
}

void fd_table::clear_updates() noexcept {
    for (int fd : updates_) {
        tab_[idx(fd)].st.clear(fd_bit::in_update);
    }
    updates_.clear();
}

polled_bits fd_table::desired(int fd) const noexcept {
    const fd_entry& e = tab_[idx(fd)];
    polled_bits d;
    // Rx is polled when wanted, and also (forced) while Tx is, or anything was, registered and
    // Rx is neither known ready nor sticky: Rx is registered together with Tx.
    const bool forced_r =
        !e.st.has(fd_bit::ready_r) && !e.st.any(fd_mask::poll_sticky) &&
        (e.st.has(fd_bit::active_w) || e.polled.any(polled_bit::r | polled_bit::w));
    if (e.st.has(fd_bit::active_r) || forced_r) {
        d.set(polled_bit::r);
    }
    if (e.st.has(fd_bit::active_w)) {
        d.set(polled_bit::w);
    }
    return d;
}

bool fd_table::deliver(int fd, std::uint32_t gen, fd_bits report) noexcept {
    if (!in_use(fd) || tab_[idx(fd)].gen != gen) {
        ++stale_;
        return false;
    }
    fd_entry& e = tab_[idx(fd)];
    // The kernel reports IN only for a registered Rx, but HUP always. A HUP while Rx was not
    // registered (e.g. stopped because the reader's buffer was full) therefore says nothing
    // about input still queued before the FIN: report input as possible, so the next receive
    // really reads it (raw's R4 takes "HUP without IN" for an empty queue and would drop it).
    if (report.has(fd_bit::poll_hup) && !e.polled.has(polled_bit::r)) {
        report.set(fd_bit::poll_in);
    }
    e.st.clear(fd_bit::poll_in | fd_bit::poll_pri | fd_bit::poll_out);
    e.st.set(report & fd_mask::poll_report);

    fd_bits ready;
    if (report.any(fd_bit::poll_in | fd_bit::poll_pri | fd_bit::poll_err | fd_bit::poll_hup |
                   fd_bit::poll_rdhup)) {
        ready.set(fd_bit::ready_r);
    }
    if (report.any(fd_bit::poll_out | fd_bit::poll_err | fd_bit::poll_hup)) {
        ready.set(fd_bit::ready_w);
    }
    e.st.set(ready);

    // Lazy disable: an event for a direction nobody wants is the moment to really remove it.
    // Edge-triggered registrations are never modified.
    if (!e.polled.has(polled_bit::et)) {
        const bool stray_r = ready.has(fd_bit::ready_r) && !e.st.has(fd_bit::active_r);
        const bool stray_w = ready.has(fd_bit::ready_w) && !e.st.has(fd_bit::active_w);
        if (stray_r || stray_w) {
            queue_update(fd);
        }
    }
    if (e.st.any(fd_bit::active_r | fd_bit::active_w) && e.iocb != nullptr) {
        e.iocb(e.owner, fd);
    }
    return true;
}

}  // namespace xstack::event
