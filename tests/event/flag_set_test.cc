// tests/event/flag_set_test.cc - the typed bit set used for every flag word.
#include "event/flag_set.h"

#include <cstdint>

#include <gtest/gtest.h>

namespace xstack {
namespace {

enum class color : std::uint8_t { red = 1, green = 2, blue = 4, alpha = 128 };
XS_FLAG_ENUM(color)
using colors = flag_set<color>;

static_assert(sizeof(colors) == sizeof(std::uint8_t), "a flag_set costs its underlying integer");

TEST(FlagSetTest, DefaultIsEmpty) {
    constexpr colors c;
    EXPECT_TRUE(c.empty());
    EXPECT_TRUE(c.none());
    EXPECT_EQ(c.bits(), 0u);
}

TEST(FlagSetTest, HasNeedsEveryBitAnyNeedsOne) {
    const colors c = color::red | color::blue;
    EXPECT_TRUE(c.has(color::red));
    EXPECT_TRUE(c.has(color::red | color::blue));
    EXPECT_FALSE(c.has(color::red | color::green));
    EXPECT_TRUE(c.any(color::red | color::green));
    EXPECT_FALSE(c.any(color::green | color::alpha));
    EXPECT_FALSE(c.any(colors{}));
    EXPECT_TRUE(c.has(colors{}));  // the empty set is contained in every set
}

TEST(FlagSetTest, SetClearAssignReset) {
    colors c;
    c.set(color::green).set(color::alpha);
    EXPECT_EQ(c.bits(), 2u | 128u);
    c.clear(color::green);
    EXPECT_EQ(c.bits(), 128u);
    c.assign(color::red, true);
    c.assign(color::alpha, false);
    EXPECT_EQ(c, colors(color::red));
    c.reset();
    EXPECT_TRUE(c.empty());
}

TEST(FlagSetTest, OperatorsCombineBits) {
    const colors a = color::red | color::green;
    const colors b = color::green | color::blue;
    EXPECT_EQ((a | b).bits(), 7u);
    EXPECT_EQ((a & b), colors(color::green));
    EXPECT_EQ((a & ~b), colors(color::red));
    colors c = a;
    c |= color::alpha;
    EXPECT_EQ(c.bits(), 3u | 128u);
    c &= b;
    EXPECT_EQ(c, colors(color::green));
}

TEST(FlagSetTest, FromBitsKeepsUnknownBits) {
    colors c = colors::from_bits(0x48);
    EXPECT_EQ(c.bits(), 0x48u);
    EXPECT_FALSE(c.has(color::red));
    EXPECT_EQ(c.clear(colors::from_bits(0x08)).bits(), 0x40u);
}

}  // namespace
}  // namespace xstack
