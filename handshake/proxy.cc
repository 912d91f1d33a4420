// handshake/proxy.cc
#include "handshake/proxy.h"

namespace xstack::handshake {

parse_result<proxy_header> parse_proxy(std::span<const std::byte> in,
                                       const proxy_options& opt) noexcept {
    if (in.empty()) {
        parse_result<proxy_header> r;
        r.more(proxy_v1_min_length);
        return r;
    }
    // 'P' and 0x0D start no common prefix, so one byte is enough to pick the version.
    if (in[0] == std::byte{'P'}) {
        return parse_proxy_v1(in);
    }
    if (in[0] == std::byte{proxy_v2_signature[0]}) {
        return parse_proxy_v2(in, opt);
    }
    parse_result<proxy_header> r;
    r.fail(xprt::conn_err::prx_not_hdr);
    return r;
}

}  // namespace xstack::handshake
