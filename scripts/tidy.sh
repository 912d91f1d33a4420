#!/usr/bin/env bash
# Runs clang-tidy 14 with the repository's .clang-tidy on .cc files, using the compilation
# database of a configured build (default build/dev: run `cmake --preset dev` first).
#   scripts/tidy.sh                 the .cc files changed vs origin/main (or the first commit),
#                                   plus the .cc beside each changed .h
#   scripts/tidy.sh --all           every .cc file in the compilation database of this checkout
#   scripts/tidy.sh BASE_REF        the files changed vs BASE_REF (merge base with HEAD)
#   -p BUILD_DIR                    another build directory (e.g. build/asan)
#   -j N                            parallel clang-tidy processes (default: nproc)
#   -- ARGS...                      passed to clang-tidy (e.g. -- --fix)
# Exits 1 if clang-tidy reports an error (WarningsAsErrors) or cannot parse a file.
# CLANG_TIDY overrides the binary (default clang-tidy-14).
set -euo pipefail

usage() {
    echo "usage: scripts/tidy.sh [-p BUILD_DIR] [-j N] [--all | BASE_REF] [-- CLANG_TIDY_ARGS...]" >&2
    exit "${1:-2}"
}

root=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
all=0 base="" build="$root/build/dev" jobs=$(nproc) extra=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --all) all=1 ;;
        -p) [[ $# -ge 2 ]] || usage; build=$2; shift ;;
        -j) [[ $# -ge 2 ]] || usage; jobs=$2; shift ;;
        -h|--help) usage 0 ;;
        --) shift; extra=("$@"); break ;;
        -*) usage ;;
        *) [[ -z "$base" ]] || usage; base=$1 ;;
    esac
    shift
done
[[ $all -eq 0 || -z "$base" ]] || usage
build=$(cd "$build" 2>/dev/null && pwd) || build=""
cd "$root"
# shellcheck source=scripts/changed_files.sh
. scripts/changed_files.sh

ct=${CLANG_TIDY:-clang-tidy-14}
if ! command -v "$ct" >/dev/null; then
    echo "error: $ct not found; install it with: scripts/deps.sh format" >&2
    exit 1
fi
db="$build/compile_commands.json"
if [[ -z "$build" || ! -f "$db" ]]; then
    echo "error: no compile_commands.json in ${build:-the build directory}; run: cmake --preset dev" >&2
    exit 1
fi

in_db() { grep -qF "\"file\": \"$root/$1\"" "$db"; }

if [[ $all -eq 1 ]]; then
    mapfile -t files < <(git ls-files '*.cc' | while IFS= read -r f; do in_db "$f" && echo "$f"; done)
    what="files in $(basename "$build")'s compilation database"
else
    base=${base:-$(xs_default_base)}
    mapfile -t changed < <(xs_changed_files "$base")
    files=()
    skipped=()
    for f in "${changed[@]}"; do
        case "$f" in
            *.cc) ;;
            *.h) f=${f%.h}.cc; [[ -f "$f" ]] || continue ;;
            *) continue ;;
        esac
        if in_db "$f"; then
            files+=("$f")
        else
            skipped+=("$f")
        fi
    done
    mapfile -t files < <(printf '%s\n' "${files[@]}" | sed '/^$/d' | sort -u)
    what="changed files since $(git rev-parse --short "$base")"
    if [[ ${#skipped[@]} -gt 0 ]]; then
        echo "tidy: not in $(basename "$build")'s build, skipped: ${skipped[*]}"
    fi
fi
if [[ ${#files[@]} -eq 0 ]]; then
    echo "tidy: no .cc $what"
    exit 0
fi

# One clang-tidy per file, `jobs` at a time; each file's output is printed whole.
# -Wno-unknown-warning-option: the dev build is gcc's; clang may not know all of its flags.
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
run_one() {
    local i=$1 f=$2
    if "$ct" -p "$build" --quiet --extra-arg=-Wno-unknown-warning-option "${extra[@]}" "$f" \
        >"$logs/$i.log" 2>&1; then
        echo 0 >"$logs/$i.rc"
    else
        echo 1 >"$logs/$i.rc"
    fi
}
running=0
for i in "${!files[@]}"; do
    run_one "$i" "${files[$i]}" &
    running=$((running + 1))
    if [[ $running -ge $jobs ]]; then
        wait -n || true
        running=$((running - 1))
    fi
done
wait

failed=()
for i in "${!files[@]}"; do
    grep -vE '^[0-9]+ warnings? (and [0-9]+ errors? )?generated\.$' "$logs/$i.log" || true
    [[ "$(cat "$logs/$i.rc")" == 0 ]] || failed+=("${files[$i]}")
done
if [[ ${#failed[@]} -gt 0 ]]; then
    echo "tidy: errors in ${#failed[@]} of ${#files[@]} $what: ${failed[*]}"
    exit 1
fi
echo "tidy: ${#files[@]} $what checked, no errors"
