// tests/raw/raw_fixture.h - a connection on one end of a socket pair, with the syscall seam
// installed, for the raw transport's rule tests.
#pragma once

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "event/loop.h"
#include "event/sys.h"
#include "raw/raw_sock.h"
#include "raw/sock.h"
#include "xprt/connection.h"

namespace xstack::test {

/// A raw connection `c` on fds_[0] of an AF_UNIX (or TCP loopback) pair; fds_[1] is the peer,
/// used with plain syscalls (not counted: they are not routed through the seam).
class RawFixture : public ::testing::Test {
protected:
    void SetUp() override { make_unix_pair(); }

    void make_unix_pair() {
        int sv[2];
        ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
        attach(sv[0], sv[1]);
    }

    /// A TCP loopback pair: `c` on the accepted (server) side unless `c_is_client`.
    void make_tcp_pair(bool c_is_client = false) {
        auto lfd = raw::listen_socket(*xprt::sock_addr::parse("127.0.0.1:0"));
        ASSERT_TRUE(lfd.has_value());
        auto addr = raw::local_address(*lfd);
        ASSERT_TRUE(addr.has_value());
        const int cl = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ASSERT_GE(cl, 0);
        ASSERT_EQ(::connect(cl, addr->sa(), addr->len), 0);
        int sv = -1;
        for (int i = 0; i < 1000 && sv < 0; ++i) {
            sv = ::accept4(*lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        }
        ::close(*lfd);
        ASSERT_GE(sv, 0);
        ASSERT_EQ(::fcntl(cl, F_SETFL, O_NONBLOCK), 0);
        if (c_is_client) {
            attach(cl, sv);
        } else {
            attach(sv, cl);
        }
    }

    void attach(int mine, int peer) {
        release();
        conn_ = std::make_unique<xprt::connection>(loop_);
        ASSERT_TRUE(xprt::conn_prepare(*conn_, &raw::sock_ctrl(), &raw::ops()).has_value());
        conn_->handle.fd = mine;
        fd_ = mine;
        peer_ = peer;
    }

    /// Registers the fd with the loop (CTRL_READY; both directions ready).
    void ctrl_init() { xprt::conn_ctrl_init(*conn_); }

    /// Closes the connection (and its fd, registered or not) and the peer.
    void release() {
        const bool registered = conn_ && conn_->flags.has(xprt::conn_flag::ctrl_ready);
        conn_.reset();  // a registered connection closes its fd itself
        if (!registered && fd_ >= 0) {
            ::close(fd_);
        }
        fd_ = -1;
        if (peer_ >= 0) {
            ::close(peer_);
            peer_ = -1;
        }
        hooks_.reset_counts();  // fd numbers are reused by the next pair
    }

    void TearDown() override { release(); }

    xprt::connection& c() { return *conn_; }
    event::fd_table& fds() { return loop_.fds(); }

    void peer_write(const std::string& s) {
        ASSERT_EQ(::write(peer_, s.data(), s.size()), static_cast<ssize_t>(s.size()));
    }
    std::string peer_read_all() {
        std::string out;
        char b[65536];
        for (;;) {
            const ssize_t n = ::recv(peer_, b, sizeof b, MSG_DONTWAIT);
            if (n <= 0) {
                break;
            }
            out.append(b, static_cast<std::size_t>(n));
        }
        return out;
    }
    /// Pretends the poller reported `bits` for the fd (without calling the iocb).
    void set_report(event::fd_bits bits) { fds().entry(fd_).st.set(bits); }

    std::uint64_t calls(sys::call k) const { return hooks_.count(k, fd_); }
    std::uint64_t fails(sys::call k, int err = 0) const { return hooks_.failures(k, fd_, err); }

    event::loop_options opts() {
        event::loop_options o;
        o.probe_rdhup = false;
        return o;
    }

    event::loop loop_{opts()};
    sys::hooks hooks_;
    std::unique_ptr<xprt::connection> conn_;
    int fd_ = -1;
    int peer_ = -1;
    std::byte area_[16384];
};

}  // namespace xstack::test
