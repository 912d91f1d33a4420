// xprt/conn_error.cc
#include "xprt/conn_error.h"

#include <array>
#include <cerrno>

namespace xstack::xprt {

namespace {
struct err_desc {
    std::string_view name;
    std::string_view doc;
};
constexpr std::array<err_desc, conn_err_count> table = {{
#define XS_X(e, name, doc) {name, doc},
    XS_CONN_ERRORS(XS_X)
#undef XS_X
}};
}  // namespace

std::string_view to_string(conn_err e) noexcept {
    const auto i = static_cast<std::size_t>(e);
    return i < table.size() ? table[i].name : "UNKNOWN";
}

std::string_view describe(conn_err e) noexcept {
    const auto i = static_cast<std::size_t>(e);
    return i < table.size() ? table[i].doc : "unknown error code";
}

bool conn_err_from_string(std::string_view name, conn_err& out) noexcept {
    for (std::size_t i = 0; i < table.size(); ++i) {
        if (table[i].name == name) {
            out = static_cast<conn_err>(i);
            return true;
        }
    }
    out = conn_err::none;
    return false;
}

conn_err conn_err_from_errno(int err) noexcept {
    switch (err) {
    case ECONNREFUSED:
        return conn_err::erefused;
    case ECONNRESET:
        return conn_err::ereset;
    case EHOSTUNREACH:
    case ENETUNREACH:
        return conn_err::eunreach;
    case ETIMEDOUT:
        return conn_err::etimedout;
    case ENOMEM:
        return conn_err::enomem;
    case EBADF:
        return conn_err::ebadf;
    case EFAULT:
        return conn_err::efault;
    case EINVAL:
        return conn_err::einval;
    case ENOTCONN:
        return conn_err::enconn;
    case ENOTSOCK:
        return conn_err::ensock;
    case ENOBUFS:
        return conn_err::enobufs;
    case EPIPE:
        return conn_err::epipe;
    case EADDRNOTAVAIL:
        return conn_err::free_ports;
    case EADDRINUSE:
        return conn_err::addr_inuse;
    default:
        return conn_err::sock_err;
    }
}

}  // namespace xstack::xprt
