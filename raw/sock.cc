// raw/sock.cc
#include "raw/sock.h"

#include <cerrno>
#include <cstring>
#include <new>
#include <string>

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "event/sys.h"
#include "raw/raw_sock.h"

namespace xstack::raw {

using xprt::conn_flag;
using xprt::connection;
using xprt::sock_addr;

namespace {

void set_int(int fd, int level, int opt, int v) noexcept {
    (void)sys::setsockopt(fd, level, opt, &v, sizeof v);
}

bool is_inet(int family) noexcept {
    return family == AF_INET || family == AF_INET6;
}

}  // namespace

result<int> listen_socket(const sock_addr& addr, const listen_options& opt) noexcept {
    const int fam = addr.family();
    if (fam == AF_UNSPEC) {
        return error_info{"empty listen address", EINVAL};
    }
    const int fd = sys::socket(fam, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return error_info{"socket() failed", errno};
    }
    if (is_inet(fam)) {
        set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1);
        if (opt.reuseport) {
            set_int(fd, SOL_SOCKET, SO_REUSEPORT, 1);
        }
        if (fam == AF_INET6) {
            set_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, opt.v6only ? 1 : 0);
        }
    } else if (fam == AF_UNIX && opt.unlink_unix) {
        const std::string path = addr.host_string();
        if (!path.empty() && path[0] != '@') {
            (void)::unlink(path.c_str());
        }
    }
    if (sys::bind(fd, addr.sa(), addr.len) != 0) {
        const int e = errno;
        (void)sys::close(fd);
        return error_info{"bind() failed", e, xprt::conn_err_from_errno(e)};
    }
    if (fam == AF_UNIX && opt.unix_mode != 0) {
        const std::string path = addr.host_string();
        if (!path.empty() && path[0] != '@') {
            (void)::chmod(path.c_str(), static_cast<mode_t>(opt.unix_mode));
        }
    }
    if (is_inet(fam) && opt.tfo_queue > 0) {
        set_int(fd, IPPROTO_TCP, TCP_FASTOPEN, opt.tfo_queue);
    }
    if (is_inet(fam) && opt.nodelay) {
        set_int(fd, IPPROTO_TCP, TCP_NODELAY, 1);  // inherited by accepted sockets
    }
    if (sys::listen(fd, opt.backlog) != 0) {
        const int e = errno;
        (void)sys::close(fd);
        return error_info{"listen() failed", e};
    }
    return fd;
}

result<sock_addr> local_address(int fd) noexcept {
    sock_addr a;
    a.len = sizeof a.ss;
    if (::getsockname(fd, a.sa(), &a.len) != 0) {
        return error_info{"getsockname() failed", errno};
    }
    return a;
}

result<sock_addr> peer_address(int fd) noexcept {
    sock_addr a;
    a.len = sizeof a.ss;
    if (::getpeername(fd, a.sa(), &a.len) != 0) {
        return error_info{"getpeername() failed", errno};
    }
    return a;
}

int accept_socket(int lfd, sock_addr* peer) noexcept {
    sock_addr tmp;
    sock_addr& a = peer != nullptr ? *peer : tmp;
    for (;;) {
        a.len = sizeof a.ss;
        const int fd = sys::accept(lfd, a.sa(), &a.len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0 || errno != EINTR) {
            return fd;
        }
    }
}

result<std::vector<sock_addr>> resolve(std::string_view host_port) {
    if (auto a = sock_addr::parse(host_port)) {
        return std::vector<sock_addr>{*a};
    }
    std::string_view host;
    std::string_view port;
    if (!xprt::split_host_port(host_port, host, port)) {
        return error_info{"expected HOST:PORT, [IPV6]:PORT or unix:PATH", EINVAL};
    }
    const std::string h(host);
    const std::string p(port);
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_ADDRCONFIG;
    addrinfo* res = nullptr;
    const int rc = ::getaddrinfo(h.c_str(), p.c_str(), &hints, &res);
    if (rc != 0) {
        return error_info{"cannot resolve host name", rc == EAI_SYSTEM ? errno : 0};
    }
    std::vector<sock_addr> out;
    for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
        if (ai->ai_addrlen <= sizeof(sockaddr_storage)) {
            sock_addr a;
            std::memcpy(&a.ss, ai->ai_addr, ai->ai_addrlen);
            a.len = ai->ai_addrlen;
            out.push_back(a);
        }
    }
    ::freeaddrinfo(res);
    if (out.empty()) {
        return error_info{"host name has no usable address", 0};
    }
    return out;
}

bool tfo_client_supported() noexcept {
    static const bool ok = [] {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            return false;
        }
        int one = 1;
        const bool r = ::setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, &one, sizeof one) == 0;
        ::close(fd);
        return r;
    }();
    return ok;
}

namespace {

/// True when a listener bound to `a` may receive connections for several local addresses.
bool is_wildcard(const sock_addr& a) noexcept {
    switch (a.family()) {
    case AF_INET:
        return reinterpret_cast<const sockaddr_in*>(a.sa())->sin_addr.s_addr == htonl(INADDR_ANY);
    case AF_INET6: {
        const auto& v6 = reinterpret_cast<const sockaddr_in6*>(a.sa())->sin6_addr;
        // :: and ::ffff:0.0.0.0 (a dual-stack listener) both accept any address.
        return IN6_IS_ADDR_UNSPECIFIED(&v6) ||
               (IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 0 && v6.s6_addr[13] == 0 &&
                v6.s6_addr[14] == 0 && v6.s6_addr[15] == 0);
    }
    case AF_UNIX:
        return false;  // an accepted UNIX socket's own address is the listener's path
    default:
        return true;  // unknown: ask the kernel
    }
}

}  // namespace

