#!/usr/bin/env bash
# curl -> xstack-proxy --tls --tls-ca CA --tls-sni localhost -> HAProxy `bind ... ssl crt`
#      (mode http) -> nginx: TLS originated by the proxy and terminated by HAProxy, which reports
# the TLS version and SNI it saw; a wrong CA is refused by the proxy with SSL_CA_FAIL.
source "$(dirname "$0")/lib.sh"
need haproxy nginx curl openssl
make_certs

cat >"$IOP_TMP/servers.conf" <<'EOF2'
server {
    listen unix:@DIR@/web.sock;
    location / {
        return 200 "tls=$http_x_tls sni=$http_x_sni\n";
    }
}
EOF2
start_nginx web 0 "$IOP_TMP/servers.conf"

cat >"$IOP_TMP/haproxy.body" <<EOF2
frontend fe
    mode http
    bind 127.0.0.1:@PORT1@ ssl crt $PKI/server.pem
    http-request set-header X-Tls %[ssl_fc_protocol]
    http-request set-header X-Sni %[ssl_fc_sni]
    default_backend web
backend web
    mode http
    server nginx unix@$NGINX_DIR/web.sock
EOF2
start_haproxy tls 1 "$IOP_TMP/haproxy.body"

start_proxy good --connect "127.0.0.1:$HAPROXY_PORT1" --tls --tls-ca "$PKI/ca.pem" \
    --tls-sni localhost
for i in 1 2; do
    expect_eq "xstack-proxy --tls -> HAProxy ssl, request $i: what HAProxy saw" \
        "$(xcurl "http://127.0.0.1:$PROXY_PORT/")" "tls=TLSv1.3 sni=localhost"
done
wait_log_lines good 2
expect_eq "--tls to HAProxy: log lines with be=SSL>RAW code=NONE" \
    "$(log_lines good | grep -cE ' be=SSL>RAW .* code=NONE ')" 2
stop_proxy good

start_proxy badca --connect "127.0.0.1:$HAPROXY_PORT1" --tls --tls-ca "$PKI/other-ca.pem" \
    --tls-sni localhost
rc=0
xcurl -o /dev/null "http://127.0.0.1:$PROXY_PORT/" 2>/dev/null || rc=$?
[[ $rc -ne 0 ]] || fail "a backend with a certificate from another CA was used"
wait_log_lines badca 1
expect_eq "--tls with the wrong CA: refused with SSL_CA_FAIL" \
    "$(log_lines badca | grep -c ' code=SSL_CA_FAIL')" 1
stop_proxy badca
