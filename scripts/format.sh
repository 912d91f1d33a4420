#!/usr/bin/env bash
# Formats C++ files with clang-format 14 and the repository's .clang-format.
#   scripts/format.sh                 format the files changed vs origin/main (or the first commit)
#   scripts/format.sh --check         only report them; exit 1 if any is not formatted
#   scripts/format.sh --all [--check] every tracked C++ file
#   scripts/format.sh [--check] REF   the files changed vs REF (merge base with HEAD)
# CLANG_FORMAT overrides the binary (default clang-format-14).
set -euo pipefail

usage() {
    echo "usage: scripts/format.sh [--check] [--all | BASE_REF]" >&2
    exit "${1:-2}"
}

check=0 all=0 base=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --check) check=1 ;;
        --all) all=1 ;;
        -h|--help) usage 0 ;;
        -*) usage ;;
        *) [[ -z "$base" ]] || usage; base=$1 ;;
    esac
    shift
done
[[ $all -eq 0 || -z "$base" ]] || usage
base_arg=$base

cd "$(git -C "$(dirname "$0")" rev-parse --show-toplevel)"
# shellcheck source=scripts/changed_files.sh
. scripts/changed_files.sh

cf=${CLANG_FORMAT:-clang-format-14}
if ! command -v "$cf" >/dev/null; then
    echo "error: $cf not found; install it with: scripts/deps.sh format" >&2
    exit 1
fi

is_cxx='\.(h|hh|hpp|cc|cpp|cxx)$'
if [[ $all -eq 1 ]]; then
    mapfile -t files < <(git ls-files | grep -E "$is_cxx" || true)
    what="tracked C++ files"
else
    base=${base:-$(xs_default_base)}
    mapfile -t files < <(xs_changed_files "$base" | grep -E "$is_cxx" || true)
    what="C++ files changed since $(git rev-parse --short "$base")"
fi
if [[ ${#files[@]} -eq 0 ]]; then
    echo "format: no $what"
    exit 0
fi

if [[ $check -eq 0 ]]; then
    "$cf" -i --style=file "${files[@]}"
    echo "format: formatted ${#files[@]} $what"
    exit 0
fi

bad=()
for f in "${files[@]}"; do
    if ! "$cf" --style=file "$f" | cmp -s - "$f"; then
        bad+=("$f")
    fi
done
if [[ ${#bad[@]} -eq 0 ]]; then
    echo "format: ${#files[@]} $what are formatted"
    exit 0
fi
fix="scripts/format.sh"
[[ $all -eq 1 ]] && fix+=" --all"
[[ -n "$base_arg" ]] && fix+=" $base_arg"
printf '  %s\n' "${bad[@]}"
echo "format: ${#bad[@]} of ${#files[@]} $what differ from .clang-format (fix: $fix)"
exit 1
