// raw/pipe_pool.h - per-thread pool of kernel pipes for splicing.
#pragma once

#include <cstddef>
#include <cstdint>

#include "xprt/pipe.h"

namespace xstack::raw {

struct pipe_pool_stats {
    std::uint64_t created = 0;    ///< pipes opened (ever)
    std::uint64_t destroyed = 0;  ///< pipes closed (ever)
    std::uint64_t in_use = 0;     ///< pipes held by connections now
    std::uint64_t cached = 0;     ///< empty pipes waiting in this thread's cache
    std::uint64_t failures = 0;   ///< pipe() failures or max reached
};

/// Sets this thread's pool: `pipe_size` bytes per pipe (F_SETPIPE_SZ; 0 keeps the kernel's
/// default; above fs.pipe-max-size, which only CAP_SYS_RESOURCE may exceed, that maximum), at
/// most `max_cached` idle pipes kept, at most `max_pipes` in existence (0: no limit). Call
/// before the first pipe_get().
void pipe_pool_configure(std::size_t pipe_size, std::size_t max_cached,
                         std::size_t max_pipes = 0) noexcept;

/// An empty pipe from this thread's cache, or a new one; nullptr when pipes cannot be created
/// (the caller falls back to buffers). Hold a pipe only while it holds data.
///
/// The first call on a thread blocks SIGPIPE in that thread's signal mask (pthread_sigmask,
/// once): splice() into a socket cannot ask for MSG_NOSIGNAL, and a peer that has gone raises
/// SIGPIPE, whose default action kills the process. snd_pipe discards the signal it caused
/// (discard_sigpipe) when splice fails with EPIPE, so none stays pending.
[[nodiscard]] xprt::pipe* pipe_get() noexcept;
/// Takes a pending SIGPIPE of this thread, if any, without delivering it (sigtimedwait with a
/// zero timeout). For the EPIPE path of a splice into a socket; a no-op where pipe_get has not
/// blocked SIGPIPE.
void discard_sigpipe() noexcept;
/// Returns a pipe: cached if empty and the cache has room, destroyed otherwise (a pipe that
/// still holds data cannot be reused safely).
void pipe_put(xprt::pipe* p) noexcept;
[[nodiscard]] pipe_pool_stats pipe_pool_get_stats() noexcept;
/// Closes every cached pipe of this thread.
void pipe_pool_trim() noexcept;

}  // namespace xstack::raw
