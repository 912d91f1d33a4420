#!/usr/bin/env bash
# curl -> xstack-proxy --send-proxy / --send-proxy-v2 -> nginx `listen ... proxy_protocol`:
# nginx accepts both headers and reports, from them, the client's address and port (curl's own
# local address) and the address the client connected to (the proxy's listener). nginx also
# refuses a connection without a header, so the header really is what it parsed.
source "$(dirname "$0")/lib.sh"
need nginx curl socat

cat >"$IOP_TMP/servers.conf" <<'EOF'
server {
    listen 127.0.0.1:@PORT1@ proxy_protocol;
    location / {
        return 200 "src=$proxy_protocol_addr:$proxy_protocol_port dst=$proxy_protocol_server_addr:$proxy_protocol_server_port peer=$remote_addr:$remote_port\n";
    }
}
EOF
start_nginx pp 1 "$IOP_TMP/servers.conf"

# Without a header nginx must refuse: proves the listener really requires PROXY.
rc=0
xcurl -o /dev/null "http://127.0.0.1:$NGINX_PORT1/" 2>/dev/null || rc=$?
[[ $rc -ne 0 ]] || fail "nginx proxy_protocol listener answered a request without a header"
ok "nginx refuses a connection without a PROXY header (curl exit $rc)"

for v in v1 v2; do
    flag=--send-proxy
    [[ $v == v2 ]] && flag=--send-proxy-v2
    start_proxy "$v" --connect "127.0.0.1:$NGINX_PORT1" "$flag"
    for i in 1 2; do
        out=$(xcurl -w ' client=%{local_ip}:%{local_port} code=%{http_code}' \
            "http://127.0.0.1:$PROXY_PORT/")
        [[ "$out" =~ client=([0-9.]+:[0-9]+)\ code=200$ ]] || fail "$v: unexpected: $out"
        client=${BASH_REMATCH[1]}
        line=$(echo "$out" | head -n 1)
        [[ "$line" =~ \ peer=(127\.0\.0\.1:[0-9]+)$ ]] || fail "$v: no peer in: $line"
        peer=${BASH_REMATCH[1]}
        # peer is nginx's TCP peer (the proxy's outgoing connection), not the client.
        [[ "$peer" != "$client" ]] || fail "$v: nginx's TCP peer is the client itself?"
        expect_eq "$flag request $i: what nginx read from the header" "$line" \
            "src=$client dst=127.0.0.1:$PROXY_PORT peer=$peer"
    done
    wait_log_lines "$v" 2
    expect_eq "$flag: log lines with be=RAW code=NONE" \
        "$(log_lines "$v" | grep -cE ' be=RAW .* code=NONE ')" 2
    stop_proxy "$v"
done
expect_eq "nginx 'broken header' errors (only the header-less request)" \
    "$(grep -c 'broken header' "$NGINX_DIR/logs/error.log" || true)" 1

# nginx does not say which version it parsed: check the bytes on the wire too (a socat listener
# on a UNIX socket as the backend, capturing what the proxy sends), decoded by xstack-pp.
for v in v1 v2; do
    # signatures in hex: "PROXY TCP4 " and the v2 magic \r\n\r\n\0\r\nQUIT\n + version/command 0x21
    flag=--send-proxy sig=50524f5859205443503420 want_version=1
    [[ $v == v2 ]] && flag=--send-proxy-v2 sig=0d0a0d0a000d0a515549540a21 want_version=2
    cap=$IOP_TMP/cap-$v
    spawn "socat capture $v" "$cap.log" socat -u "UNIX-LISTEN:$cap.sock" "OPEN:$cap.bin,creat,trunc"
    cap_ready() { [[ -S "$cap.sock" ]]; }
    poll_until "the capture listener" cap_ready
    start_proxy "cap$v" --connect "unix:$cap.sock" "$flag"
    socat_send "$PROXY_PORT" $'ping\n'
    client=$SENT_FROM
    captured() { [[ "$(tail -c 5 "$cap.bin" 2>/dev/null)" == ping ]]; }
    poll_until "the $v header and the client's bytes in the capture" captured
    expect_eq "$flag: signature on the wire (hex)" \
        "$(head -c $((${#sig} / 2)) "$cap.bin" | od -An -tx1 | tr -d ' \n')" "$sig"
    json=$(timeout "$IOP_CLIENT_MAX" "$XS_PP" decode "$cap.bin")
    expect_match "$flag: decoded" "$json" \
        "^\\{\"version\": $want_version, \"command\": \"PROXY\", \"family\": \"TCP4\", \"src\": \"$client\", \"dst\": \"127.0.0.1:$PROXY_PORT\", .*\"trailing\": 5[,}]"
    stop_proxy "cap$v"
done
