#!/usr/bin/env bash
# The one place that knows which Debian 12 packages xstack needs.
#   scripts/deps.sh [--check] GROUP...
# Checks every package of the groups with dpkg-query. If some are missing:
#   --check      print them and the install command, exit 1 (never installs)
#   as root      apt-get update (once), then apt-get install -y --no-install-recommends MISSING
#   otherwise    print the exact `sudo apt-get install -y MISSING` line and exit 1
# XSTACK_SKIP_DEPS=1 skips all of it (another distribution, packages installed by hand).
set -euo pipefail

# build: compilers (g++ for dev/release; clang++ and its sanitizer runtimes for asan/fuzz),
#        CMake + Ninja, GoogleTest/GoogleMock, Google Benchmark, OpenSSL (library, and the
#        command line for test certificates), pkg-config (install test)
# test:    tools the test suite itself runs
# interop: real peers and load tools for the interop tests (tests/interop) and comparison
#          scripts; socat is the stats-socket client and PROXY-header capture listener there
# format:  clang-format / clang-tidy 14 for scripts/format.sh and scripts/tidy.sh
declare -A groups=(
    [build]="cmake ninja-build g++ clang-14 clang libclang-rt-14-dev libgtest-dev libgmock-dev
             libbenchmark-dev libssl-dev pkg-config openssl"
    [test]="strace"
    [interop]="haproxy nginx-light curl wrk gnuplot-nox socat"
    [format]="clang-format clang-tidy"
)
group_names="build test interop format all"

usage() {
    echo "usage: scripts/deps.sh [--check] GROUP...   (groups: $group_names)" >&2
    exit "${1:-2}"
}

check_only=0 wanted=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --check) check_only=1 ;;
        -h|--help) usage 0 ;;
        all) wanted+=(build test interop format) ;;
        -*) usage ;;
        *)
            [[ -n "${groups[$1]+x}" ]] || { echo "deps: unknown group '$1'" >&2; usage; }
            wanted+=("$1")
            ;;
    esac
    shift
done
[[ ${#wanted[@]} -gt 0 ]] || usage

if [[ "${XSTACK_SKIP_DEPS:-0}" == 1 ]]; then
    echo "deps: XSTACK_SKIP_DEPS=1, not checking ${wanted[*]}"
    exit 0
fi

pkgs=()
for g in "${wanted[@]}"; do
    for p in ${groups[$g]}; do
        [[ " ${pkgs[*]} " == *" $p "* ]] || pkgs+=("$p")
    done
done

if ! command -v dpkg-query >/dev/null; then
    echo "deps: dpkg-query not found: this is not a Debian system. Install the equivalents of:" >&2
    echo "  ${pkgs[*]}" >&2
    echo "then rerun with XSTACK_SKIP_DEPS=1." >&2
    exit 1
fi

missing=()
for p in "${pkgs[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [[ "$status" == installed ]] || missing+=("$p")
done
if [[ ${#missing[@]} -eq 0 ]]; then
    echo "deps: ${wanted[*]}: all ${#pkgs[@]} packages installed"
    exit 0
fi

echo "deps: missing Debian packages: ${missing[*]}" >&2
if [[ $check_only -eq 1 ]]; then
    echo "deps: install them with: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
fi
if [[ $(id -u) -ne 0 ]]; then
    echo "deps: run this, then try again:" >&2
    echo "sudo apt-get install -y ${missing[*]}"
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
echo "deps: apt-get update"
apt-get update -q
echo "deps: apt-get install -y --no-install-recommends ${missing[*]}"
apt-get install -y -q --no-install-recommends "${missing[@]}"

still=()
for p in "${missing[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [[ "$status" == installed ]] || still+=("$p")
done
if [[ ${#still[@]} -gt 0 ]]; then
    echo "deps: still not installed: ${still[*]}" >&2
    exit 1
fi
echo "deps: installed ${missing[*]}"
