# shellcheck shell=bash
# Shared helpers for the interop tests (tests/interop/*.sh): xstack-proxy against real peers
# (nginx, HAProxy, curl, openssl, socat) from Debian packages. Sourced, never run.
#
# Rules every case follows (see docs/interop.md):
#   * loopback and UNIX sockets only, everything under one `mktemp -d` directory removed at exit;
#   * no fixed port: xstack-proxy listens on 127.0.0.1:0 and reports its port; nginx and HAProxy
#     get random ports in 20000..32767 (below the ephemeral range) and are restarted on another
#     one when the bind fails (EADDRINUSE);
#   * every wait is bounded: timeout(1) around every client and daemon, readiness polled with a
#     deadline;
#   * every daemon is killed at exit (trap), and xstack-proxy must exit 0 on SIGTERM with no
#     sanitizer report in its log.
#
# Environment: XS_PROXY, XS_PP (the programs under test, set by CMake), XS_INTEROP_KEEP=1 keeps
# the temporary directory, XS_INTEROP_VERBOSE=1 prints every daemon log at the end.
set -euo pipefail

IOP_NAME=$(basename "$0" .sh)
: "${XS_PROXY:?XS_PROXY must name the xstack-proxy binary}"
: "${XS_PP:?XS_PP must name the xstack-pp binary}"

# The clients must talk to our daemons directly: no proxy from the environment, no ~/.curlrc.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy no_proxy NO_PROXY

IOP_TMP=$(mktemp -d "${TMPDIR:-/tmp}/xs-interop-$IOP_NAME.XXXXXX")
IOP_WAIT=${XS_INTEROP_WAIT:-10}          # seconds: readiness deadline for one daemon
IOP_CLIENT_MAX=${XS_INTEROP_CLIENT:-15}  # seconds: timeout(1) around each client
IOP_DAEMON_MAX=${XS_INTEROP_DAEMON:-75}  # seconds: timeout(1) around each daemon: a backstop
                                         # if the case itself is SIGKILLed (ctest TIMEOUT 60)
IOP_PIDS=()   # daemons started by spawn, killed at exit
IOP_LOGS=()   # "name=path" of their logs, shown when a case fails
IOP_CHECKS=0

iop_note() { echo "[$IOP_NAME] $*" >&2; }

IOP_FAILED=0
fail() {
    IOP_FAILED=1
    echo "FAIL [$IOP_NAME]: $*" >&2
    exit 1
}

ok() {
    IOP_CHECKS=$((IOP_CHECKS + 1))
    echo "ok   [$IOP_NAME] $*"
}

expect_eq() {  # expect_eq WHAT GOT WANT
    [[ "$2" == "$3" ]] || fail "$1: got '$2', want '$3'"
    ok "$1 = '$3'"
}

expect_match() {  # expect_match WHAT TEXT ERE
    [[ "$2" =~ $3 ]] || fail "$1: '$2' does not match /$3/"
    ok "$1 matches /$3/"
}

expect_line() {  # expect_line WHAT FILE ERE: some whole line of FILE matches ERE
    grep -Eqx -- "$3" "$2" || fail "$1: no line of $2 matches /$3/: $(head -c 3000 "$2")"
    ok "$1: line /$3/"
}

expect_ge() {  # expect_ge WHAT GOT MIN
    [[ "$2" =~ ^[0-9]+$ ]] || fail "$1: '$2' is not a number"
    (($2 >= $3)) || fail "$1: got $2, want >= $3"
    ok "$1 = $2 (>= $3)"
}

need() {  # need PROGRAM...: a missing peer is a failure, never a silent skip
    local p
    for p in "$@"; do
        command -v "$p" >/dev/null 2>&1 ||
            fail "'$p' not found: install the interop peers with: scripts/deps.sh interop"
    done
}

