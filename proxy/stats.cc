// proxy/stats.cc - the stats socket: one command per connection, HAProxy CLI style.
#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <new>
#include <string>

#include <unistd.h>

#include "proxy/proxy_internal.h"
#include "raw/raw_sock.h"
#include "registry/registry.h"
#include "xprt/ledger.h"

namespace xstack::proxy {

using xprt::conn_flag;
using xprt::sub_event;

namespace {

constexpr std::size_t max_command = 1024;
constexpr std::uint32_t read_timeout_ms = 10000;
constexpr std::uint32_t dump_timeout_ms = 1000;

/// The per-layer ledger (xprt/ledger.h) summed over every thread of the process: one line per
/// transport type that saw any activity, "Key: value" fields separated by spaces.
std::string show_layers() {
    using xprt::ledger_item;
    std::string out;
    const auto rows = xprt::ledger_sum();
    for (std::size_t id = 0; id < rows.size(); ++id) {
        const xprt::ledger_row& r = rows[id];
        if (std::all_of(r.v.begin(), r.v.end(), [](std::uint64_t v) { return v == 0; })) {
            continue;
        }
        const std::uint64_t done = r[ledger_item::hs_done];
        const auto xid = static_cast<xprt::xprt_id>(id);
        const xprt::xprt_ops* ops = registry::xprt_get(xid);  // its name as in chains: RAW
        const std::string name(ops != nullptr ? ops->name() : xprt::to_string(xid));
        char line[512];
        std::snprintf(line, sizeof line,
                      "%s: RcvCalls %" PRIu64 " RcvBytes %" PRIu64 " RcvZero %" PRIu64
                      " SndCalls %" PRIu64 " SndBytes %" PRIu64 " SndZero %" PRIu64
                      " HsDone %" PRIu64 " HsFailed %" PRIu64 " HsAvgUs %" PRIu64 "\n",
                      name.c_str(), r[ledger_item::rcv_calls], r[ledger_item::rcv_bytes],
                      r[ledger_item::rcv_zero], r[ledger_item::snd_calls],
                      r[ledger_item::snd_bytes], r[ledger_item::snd_zero], done,
                      r[ledger_item::hs_failed],
                      done != 0 ? r[ledger_item::hs_ns] / done / 1000u : 0);
        out += line;
    }
    return out;
}

const char help_text[] =
    "The following commands are valid at this level:\n"
    "  help           : this list\n"
    "  show info      : process counters (Key: value lines)\n"
    "  show conn      : every connection: both chains, flags, error code, termination log\n"
    "  show layers    : per transport type: calls, bytes, calls that moved nothing, handshakes\n";

}  // namespace

void stats_on_accept(void* ctx, int fd, const xprt::sock_addr& peer) noexcept {
    auto* w = static_cast<worker*>(ctx);
    auto* s = new (std::nothrow) stats_session(*w);
    if (s == nullptr) {
        ::close(fd);
        return;
    }
    if (!xprt::conn_prepare(s->conn, &raw::sock_ctrl(), registry::xprt_get(xprt::xprt_id::raw))) {
        ::close(fd);
        delete s;
        return;
    }
    raw::accept_init(s->conn, fd, peer);
    if (!xprt::conn_xprt_start(s->conn)) {
        delete s;
        return;
    }
    w->loop.arm_in(s->timer, read_timeout_ms);
    s->task.wake();
}

stats_session::stats_session(worker& wk) noexcept
    : w(wk), conn(wk.loop), task(wk.loop, run, this, "stats-session"), timer(task) {
    we.task = &task;
    w.stats_sessions.push_back(this);
}

stats_session::~stats_session() {
    if (!we.events.empty() && conn.xprt) {
        conn.unsubscribe(we.events, we);
    }
    w.loop.disarm(timer);
    xprt::conn_force_close(conn);
    auto& v = w.stats_sessions;
    v.erase(std::remove(v.begin(), v.end(), this), v.end());
}

void stats_session::run(event::tasklet& /*t*/, void* ctx) noexcept {
    static_cast<stats_session*>(ctx)->step();
}

void stats_session::finish() noexcept {
    if (!conn.flags.has(conn_flag::error)) {
        xprt::conn_shutw(conn, true);
    }
    delete this;
}

bool stats_session::dump_ready() noexcept {
    for (std::size_t i = 1; i < w.srv.workers.size(); ++i) {
        worker& o = *w.srv.workers[i];
        std::lock_guard<std::mutex> g(o.mbox_mtx);
        if (o.dump_done_gen < waiting_gen) {
            return false;
        }
    }
    return true;
}

void stats_session::execute(std::string_view cmd) {
    while (!cmd.empty() && (cmd.back() == '\r' || cmd.back() == ' ' || cmd.back() == '\t')) {
        cmd.remove_suffix(1);
    }
    while (!cmd.empty() && (cmd.front() == ' ' || cmd.front() == '\t')) {
        cmd.remove_prefix(1);
    }
    if (cmd == "show info") {
        out = w.srv.show_info();
    } else if (cmd == "show conn") {
        out = w.dump_conns();
        if (w.srv.workers.size() > 1) {
            // The other workers' connections belong to their threads: ask each for a dump
            // through its mailbox, and wait (bounded) for the answers.
            waiting_gen = ++w.dump_gen;
            for (std::size_t i = 1; i < w.srv.workers.size(); ++i) {
                worker& o = *w.srv.workers[i];
                {
                    std::lock_guard<std::mutex> g(o.mbox_mtx);
                    o.dump_req_gen = waiting_gen;
                }
                o.poke();
            }
            w.loop.arm_in(timer, dump_timeout_ms);
            return;
        }
    } else if (cmd == "show layers") {
        out = show_layers();
    } else if (cmd == "help" || cmd.empty()) {
        out = help_text;
    } else {
        out = "Unknown command: '" + std::string(cmd) + "'\n" + help_text;
    }
    answering = true;
}

void stats_session::step() noexcept {
    try {
        if (waiting_gen != 0 && !answering) {
            const bool ready = dump_ready();
            if (!ready && !timer.fired()) {
                return;  // woken again by worker 0's mailbox or by the timer
            }
            for (std::size_t i = 1; i < w.srv.workers.size(); ++i) {
                worker& o = *w.srv.workers[i];
                std::lock_guard<std::mutex> g(o.mbox_mtx);
                if (o.dump_done_gen >= waiting_gen) {
                    out += o.dump_text;
                } else {
                    out += "# thread " + std::to_string(i) + ": no answer\n";
                }
            }
            waiting_gen = 0;
            answering = true;
        }
        if (!answering) {
            if (timer.fired()) {
                finish();
                return;
            }
            if (buf.alloc()) {
                const std::size_t n = conn.rcv_buf(buf, buf.room());
                std::string chunk(n, '\0');
                buf.peek(0, std::as_writable_bytes(std::span<char>(chunk)));
                buf.consume(n);
                in += chunk;
                buf.release_if_empty();
            }
            if (conn.flags.has(conn_flag::error)) {
                finish();
                return;
            }
            const std::size_t nl = in.find('\n');
            if (nl != std::string::npos) {
                execute(std::string_view(in).substr(0, nl));
            } else if (conn.flags.has(conn_flag::sock_rd_sh)) {
                if (in.empty()) {
                    finish();
                    return;
                }
                execute(in);
            } else if (in.size() > max_command) {
                finish();
                return;
            } else {
                conn.subscribe(sub_event::recv, we);
                return;
            }
            if (!answering) {
                return;  // waiting for other threads' dumps
            }
        }
        while (sent < out.size()) {
            auto area =
                std::as_writable_bytes(std::span<char>(out.data() + sent, out.size() - sent));
            const xprt::buffer b = xprt::buffer::holding(area, area.size());
            const std::size_t n = conn.snd_buf(b, b.data());
            sent += n;
            if (conn.flags.has(conn_flag::error)) {
                finish();
                return;
            }
            if (n == 0) {
                conn.subscribe(sub_event::send, we);
                return;
            }
        }
        finish();
    } catch (...) {
        delete this;  // out of memory building an answer: drop the client
    }
}

}  // namespace xstack::proxy
