#!/usr/bin/env bash
# Compare.quick: bench/compare/run.sh with XS_CMP_QUICK=1 runs to the end and writes its JSON
# (every measurement present, with a number for both proxies; the paired ratios wired to their
# own rounds), its table and its chart.
#   quick_test.sh PATH/TO/run.sh        (XS_PROXY, XS_PP, XS_LOADGEN from the build)
set -euo pipefail
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
XS_CMP_QUICK=1 bash "$1" "$out" >"$out/run.log" 2>&1 || { tail -40 "$out/run.log" >&2; exit 1; }
for f in compare.json compare.md compare.png; do
    [[ -s "$out/$f" ]] || { echo "FAIL: $f missing or empty" >&2; exit 1; }
done
n=$(grep -c '"key": ' "$out/compare.json")
bad=$(grep '"key": ' "$out/compare.json" | grep -Evc '"xstack": [0-9.]+, "haproxy": [0-9.]+,' || true)
((n == 29)) || { echo "FAIL: $n measurements in compare.json, want 29" >&2; cat "$out/compare.json" >&2; exit 1; }
((bad == 0)) || { echo "FAIL: $bad measurements without two numbers" >&2; cat "$out/compare.json" >&2; exit 1; }
# With one round the median of the per-round ratios is that round's ratio, the ratio of medians.
mism=$(grep '"paired": true' "$out/compare.json" |
    sed -E 's/.*"ratio": ([0-9.]+), "ratio_of_medians": ([0-9.]+),.*/\1 \2/' | awk '$1 != $2' | wc -l)
npaired=$(grep -c '"paired": true' "$out/compare.json" || true)
((npaired == 15)) || { echo "FAIL: $npaired paired ratios, want 15" >&2; cat "$out/compare.json" >&2; exit 1; }
((mism == 0)) || { echo "FAIL: $mism paired ratios differ from the ratio of medians" >&2; exit 1; }
head -c 8 "$out/compare.png" | od -An -c | grep -q 'P   N   G' || { echo "FAIL: compare.png is not a PNG" >&2; exit 1; }
echo "PASS: 29 measurements, table and chart written"
