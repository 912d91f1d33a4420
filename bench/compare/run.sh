#!/usr/bin/env bash
# bench/compare/run.sh [OUT_DIR]: xstack-proxy against HAProxy 2.6, side by side, in one run.
#
# Both proxies get the same options (haproxy-cfg.sh translates xstack-proxy's command line) and
# run one thread each on loopback. Each measurement alternates them (xstack, HAProxy, xstack,
# HAProxy, ...) and keeps the median of each; the ratio xstack/HAProxy is the result: the median
# of the per-round ratios (each round's two runs are seconds apart, so a drift of the machine's
# speed cancels out), with the ratio of the medians beside it. The absolute figures are context
# (these machines are shared and noisy). Measurements:
#   keepalive    wrk -t1 -c50 -> proxy -> nginx (small file): requests/s, proxy CPU per request
#                (user and kernel, from /proc/PID/stat), and the ratio those CPU costs allow on a
#                saturated machine (client and server need cores / direct rate per request)
#   syscalls     strace -f -c on the proxy over XS_CMP_REQS keep-alive requests, connections
#                established and warm: per request
#   bulk         one connection, XS_CMP_BULK bytes, xstack-loadgen send -> proxy -> sink, with
#                --splice never and --splice always; the direct send -> sink rate is the
#                ceiling; proxy CPU per MB, and the share of direct and the ratio it allows
#   tls          full TLS handshakes/s: 4 x `openssl s_time -new -www` (a new session each time:
#                wrk would resume them) -> proxy --tls-cert -> nginx, RSA 2048 and ECDSA P-256;
#                "+pp": a front HAProxy adds a PROXY v2 header, the proxy has --accept-proxy
#   idle         RSS of the proxy holding XS_CMP_IDLE idle connections, per connection
#   close        wrk with Connection: close: new connections/s (one request each), proxy CPU
#                per connection and the ratio it allows
# Writes OUT_DIR/compare.json, compare.md (the table) and compare.png (the ratios, gnuplot).
# OUT_DIR defaults to build/compare. Needs the release build (made here when missing) and
# scripts/deps.sh build test interop.
#
# Environment: XS_CMP_ROUNDS (5), XS_CMP_SECS (2, per wrk or s_time run), XS_CMP_REQS (20000),
# XS_CMP_BULK (2147483648), XS_CMP_IDLE (9000: a proxy holds 2 fds per connection, and this
# machine's hard limit is 20000 fds), XS_CMP_QUICK=1 (one round, short runs: a smoke test).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
out=$(realpath -m "${1:-$root/build/compare}")
mkdir -p "$out"

rounds=${XS_CMP_ROUNDS:-5} secs=${XS_CMP_SECS:-2} reqs=${XS_CMP_REQS:-20000}
bulk=${XS_CMP_BULK:-2147483648} idle=${XS_CMP_IDLE:-9000}
if [[ "${XS_CMP_QUICK:-0}" == 1 ]]; then
    rounds=1 secs=1 reqs=2000 bulk=67108864 idle=500
fi

"$root/scripts/deps.sh" build test interop
if [[ -z "${XS_PROXY:-}" ]]; then
    (cd "$root" && cmake --preset release >/dev/null &&
        cmake --build --preset release --target xstack-proxy xstack-pp xstack-loadgen >&2)
    XS_PROXY=$root/build/release/proxy/xstack-proxy
fi
: "${XS_PP:=$(dirname "$XS_PROXY")/../tools/pp/xstack-pp}"
: "${XS_LOADGEN:=$(dirname "$XS_PROXY")/../bench/compare/xstack-loadgen}"
export XS_PROXY XS_PP
export XS_INTEROP_DAEMON=1800  # the daemons live for the whole run
# shellcheck source=../../tests/interop/lib.sh
source "$root/tests/interop/lib.sh"
need haproxy nginx wrk strace gnuplot openssl "$XS_LOADGEN"
started=$SECONDS
tck=$(getconf CLK_TCK)

note() { echo "[compare $((SECONDS - started))s] $*" >&2; }

median() {  # median NUMBER...
    printf '%s\n' "$@" | sort -g |
        awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b > 0) ? a / b : 0 }'; }
