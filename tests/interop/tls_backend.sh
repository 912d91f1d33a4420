#!/usr/bin/env bash
# curl -> xstack-proxy --tls [--tls-ca CA] [--tls-sni NAME] -> nginx `listen ... ssl` and
# openssl s_server -www (on a UNIX socket): the backend certificate is verified (by name with
# SNI, by IP without), nginx sees the SNI; a wrong name or an untrusted CA makes the backend
# connection fail with an SSL code in the proxy's log line; --tls-no-verify connects anyway.
source "$(dirname "$0")/lib.sh"
need nginx curl openssl
make_certs

cat >"$IOP_TMP/servers.conf" <<'EOF'
server {
    listen 127.0.0.1:@PORT1@ ssl;
    ssl_certificate @TMP@/pki/server.crt;
    ssl_certificate_key @TMP@/pki/server.key;
    ssl_protocols TLSv1.2 TLSv1.3;  # nginx 1.22 leaves TLS 1.3 out by default
    location / { return 200 "tls-backend proto=$ssl_protocol sni=$ssl_server_name\n"; }
}
EOF
start_nginx tls 1 "$IOP_TMP/servers.conf"
BE=127.0.0.1:$NGINX_PORT1

# good NAME WANT_BODY PROXY_ARGS...: one request through a proxy with these options succeeds.
good() {
    local name=$1 want=$2
    shift 2
    start_proxy "$name" --connect "$BE" --tls "$@"
    expect_eq "--tls $*: body" "$(xcurl "http://127.0.0.1:$PROXY_PORT/")" "$want"
    wait_log_lines "$name" 1
    expect_match "--tls $*: log line" "$(log_lines "$name")" \
        " be=SSL>RAW .* term=(client|server)_fin code=NONE "
    stop_proxy "$name"
}

# bad NAME PROXY_ARGS...: the backend TLS handshake must fail; the client gets no response
# and the log line carries this SSL code.
bad() {
    local name=$1 code=$2 rc=0 out
    shift 2
    start_proxy "$name" --connect "$BE" --tls "$@"
    out=$(xcurl "http://127.0.0.1:$PROXY_PORT/" 2>/dev/null) || rc=$?
    [[ $rc -ne 0 && -z "$out" ]] || fail "--tls $*: request succeeded (exit $rc): $out"
    ok "--tls $*: client got no response (curl exit $rc)"
    wait_log_lines "$name" 1
    BAD_LINE=$(log_lines "$name")
    expect_match "--tls $*: log line" "$BAD_LINE" \
        " term=backend_connect_failed code=$code "
    iop_note "--tls $*: $BAD_LINE"
    stop_proxy "$name"
}

good sni "tls-backend proto=TLSv1.3 sni=localhost" --tls-ca "$PKI/ca.pem" --tls-sni localhost
# An IP literal in --connect: no SNI sent, the certificate must match the IP (it does).
good ip "tls-backend proto=TLSv1.3 sni=" --tls-ca "$PKI/ca.pem"
bad wrongsni SSL_MISMATCH --tls-ca "$PKI/ca.pem" --tls-sni wrong.example
bad wrongca SSL_CA_FAIL --tls-ca "$PKI/other-ca.pem" --tls-sni localhost
good noverify "tls-backend proto=TLSv1.3 sni=wrong.example" --tls-no-verify --tls-sni wrong.example

# openssl s_server -www as the backend (on port 0: it prints the port it got): its status page
# reports the session it negotiated with xstack-proxy's client side.
spawn "openssl s_server" "$IOP_TMP/s_server.log" openssl s_server -accept 127.0.0.1:0 \
    -cert "$PKI/server.crt" -key "$PKI/server.key" -www
ssrv_ready() { grep -q '^ACCEPT 127\.0\.0\.1:[0-9]' "$IOP_TMP/s_server.log"; }
poll_until "openssl s_server" ssrv_ready
ssrv=$(sed -n 's/^ACCEPT //p' "$IOP_TMP/s_server.log" | head -n 1)
start_proxy ssrv --connect "$ssrv" --tls --tls-ca "$PKI/ca.pem" --tls-sni localhost
xcurl -o "$IOP_TMP/ssrv.html" -w '%{http_code}' "http://127.0.0.1:$PROXY_PORT/" >"$IOP_TMP/ssrv.code"
expect_eq "s_server -www status" "$(cat "$IOP_TMP/ssrv.code")" 200
expect_line "s_server saw a TLS 1.3 session" "$IOP_TMP/ssrv.html" \
    'New, TLSv1\.3, Cipher is TLS_AES_(256_GCM_SHA384|128_GCM_SHA256)'
wait_log_lines ssrv 1
expect_match "s_server backend: log line" "$(log_lines ssrv)" \
    " -> $ssrv be=SSL>RAW .* code=NONE "
stop_proxy ssrv
