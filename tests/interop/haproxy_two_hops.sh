#!/usr/bin/env bash
# curl -> HAProxy (mode tcp, `server ... send-proxy` and `send-proxy-v2`)
#      -> xstack-proxy --accept-proxy --send-proxy -> nginx `listen ... proxy_protocol`:
# xstack-proxy accepts HAProxy's v1 and v2 headers, v2 with TLVs (proxy-v2-options crc32c,
# unique-id), and a v2 header followed by TLS (`server ... ssl send-proxy-v2` into
# xstack-proxy --accept-proxy --tls-cert: SSL>HS>RAW); the original client address (curl's)
# and destination (HAProxy's frontend) survive both hops into nginx. HAProxy's health checks
# with check-send-proxy send a v2 LOCAL header: xstack-proxy accepts it (HsProxyLocal).
source "$(dirname "$0")/lib.sh"
need haproxy nginx curl socat
# XS_TLS=0 (set by CMake for a build without OpenSSL): the TLS hop is left out.
tls=${XS_TLS:-1}
if [[ $tls == 1 ]]; then
    need openssl
    make_certs
else
    iop_note "xstack-proxy built without OpenSSL: no TLS hop"
fi

cat >"$IOP_TMP/servers.conf" <<'EOF'
server {
    listen 127.0.0.1:@PORT1@ proxy_protocol;
    location / {
        return 200
            "src=$proxy_protocol_addr:$proxy_protocol_port dst=$proxy_protocol_server_addr:$proxy_protocol_server_port\n";
    }
}
EOF
start_nginx pp 1 "$IOP_TMP/servers.conf"

start_proxy hop --connect "127.0.0.1:$NGINX_PORT1" --accept-proxy --send-proxy \
    --stats-socket "$IOP_TMP/stats.sock"
XS=$PROXY_PORT
start_proxy chk --connect "127.0.0.1:$NGINX_PORT1" --accept-proxy --send-proxy \
    --stats-socket "$IOP_TMP/stats-chk.sock"
XSCHK=$PROXY_PORT
if [[ $tls == 1 ]]; then
    start_proxy tlshop --connect "127.0.0.1:$NGINX_PORT1" --accept-proxy \
        --tls-cert "$PKI/server.pem" --send-proxy --stats-socket "$IOP_TMP/stats-tls.sock"
    XSTLS=$PROXY_PORT
fi

cat >"$IOP_TMP/haproxy.body" <<EOF
frontend fe_v1
    mode tcp
    bind 127.0.0.1:@PORT1@
    default_backend be_v1
backend be_v1
    mode tcp
    server xs 127.0.0.1:$XS send-proxy
frontend fe_v2
    mode tcp
    bind 127.0.0.1:@PORT2@
    default_backend be_v2
backend be_v2
    mode tcp
    server xs 127.0.0.1:$XS send-proxy-v2
frontend fe_v2tlv
    mode tcp
    bind 127.0.0.1:@PORT3@
    unique-id-format %{+X}o\ %ci:%cp_%fi:%fp_%Ts_%rt:%pid
    default_backend be_v2tlv
backend be_v2tlv
    mode tcp
    server xs 127.0.0.1:$XS send-proxy-v2 proxy-v2-options crc32c,unique-id
backend be_checks
    mode tcp
    server xs 127.0.0.1:$XSCHK send-proxy-v2 check check-send-proxy inter 100ms
EOF
cases=(v1 v2 v2tlv)
if [[ $tls == 1 ]]; then
    cases+=(tls)
    cat >>"$IOP_TMP/haproxy.body" <<EOF
frontend fe_tls
    mode tcp
    bind 127.0.0.1:@PORT4@
    default_backend be_tls
backend be_tls
    mode tcp
    server xs 127.0.0.1:$XSTLS send-proxy-v2 ssl verify required ca-file $PKI/ca.pem \
        sni str(localhost) alpn http/1.1
EOF
fi
start_haproxy hap "${#cases[@]}" "$IOP_TMP/haproxy.body"

n=0
for v in "${cases[@]}"; do
    case $v in
        v1) port=$HAPROXY_PORT1 ;;
        v2) port=$HAPROXY_PORT2 ;;
        v2tlv) port=$HAPROXY_PORT3 ;;
        tls) port=$HAPROXY_PORT4 ;;
    esac
    out=$(xcurl -w ' client=%{local_ip}:%{local_port} code=%{http_code}' "http://127.0.0.1:$port/")
    [[ "$out" =~ client=([0-9.]+:[0-9]+)\ code=200$ ]] || fail "HAProxy $v: unexpected: $out"
    client=${BASH_REMATCH[1]}
    expect_eq "HAProxy send-proxy($v) -> xstack-proxy -> nginx: addresses nginx read" \
        "$(echo "$out" | head -n 1)" "src=$client dst=127.0.0.1:$port"
    if [[ $v == tls ]]; then
        wait_log_lines tlshop 1
        expect_match "xstack-proxy (TLS) log names the original client" "$(log_lines tlshop)" \
            "^${client//./\\.} fe=SSL>RAW -> 127\.0\.0\.1:$NGINX_PORT1 be=RAW .* code=NONE "
        continue
    fi
    n=$((n + 1))
    wait_log_lines hop "$n"
    expect_match "xstack-proxy log names the original client ($v)" "$(log_lines hop | tail -n 1)" \
        "^${client//./\\.} fe=RAW -> 127\.0\.0\.1:$NGINX_PORT1 be=RAW .* code=NONE "
done

if [[ $tls == 1 ]]; then
    s=$(stats "$IOP_TMP/stats-tls.sock" "show info")
    expect_eq "TLS hop: HsProxyV2" "$(echo "$s" | sed -n 's/^HsProxyV2: //p')" 1
    expect_eq "TLS hop: HsSentV1" "$(echo "$s" | sed -n 's/^HsSentV1: //p')" 1
    stop_proxy tlshop
fi

s=$(stats "$IOP_TMP/stats.sock" "show info")
expect_eq "HsProxyV1 (headers accepted from HAProxy)" "$(echo "$s" | sed -n 's/^HsProxyV1: //p')" 1
expect_eq "HsProxyV2 (headers accepted from HAProxy)" "$(echo "$s" | sed -n 's/^HsProxyV2: //p')" 2
expect_eq "HsSentV1 (headers sent to nginx)" "$(echo "$s" | sed -n 's/^HsSentV1: //p')" 3
expect_eq "HsFailed" "$(echo "$s" | sed -n 's/^HsFailed: //p')" 0
stop_proxy hop

# HAProxy's health checks: a v2 LOCAL header, then the check closes.
two_locals() { (($(stat_value "$IOP_TMP/stats-chk.sock" HsProxyLocal) >= 2)); }
poll_until "two HAProxy health checks (PROXY v2 LOCAL) at xstack-proxy" two_locals
ok "xstack-proxy accepted HAProxy's LOCAL health-check headers"
expect_eq "health checks: HsFailed" "$(stat_value "$IOP_TMP/stats-chk.sock" HsFailed)" 0
stop_proxy chk
