#!/usr/bin/env bash
# Compare.haproxy_cfg: every configuration haproxy-cfg.sh writes is one HAProxy 2.6 accepts
# (haproxy -c), carries the translated settings, and an option it cannot translate is refused.
#   haproxy_cfg_test.sh PATH/TO/haproxy-cfg.sh
set -euo pipefail
adapter=$1
haproxy=$(command -v haproxy || echo /usr/sbin/haproxy)
[[ -x "$haproxy" ]] || { echo "FAIL: haproxy not found: scripts/deps.sh interop" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
    -subj /CN=localhost -keyout "$tmp/c.pem.key" -out "$tmp/c.pem" 2>/dev/null
checks=0

# case NAME WANTED-LINE-ERE... -- OPTIONS...
case_ok() {
    local name=$1 wants=() cfg
    shift
    while [[ $1 != -- ]]; do wants+=("$1"); shift; done
    shift
    cfg=$tmp/$name.cfg
    "$adapter" "$@" >"$cfg" || { echo "FAIL [$name]: adapter refused: $*" >&2; exit 1; }
    if ! "$haproxy" -c -f "$cfg" >"$tmp/$name.out" 2>&1; then
        echo "FAIL [$name]: haproxy -c rejected:" >&2
        cat "$cfg" "$tmp/$name.out" >&2
        exit 1
    fi
    local w
    for w in "${wants[@]}"; do
        grep -Eqx -- "$w" "$cfg" || { echo "FAIL [$name]: no line /$w/ in:" >&2; cat "$cfg" >&2; exit 1; }
    done
    checks=$((checks + 1))
    echo "ok   [$name]"
}

case_refused() {
    local name=$1
    shift
    if "$adapter" "$@" >/dev/null 2>"$tmp/$name.err"; then
        echo "FAIL [$name]: the adapter accepted: $*" >&2
        exit 1
    fi
    grep -q '^haproxy-cfg: ' "$tmp/$name.err" || { echo "FAIL [$name]: no message" >&2; exit 1; }
    checks=$((checks + 1))
    echo "ok   [$name] refused: $(cat "$tmp/$name.err")"
}

case_ok plain '    bind 127\.0\.0\.1:8080' '    server s1 127\.0\.0\.1:80' '    nosplice' \
    -- --listen 127.0.0.1:8080 --connect 127.0.0.1:80 --splice never
case_ok proxy_both '    bind 127\.0\.0\.1:8080 accept-proxy' '    server s1 127\.0\.0\.1:80 send-proxy-v2' \
    '    option splice-request' '    option splice-response' '    nbthread 2' \
    -- --listen=127.0.0.1:8080 --connect=127.0.0.1:80 --accept-proxy --send-proxy-v2 \
       --splice=always --threads 2
case_ok v1_auto '    server s1 127\.0\.0\.1:80 send-proxy' '    option splice-auto' \
    '    tune\.pipesize 262144' '    noepoll' \
    -- --listen 127.0.0.1:8080 --connect 127.0.0.1:80 --send-proxy --pipe-size 262144 --poller poll
case_ok tls_front "    bind 127\\.0\\.0\\.1:8443 ssl crt $tmp/c\\.pem alpn h2,http/1\\.1" \
    -- --listen 127.0.0.1:8443 --connect 127.0.0.1:80 --tls-cert "$tmp/c.pem" \
       --tls-key "$tmp/c.pem.key" --alpn h2,http/1.1
case_ok tls_back "    server s1 127\\.0\\.0\\.1:443 ssl verify required ca-file $tmp/c\\.pem verifyhost localhost sni str\\(localhost\\)" \
    -- --listen 127.0.0.1:8080 --connect 127.0.0.1:443 --tls --tls-ca "$tmp/c.pem" --tls-sni localhost
case_ok tls_noverify '    server s1 127\.0\.0\.1:443 ssl verify none' \
    -- --listen 127.0.0.1:8080 --connect 127.0.0.1:443 --tls --tls-no-verify
case_ok timeouts '    timeout connect 250ms' '    timeout client 1000ms' '    timeout server 1000ms' \
    -- --listen 127.0.0.1:8080 --connect 127.0.0.1:80 --handshake-timeout 250 --idle-timeout 1000
case_ok addresses '    bind ipv6@::1:8080 tfo' "    server s1 unix@$tmp/b\\.sock tfo" \
    "    stats socket abns@xs-cfg-test mode 600 level user" \
    -- --listen '[::1]:8080' --connect "unix:$tmp/b.sock" --tfo --stats-socket @xs-cfg-test
case_refused unknown --listen 127.0.0.1:1 --connect 127.0.0.1:2 --bogus
case_refused no_value --listen 127.0.0.1:1 --connect
case_refused bad_poller --listen 127.0.0.1:1 --connect 127.0.0.1:2 --poller select
case_refused bad_splice --listen 127.0.0.1:1 --connect 127.0.0.1:2 --splice sometimes
case_refused key_elsewhere --listen 127.0.0.1:1 --connect 127.0.0.1:2 --tls-cert "$tmp/c.pem" \
    --tls-key "$tmp/other.key"
case_refused no_connect --listen 127.0.0.1:1
echo "PASS: $checks checks"
