// tests/ssl/ssl_registry_test.cc - with OpenSSL, the builtin registry carries the TLS transport.
// (The no-OpenSSL counterpart, xprt_get(ssl) == nullptr, belongs to a test built always.)
#include <gtest/gtest.h>

#include "registry/registry.h"
#include "ssl/ssl.h"

namespace xstack::test {
namespace {

TEST(SslRegistryTest, SslIsBuiltIn) {
    const xprt::xprt_ops* o = registry::xprt_get(xprt::xprt_id::ssl);
    ASSERT_NE(o, nullptr);
    EXPECT_EQ(o, &ssl::ops());
    EXPECT_EQ(o->name(), "SSL");
    EXPECT_TRUE(registry::has_tls());
    EXPECT_EQ(registry::registry::builtin().find("ssl"), o);
    EXPECT_EQ(registry::registry::builtin().find("SSL"), o);
}

}  // namespace
}  // namespace xstack::test