# paired XS HP: the median over rounds of XS[r] / HP[r] (two array names). Each round runs the
# two sides seconds apart, so a drift of the machine's speed over the minutes of a run cancels
# out of each ratio; the ratio of the two medians keeps it.
paired() {
    local -n _x=$1 _h=$2
    local r rs=()
    for ((r = 0; r < ${#_x[@]}; r++)); do rs+=("$(ratio "${_x[r]}" "${_h[r]}")"); done
    median "${rs[@]}"
}
met() {  # met XSTACK HAPROXY TARGET [RATIO]: true, false, or null without a target
    awk -v x="$1" -v h="$2" -v t="$3" -v pr="${4:-}" 'BEGIN {
        if (t == "") { print "null"; exit }
        r = (pr != "") ? pr : (h > 0) ? x / h : 0
        if (t ~ /^>=/) ok = r >= substr(t, 3) + 0
        else if (t ~ /^<=/) ok = r <= substr(t, 3) + 0
        else if (t ~ /^xs>=/) ok = x >= substr(t, 5) + 0
        else ok = x <= substr(t, 5) + 0
        print ok ? "true" : "false" }'
}
daemon_pid() { pgrep -P "$1" | head -1; }  # spawn runs the daemon under timeout(1)
cpu_ticks() { awk '{ print $14, $15 }' "/proc/$1/stat"; }  # user, system (clock ticks)

# ---------------------------------------------------------------- the two proxies
# start_pair TAG OPTIONS...: xstack-proxy OPTIONS and the HAProxy translation of OPTIONS.
# Sets XS_PORT/XS_DPID and HP_PORT/HP_DPID (the daemons' own pids, for /proc and strace).
start_pair() {
    local tag=$1
    shift
    start_proxy "$tag" "$@"
    XS_PORT=$PROXY_PORT XS_PID=$PROXY_PID
    XS_DPID=$(daemon_pid "$XS_PID")
    "$here/haproxy-cfg.sh" --listen "127.0.0.1:@PORT1@" "$@" >"$IOP_TMP/hap-$tag.body"
    start_haproxy "$tag" 1 "$IOP_TMP/hap-$tag.body"
    HP_PORT=$HAPROXY_PORT1 HP_PID=$HAPROXY_PID
    HP_DPID=$(daemon_pid "$HP_PID")
    [[ -n "$XS_DPID" && -n "$HP_DPID" ]] || fail "no daemon pid for $tag"
}

stop_pair() {
    stop_proxy "$1"
    stop "$HP_PID"
}

wrk_rate() {  # wrk_rate ARGS...: requests/s of one wrk run (1 thread)
    local o
    o=$(timeout $((secs + 30)) wrk -t1 "$@" 2>&1) || fail "wrk $*: $o"
    [[ "$o" != *"Socket errors"* ]] || fail "wrk $*: $o"
    awk '/^Requests\/sec:/ { print $2 }' <<<"$o"
}

# ---------------------------------------------------------------- results
# One per metric: "key|label|unit|xstack|haproxy|direct|target|paired". xstack, HAProxy and
# direct are medians; paired, when the metric has rounds, is the median of the per-round ratios
# (see paired) and is then the ratio reported and judged. A target is ">=R" or "<=R" on the
# ratio xstack/HAProxy, or "xs<=V" / "xs>=V" on xstack's own figure.
RESULTS=()
result() {
    RESULTS+=("$1|$2|$3|$4|$5|$6|$7|${8:-}")
    note "$2: xstack $4, HAProxy $5 ($3)${8:+, paired ratio $8}"
}

# ---------------------------------------------------------------- backends
head -c 100 /dev/urandom | base64 -w 0 >"$IOP_TMP/small.txt"  # a 136-byte file
cat >"$IOP_TMP/servers" <<EOF
server {
    listen 127.0.0.1:@PORT1@ backlog=4096;
    root @TMP@;
    access_log off;
    keepalive_requests 1000000;
    location = /nginx-status { stub_status; }
}
EOF
start_nginx web 1 "$IOP_TMP/servers"
WEB=127.0.0.1:$NGINX_PORT1
url_path=/small.txt

spawn sink "$IOP_TMP/sink.out" "$XS_LOADGEN" sink 127.0.0.1:0
_sink_ready() { grep -q '^port ' "$IOP_TMP/sink.out"; }
poll_until "the sink to listen" _sink_ready
SINK=127.0.0.1:$(sed -n 's/^port //p' "$IOP_TMP/sink.out")

# ---------------------------------------------------------------- 1, 6: keep-alive and close
note "keep-alive and close mode: $rounds round(s) of ${secs}s per side"
start_pair http --connect "$WEB" --splice never
# per_unit TICKS N: microseconds of CPU per unit for TICKS clock ticks over N units.
per_unit() { awk -v t="$1" -v n="$2" -v hz="$tck" 'BEGIN { printf "%.3f", t / hz * 1e6 / n }'; }
# wrk_cpu SIDE ARRAY_PREFIX WRK_ARGS...: one wrk run through the proxy of SIDE (x or h),
# appended to PREFIX_SIDE (requests/s), PREFIXcpu_SIDE, PREFIXusr_SIDE and PREFIXsys_SIDE
# (the proxy's CPU, user and kernel time per request, in us, from /proc/PID/stat).
wrk_cpu() {
    local side=$1 pre=$2 port dpid o n rate u0 s0 u1 s1
    shift 2
    if [[ $side == x ]]; then port=$XS_PORT dpid=$XS_DPID; else port=$HP_PORT dpid=$HP_DPID; fi
    read -r u0 s0 < <(cpu_ticks "$dpid")
    o=$(timeout $((secs + 30)) wrk -t1 -c50 -d"${secs}s" "$@" "http://127.0.0.1:$port$url_path")
    read -r u1 s1 < <(cpu_ticks "$dpid")
    n=$(awk '/ requests in / { print $1 }' <<<"$o")
    rate=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$o")
    [[ -n "$n" && "$n" -gt 0 && "$o" != *"Socket errors"* ]] || fail "wrk $* through $side: $o"
    eval "${pre}_$side+=($rate) ${pre}cpu_$side+=($(per_unit $((u1 - u0 + s1 - s0)) "$n"))"
    eval "${pre}usr_$side+=($(per_unit $((u1 - u0)) "$n")) ${pre}sys_$side+=($(per_unit $((s1 - s0)) "$n"))"
}
# bound CORES DIRECT_RATE X_COST H_COST: the ratio xstack/HAProxy a saturated machine allows.
# The client and server need CORES / DIRECT_RATE of CPU per unit, each proxy adds its own cost
# (same unit), and the rates go as the inverse of the sums.
bound() {
    awk -v c="$1" -v d="$2" -v x="$3" -v h="$4" 'BEGIN { o = c * 1e6 / d; printf "%.3f", (o + h) / (o + x) }'
}
declare -a ka_d ka_x ka_h kacpu_x kacpu_h kausr_x kausr_h kasys_x kasys_h
declare -a cl_d cl_x cl_h clcpu_x clcpu_h clusr_x clusr_h clsys_x clsys_h
for ((r = 0; r < rounds; r++)); do
    ka_d+=("$(wrk_rate -c50 -d"${secs}s" "http://$WEB$url_path")")
    wrk_cpu x ka
    wrk_cpu h ka
done
for ((r = 0; r < rounds; r++)); do
    cl_d+=("$(wrk_rate -c50 -d"${secs}s" -H 'Connection: close' "http://$WEB$url_path")")
    wrk_cpu x cl -H 'Connection: close'
    wrk_cpu h cl -H 'Connection: close'
done
result ka_rps "keep-alive requests/s" "req/s" "$(median "${ka_x[@]}")" \
    "$(median "${ka_h[@]}")" "$(median "${ka_d[@]}")" ">=1.1" "$(paired ka_x ka_h)"
result ka_cpu "proxy CPU per request" "us" "$(median "${kacpu_x[@]}")" \
    "$(median "${kacpu_h[@]}")" "" "<=0.9" "$(paired kacpu_x kacpu_h)"
result ka_bound "keep-alive ratio the CPU costs allow" "ratio" \
    "$(bound "$(nproc)" "$(median "${ka_d[@]}")" "$(median "${kacpu_x[@]}")" \
        "$(median "${kacpu_h[@]}")")" 1 "" ""
result ka_cpu_user "  of which user space" "us" "$(median "${kausr_x[@]}")" \
    "$(median "${kausr_h[@]}")" "" "" "$(paired kausr_x kausr_h)"
result ka_cpu_sys "  of which kernel" "us" "$(median "${kasys_x[@]}")" \
    "$(median "${kasys_h[@]}")" "" "" "$(paired kasys_x kasys_h)"
result close_cps "close mode connections/s" "conn/s" "$(median "${cl_x[@]}")" \
    "$(median "${cl_h[@]}")" "$(median "${cl_d[@]}")" ">=1.0" "$(paired cl_x cl_h)"
result close_cpu "close mode: proxy CPU per connection" "us" "$(median "${clcpu_x[@]}")" \
    "$(median "${clcpu_h[@]}")" "" "" "$(paired clcpu_x clcpu_h)"
result close_cpu_sys "  of which kernel" "us" "$(median "${clsys_x[@]}")" \
    "$(median "${clsys_h[@]}")" "" "" "$(paired clsys_x clsys_h)"
result close_bound "close mode ratio the CPU costs allow" "ratio" \
    "$(bound "$(nproc)" "$(median "${cl_d[@]}")" "$(median "${clcpu_x[@]}")" \
        "$(median "${clcpu_h[@]}")")" 1 "" ""

# ---------------------------------------------------------------- 2: syscalls per request
# In steady state: wrk runs through the proxy, its 50 connections established and warm. wrk is
# paused (SIGSTOP) while strace -c attaches and detaches, after the requests in flight have
# drained, so the window holds exactly the requests nginx's counter saw in it (read directly,
# not through the proxy; each read of the counter is a request too, and is subtracted).
nginx_requests() {  # each read is one request too: counted in status-reads
    echo >>"$IOP_TMP/status-reads"
    curl -q -s --max-time 5 "http://$WEB/nginx-status" | awk 'NR == 3 { print $3 }'
}
declare -A SC  # SC[side.key] = per-request count
syscalls() {  # syscalls SIDE PORT DPID
    local side=$1 port=$2 dpid=$3 st=$IOP_TMP/strace-$1.txt o n a b start
    # wrk itself, not under timeout(1): it is the process that gets SIGSTOP/SIGCONT. Its -d and
    # the cleanup at exit (IOP_PIDS) bound it.
    wrk -t1 -c50 -d180s "http://127.0.0.1:$port$url_path" >"$IOP_TMP/wrk-sys.out" &
    local wpid=$!
    IOP_PIDS+=("$wpid")
    start=$(nginx_requests)
    _warm() { (($(nginx_requests) >= start + 2000)); }
    poll_until "wrk's connections to be warm" _warm
    _quiet() {  # wrk paused and nothing in flight: the counter no longer moves
        local c0 c1
        c0=$(nginx_requests)
        sleep 0.2
        c1=$(nginx_requests)
        ((c1 == c0 + 1))
    }
    kill -STOP "$wpid"
    poll_until "wrk's requests in flight to drain" _quiet
    # SIGTERM, not SIGINT, ends both: a background job of a script starts with SIGINT ignored.
    strace -f -c -p "$dpid" -o "$st" 2>"$IOP_TMP/strace-$side.err" &
    local spid=$!
    IOP_PIDS+=("$spid")
    _attached() { grep -q 'attached' "$IOP_TMP/strace-$side.err"; }
    poll_until "strace to attach to $dpid" _attached
    : >"$IOP_TMP/status-reads"
    a=$(nginx_requests)
    kill -CONT "$wpid"
    _counted() { (($(nginx_requests) >= a + reqs)); }
    IOP_WAIT=150 poll_until "$reqs requests under strace" _counted
    kill -STOP "$wpid"
    poll_until "wrk's requests in flight to drain" _quiet
    b=$(nginx_requests)
    kill -TERM "$spid"
    wait "$spid" || true
    kill -CONT "$wpid"
    kill -TERM "$wpid"
    wait "$wpid" || true
    n=$((b - a - ($(wc -l <"$IOP_TMP/status-reads") - 1)))  # minus the reads after a
    ((n > 0)) || fail "no request counted under strace ($a -> $b)"
    # strace -c rows: % seconds usecs/call calls [errors] syscall
    eval "$(awk -v n="$n" -v s="$side" '
        $NF ~ /^[a-z_0-9]+$/ && $4 ~ /^[0-9]+$/ && $NF != "total" {
            calls = $4; errs = (NF == 6) ? $5 : 0; name = $NF
            total += calls
            if (name ~ /^(recv|recvfrom|recvmsg|read|readv)$/) { rx += calls; rxfail += errs }
            else if (name ~ /^(send|sendto|sendmsg|write|writev)$/) tx += calls
            else if (name ~ /^epoll_ctl$/) ctl += calls
            else if (name ~ /^(epoll_wait|epoll_pwait)$/) ew += calls
            else if (name ~ /^splice$/) sp += calls
            else if (name ~ /^(clock_gettime|gettimeofday|time)$/) clk += calls
        }
        END {
            printf "SC[%s.recv]=%.4f SC[%s.recv_failed]=%.4f SC[%s.send]=%.4f ", s, rx/n, s, rxfail/n, s, tx/n
            printf "SC[%s.epoll_ctl]=%.4f SC[%s.epoll_wait]=%.4f SC[%s.splice]=%.4f ", s, ctl/n, s, ew/n, s, sp/n
            printf "SC[%s.clock]=%.4f SC[%s.total]=%.4f\n", s, clk/n, s, total/n
        }' "$st")"
    cp "$st" "$out/strace-$side.txt"
}
note "syscalls: strace over $reqs keep-alive requests per side"
syscalls x "$XS_PORT" "$XS_DPID"
syscalls h "$HP_PORT" "$HP_DPID"
for k in recv recv_failed send epoll_ctl epoll_wait splice clock total; do
    tgt=""
    [[ $k == total ]] && tgt="xs<=4.06"
    [[ $k == recv_failed ]] && tgt="xs<=0.001"
    [[ $k == clock ]] && tgt="xs<=0.01"
    result "sys_$k" "syscalls/request: $k" "per req" "${SC[x.$k]}" "${SC[h.$k]}" "" "$tgt"
done
stop_pair http

# ---------------------------------------------------------------- 3: bulk
bulk_rate() {  # bulk_rate ADDR: MB/s of one connection carrying $bulk bytes
    local o
    o=$(timeout 120 "$XS_LOADGEN" send "$1" "$bulk") || fail "bulk to $1: $o"
    sed -n 's/.* MBps=//p' <<<"$o"
}
for mode in never always; do
    note "bulk, --splice $mode: $rounds round(s) of $bulk bytes"
    start_pair "bulk$mode" --connect "$SINK" --splice "$mode"
    declare -a bd=() bx=() bh=() bcx=() bch=()
    for ((r = 0; r < rounds; r++)); do
        bd+=("$(bulk_rate "$SINK")")
        for side in x h; do
            if [[ $side == x ]]; then port=$XS_PORT dpid=$XS_DPID; else port=$HP_PORT dpid=$HP_DPID; fi
            read -r u0 s0 < <(cpu_ticks "$dpid")
            rate=$(bulk_rate "127.0.0.1:$port")
            read -r u1 s1 < <(cpu_ticks "$dpid")
            # CPU per MB, in us (bulk bytes / 1e6 MB)
            eval "b$side+=($rate) bc$side+=($(per_unit $((u1 - u0 + s1 - s0)) $((bulk / 1000000))))"
        done
    done
    tgt=">=1.1"
    [[ $mode == always ]] && tgt=">=1.3"
    mx=$(median "${bx[@]}") mh=$(median "${bh[@]}") md=$(median "${bd[@]}")
    result "bulk_$mode" "bulk, splice $mode" "MB/s" "$mx" "$mh" "$md" "$tgt" "$(paired bx bh)"
    result "bulk_${mode}_cpu" "  proxy CPU per MB" "us" "$(median "${bcx[@]}")" \
        "$(median "${bch[@]}")" "" "" "$(paired bcx bch)"
    if [[ $mode == always ]]; then
        result bulk_always_ceiling "bulk, splice always, share of direct" "x direct" \
            "$(paired bx bd)" "$(paired bh bd)" "" "xs>=0.7"
        # The sender and the sink need (cores / direct rate) of CPU per MB, the proxy its own.
        result bulk_always_bound "  share of direct the CPU costs allow" "x direct" \
            "$(bound "$(nproc)" "$md" "$(median "${bcx[@]}")" 0)" \
            "$(bound "$(nproc)" "$md" "$(median "${bch[@]}")" 0)" "" ""
        result bulk_always_ratio_bound "  ratio the CPU costs allow" "ratio" \
            "$(bound "$(nproc)" "$md" "$(median "${bcx[@]}")" "$(median "${bch[@]}")")" 1 "" ""
    fi
    stop_pair "bulk$mode"
done

# ---------------------------------------------------------------- 4: TLS handshakes
tls_clients=4
tls_rate() {  # tls_rate PORT: full handshakes (and one small GET each) per second
    local port=$1 i t0 t1 n total=0 pids=()
    t0=$EPOCHREALTIME
    for ((i = 0; i < tls_clients; i++)); do
        timeout $((secs + 30)) openssl s_time -connect "127.0.0.1:$port" -new -time "$secs" \
            -www "$url_path" >"$IOP_TMP/s_time.$i" 2>&1 &
        pids+=($!)
    done
    for i in "${!pids[@]}"; do
        wait "${pids[$i]}" || fail "openssl s_time to $port: $(tail -3 "$IOP_TMP/s_time.$i")"
    done
    t1=$EPOCHREALTIME
    for ((i = 0; i < tls_clients; i++)); do
        n=$(awk '/connections in [0-9]+ real seconds/ { print $1 }' "$IOP_TMP/s_time.$i")
        [[ -n "$n" && "$n" -gt 0 ]] || fail "openssl s_time to $port: $(cat "$IOP_TMP/s_time.$i")"
        total=$((total + n))
    done
    awk -v n="$total" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", n / (b - a) }'
}
mkdir -p "$IOP_TMP/pki"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
    -keyout "$IOP_TMP/pki/rsa.pem.key" -out "$IOP_TMP/pki/rsa.pem" 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj /CN=localhost -keyout "$IOP_TMP/pki/ecdsa.pem.key" -out "$IOP_TMP/pki/ecdsa.pem" 2>/dev/null
for kind in rsa ecdsa; do
    for pp in 0 1; do
        tag=tls$kind$pp
        label="TLS handshakes/s, ${kind^^}"
        opts=(--connect "$WEB" --tls-cert "$IOP_TMP/pki/$kind.pem" --tls-key "$IOP_TMP/pki/$kind.pem.key")
        if ((pp)); then
            opts+=(--accept-proxy)
            label+=" +pp"
        fi
        note "$label: $rounds round(s) of ${secs}s per side"
        start_pair "$tag" "${opts[@]}"
        xport=$XS_PORT hport=$HP_PORT
        if ((pp)); then
            # The same front for both: HAProxy adding a PROXY v2 header, TLS passed through.
            "$here/haproxy-cfg.sh" --listen "127.0.0.1:@PORT1@" --connect "127.0.0.1:$XS_PORT" \
                --send-proxy-v2 >"$IOP_TMP/front-x.body"
            start_haproxy "frontx$kind" 1 "$IOP_TMP/front-x.body"
            xport=$HAPROXY_PORT1 front_x=$HAPROXY_PID
            "$here/haproxy-cfg.sh" --listen "127.0.0.1:@PORT1@" --connect "127.0.0.1:$HP_PORT" \
                --send-proxy-v2 >"$IOP_TMP/front-h.body"
            start_haproxy "fronth$kind" 1 "$IOP_TMP/front-h.body"
            hport=$HAPROXY_PORT1 front_h=$HAPROXY_PID
        fi
        declare -a tx=() th=()
        for ((r = 0; r < rounds; r++)); do
            tx+=("$(tls_rate "$xport")")
            th+=("$(tls_rate "$hport")")
        done
        result "tls_$kind$( ((pp)) && echo _pp)" "$label" "hs/s" "$(median "${tx[@]}")" \
            "$(median "${th[@]}")" "" ">=1.0" "$(paired tx th)"
        if ((pp)); then
            stop "$front_x"
            stop "$front_h"
        fi
        stop_pair "$tag"
    done
done

# ---------------------------------------------------------------- 5: idle connections
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
fd_count() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
idle_per_conn() {  # idle_per_conn PORT DPID: KiB of RSS per held connection
    local port=$1 dpid=$2 base fds0 after hold_pid
    base=$(rss_kib "$dpid")
    fds0=$(fd_count "$dpid")
    spawn hold "$IOP_TMP/hold.out" "$XS_LOADGEN" hold "127.0.0.1:$port" "$idle"
    hold_pid=$SPAWNED_PID
    _all_held() { (($(fd_count "$dpid") >= fds0 + 2 * idle)); }
    poll_until "$idle connections through the proxy (both sides)" _all_held
    after=$(rss_kib "$dpid")
    stop "$hold_pid"
    awk -v a="$after" -v b="$base" -v n="$idle" 'BEGIN { printf "%.3f", (a - b) / n }'
}
note "idle: RSS with $idle idle connections"
export IOP_HAPROXY_MAXCONN=$((idle + 200))  # start_haproxy's global maxconn
start_pair idle --connect "$SINK" --splice never
ix=$(idle_per_conn "$XS_PORT" "$XS_DPID")
ih=$(idle_per_conn "$HP_PORT" "$HP_DPID")
result idle_rss "RSS per idle connection" "KiB" "$ix" "$ih" "" "<=0.8"
stop_pair idle

# ---------------------------------------------------------------- outputs
json=$out/compare.json md=$out/compare.md dat=$out/compare.dat
{
    echo "{"
    echo "  \"date\": \"$(date -u +%Y-%m-%dT%H:%M:%SZ)\","
    echo "  \"machine\": \"$(nproc) cores, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo), $(uname -r)\","
    echo "  \"haproxy\": \"$(haproxy -v | awk 'NR == 1 { print $3 }')\","
    echo "  \"nginx\": \"$(nginx -v 2>&1 | sed 's#.*/##')\","
    echo "  \"rounds\": $rounds, \"seconds\": $secs, \"requests\": $reqs, \"bulk_bytes\": $bulk, \"idle_conns\": $idle,"
    echo "  \"metrics\": ["
    sep=""
    for rec in "${RESULTS[@]}"; do
        IFS='|' read -r key label unit xs hp direct target pr <<<"$rec"
        printf '%s    {"key": "%s", "label": "%s", "unit": "%s", "xstack": %s, "haproxy": %s, "direct": %s, "ratio": %s, "ratio_of_medians": %s, "paired": %s, "target": "%s", "met": %s}' \
            "$sep" "$key" "$label" "$unit" "$xs" "$hp" "${direct:-null}" \
            "${pr:-$(ratio "$xs" "$hp")}" "$(ratio "$xs" "$hp")" "$([[ -n "$pr" ]] && echo true || echo false)" \
            "$target" "$(met "$xs" "$hp" "$target" "$pr")"
        sep=$',\n'
    done
    printf '\n  ]\n}\n'
} >"$json"

{
    echo "| measurement | unit | xstack | HAProxy | direct | xstack/HAProxy | ratio of medians | target | met |"
    echo "|---|---|---:|---:|---:|---:|---:|---|---|"
    for rec in "${RESULTS[@]}"; do
        IFS='|' read -r key label unit xs hp direct target pr <<<"$rec"
        m=$(met "$xs" "$hp" "$target" "$pr")
        [[ $m == null ]] && m="" || { [[ $m == true ]] && m=yes || m=no; }
        echo "| $label | $unit | $xs | $hp | ${direct:--} | ${pr:-$(ratio "$xs" "$hp")} | $(ratio "$xs" "$hp") | $target | $m |"
    done
} >"$md"
# The chart: ratio targets as they are; an absolute target on xstack's figure as figure/target
# against 1 (syscalls: lower is better; share of direct: higher is better).
: >"$dat"
for rec in "${RESULTS[@]}"; do
    IFS='|' read -r key label unit xs hp direct target pr <<<"$rec"
    case "$target" in
        ">="*|"<="*) echo "\"$label\" ${pr:-$(ratio "$xs" "$hp")} ${target:2}" >>"$dat" ;;
        xs*) echo "\"$label (/ ${target:4})\" $(ratio "$xs" "${target:4}") 1" >>"$dat" ;;
    esac
done

gnuplot <<EOF
set terminal pngcairo size 1200,560 font ",10"
set output "$out/compare.png"
set title "xstack-proxy / HAProxy $(haproxy -v | awk 'NR == 1 { print $3 }'), same run ($(date -u +%Y-%m-%d), $(nproc) cores): bars = ratio, diamonds = target"
set style data histograms
set style fill solid 0.6 border -1
set boxwidth 0.7
set yrange [0:2]
set grid ytics
set xtics rotate by -30 left
set ylabel "xstack / HAProxy (rates: higher is better; costs: lower is better)"
set key off
set bmargin 10
set rmargin 14
plot "$dat" using 2:xtic(1) lc rgb "#4a7ab0", \
     "" using 0:3 with points pt 13 ps 1.6 lc rgb "#c03030", \
     1 with lines dt 2 lc rgb "#444444"
EOF
cat "$md"
ok "comparison written to $out (compare.json, compare.md, compare.png) in $((SECONDS - started))s"
