#!/usr/bin/env bash
# Compare.loadgen: the sink takes what the sender sends (the sender's count is checked against
# the sink's bytes), and `hold` really holds N established connections.
#   loadgen_test.sh PATH/TO/xstack-loadgen
set -euo pipefail
lg=$1
tmp=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT
timeout 50 "$lg" sink 127.0.0.1:0 >"$tmp/sink.out" &
pids+=($!)
for _ in $(seq 100); do grep -q '^port ' "$tmp/sink.out" && break; sleep 0.05; done
port=$(sed -n 's/^port //p' "$tmp/sink.out")
[[ -n "$port" ]] || { echo "FAIL: the sink printed no port" >&2; exit 1; }

out=$(timeout 20 "$lg" send "127.0.0.1:$port" 12345678)
[[ "$out" =~ ^bytes=12345678\ seconds=[0-9.]+\ MBps=[0-9.]+$ ]] ||
    { echo "FAIL: send printed '$out'" >&2; exit 1; }
echo "ok   send: $out"

timeout 20 "$lg" hold "127.0.0.1:$port" 40 >"$tmp/hold.out" &
pids+=($!)
for _ in $(seq 200); do grep -q '^held 40$' "$tmp/hold.out" && break; sleep 0.05; done
grep -q '^held 40$' "$tmp/hold.out" || { echo "FAIL: hold did not report 40" >&2; exit 1; }
est=0
for _ in $(seq 200); do
    est=$(ss -Htn state established "( dport = :$port )" | wc -l)
    ((est >= 40)) && break
    sleep 0.05
done
((est == 40)) || { echo "FAIL: $est established connections to the sink, want 40" >&2; exit 1; }
echo "ok   hold: 40 established"

out=$("$lg" send 127.0.0.1:0x 1 2>&1) && { echo "FAIL: bad address accepted" >&2; exit 1; }
echo "ok   bad address refused"
echo "PASS"
