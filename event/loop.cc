// event/loop.cc
#include "event/loop.h"

#include <cerrno>
#include <climits>

#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>

#include "event/sys.h"

namespace xstack::event {

namespace {

std::uint64_t monotonic_ns(void* /*ctx*/) noexcept {
    timespec ts{};
    // CLOCK_MONOTONIC is served by the vDSO: no syscall per iteration.
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000u +
           static_cast<std::uint64_t>(ts.tv_nsec);
}

void noop_fn(tasklet& /*t*/, void* /*ctx*/) noexcept {}

void list_init(tasklet& s, tasklet*& next, tasklet*& prev) noexcept {
    next = &s;
    prev = &s;
}

}  // namespace

// --- tasklet ------------------------------------------------------------------------------

tasklet::~tasklet() {
    if (queued()) {
        loop_->cancel(*this);
    }
}

void tasklet::wake() noexcept {
    loop_->wake(*this);
}

void tasklet::cancel() noexcept {
    if (queued()) {
        loop_->cancel(*this);
    }
}

timer::~timer() {
    if (loop_ != nullptr) {
        loop_->disarm(*this);
    }
}

// --- loop ---------------------------------------------------------------------------------

loop::loop(const loop_options& opt)
    : opt_(opt), rq_(*this, noop_fn, nullptr, "rq"), batch_(*this, noop_fn, nullptr, "batch") {
    list_init(rq_, rq_.next_, rq_.prev_);
    list_init(batch_, batch_.next_, batch_.prev_);
    if (opt_.clock == nullptr) {
        opt_.clock = monotonic_ns;
    }
    if (opt_.max_events <= 0) {
        opt_.max_events = 256;
    }
    if (opt_.tasklet_budget <= 0) {
        opt_.tasklet_budget = 512;
    }
    heap_.reserve(64);
    update_time();
    poller_ = poller::create(opt_.poller, opt_.max_events, opt_.probe_rdhup);
    if (poller_ != nullptr) {
        wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (wake_fd_ >= 0) {
            fd_insert(wake_fd_, wake_fd_iocb, this, false);
            fds_.cant_recv(wake_fd_);
            fds_.want_recv(wake_fd_);
        }
    }
}

loop::~loop() {
    // Detach whatever is still queued so the tasklets' destructors do not touch this loop.
    for (tasklet* s : {&rq_, &batch_}) {
        tasklet* t = s->next_;
        while (t != s) {
            tasklet* n = t->next_;
            t->next_ = t->prev_ = nullptr;
            t = n;
        }
        s->next_ = s->prev_ = nullptr;
    }
    for (timer* t : heap_) {
        t->loop_ = nullptr;
        t->idx_ = timer::npos;
    }
    if (wake_fd_ >= 0) {
        fd_delete(wake_fd_);
    }
}

void loop::wake_fd_iocb(void* owner, int fd) noexcept {
    auto* self = static_cast<loop*>(owner);
    std::uint64_t v = 0;
    // Drain the eventfd; the stop flag carries the information.
    while (::read(fd, &v, sizeof v) > 0) {
    }
    self->fds_.cant_recv(fd);
}

void loop::request_stop() noexcept {
    stop_requested_.store(true, std::memory_order_relaxed);
    if (wake_fd_ >= 0) {
        const std::uint64_t one = 1;
        const ssize_t r = ::write(wake_fd_, &one, sizeof one);
        (void)r;
    }
}

void loop::fd_insert(int fd, iocb_fn cb, void* owner, bool et_possible) {
    fds_.insert(fd, cb, owner, et_possible);
}

void loop::fd_forget(int fd) noexcept {
    const polled_bits was = fds_.remove(fd);
    poller_->forget(fd, was, false);
}

void loop::fd_delete(int fd) noexcept {
    if (fds_.in_use(fd) && fds_.linger_risk(fd)) {
        const linger nolinger{1, 0};
        (void)sys::setsockopt(fd, SOL_SOCKET, SO_LINGER, &nolinger, sizeof nolinger);
    }
    const polled_bits was = fds_.remove(fd);
    poller_->forget(fd, was, true);
    (void)sys::close(fd);
}

void loop::wake(tasklet& t) noexcept {
    if (t.next_ != nullptr) {
        return;
    }
    t.prev_ = rq_.prev_;
    t.next_ = &rq_;
    rq_.prev_->next_ = &t;
    rq_.prev_ = &t;
}

void loop::cancel(tasklet& t) noexcept {
    if (t.next_ == nullptr) {
        return;
    }
    t.prev_->next_ = t.next_;
    t.next_->prev_ = t.prev_;
    t.next_ = t.prev_ = nullptr;
}

void loop::run_tasklets() noexcept {
    if (rq_.next_ == &rq_) {
        return;
    }
    // Take the whole queue: tasklets woken while these run wait for the next iteration, so a
    // tasklet that wakes itself cannot starve I/O.
    batch_.next_ = rq_.next_;
    batch_.prev_ = rq_.prev_;
    batch_.next_->prev_ = &batch_;
    batch_.prev_->next_ = &batch_;
    rq_.next_ = rq_.prev_ = &rq_;

    int budget = opt_.tasklet_budget;
    while (batch_.next_ != &batch_ && budget-- > 0) {
        tasklet* t = batch_.next_;
        cancel(*t);
        ++t->runs_;
        ++stats_.tasklets_run;
        t->fn_(*t, t->ctx_);  // may destroy t
    }
    if (batch_.next_ != &batch_) {
        // Out of budget: what is left goes back in front of the newly woken ones.
        tasklet* first = batch_.next_;
        tasklet* last = batch_.prev_;
        last->next_ = rq_.next_;
        rq_.next_->prev_ = last;
        rq_.next_ = first;
        first->prev_ = &rq_;
        batch_.next_ = batch_.prev_ = &batch_;
    }
}

void loop::flush_updates() noexcept {
    for (int fd : fds_.updates()) {
        if (fds_.in_use(fd)) {
            poller_->update(fds_, fd);
        }
    }
    fds_.clear_updates();
}

void loop::update_time() noexcept {
    now_ns_ = opt_.clock(opt_.clock_ctx);
}

int loop::next_timeout(int max_wait_ms) const noexcept {
    if (has_queued_tasklets() || stopping()) {
        return 0;
    }
    int t = max_wait_ms;
    if (!heap_.empty()) {
        const std::uint64_t key = heap_.front()->key_;
        const std::uint64_t now = now_ms();
        // Round up so a timer is not polled for repeatedly just before it is due.
        const std::uint64_t d = key > now ? key - now : 0;
        const int di = d > static_cast<std::uint64_t>(INT_MAX) ? INT_MAX : static_cast<int>(d);
        if (t < 0 || di < t) {
            t = di;
        }
    }
    return t;
}

int loop::run_once(int max_wait_ms) noexcept {
    ++stats_.iterations;
    run_tasklets();
    flush_updates();
    const int n = poller_->wait(fds_, next_timeout(max_wait_ms));
    update_time();
    run_timers();
    return n < 0 ? 0 : n;
}

void loop::run() noexcept {
    while (!stopping()) {
        run_once(-1);
    }
    stop_ = false;
    // The stop request has been served: without this, every later run() would return at once
    // and run_once() would never wait again (next_timeout() is 0 while stopping()). A request
    // made before run() is entered still stops that run() at once.
    stop_requested_.store(false, std::memory_order_relaxed);
}

// --- timers: a binary min-heap on key_, with lazy postponement ---------------------------

void loop::arm(timer& t, std::uint64_t expire_ms) noexcept {
    t.fired_ = false;
    if (t.loop_ == this && expire_ms >= t.key_) {
        t.expire_ = expire_ms;  // later than the heap position: fix up when the key comes
        return;
    }
    if (t.loop_ != nullptr) {
        t.loop_->disarm(t);
    }
    t.loop_ = this;
    t.expire_ = expire_ms;
    t.key_ = expire_ms;
    heap_push(t);
}

void loop::disarm(timer& t) noexcept {
    if (t.loop_ != this) {
        return;
    }
    heap_remove(t);
    t.loop_ = nullptr;
}

void loop::run_timers() noexcept {
    const std::uint64_t now = now_ms();
    while (!heap_.empty() && heap_.front()->key_ <= now) {
        timer* t = heap_.front();
        heap_remove(*t);
        if (t->expire_ > now) {
            t->key_ = t->expire_;  // postponed since armed: requeue at the real time
            heap_push(*t);
            continue;
        }
        t->loop_ = nullptr;
        t->fired_ = true;
        ++stats_.timers_fired;
        wake(*t->task_);
    }
}

void loop::heap_push(timer& t) noexcept {
    t.idx_ = heap_.size();
    heap_.push_back(&t);
    heap_sift_up(t.idx_);
}

void loop::heap_remove(timer& t) noexcept {
    const std::size_t i = t.idx_;
    if (i == timer::npos) {
        return;
    }
    timer* last = heap_.back();
    heap_.pop_back();
    t.idx_ = timer::npos;
    if (last != &t) {
        heap_[i] = last;
        last->idx_ = i;
        heap_sift_up(i);
        heap_sift_down(last->idx_);
    }
}

void loop::heap_sift_up(std::size_t i) noexcept {
    while (i > 0) {
        const std::size_t p = (i - 1) / 2;
        if (heap_[p]->key_ <= heap_[i]->key_) {
            break;
        }
        std::swap(heap_[p], heap_[i]);
        heap_[p]->idx_ = p;
        heap_[i]->idx_ = i;
        i = p;
    }
}

void loop::heap_sift_down(std::size_t i) noexcept {
    const std::size_t n = heap_.size();
    for (;;) {
        const std::size_t l = 2 * i + 1;
        const std::size_t r = l + 1;
        std::size_t m = i;
        if (l < n && heap_[l]->key_ < heap_[m]->key_) {
            m = l;
        }
        if (r < n && heap_[r]->key_ < heap_[m]->key_) {
            m = r;
        }
        if (m == i) {
            return;
        }
        std::swap(heap_[m], heap_[i]);
        heap_[m]->idx_ = m;
        heap_[i]->idx_ = i;
        i = m;
    }
}

}  // namespace xstack::event
