// tests/proxy/proxy_cli_test.cc - the xstack-proxy command line: the parser (a table of valid
// and invalid command lines), and the program itself as a subprocess (--help, exit status 2
// with a message for bad flags, SIGTERM -> exit 0 with a connection open).
#include <cerrno>
#include <chrono>
#include <csignal>
#include <string>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "proxy/options.h"
#include "registry/registry.h"
#include "tests/proxy/proxy_test_util.h"
#include "xstack/config.h"

extern char** environ;

namespace xstack::test {
namespace {

using proxy::parse_args;
using proxy::parse_outcome;
using kind = parse_outcome::kind;

std::vector<std::string> base(std::vector<std::string> extra) {
    std::vector<std::string> v = {"--listen", "127.0.0.1:0", "--connect", "127.0.0.1:9"};
    v.insert(v.end(), extra.begin(), extra.end());
    return v;
}

TEST(ProxyCliTest, ValidCommandLines) {
    struct row {
        std::vector<std::string> args;
    };
    const std::vector<row> rows = {
        {base({})},
        {{"--listen=[::1]:8443", "--connect=backend.example:443"}},
        {{"--listen", "localhost:0", "--connect", "[2001:db8::1]:80"}},
        {base({"--accept-proxy", "--send-proxy"})},
        {base({"--send-proxy-v2"})},
        {base({"--splice", "always"})},
        {base({"--splice", "always", "--pipe-size", "262144"})},
        {base({"--poller", "epoll"})},
        {base({"--poller=poll"})},
        {base({"--splice=never", "--tfo", "--threads", "4"})},
        {base({"--handshake-timeout", "0", "--idle-timeout", "100"})},
        {base({"--stats-socket", "/tmp/x.sock"})},
    };
    for (const auto& r : rows) {
        const auto p = parse_args(r.args, true);
        EXPECT_EQ(p.what, kind::run) << p.message;
    }
    const auto p = parse_args(base({"--threads", "3", "--idle-timeout", "1500", "--send-proxy-v2",
                                    "--splice", "never", "--tfo"}),
                              true);
    ASSERT_EQ(p.what, kind::run);
    EXPECT_EQ(p.opts.threads, 3);
    EXPECT_EQ(p.opts.idle_timeout_ms, 1500u);
    EXPECT_EQ(p.opts.handshake_timeout_ms, 5000u);
    EXPECT_EQ(p.opts.send_proxy, 2);
    EXPECT_EQ(p.opts.splice, proxy::splice_mode::never);
    EXPECT_TRUE(p.opts.tfo);
    EXPECT_EQ(p.opts.pipe_size, 1u << 20);
    EXPECT_EQ(p.opts.poller, proxy::poller_mode::epoll_et);
    EXPECT_EQ(parse_args(base({"--poller", "epoll"}), true).opts.poller, proxy::poller_mode::epoll);
    EXPECT_EQ(parse_args(base({"--pipe-size=65536"}), true).opts.pipe_size, 65536u);
}

TEST(ProxyCliTest, TlsCommandLines) {
    const auto p =
        parse_args(base({"--tls-cert", "c.pem", "--tls-key", "k.pem", "--alpn", "h2,http/1.1",
                         "--tls", "--tls-ca", "ca.pem", "--tls-sni", "api.test"}),
                   true);
    ASSERT_EQ(p.what, kind::run) << p.message;
    EXPECT_EQ(p.opts.alpn, (std::vector<std::string>{"h2", "http/1.1"}));
    EXPECT_EQ(p.opts.tls_sni, "api.test");
    // Without OpenSSL every TLS option is refused with a clear message.
    for (const char* opt : {"--tls", "--tls-no-verify"}) {
        const auto q = parse_args(base({opt}), false);
        EXPECT_EQ(q.what, kind::error) << opt;
        EXPECT_NE(q.message.find("no OpenSSL"), std::string::npos) << q.message;
    }
    const auto q = parse_args(base({"--tls-cert", "c.pem"}), false);
    EXPECT_EQ(q.what, kind::error);
}

TEST(ProxyCliTest, InvalidCommandLinesAreErrorsWithAMessage) {
    const std::vector<std::vector<std::string>> rows = {
        {},
        {"--listen", "127.0.0.1:0"},
        {"--connect", "127.0.0.1:80"},
        base({"--bogus"}),
        base({"stray"}),
        base({"-x"}),
        {"--listen", "127.0.0.1", "--connect", "127.0.0.1:80"},
        {"--listen", "127.0.0.1:99999", "--connect", "127.0.0.1:80"},
        {"--listen", "127.0.0.1:0", "--connect", "127.0.0.1:0"},
        {"--listen", "127.0.0.1:-1", "--connect", "127.0.0.1:80"},
        {"--listen", "[::1:0", "--connect", "127.0.0.1:80"},
        {"--listen", "bad host:0", "--connect", "127.0.0.1:80"},
        {"--listen", "127.0.0.1:0", "--connect"},
        {"--listen", "127.0.0.1:0", "--listen", "127.0.0.1:1", "--connect", "127.0.0.1:80"},
        base({"--accept-proxy=yes"}),
        base({"--send-proxy", "--send-proxy-v2"}),
        base({"--splice", "sometimes"}),
        base({"--splice"}),
        base({"--pipe-size", "4095"}),
        base({"--poller", "select"}),
        base({"--poller"}),
        base({"--pipe-size", "1g"}),
        base({"--pipe-size", "2147483648"}),
        base({"--threads", "0"}),
        base({"--threads", "65"}),
        base({"--threads", "two"}),
        base({"--threads", "+2"}),
        base({"--threads", ""}),
        base({"--handshake-timeout", "-5"}),
        base({"--idle-timeout", "1s"}),
        base({"--idle-timeout", "99999999999"}),
        base({"--tls-key", "k.pem"}),
        base({"--alpn", "h2"}),
        base({"--tls-cert", "c.pem", "--alpn", "h2,,x"}),
        base({"--tls-ca", "ca.pem"}),
        base({"--tls-sni", "x"}),
        base({"--tls-no-verify"}),
        base({"--tls", "--tls-no-verify", "--tls-ca", "ca.pem"}),
        base({"--stats-socket", std::string(200, 'a')}),
    };
    for (const auto& r : rows) {
        const auto p = parse_args(r, true);
        std::string line;
        for (const auto& a : r) {
            line += a + " ";
        }
        EXPECT_EQ(p.what, kind::error) << line;
        EXPECT_FALSE(p.message.empty()) << line;
    }
}

TEST(ProxyCliTest, HelpWinsAndDocumentsEveryOption) {
    EXPECT_EQ(parse_args({"--help"}, true).what, kind::help);
    EXPECT_EQ(parse_args({"-h"}, true).what, kind::help);
    EXPECT_EQ(parse_args(base({"--help"}), true).what, kind::help);
    const std::string u = proxy::usage_text();
    for (const char* opt : {"--listen",       "--connect",       "--accept-proxy",
                            "--tls-cert",     "--tls-key",       "--alpn",
                            "--send-proxy",   "--send-proxy-v2", "--tls",
                            "--tls-ca",       "--tls-sni",       "--tls-no-verify",
                            "--splice",       "--pipe-size",     "--poller",
                            "--tfo",          "--threads",       "--handshake-timeout",
                            "--idle-timeout", "--stats-socket",  "show info",
                            "show conn"}) {
        EXPECT_NE(u.find(opt), std::string::npos) << opt;
    }
}

// --- the program ---------------------------------------------------------------------------

struct child {
    pid_t pid = -1;
    int out = -1;  ///< stdout
    int err = -1;  ///< stderr
    std::string out_text;
    std::string err_text;
    int status = -1;

