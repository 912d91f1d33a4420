// xprt/term_log.cc
#include "xprt/term_log.h"

#include <array>
#include <string_view>

namespace xstack::xprt {

std::string term_log::to_string() const {
    static constexpr std::array<std::string_view, 5> locs = {"?", "fd", "hs", "xprt", "app"};
    static constexpr std::array<std::string_view, 13> types = {"?",
                                                               "shutw",
                                                               "shutr",
                                                               "rcv_err",
                                                               "snd_err",
                                                               "truncated_shutr",
                                                               "truncated_rcv_err",
                                                               "connect_err",
                                                               "intercepted",
                                                               "connect_poll_err",
                                                               "poll_err",
                                                               "poll_hup",
                                                               "timeout"};
    if (n_ == 0) {
        return "-";
    }
    std::string out;
    for (std::size_t i = 0; i < n_; ++i) {
        const unsigned loc = (ev_[i] >> 4) & 7u;
        const bool back = (ev_[i] & 0x80u) != 0;
        const unsigned type = ev_[i] & 0x0fu;
        if (i != 0) {
            out += ',';
        }
        if (back) {
            out += 'b';
        }
        out += loc < locs.size() ? locs[loc] : "?";
        out += '.';
        out += type < types.size() ? types[type] : "?";
    }
    return out;
}

}  // namespace xstack::xprt
