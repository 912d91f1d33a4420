// tests/registry/registry_test.cc - transport id -> operations; lookups by id and by name.
#include "registry/registry.h"

#include <string_view>

#include <gtest/gtest.h>

#include "raw/raw_sock.h"
#include "tests/support/fake_layer.h"
#include "tests/support/pass_layer.h"
#include "xstack/config.h"

namespace xstack::registry {
namespace {

using xprt::xprt_id;

// The build's transport list, as the registry reads it (no OpenSSL test here either).
#define XS_NAME(n) #n,
constexpr std::string_view builtin_names[] = {XS_BUILTIN_XPRTS(XS_NAME)};
#undef XS_NAME

constexpr bool built_in(std::string_view name) {
    for (std::string_view n : builtin_names) {
        if (n == name) {
            return true;
        }
    }
    return false;
}

TEST(RegistryTest, BuiltinHasRaw) {
    const registry& r = registry::builtin();
    EXPECT_EQ(r.get(xprt_id::raw), &raw::ops());
    EXPECT_EQ(xprt_get(xprt_id::raw), &raw::ops());
    EXPECT_EQ(r.get(xprt_id::raw)->name(), "RAW");
}

TEST(RegistryTest, BuiltinHoldsExactlyTheBuildsTransports) {
    const registry& r = registry::builtin();
    EXPECT_EQ(r.size(), std::size(builtin_names));
    for (std::string_view n : builtin_names) {
        const xprt::xprt_ops* o = r.find(n);
        ASSERT_NE(o, nullptr) << n;
        EXPECT_EQ(r.get(o->id()), o);
    }
    EXPECT_EQ(&registry::builtin(), &r) << "one instance";
}

TEST(RegistryTest, SslIsAbsentUnlessBuiltIn) {
    const registry& r = registry::builtin();
    if (built_in("ssl")) {
        EXPECT_NE(r.get(xprt_id::ssl), nullptr);
        EXPECT_TRUE(has_tls());
    } else {
        EXPECT_EQ(r.get(xprt_id::ssl), nullptr);
        EXPECT_EQ(r.find("ssl"), nullptr);
        EXPECT_EQ(r.find("SSL"), nullptr);
        EXPECT_FALSE(has_tls());
    }
}

TEST(RegistryTest, FindIsCaseInsensitiveOnNameAndId) {
    const registry& r = registry::builtin();
    for (std::string_view n : {"raw", "RAW", "Raw", "rAw"}) {
        EXPECT_EQ(r.find(n), &raw::ops()) << n;
    }
    EXPECT_EQ(r.find(""), nullptr);
    EXPECT_EQ(r.find("ra"), nullptr);
    EXPECT_EQ(r.find("raw "), nullptr);
    EXPECT_EQ(r.find("nope"), nullptr);
}

TEST(RegistryTest, GetOutOfRangeIsNull) {
    EXPECT_EQ(registry::builtin().get(static_cast<xprt_id>(xprt::xprt_id_count)), nullptr);
    EXPECT_EQ(registry::builtin().get(static_cast<xprt_id>(255)), nullptr);
}

TEST(RegistryTest, CustomRegistryAddFindRemove) {
    registry r;
    EXPECT_EQ(r.size(), 0u);
    EXPECT_EQ(r.find("raw"), nullptr);

    const test::fake_layer fake("FAKE");
    r.add(&raw::ops());
    r.add(&fake);
    r.add(nullptr);  // ignored
    EXPECT_EQ(r.size(), 2u);
    EXPECT_EQ(r.get(xprt_id::test), &fake);
    EXPECT_EQ(r.find("fake"), &fake) << "by name";
    EXPECT_EQ(r.find("TEST"), &fake) << "by id name";
    EXPECT_EQ(r.find("raw"), &raw::ops());

    const test::pass_layer pass("PASS");  // same slot (xprt_id::test): replaces the fake
    r.add(&pass);
    EXPECT_EQ(r.size(), 2u);
    EXPECT_EQ(r.get(xprt_id::test), &pass);
    EXPECT_EQ(r.find("fake"), nullptr);
    EXPECT_EQ(r.find("pass"), &pass);

    r.remove(xprt_id::test);
    EXPECT_EQ(r.size(), 1u);
    EXPECT_EQ(r.get(xprt_id::test), nullptr);
    EXPECT_EQ(r.find("pass"), nullptr);
    r.remove(xprt_id::test);  // already empty
    EXPECT_EQ(r.size(), 1u);
    EXPECT_EQ(registry::builtin().get(xprt_id::test), nullptr) << "the builtin is untouched";
}

TEST(RegistryTest, AFakeCanStandInForABuiltinTransport) {
    // Tests build registries where a fake takes a real transport's slot.
    registry r = registry::builtin();
    const test::fake_layer fake_raw("FAKERAW", nullptr, xprt_id::raw);
    r.add(&fake_raw);
    EXPECT_EQ(r.get(xprt_id::raw), &fake_raw);
    EXPECT_EQ(r.find("raw"), &fake_raw) << "found by its id's name";
    EXPECT_EQ(registry::builtin().get(xprt_id::raw), &raw::ops());
}

}  // namespace
}  // namespace xstack::registry