    explicit child(const std::vector<std::string>& args) {
        int po[2];
        int pe[2];
        if (::pipe2(po, O_CLOEXEC) != 0 || ::pipe2(pe, O_CLOEXEC) != 0) {
            return;
        }
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, po[1], 1);
        posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
        std::vector<std::string> all = {XS_PROXY_BIN};
        all.insert(all.end(), args.begin(), args.end());
        std::vector<char*> argv;
        argv.reserve(all.size() + 1);
        for (auto& a : all) {
            argv.push_back(a.data());
        }
        argv.push_back(nullptr);
        if (posix_spawn(&pid, XS_PROXY_BIN, &fa, nullptr, argv.data(), environ) != 0) {
            pid = -1;
        }
        posix_spawn_file_actions_destroy(&fa);
        ::close(po[1]);
        ::close(pe[1]);
        out = po[0];
        err = pe[0];
    }
    ~child() {
        if (pid > 0 && status < 0) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, nullptr, 0);
        }
        for (int fd : {out, err}) {
            if (fd >= 0) {
                ::close(fd);
            }
        }
    }
    child(const child&) = delete;
    child& operator=(const child&) = delete;

    /// Reads both pipes until `stop(err_text)` holds or both reach EOF, within the deadline.
    bool read_until(const std::function<bool()>& stop, int timeout_ms) {
        const auto deadline =
            std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
        while (!stop()) {
            if (out < 0 && err < 0) {
                return false;
            }
            pollfd p[2] = {{out, POLLIN, 0}, {err, POLLIN, 0}};
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                                  deadline - std::chrono::steady_clock::now())
                                  .count();
            if (left <= 0) {
                return false;
            }
            const int n = ::poll(p, 2, static_cast<int>(left));
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n <= 0) {
                return false;
            }
            for (int i = 0; i < 2; ++i) {
                if (p[i].fd < 0 || p[i].revents == 0) {
                    continue;
                }
                char buf[4096];
                const ssize_t r = ::read(p[i].fd, buf, sizeof buf);
                if (r <= 0) {
                    ::close(p[i].fd);
                    (i == 0 ? out : err) = -1;
                } else {
                    (i == 0 ? out_text : err_text).append(buf, static_cast<std::size_t>(r));
                }
            }
        }
        return true;
    }
    /// Reads to EOF (the child exited or closed its output), then reaps it.
    bool finish(int timeout_ms = proxy_util::wait_ms) {
        read_until([this] { return out < 0 && err < 0; }, timeout_ms);
        if (out >= 0 || err >= 0) {
            return false;
        }
        int st = 0;
        if (::waitpid(pid, &st, 0) != pid) {
            return false;
        }
        status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        return true;
    }
};

