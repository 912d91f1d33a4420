#!/usr/bin/env bash
# Installs a build tree into a temporary prefix, then builds and runs the consumer program in
# tests/install/consumer against it twice: with find_package(xstack) and with pkg-config.
# Registered by tests/install/CMakeLists.txt (ctest label `install`); can also be run by hand:
#   tests/install/install_test.sh --build-dir build/dev --consumer tests/install/consumer \
#       --cxx g++ [--sanitize address,undefined] [--cmake cmake] [--generator Ninja]
set -euo pipefail

usage() {
    echo "usage: $0 --build-dir DIR --consumer DIR --cxx COMPILER [--example DIR]" \
         "[--sanitize LIST] [--cmake CMAKE] [--generator GEN] [--pkg-config PKG_CONFIG]" \
         "[--keep]" >&2
    exit 2
}

build_dir="" consumer="" example="" cxx="" sanitize="" cmake=cmake generator="" pkg_config="" keep=0
while [[ $# -gt 0 ]]; do
    case "$1" in
        --build-dir) build_dir=$2; shift 2 ;;
        --consumer) consumer=$2; shift 2 ;;
        --example) example=$2; shift 2 ;;
        --cxx) cxx=$2; shift 2 ;;
        --sanitize) sanitize=$2; shift 2 ;;
        --cmake) cmake=$2; shift 2 ;;
        --generator) generator=$2; shift 2 ;;
        --pkg-config) pkg_config=$2; shift 2 ;;
        --keep) keep=1; shift ;;
        *) usage ;;
    esac
done
[[ -n "$build_dir" && -n "$consumer" && -n "$cxx" ]] || usage
build_dir=$(cd "$build_dir" && pwd)
consumer=$(cd "$consumer" && pwd)
pkg_config=${pkg_config:-$(command -v pkg-config || command -v pkgconf || true)}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/xstack-install-test.XXXXXX")
cleanup() {
    if [[ $keep -eq 1 ]]; then
        echo "kept $tmp"
    else
        rm -rf "$tmp"
    fi
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

prefix=$tmp/prefix
san_flags=()
if [[ -n "$sanitize" ]]; then
    # The installed libraries are instrumented: the consumer needs the same runtime.
    san_flags=("-fsanitize=$sanitize" -fno-omit-frame-pointer)
fi

echo "== cmake --install $build_dir --prefix $prefix"
"$cmake" --install "$build_dir" --prefix "$prefix" >"$tmp/install.log" ||
    { cat "$tmp/install.log"; fail "cmake --install"; }

for f in include/xstack/config.h include/xstack/event/loop.h include/xstack/xprt/connection.h \
         include/xstack/raw/raw_sock.h include/xstack/registry/registry.h; do
    [[ -f "$prefix/$f" ]] || fail "not installed: $f"
done
config=$(find "$prefix" -name xstackConfig.cmake -print -quit)
pc=$(find "$prefix" -name xstack.pc -print -quit)
[[ -n "$config" ]] || fail "no xstackConfig.cmake installed"
[[ -n "$pc" ]] || fail "no xstack.pc installed"
[[ -n "$(find "$prefix" -name 'libxstack_*.a' -print -quit)" ]] || fail "no library installed"
if find "$prefix/include" -name '*_internal.h' | grep -q .; then
    fail "folder-private *_internal.h headers were installed"
fi
# The build's warning and sanitizer flags must stay in the build.
if grep -nE -- '-W[a-z]|-fsanitize|build_flags' "$(dirname "$config")"/xstackTargets*.cmake "$pc"; then
    fail "build-only flags leak into the installed package"
fi

gen_args=()
[[ -n "$generator" ]] && gen_args=(-G "$generator")
# cmake_project SOURCE_DIR NAME: configures and builds a project that uses find_package(xstack)
# against the prefix only, into $tmp/NAME-build.
cmake_project() {
    local src=$1 name=$2
    "$cmake" -S "$src" -B "$tmp/$name-build" "${gen_args[@]}" \
        -DCMAKE_CXX_COMPILER="$cxx" \
        -DCMAKE_PREFIX_PATH="$prefix" \
        -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF \
        -DCMAKE_CXX_FLAGS="${san_flags[*]}" \
        -DCMAKE_EXE_LINKER_FLAGS="${san_flags[*]}" >"$tmp/$name-configure.log" 2>&1 ||
        { cat "$tmp/$name-configure.log"; fail "configuring the $name"; }
    local found
    found=$(sed -n 's/^xstack_DIR:PATH=//p' "$tmp/$name-build/CMakeCache.txt")
    [[ "$found" == "$prefix"/* ]] || fail "find_package found xstack in '$found', not in $prefix"
    "$cmake" --build "$tmp/$name-build" >"$tmp/$name-build.log" 2>&1 ||
        { cat "$tmp/$name-build.log"; fail "building the $name with CMake"; }
}

echo "== find_package(xstack) with CMAKE_PREFIX_PATH=$prefix"
cmake_project "$consumer" consumer
out=$("$tmp/consumer-build/xstack_consumer") || fail "consumer (CMake) exited $?: $out"
echo "$out"

echo "== pkg-config --cflags --libs xstack"
[[ -n "$pkg_config" ]] || fail "pkg-config not found"
PKG_CONFIG_PATH="$(dirname "$pc")${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
export PKG_CONFIG_PATH
read -r -a pc_flags <<<"$("$pkg_config" --cflags --libs xstack)" || fail "pkg-config xstack"
echo "pkg-config: ${pc_flags[*]}"
"$cxx" -std=c++20 "${san_flags[@]}" "$consumer/main.cc" "${pc_flags[@]}" \
    -o "$tmp/consumer-pc" >"$tmp/pc-build.log" 2>&1 ||
    { cat "$tmp/pc-build.log"; fail "building the consumer with pkg-config"; }
out=$("$tmp/consumer-pc") || fail "consumer (pkg-config) exited $?: $out"
echo "$out"
if [[ -n "$example" ]]; then
    # The example from examples/, built like the consumer, then run by its own check script.
    example=$(cd "$example" && pwd)
    echo "== example $example with find_package(xstack)"
    cmake_project "$example" example
    tls_arg=()
    grep -q '^#define XS_HAVE_OPENSSL 1' "$prefix/include/xstack/config.h" && tls_arg=(--tls)
    "$example/check.sh" "$tmp/example-build/echo_server" "${tls_arg[@]}" ||
        fail "the example's checks"
fi
echo "install test passed"