_iop_cleanup() {
    local rc=$? pid i deadline
    set +e
    trap - EXIT
    if ((rc != 0 && IOP_FAILED == 0)); then
        echo "FAIL [$IOP_NAME]: a command failed outside a check (last: ${IOP_LAST_ERR:-unknown})" >&2
    fi
    # Each pid is a timeout(1), the leader of its own process group with the daemon in it: it
    # forwards SIGTERM and SIGKILLs the daemon 15 s later (-k 15); the group kill is a last resort.
    for pid in "${IOP_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
    deadline=$((SECONDS + 18))
    for pid in "${IOP_PIDS[@]}"; do
        while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.05; done
        kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    if [[ $rc -ne 0 || "${XS_INTEROP_VERBOSE:-0}" == 1 ]]; then
        for i in "${IOP_LOGS[@]}"; do
            echo "----- ${i%%=*}: ${i#*=} (last 40 lines)" >&2
            tail -n 40 "${i#*=}" >&2 2>/dev/null
        done
    fi
    if [[ "${XS_INTEROP_KEEP:-0}" == 1 ]]; then
        echo "[$IOP_NAME] kept $IOP_TMP" >&2
    else
        rm -rf "$IOP_TMP"
    fi
    if [[ $rc -eq 0 && $IOP_CHECKS -eq 0 ]]; then
        echo "FAIL [$IOP_NAME]: the case ended without checking anything" >&2
        rc=1
    elif [[ $rc -eq 0 ]]; then
        echo "PASS [$IOP_NAME]: $IOP_CHECKS checks"
    fi
    exit "$rc"
}
trap _iop_cleanup EXIT
# A command that fails outside a check ends the script through set -e without a FAIL line:
# remember the last failing command, and _iop_cleanup prints it if fail() was not called.
set -E
IOP_LAST_ERR=""
trap 'IOP_LAST_ERR="exit $? at ${BASH_SOURCE[0]##*/}:$LINENO: $BASH_COMMAND"' ERR
trap 'exit 143' TERM INT HUP

# poll_until DESC CMD...: run CMD every 50 ms until it succeeds; fail after IOP_WAIT seconds.
poll_until() {
    local desc=$1 deadline=$((SECONDS + IOP_WAIT))
    shift
    until "$@"; do
        ((SECONDS < deadline)) || fail "timed out after ${IOP_WAIT}s waiting for: $desc"
        sleep 0.05
    done
}

# spawn NAME LOG CMD...: start a daemon in the background under timeout(1). Sets SPAWNED_PID.
spawn() {
    local name=$1 log=$2
    shift 2
    # -k 15: a daemon that ignores the forwarded SIGTERM is killed 15 s later (generous: an
    # instrumented proxy on a loaded 2-core CI machine may need seconds to exit).
    timeout -k 15 "$IOP_DAEMON_MAX" "$@" >"$log" 2>&1 </dev/null &
    SPAWNED_PID=$!
    IOP_PIDS+=("$SPAWNED_PID")
    IOP_LOGS+=("$name=$log")
}

alive() { kill -0 "$1" 2>/dev/null; }

# stop PID: SIGTERM, wait (bounded), and set STOPPED_RC to its exit status.
stop() {
    local pid=$1 deadline=$((SECONDS + 20)) shown=0
    kill -TERM "$pid" 2>/dev/null || true
    while alive "$pid"; do
        if ((shown == 0 && SECONDS >= deadline - 15)); then
            # Still there 5 s after SIGTERM: say what its threads are doing, for the report.
            shown=1
            local child t
            for child in $(pgrep -P "$pid"); do
                for t in /proc/"$child"/task/*; do
                    echo "slow stop: pid $child thread ${t##*/} $(cat "$t/comm" 2>/dev/null)" \
                         "state $(awk '{print $3}' "$t/stat" 2>/dev/null)" \
                         "wchan $(cat "$t/wchan" 2>/dev/null)" >&2
                done
            done
        fi
        if ((SECONDS >= deadline)); then
            kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null
            break
        fi
        sleep 0.05
    done
    STOPPED_RC=0
    wait "$pid" 2>/dev/null || STOPPED_RC=$?
}

