// tests/demo/proxy_demo_test.cc - xstack-proxy-demo (the README's main job) run as a program:
// exit status and the lines that say what happened at each hop.
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "event/sys.h"
#include "xstack/config.h"

#ifndef XS_PROXY_DEMO_BIN
#error "XS_PROXY_DEMO_BIN must name the built xstack-proxy-demo (see tests/demo/CMakeLists.txt)"
#endif

namespace {

struct run_result {
    int code = -1;  ///< exit status, or -1 if it did not exit normally (killed, timed out)
    std::string out;
    std::string err;
};

std::string slurp(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    std::ostringstream s;
    s << f.rdbuf();
    return s.str();
}

/// Runs the demo with `args`, stdout and stderr to temporary files; killed after 90 s.
run_result run_demo(const std::vector<std::string>& args) {
    run_result res;
    char out_tmpl[] = "/tmp/xstack-demo-test-out.XXXXXX";
    char err_tmpl[] = "/tmp/xstack-demo-test-err.XXXXXX";
    const int out_fd = ::mkstemp(out_tmpl);
    const int err_fd = ::mkstemp(err_tmpl);
    if (out_fd < 0 || err_fd < 0) {
        ADD_FAILURE() << "mkstemp: " << errno;
        return res;
    }
    std::vector<std::string> argv_s = {XS_PROXY_DEMO_BIN};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_s) {
        argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::dup2(out_fd, 1);
        ::dup2(err_fd, 2);
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    ::close(out_fd);
    ::close(err_fd);
    if (pid < 0) {
        ADD_FAILURE() << "fork: " << errno;
    } else {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
        int status = 0;
        for (;;) {
            const pid_t r = ::waitpid(pid, &status, WNOHANG);
            if (r == pid) {
                res.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
                break;
            }
            if (r < 0 && errno != EINTR) {
                ADD_FAILURE() << "waitpid: " << errno;
                break;
            }
            if (std::chrono::steady_clock::now() > deadline) {
                ::kill(pid, SIGKILL);
                (void)::waitpid(pid, &status, 0);
                ADD_FAILURE() << "xstack-proxy-demo did not finish within 90 s";
                break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    }
    res.out = slurp(out_tmpl);
    res.err = slurp(err_tmpl);
    ::unlink(out_tmpl);
    ::unlink(err_tmpl);
    return res;
}

#define EXPECT_HAS(text, needle) \
    EXPECT_NE((text).find(needle), std::string::npos) << "missing: " << (needle) << "\n" << (text)

TEST(ProxyDemo, DefaultRunShowsEveryHopAndPasses) {
    const auto r = run_demo({"--requests", "200", "--bulk", "1000000"});
    ASSERT_EQ(r.code, 0) << r.out << "\nstderr:\n" << r.err;
    EXPECT_HAS(r.out, "xstack-proxy-demo: all checks passed");
    // The backend learnt the made-up client address from the PROXY v2 header the proxy sent.
    EXPECT_HAS(r.out, "backend saw client 192.0.2.10:5555 (from a PROXY v2 header)");
    EXPECT_HAS(r.out, "backend  HS>RAW (as accepted)");
    EXPECT_HAS(r.out, "backend  RAW, client 192.0.2.10:5555 (from a PROXY v2 header)");
    EXPECT_HAS(r.out, "result: ok, 200/200 exchanges of 1024 bytes");
    EXPECT_HAS(r.out, "--accept-proxy");
    EXPECT_HAS(r.out, "--send-proxy-v2");
    // The proxy's log line, and its counters over the stats socket.
    EXPECT_HAS(r.out, "\n  192.0.2.10:5555 fe=");
    EXPECT_HAS(r.out, "term=client_fin code=NONE");
    EXPECT_HAS(r.out, "proxy 'show info' (stats socket)");
    EXPECT_HAS(r.out, "HsProxyV1: 1");
    EXPECT_HAS(r.out, "HsSentV2: 1");
    EXPECT_HAS(r.out, "BytesIn: 204800\n");
    if (XS_HAVE_OPENSSL) {
        EXPECT_HAS(r.out, "client   SSL>HS>RAW");
        EXPECT_HAS(r.out, "fe: chain=SSL>HS>RAW");  // the proxy while handshaking
        EXPECT_HAS(r.out, "client   SSL>RAW");
        EXPECT_HAS(r.out, "verified (ok)");
        EXPECT_HAS(r.out, "fe=SSL>RAW -> ");
        EXPECT_HAS(r.out, " be=RAW ");
    } else {
        EXPECT_HAS(r.out, "TLS: not available");
        EXPECT_HAS(r.out, "client   HS>RAW");
        EXPECT_HAS(r.out, "fe=RAW -> ");
    }
    // The plain run: both sides spliced by the proxy.
    EXPECT_HAS(r.out, "plain bulk run with --splice always");
    EXPECT_HAS(r.out, "Splice always, SplicedStreams 1,");
    EXPECT_HAS(r.out, "result: ok, 66/66 exchanges of 15360 bytes");
    if (xstack::sys::hooks_compiled) {
        EXPECT_HAS(r.out, "syscalls of this thread per side");
        EXPECT_HAS(r.out, "  client   fd ");
        EXPECT_HAS(r.out, "  backend  fd ");
    }
    EXPECT_EQ(r.err, "");
}

TEST(ProxyDemo, AnnouncesTheClientAddressGiven) {
    const auto r =
        run_demo({"--client-addr", "198.51.100.7:4242", "--requests", "5", "--bulk", "0"});
    ASSERT_EQ(r.code, 0) << r.out << "\nstderr:\n" << r.err;
    EXPECT_HAS(r.out, "backend saw client 198.51.100.7:4242 (from a PROXY v2 header)");
    EXPECT_HAS(r.out, "\n  198.51.100.7:4242 fe=");
    EXPECT_EQ(r.out.find("plain bulk run"), std::string::npos);  // --bulk 0 skips it
}

TEST(ProxyDemo, WithoutTlsThePlainChains) {
    const auto r = run_demo({"--no-tls", "--requests", "5", "--bulk", "0"});
    ASSERT_EQ(r.code, 0) << r.out << "\nstderr:\n" << r.err;
    EXPECT_HAS(r.out, "client   HS>RAW");
    EXPECT_HAS(r.out, "fe: chain=HS>RAW");
    EXPECT_HAS(r.out, "fe=RAW -> ");
    EXPECT_HAS(r.out, "backend saw client 192.0.2.10:5555 (from a PROXY v2 header)");
    EXPECT_EQ(r.out.find("--tls-cert"), std::string::npos);
}

TEST(ProxyDemo, UsageErrorsExitTwoAndHelpExitsZero) {
    auto r = run_demo({"--requests", "0"});
    EXPECT_EQ(r.code, 2);
    EXPECT_HAS(r.err, "bad argument '--requests'");
    r = run_demo({"--client-addr", "unix:/tmp/x"});
    EXPECT_EQ(r.code, 2);
    r = run_demo({"--splice", "sometimes"});
    EXPECT_EQ(r.code, 2);
    r = run_demo({"--help"});
    EXPECT_EQ(r.code, 0);
    EXPECT_HAS(r.out, "usage: xstack-proxy-demo");
}

}  // namespace
