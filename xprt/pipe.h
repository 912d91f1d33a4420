// xprt/pipe.h - a kernel pipe used to splice between two sockets.
#pragma once

#include <cstddef>

namespace xstack::xprt {

/// A pipe and the number of bytes it holds. Pipes come from raw's per-thread pool and are held
/// only while they hold data.
struct pipe {
    int prod = -1;             ///< write end (splice from a socket into it)
    int cons = -1;             ///< read end (splice from it to a socket)
    std::size_t data = 0;      ///< bytes inside
    std::size_t capacity = 0;  ///< kernel pipe size in bytes
    pipe* next = nullptr;      ///< pool link
};

/// The answer of rcv_pipe / snd_pipe.
struct pipe_io {
    std::size_t bytes = 0;       ///< bytes moved by this call
    bool not_supported = false;  ///< splicing is impossible on this connection: fall back to
                                 ///< buffers and do not try again (nothing was moved)
    static constexpr pipe_io unsupported() noexcept { return {0, true}; }
};

}  // namespace xstack::xprt