void accept_init(connection& c, int fd, const sock_addr& peer, const listener* from) noexcept {
    c.handle.fd = fd;
    c.src = peer;
    if (from != nullptr && !is_wildcard(from->address())) {
        c.dst = from->address();
    } else if (auto l = local_address(fd)) {
        c.dst = *l;
    }
    if (is_inet(peer.family()) && (from == nullptr || !from->nodelay())) {
        set_int(fd, IPPROTO_TCP, TCP_NODELAY, 1);
    }
    xprt::conn_ctrl_init(c);
}

void fill_local_address(connection& c) noexcept {
    if (c.src.empty() && c.handle.fd >= 0) {
        if (auto l = local_address(c.handle.fd)) {
            c.src = *l;
        }
    }
}

result<void> connect_socket(connection& c, const sock_addr& to,
                            const connect_options& opt) noexcept {
    const int fam = to.family();
    c.dst = to;
    c.src = {};  // a new socket: its source is learnt below (or by fill_local_address)
    const int fd = sys::socket(fam, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        const int e = errno;
        c.fail(xprt::conn_err_from_errno(e));
        return error_info{"socket() failed", e, c.err_code};
    }
    if (is_inet(fam)) {
        if (opt.nodelay) {
            set_int(fd, IPPROTO_TCP, TCP_NODELAY, 1);
        }
        if (opt.tfo && opt.data_pending) {
            set_int(fd, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, 1);
        }
    }
    if (opt.source != nullptr && sys::bind(fd, opt.source->sa(), opt.source->len) != 0) {
        const int e = errno;
        (void)sys::close(fd);
        c.fail(xprt::conn_err_from_errno(e));
        return error_info{"bind() to the source address failed", e, c.err_code};
    }
    c.handle.fd = fd;
    c.flags.set(conn_flag::wait_l4_conn);
    int rc = 0;
    int e = 0;
    do {
        rc = sys::connect(fd, to.sa(), to.len);
        e = rc == 0 ? 0 : errno;
    } while (rc != 0 && e == EINTR);
    if (rc == 0 || e == EISCONN) {
        c.flags.clear(conn_flag::wait_l4_conn);  // connected at once (UNIX, TFO)
    } else if (e != EINPROGRESS && e != EALREADY) {
        c.handle.fd = -1;
        (void)sys::close(fd);
        c.fail(xprt::conn_err_from_errno(e));
        c.report_term(xprt::term_loc::fd, xprt::term_type::connect_err);
        return error_info{"connect() failed", e, c.err_code};
    }
    if (opt.fetch_source) {
        fill_local_address(c);
    }
    xprt::conn_ctrl_init(c);
    if (is_inet(fam) && opt.linger_risk) {
        c.loop().fds().set_linger_risk(fd, true);
    }
    return {};
}

// --- listener ------------------------------------------------------------------------------

listener::listener(event::loop& l, accept_fn fn, void* ctx) noexcept
    : loop_(l), fn_(fn), ctx_(ctx), task_(l, run, this, "listener"), pause_(task_) {}

listener::~listener() {
    close();
}

result<void> listener::open(const sock_addr& addr, const listen_options& opt) noexcept {
    close();
    auto fd = listen_socket(addr, opt);
    if (!fd) {
        return fd.error();
    }
    fd_ = *fd;
    if (auto a = local_address(fd_)) {
        addr_ = *a;
    } else {
        addr_ = addr;
    }
    nodelay_ = false;
    if (is_inet(addr_.family())) {
        int v = 0;
        socklen_t len = sizeof v;
        nodelay_ = sys::getsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &v, &len) == 0 && v != 0;
    }
    // Listeners stay level-triggered: a backlog left non-empty must keep reporting.
    try {
        loop_.fd_insert(fd_, iocb, this, false);  // may grow the fd table
    } catch (...) {  // std::bad_alloc (or a length_error) from growing the table
        ::close(fd_);
        fd_ = -1;
        return error_info{"out of memory registering the listener", ENOMEM};
    }
    loop_.fds().cant_recv(fd_);
    loop_.fds().want_recv(fd_);
    return {};
}

void listener::close() noexcept {
    task_.cancel();
    loop_.disarm(pause_);
    if (fd_ >= 0) {
        loop_.fd_delete(fd_);
        fd_ = -1;
    }
}

void listener::iocb(void* owner, int fd) noexcept {
    auto* self = static_cast<listener*>(owner);
    self->loop_.fds().stop_recv(fd);
    self->task_.wake();
}

void listener::run(event::tasklet& /*t*/, void* ctx) noexcept {
    auto* self = static_cast<listener*>(ctx);
    if (self->fd_ < 0) {
        return;
    }
    event::fd_table& ft = self->loop_.fds();
    for (int i = 0; i < self->batch_; ++i) {
        sock_addr peer;
        const int fd = accept_socket(self->fd_, &peer);
        if (fd >= 0) {
            ++self->stats_.accepted;
            self->fn_(self->ctx_, fd, peer);
            if (self->fd_ < 0) {
                return;  // closed by the callback
            }
            continue;
        }
        const int e = errno;
        if (e == EAGAIN || e == EWOULDBLOCK) {
            ft.cant_recv(self->fd_);
            ft.want_recv(self->fd_);
            return;
        }
        ++self->stats_.errors;
        if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
            ++self->stats_.paused;
            self->loop_.arm_in(self->pause_, 100);  // retry later instead of spinning
            return;
        }
        // ECONNABORTED and friends concern one connection only: keep accepting.
    }
    self->task_.wake();  // batch exhausted: yield to the loop, continue next iteration
}

}  // namespace xstack::raw
