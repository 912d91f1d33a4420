#!/usr/bin/env bash
# openssl s_client -> xstack-proxy --tls-cert --alpn h2,http/1.1 -> an echo server (socat on a
# UNIX socket): the protocol, cipher and ALPN lines s_client prints, the certificate verified,
# and the data echoed back through the TLS frontend. TLS 1.3 and 1.2; ALPN by server
# preference; a client offering no common protocol is refused (SSL_NO_ALPN).
source "$(dirname "$0")/lib.sh"
need openssl socat
make_certs

echo_sock=$IOP_TMP/echo.sock
spawn "socat echo" "$IOP_TMP/echo.log" socat "UNIX-LISTEN:$echo_sock,fork" PIPE
echo_ready() { [[ -S "$echo_sock" ]] && timeout 2 socat -u /dev/null "UNIX-CONNECT:$echo_sock" 2>/dev/null; }
poll_until "the socat echo server" echo_ready

start_proxy tls --connect "unix:$echo_sock" --tls-cert "$PKI/server.pem" --alpn h2,http/1.1
P=$PROXY_PORT

# sclient NAME ARGS...: send one unique line, keep stdin open until it came back (bounded),
# then close. The transcript is in $IOP_TMP/NAME.out / .err, the line in $MSG.
sclient() {
    local name=$1 out=$IOP_TMP/$1.out
    shift
    MSG="xstack-interop-$name-$RANDOM$RANDOM"
    : >"$out"
    {
        printf '%s\n' "$MSG"
        # ... or until s_client reported an error (then nothing will come back).
        got_echo() { grep -qx "$MSG" "$out" || grep -q ':error:' "$IOP_TMP/$name.err"; }
        poll_until "the echo of $MSG" got_echo 2>/dev/null || true
    } | timeout "$IOP_CLIENT_MAX" openssl s_client -connect "127.0.0.1:$P" -CAfile "$PKI/ca.pem" \
        -verify_return_error "$@" >"$out" 2>"$IOP_TMP/$name.err"
}

sclient v13 -servername localhost -verify_hostname localhost -alpn http/1.1,h2 ||
    fail "s_client (TLS 1.3) failed: $(cat "$IOP_TMP/v13.err")"
o=$IOP_TMP/v13.out
expect_line "TLS 1.3: protocol and cipher" "$o" 'New, TLSv1\.3, Cipher is TLS_AES_(256_GCM_SHA384|128_GCM_SHA256)'
expect_line "TLS 1.3: ALPN by the server's preference (h2 first)" "$o" 'ALPN protocol: h2'
expect_line "TLS 1.3: certificate verified for localhost" "$o" ' *Verify return code: 0 \(ok\)'
expect_line "TLS 1.3: subject" "$o" 'subject=CN = localhost'
expect_line "TLS 1.3: the line came back" "$o" "$MSG"

sclient v12 -tls1_2 -servername localhost -alpn http/1.1 ||
    fail "s_client (TLS 1.2) failed: $(cat "$IOP_TMP/v12.err")"
o=$IOP_TMP/v12.out
expect_line "TLS 1.2: protocol and cipher (ECDSA certificate)" "$o" \
    'New, TLSv1\.2, Cipher is ECDHE-ECDSA-[A-Z0-9-]+'
expect_line "TLS 1.2: ALPN" "$o" 'ALPN protocol: http/1\.1'
expect_line "TLS 1.2: the line came back" "$o" "$MSG"

wait_log_lines tls 2
expect_eq "log lines: fe=SSL>RAW, unix backend, clean end" \
    "$(log_lines tls | grep -cE "^127\.0\.0\.1:[0-9]+ fe=SSL>RAW -> unix:$echo_sock be=RAW .* term=(client|server)_fin code=NONE ")" 2

# No protocol in common: the proxy refuses the handshake.
rc=0
sclient noalpn -servername localhost -alpn spdy/1 || rc=$?
[[ $rc -ne 0 ]] || fail "s_client offering only spdy/1 succeeded"
ok "s_client offering only spdy/1 failed (exit $rc)"
expect_match "s_client saw the no_application_protocol alert" "$(cat "$IOP_TMP/noalpn.err")" \
    'no application protocol|alert number 120'
wait_log_lines tls 3
expect_match "proxy log for the refused ALPN" "$(log_lines tls | tail -n 1)" \
    ' term=client_handshake_failed code=SSL_NO_ALPN '

stop_proxy tls
