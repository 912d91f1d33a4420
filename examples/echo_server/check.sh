#!/usr/bin/env bash
# Runs the example echo server the way a user would, and checks what it does:
#   examples/echo_server/check.sh ECHO_SERVER_BINARY [--tls]
# 1. --accept-proxy: a PROXY v1 header then a line; the line comes back and the server reports
#    the header's source as the client. 2. garbage instead of a header: closed with
#    PRX_NOT_HDR. 3. with --tls (OpenSSL builds): PROXY header is not used; openssl s_client
#    speaks TLS to it and gets its line back. Every wait is bounded.
set -euo pipefail
bin=$1 tls=${2:-}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/xstack-example.XXXXXX")
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; for f in "$tmp"/*.out; do echo "--- $f"; cat "$f"; done >&2; exit 1; }

# wait_for FILE PATTERN: polls FILE for a line matching PATTERN for up to 10 s.
wait_for() {
    local deadline=$((SECONDS + 10))
    until grep -qE "$2" "$1" 2>/dev/null; do
        [[ $SECONDS -lt $deadline ]] || fail "no '$2' in $1 within 10 s"
        sleep 0.05
    done
}

# start NAME ARGS...: runs the server in the background, sets $port.
start() {
    local name=$1
    shift
    timeout 30 "$bin" "$@" >"$tmp/$name.out" 2>&1 &
    pids+=($!)
    wait_for "$tmp/$name.out" '^listening on '
    port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$tmp/$name.out")
    [[ -n "$port" ]] || fail "$name: no port"
}

start proxy --accept-proxy
exec 3<>"/dev/tcp/127.0.0.1/$port"
printf 'PROXY TCP4 192.0.2.7 198.51.100.1 4242 80\r\nhello through PROXY\n' >&3
read -r -t 10 line <&3 || fail "no echo"
[[ "$line" == "hello through PROXY" ]] || fail "echo was '$line'"
exec 3>&-
wait_for "$tmp/proxy.out" '^client 192\.0\.2\.7:4242 chain RAW$'
wait_for "$tmp/proxy.out" '^closed 192\.0\.2\.7:4242 error NONE$'

exec 3<>"/dev/tcp/127.0.0.1/$port"
# The server may reset the connection as soon as the first bytes cannot be a header: a write
# of the rest can fail, which is expected.
{ printf 'GET / HTTP/1.0\r\n\r\n' >&3; } 2>/dev/null || true
exec 3>&-
wait_for "$tmp/proxy.out" '^closed 127\.0\.0\.1:[0-9]+ error PRX_NOT_HDR$'
echo "ok: PROXY header source reported, echo intact, garbage refused with PRX_NOT_HDR"

if [[ "$tls" == --tls ]]; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
        -subj /CN=localhost -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null
    cat "$tmp/cert.pem" "$tmp/key.pem" >"$tmp/site.pem"
    start tls --tls-cert "$tmp/site.pem" --once
    mkfifo "$tmp/in"
    timeout 20 openssl s_client -connect "127.0.0.1:$port" -quiet -no_ign_eof <"$tmp/in" >"$tmp/client.out" 2>&1 &
    pids+=($!)
    exec 4>"$tmp/in"
    printf 'hello through TLS\n' >&4
    wait_for "$tmp/client.out" '^hello through TLS$'
    exec 4>&-
    wait_for "$tmp/tls.out" '^client 127\.0\.0\.1:[0-9]+ chain SSL>RAW$'
    wait_for "$tmp/tls.out" '^closed 127\.0\.0\.1:[0-9]+ error NONE$'
    echo "ok: TLS terminated by the example (openssl s_client), echo intact"
fi
