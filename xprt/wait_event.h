// xprt/wait_event.h - how a layer (or the application) asks to be woken by the layer below.
#pragma once

#include <cstdint>

#include "event/flag_set.h"
#include "event/tasklet.h"

namespace xstack::xprt {

/// Subscription events (HAProxy's SUB_RETRY_RECV / SUB_RETRY_SEND).
enum class sub_event : std::uint8_t {
    recv = 1,  ///< wake me when a receive may make progress
    send = 2,  ///< wake me when a send may make progress
};
XS_FLAG_ENUM(sub_event)
using sub_events = flag_set<sub_event>;
inline constexpr sub_events sub_both = sub_event::recv | sub_event::send;

/// A subscriber: the tasklet to wake and the events it still waits for.
///
/// Events are one-shot: the layer that delivers one clears its bit before waking `task`. The
/// same wait_event must be passed to unsubscribe, and must stay alive while any event is
/// registered with a layer.
struct wait_event {
    event::tasklet* task = nullptr;
    sub_events events;
};

}  // namespace xstack::xprt