# A random port below the ephemeral range (so no outgoing connection holds it) that nobody
# listens on right now. The daemon that binds it may still lose a race: the start_* functions
# retry on EADDRINUSE.
pick_port() {
    local p i
    for i in $(seq 1 50); do
        p=$((20000 + RANDOM % 12768))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"
            return 0
        fi
    done
    fail "no free port found"
}

http_probe() {  # http_probe UNIX_SOCKET: the daemon answers "probe-ok" on its probe socket
    [[ "$(timeout 2 curl -q -s --unix-socket "$1" http://probe/ 2>/dev/null)" == probe-ok ]]
}

# ---------------------------------------------------------------- xstack-proxy
# start_proxy NAME ARGS...: xstack-proxy --listen 127.0.0.1:0 ARGS..., waits for its
# "listening on" line. Sets PROXY_PID, PROXY_PORT, PROXY_LOG (also PROXY_<NAME>_* copies).
start_proxy() {
    local name=$1 line
    shift
    PROXY_LOG=$IOP_TMP/proxy-$name.log
    spawn "xstack-proxy $name" "$PROXY_LOG" "$XS_PROXY" --listen 127.0.0.1:0 "$@"
    PROXY_PID=$SPAWNED_PID
    _proxy_ready() {
        alive "$PROXY_PID" || fail "xstack-proxy $name exited at startup: $(cat "$PROXY_LOG")"
        grep -q '^xstack-proxy: listening on ' "$PROXY_LOG" 2>/dev/null
    }
    poll_until "xstack-proxy $name to listen" _proxy_ready
    line=$(grep -m1 '^xstack-proxy: listening on ' "$PROXY_LOG")
    [[ "$line" =~ listening\ on\ 127\.0\.0\.1:([0-9]+), ]] || fail "unexpected line: $line"
    PROXY_PORT=${BASH_REMATCH[1]}
    printf -v "PROXY_${name}_PID" '%s' "$PROXY_PID"
    printf -v "PROXY_${name}_PORT" '%s' "$PROXY_PORT"
    printf -v "PROXY_${name}_LOG" '%s' "$PROXY_LOG"
    iop_note "xstack-proxy $name on 127.0.0.1:$PROXY_PORT (pid $PROXY_PID): $*"
}

# stop_proxy NAME: SIGTERM, then it must have exited 0 with no sanitizer report.
stop_proxy() {
    local name=$1 pidv="PROXY_${1}_PID" logv="PROXY_${1}_LOG"
    stop "${!pidv}"
    expect_eq "xstack-proxy $name exit status after SIGTERM" "$STOPPED_RC" 0
    if grep -qE 'AddressSanitizer|LeakSanitizer|ThreadSanitizer|runtime error:' "${!logv}"; then
        fail "xstack-proxy $name: sanitizer report in ${!logv}"
    fi
}

# log_lines NAME: the proxy's per-connection log lines so far
log_lines() {
    local logv="PROXY_${1}_LOG"
    grep -E ' term=[a-z_]+ code=' "${!logv}" || true
}

# wait_log_lines NAME N: until the proxy has logged N closed connections
wait_log_lines() {
    _n_lines() { (($(log_lines "$1" | wc -l) >= $2)); }
    poll_until "$2 log line(s) from xstack-proxy $1" _n_lines "$1" "$2"
}

# stats SOCKET CMD: one command on the stats socket, the answer on stdout
stats() {
    echo "$2" | timeout "$IOP_CLIENT_MAX" socat -t 5 - "UNIX-CONNECT:$1"
}

stat_value() {  # stat_value SOCKET KEY
    stats "$1" "show info" | sed -n "s/^$2: //p"
}

