// tests/handshake/corpus_replay_test.cc - replays every file of fuzz/corpus/<target>/ through
// the checks its fuzz target runs (fuzz/fuzz_checks.h), so that the ASan/UBSan CI build
// exercises the corpora without a libFuzzer toolchain.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "fuzz/fuzz_checks.h"

#ifndef XS_FUZZ_CORPUS_DIR
#error "XS_FUZZ_CORPUS_DIR must name the fuzz/corpus directory"
#endif

namespace xstack::handshake {
namespace {

namespace fs = std::filesystem;
using check_fn = const char* (*)(std::span<const std::byte>);

std::vector<std::byte> read_file(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    const std::vector<char> raw((std::istreambuf_iterator<char>(f)),
                                std::istreambuf_iterator<char>());
    std::vector<std::byte> b(raw.size());
    std::transform(raw.begin(), raw.end(), b.begin(),
                   [](char c) { return static_cast<std::byte>(c); });
    return b;
}

// libFuzzer names the inputs it adds by their SHA-1; those carry no expectation.
bool generated_name(const std::string& n) {
    return n.size() == 40 && std::all_of(n.begin(), n.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
           });
}

struct target {
    const char* name;
    check_fn check;
    // The status the target's own parser must give to a hand-written seed ("bad_*" seeds must
    // fail, "partial" must need more, the others must be complete); nullptr: no expectation.
    std::string (*status)(std::span<const std::byte>);
};

std::string v1_status(std::span<const std::byte> b) {
    return std::string(to_string(parse_proxy_v1(b).status));
}
std::string v2_status(std::span<const std::byte> b) {
    return std::string(to_string(parse_proxy_v2(b).status));
}
std::string cip_status(std::span<const std::byte> b) {
    cip_options o;
    o.magic = fuzz::cip_seed_magic;
    return std::string(to_string(parse_cip(b, o).status));
}
std::string socks4_status(std::span<const std::byte> b) {
    return std::string(to_string(parse_socks4_reply(b).status));
}

void PrintTo(const target& t, std::ostream* os) {
    *os << t.name;
}

class CorpusReplayTest : public ::testing::TestWithParam<target> {};

TEST_P(CorpusReplayTest, EverySeedSatisfiesItsTargetsInvariants) {
    const target& t = GetParam();
    const fs::path dir = fs::path(XS_FUZZ_CORPUS_DIR) / t.name;
    ASSERT_TRUE(fs::is_directory(dir)) << dir;
    std::size_t files = 0;
    for (const auto& entry : fs::directory_iterator(dir)) {
        if (!entry.is_regular_file()) {
            continue;
        }
        ++files;
        const std::string name = entry.path().filename().string();
        const std::vector<std::byte> data = read_file(entry.path());
        const char* broken = t.check(data);
        EXPECT_EQ(broken, nullptr) << name << ": " << (broken != nullptr ? broken : "");
        if (t.status == nullptr || generated_name(name)) {
            continue;
        }
        const std::string want = name.rfind("bad_", 0) == 0 ? "error"
                                 : name == "partial"        ? "need_more"
                                                            : "complete";
        EXPECT_EQ(t.status(data), want) << name;
    }
    EXPECT_GE(files, 5u) << "a handful of seeds per target";
}

INSTANTIATE_TEST_SUITE_P(
    Targets, CorpusReplayTest,
    ::testing::Values(target{"proxy_v1_fuzz", fuzz::check_proxy_v1, v1_status},
                      target{"proxy_v2_fuzz", fuzz::check_proxy_v2, v2_status},
                      target{"cip_fuzz", fuzz::check_cip, cip_status},
                      target{"socks4_reply_fuzz", fuzz::check_socks4_reply, socks4_status},
                      target{"proxy_chunking_fuzz", fuzz::check_chunking, nullptr}),
    [](const ::testing::TestParamInfo<target>& p) {
        std::string n = p.param.name;
        n.erase(std::remove(n.begin(), n.end(), '_'), n.end());
        return n;
    });

}  // namespace
}  // namespace xstack::handshake
