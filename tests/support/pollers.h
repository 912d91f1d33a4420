// tests/support/pollers.h - parametrize a test suite over every poller kind ("all pollers
// pass the same test suite").
//
//   INSTANTIATE_TEST_SUITE_P(AllPollers, MyTest, test::all_pollers(), test::poller_param_name);
#pragma once

#include <string>

#include <gtest/gtest.h>

#include "event/poller.h"

namespace xstack::test {

/// epoll (level-triggered), epoll_et and poll.
inline auto all_pollers() {
    return ::testing::Values(event::poller_kind::epoll, event::poller_kind::epoll_et,
                             event::poller_kind::poll);
}

/// "Epoll", "EpollEt", "Poll": test names without punctuation.
inline std::string poller_param_name(const ::testing::TestParamInfo<event::poller_kind>& p) {
    switch (p.param) {
    case event::poller_kind::epoll:
        return "Epoll";
    case event::poller_kind::epoll_et:
        return "EpollEt";
    case event::poller_kind::poll:
        return "Poll";
    }
    return "Unknown";
}

}  // namespace xstack::test