# ---------------------------------------------------------------- nginx
# start_nginx NAME NPORTS SERVERS_FILE: nginx in the foreground as the current user
# (daemon off, master_process off), prefix, pid, logs and temp paths under $IOP_TMP/nginx-NAME.
# SERVERS_FILE holds the server{} blocks with @PORT1@..@PORTn@ and @DIR@ placeholders; a probe
# server on a UNIX socket is added. Sets NGINX_PORT1..n, NGINX_DIR, NGINX_PID.
start_nginx() {
    local name=$1 nports=$2 servers=$3 dir attempt i p conf sed_args
    dir=$IOP_TMP/nginx-$name
    mkdir -p "$dir/tmp" "$dir/logs"
    NGINX_DIR=$dir
    for attempt in 1 2 3 4 5; do
        sed_args=(-e "s#@DIR@#$dir#g" -e "s#@TMP@#$IOP_TMP#g")
        for ((i = 1; i <= nports; i++)); do
            p=$(pick_port)
            printf -v "NGINX_PORT$i" '%s' "$p"
            sed_args+=(-e "s#@PORT$i@#$p#g")
        done
        conf=$dir/nginx.conf
        rm -f "$dir/probe.sock"
        {
            cat <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/logs/error.log info;
events { worker_connections 256; }
http {
    access_log $dir/logs/access.log;
    client_body_temp_path $dir/tmp/client_body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    default_type application/octet-stream;
    keepalive_requests 1000;
    keepalive_timeout 30s;
    server {
        listen unix:$dir/probe.sock;
        location / { return 200 "probe-ok"; }
    }
EOF
            sed "${sed_args[@]}" "$servers"
            echo "}"
        } >"$conf"
        : >"$dir/logs/error.log"
        spawn "nginx $name" "$dir/stderr.log" nginx -p "$dir" -c "$conf" -e "$dir/logs/error.log"
        NGINX_PID=$SPAWNED_PID
        local deadline=$((SECONDS + IOP_WAIT))
        while ((SECONDS < deadline)); do
            if grep -q 'failed (98: Address already in use)' "$dir/logs/error.log"; then
                break
            fi
            if ! alive "$NGINX_PID"; then
                break
            fi
            if http_probe "$dir/probe.sock"; then
                iop_note "nginx $name ready (pid $NGINX_PID, ports: $(grep -o 'listen 127.0.0.1:[0-9]*' "$conf" | cut -d: -f2 | xargs))"
                IOP_LOGS+=("nginx $name error.log=$dir/logs/error.log")
                return 0
            fi
            sleep 0.05
        done
        if grep -q 'Address already in use' "$dir/logs/error.log"; then
            iop_note "nginx $name: port taken, retrying ($attempt)"
            stop "$NGINX_PID"
            continue
        fi
        cat "$dir/stderr.log" "$dir/logs/error.log" >&2
        fail "nginx $name did not start"
    done
    fail "nginx $name: no free port after 5 attempts"
}

# ---------------------------------------------------------------- HAProxy
# start_haproxy NAME NPORTS CFG_FILE: haproxy -db (foreground) as the current user. CFG_FILE
# holds the frontends/backends with @PORT1@.. and @TMP@ placeholders; a probe frontend on a UNIX
# socket is added. Sets HAPROXY_PORT1..n, HAPROXY_PID.
start_haproxy() {
    local name=$1 nports=$2 body=$3 dir attempt i p conf sed_args
    dir=$IOP_TMP/haproxy-$name
    mkdir -p "$dir"
    for attempt in 1 2 3 4 5; do
        sed_args=(-e "s#@TMP@#$IOP_TMP#g")
        for ((i = 1; i <= nports; i++)); do
            p=$(pick_port)
            printf -v "HAPROXY_PORT$i" '%s' "$p"
            sed_args+=(-e "s#@PORT$i@#$p#g")
        done
        conf=$dir/haproxy.cfg
        rm -f "$dir/probe.sock"
        {
            cat <<EOF
global
    maxconn ${IOP_HAPROXY_MAXCONN:-256}
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend probe
    mode http
    bind unix@$dir/probe.sock
    http-request return status 200 content-type text/plain string probe-ok
EOF
            sed "${sed_args[@]}" "$body"
        } >"$conf"
        spawn "haproxy $name" "$dir/stderr.log" haproxy -f "$conf" -db
        HAPROXY_PID=$SPAWNED_PID
        local deadline=$((SECONDS + IOP_WAIT))
        while ((SECONDS < deadline)); do
            alive "$HAPROXY_PID" || break
            if http_probe "$dir/probe.sock"; then
                iop_note "haproxy $name ready (pid $HAPROXY_PID)"
                return 0
            fi
            sleep 0.05
        done
        if grep -q 'Address already in use' "$dir/stderr.log"; then
            iop_note "haproxy $name: port taken, retrying ($attempt)"
            stop "$HAPROXY_PID"
            continue
        fi
        cat "$dir/stderr.log" >&2
        fail "haproxy $name did not start"
    done
    fail "haproxy $name: no free port after 5 attempts"
}

# ---------------------------------------------------------------- certificates
# make_certs: $IOP_TMP/pki/{ca.pem, server.crt, server.key, server.pem (chain+key),
# other-ca.pem}: an EC P-256 CA, a server certificate for localhost and 127.0.0.1 signed by
# it, and an unrelated CA for the negative cases.
make_certs() {
    local d=$IOP_TMP/pki
    mkdir -p "$d"
    local o=(timeout "$IOP_CLIENT_MAX" openssl)
    "${o[@]}" req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
        -subj "/CN=xstack interop CA" -keyout "$d/ca.key" -out "$d/ca.pem" 2>/dev/null
    "${o[@]}" req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
        -subj "/CN=unrelated CA" -keyout "$d/other-ca.key" -out "$d/other-ca.pem" 2>/dev/null
    "${o[@]}" req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -subj "/CN=localhost" -keyout "$d/server.key" -out "$d/server.csr" 2>/dev/null
    printf '%s\n' "subjectAltName=DNS:localhost,IP:127.0.0.1" \
        "basicConstraints=CA:FALSE" "keyUsage=digitalSignature" \
        "extendedKeyUsage=serverAuth" >"$d/server.ext"
    "${o[@]}" x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
        -CAcreateserial -days 2 -extfile "$d/server.ext" -out "$d/server.crt" 2>/dev/null
    cat "$d/server.crt" "$d/server.key" >"$d/server.pem"
    "${o[@]}" verify -CAfile "$d/ca.pem" "$d/server.crt" >/dev/null ||
        fail "test certificate does not verify"
    PKI=$d
}

# socat_send PORT TEXT: connect to 127.0.0.1:PORT with socat, send TEXT, half-close, read what
# comes back for up to 0.5 s. Sets SENT_FROM to the client's local address as socat reports it.
socat_send() {
    local log
    log=$(mktemp "$IOP_TMP/socat-client.XXXXXX")
    printf '%s' "$2" | timeout "$IOP_CLIENT_MAX" socat -d -d -t 0.5 - "TCP:127.0.0.1:$1" \
        2>"$log" >/dev/null || fail "socat client to port $1 failed: $(cat "$log")"
    SENT_FROM=$(sed -nE 's/.* connected from local address AF=2 (127\.0\.0\.1:[0-9]+).*/\1/p' "$log")
    [[ -n "$SENT_FROM" ]] || fail "no local address in the socat client log: $(cat "$log")"
}

# curl with the defaults every case wants: no ~/.curlrc, bounded, quiet but errors shown.
xcurl() {
    timeout "$IOP_CLIENT_MAX" curl -q -sS --max-time "$IOP_CLIENT_MAX" "$@"
}
