// tests/ssl/ssl_corpus_replay_test.cc - replays fuzz/corpus/ssl_layer_fuzz/ through the fuzz
// driver (fuzz/ssl_layer_fuzz.cc, linked in), in every delivery mode, so the sanitizer builds
// check the driver's invariants on the seeds without libFuzzer.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include <gtest/gtest.h>

#ifndef XS_SSL_CORPUS_DIR
#error "XS_SSL_CORPUS_DIR must name fuzz/corpus/ssl_layer_fuzz"
#endif

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv);
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace xstack::test {
namespace {

TEST(SslCorpusReplayTest, SeedsKeepTheInvariantsInEveryDeliveryMode) {
    ASSERT_EQ(LLVMFuzzerInitialize(nullptr, nullptr), 0);
    std::size_t files = 0;
    for (const auto& entry : std::filesystem::directory_iterator(XS_SSL_CORPUS_DIR)) {
        std::ifstream f(entry.path(), std::ios::binary);
        std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
        ASSERT_FALSE(bytes.empty()) << entry.path();
        ++files;
        // Byte 0 is the delivery mode: replay the stream whole, bytewise and in pieces.
        for (const char mode : {'\0', '\1', '\2', '\x85'}) {
            bytes[0] = mode;
            // The driver aborts (failing the test) on a broken invariant.
            EXPECT_EQ(LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()),
                                             bytes.size()),
                      0);
            // Every prefix too: the peer closing at each byte of the handshake.
            if (mode == '\0') {
                for (std::size_t n = 1; n < bytes.size(); n += 13) {
                    LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), n);
                }
            }
        }
    }
    EXPECT_GE(files, 5u);
}

}  // namespace
}  // namespace xstack::test