TEST(ProxyProgramTest, HelpExitsZero) {
    child c({"--help"});
    ASSERT_GT(c.pid, 0);
    ASSERT_TRUE(c.finish());
    EXPECT_EQ(c.status, 0);
    EXPECT_NE(c.out_text.find("usage: xstack-proxy"), std::string::npos);
    EXPECT_NE(c.out_text.find("--stats-socket"), std::string::npos);
}

TEST(ProxyProgramTest, BadFlagsExitTwoWithAMessage) {
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"--listen", "127.0.0.1:0", "--connect", "127.0.0.1:80", "--frobnicate"},
             {"--listen", "127.0.0.1:0"},
             {"--listen", "127.0.0.1:0", "--connect", "127.0.0.1:80", "--threads", "x"}}) {
        child c(args);
        ASSERT_GT(c.pid, 0);
        ASSERT_TRUE(c.finish());
        EXPECT_EQ(c.status, 2) << args.back();
        EXPECT_NE(c.err_text.find("xstack-proxy: "), std::string::npos) << c.err_text;
        EXPECT_EQ(c.out_text, "");
    }
}

// Only one of the next two tests exists in a given build (compiled out, not skipped).
#if !XS_HAVE_OPENSSL
TEST(ProxyProgramTest, TlsOptionsWithoutOpenSslExitTwo) {
    ASSERT_FALSE(registry::has_tls());
    child c({"--listen", "127.0.0.1:0", "--connect", "127.0.0.1:80", "--tls"});
    ASSERT_TRUE(c.finish());
    EXPECT_EQ(c.status, 2);
    EXPECT_NE(c.err_text.find("no OpenSSL"), std::string::npos) << c.err_text;
}

#else
TEST(ProxyProgramTest, UnloadableCertificateIsAStartupFailure) {
    ASSERT_TRUE(registry::has_tls());
    child c({"--listen", "127.0.0.1:0", "--connect", "127.0.0.1:80", "--tls-cert",
             "/nonexistent/cert.pem"});
    ASSERT_TRUE(c.finish());
    EXPECT_EQ(c.status, 1);
    EXPECT_NE(c.err_text.find("--tls-cert"), std::string::npos) << c.err_text;
}
#endif

TEST(ProxyProgramTest, SigtermStopsCleanlyWithExitZero) {
    proxy_util::backend be(proxy_util::backend::echo);
    for (int sig : {SIGTERM, SIGINT}) {
        child c({"--listen", "127.0.0.1:0", "--connect", be.address_text(), "--threads", "2"});
        ASSERT_GT(c.pid, 0);
        ASSERT_TRUE(
            c.read_until([&] { return c.err_text.find(" thread(s)\n") != std::string::npos; },
                         proxy_util::wait_ms))
            << c.err_text;
        const std::size_t at = c.err_text.find("listening on ");
        ASSERT_NE(at, std::string::npos);
        const std::size_t start = at + 13;
        const std::string addr = c.err_text.substr(start, c.err_text.find(',', start) - start);
        auto a = xprt::sock_addr::parse(addr);
        ASSERT_TRUE(a.has_value()) << addr;
        // A connection is open and working when the signal comes.
        const int fd = proxy_util::connect_to(*a);
        ASSERT_GE(fd, 0);
        ASSERT_TRUE(proxy_util::send_all(fd, "hi"));
        EXPECT_EQ(proxy_util::recv_exactly(fd, 2), "hi");
        ASSERT_EQ(::kill(c.pid, sig), 0);
        ASSERT_TRUE(c.finish());
        EXPECT_EQ(c.status, 0) << c.err_text;
        EXPECT_NE(c.err_text.find("term=stopping"), std::string::npos) << c.err_text;
        EXPECT_TRUE(proxy_util::wait_closed(fd));
        ::close(fd);
    }
}

}  // namespace
}  // namespace xstack::test
