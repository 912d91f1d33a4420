#!/usr/bin/env bash
# curl (https, --cacert) -> xstack-proxy --tls-cert --alpn h2,http/1.1 -> nginx (plain HTTP):
# TLS terminated by the proxy, ALPN http/1.1 negotiated for a client offering only http/1.1,
# the certificate verifies for the name (SNI localhost) and for the IP, a 4 MiB body is
# byte-identical, a client trusting another CA fails verification; and HTTP/2 end to end: curl
# --http2 gets ALPN h2 from the proxy, whose backend is an nginx `listen ... http2` (cleartext
# HTTP/2 with prior knowledge).
source "$(dirname "$0")/lib.sh"
need nginx curl openssl sha256sum
make_certs

www=$IOP_TMP/www
mkdir -p "$www"
printf 'hello over tls\n' >"$www/index.html"
head -c $((4 * 1024 * 1024)) /dev/urandom >"$www/big.bin"
big_sha=$(sha256sum <"$www/big.bin" | cut -d' ' -f1)
cat >"$IOP_TMP/servers.conf" <<EOF
server {
    listen 127.0.0.1:@PORT1@;
    root $www;
}
server {
    listen 127.0.0.1:@PORT2@ http2;
    root $www;
}
EOF
start_nginx web 2 "$IOP_TMP/servers.conf"

start_proxy tls --connect "127.0.0.1:$NGINX_PORT1" --tls-cert "$PKI/server.pem" \
    --alpn h2,http/1.1
P=$PROXY_PORT
resolve=(--resolve "localhost:$P:127.0.0.1")

# By name (SNI localhost), HTTP/1.1 only offered: ALPN must settle on http/1.1.
out=$(xcurl -v --http1.1 --cacert "$PKI/ca.pem" "${resolve[@]}" \
    -w '\n%{http_code} %{http_version} %{ssl_verify_result}' \
    "https://localhost:$P/index.html" 2>"$IOP_TMP/curl1.err")
expect_eq "https by name: body, status, HTTP version, verify result" \
    "$(echo "$out" | xargs)" "hello over tls 200 1.1 0"
expect_match "curl saw ALPN http/1.1 accepted" "$(cat "$IOP_TMP/curl1.err")" \
    'ALPN: server accepted http/1\.1'
expect_match "curl saw TLS 1.3" "$(cat "$IOP_TMP/curl1.err")" 'SSL connection using TLSv1\.3'
expect_match "curl verified the name" "$(cat "$IOP_TMP/curl1.err")" \
    'subjectAltName: host "localhost" matched'

# By IP (no SNI): the certificate's IP SAN verifies.
out=$(xcurl --http1.1 --cacert "$PKI/ca.pem" -w ' %{http_code} %{ssl_verify_result}' \
    "https://127.0.0.1:$P/index.html")
expect_eq "https by IP: body, status, verify result" "$(echo "$out" | xargs)" \
    "hello over tls 200 0"

# 4 MiB through the TLS frontend.
xcurl --http1.1 --cacert "$PKI/ca.pem" "${resolve[@]}" -o "$IOP_TMP/big" \
    "https://localhost:$P/big.bin"
expect_eq "4 MiB over TLS sha256" "$(sha256sum <"$IOP_TMP/big" | cut -d' ' -f1)" "$big_sha"

wait_log_lines tls 3
expect_eq "log lines with fe=SSL>RAW and code=NONE" \
    "$(log_lines tls | grep -cE '^127\.0\.0\.1:[0-9]+ fe=SSL>RAW -> .* be=RAW .* code=NONE ')" 3

# A client that trusts another CA must refuse the proxy's certificate (curl exit 60).
rc=0
xcurl --http1.1 --cacert "$PKI/other-ca.pem" "${resolve[@]}" -o "$IOP_TMP/wrong.out" \
    "https://localhost:$P/index.html" 2>"$IOP_TMP/curl-wrong.err" || rc=$?
expect_eq "curl with the wrong CA: exit status (CURLE_PEER_FAILED_VERIFICATION)" "$rc" 60
expect_match "curl with the wrong CA: message" "$(cat "$IOP_TMP/curl-wrong.err")" \
    'SSL certificate problem: unable to get local issuer certificate'
[[ ! -s "$IOP_TMP/wrong.out" ]] || fail "curl with the wrong CA received a body"
ok "curl with the wrong CA received no body"
wait_log_lines tls 4
expect_match "proxy log for the refused handshake" "$(log_lines tls | tail -n 1)" \
    ' fe=SSL>RAW .* term=client_handshake_(failed|aborted) code=SSL_[A-Z_]+ '

stop_proxy tls

# HTTP/2: ALPN h2 (the proxy's first choice), forwarded to nginx's cleartext HTTP/2 listener.
start_proxy h2 --connect "127.0.0.1:$NGINX_PORT2" --tls-cert "$PKI/server.pem" \
    --alpn h2,http/1.1
P=$PROXY_PORT
out=$(xcurl -v --http2 --cacert "$PKI/ca.pem" --resolve "localhost:$P:127.0.0.1" \
    -w ' %{http_code} %{http_version}' -o "$IOP_TMP/h2.big" "https://localhost:$P/big.bin" \
    -o "$IOP_TMP/h2.index" "https://localhost:$P/index.html" 2>"$IOP_TMP/curl-h2.err")
expect_eq "HTTP/2 over the TLS frontend: two requests, status and version" \
    "$(echo "$out" | xargs)" "200 2 200 2"
expect_eq "HTTP/2 body" "$(cat "$IOP_TMP/h2.index")" "hello over tls"
expect_match "curl saw ALPN h2 accepted" "$(cat "$IOP_TMP/curl-h2.err")" 'ALPN: server accepted h2'
expect_eq "4 MiB over HTTP/2 sha256" "$(sha256sum <"$IOP_TMP/h2.big" | cut -d' ' -f1)" "$big_sha"
wait_log_lines h2 1
expect_eq "HTTP/2: one connection for both requests" "$(log_lines h2 | wc -l)" 1
stop_proxy h2
