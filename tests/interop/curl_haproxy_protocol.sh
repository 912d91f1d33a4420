#!/usr/bin/env bash
# curl --haproxy-protocol -> xstack-proxy --accept-proxy --send-proxy(-v2) -> nginx proxy_protocol:
# curl's own PROXY v1 header is read by the proxy, and the address in it (curl's local address)
# is the one the proxy forwards; a client without a header is refused with PRX_NOT_HDR.
source "$(dirname "$0")/lib.sh"
need nginx curl

cat >"$IOP_TMP/servers.conf" <<'EOF2'
server {
    listen 127.0.0.1:@PORT1@ proxy_protocol;
    location / {
        return 200 "src=$proxy_protocol_addr:$proxy_protocol_port peer=$remote_addr\n";
    }
}
EOF2
start_nginx pp 1 "$IOP_TMP/servers.conf"

for flag in --send-proxy --send-proxy-v2; do
    name=${flag#--}
    name=${name//-/_}
    start_proxy "$name" --connect "127.0.0.1:$NGINX_PORT1" --accept-proxy "$flag"
    out=$(xcurl --haproxy-protocol -w ' client=%{local_ip}:%{local_port} code=%{http_code}' \
        "http://127.0.0.1:$PROXY_PORT/")
    [[ "$out" =~ client=([0-9.]+:[0-9]+)\ code=200$ ]] || fail "$flag: unexpected: $out"
    client=${BASH_REMATCH[1]}
    expect_match "curl --haproxy-protocol -> --accept-proxy $flag: nginx's client" \
        "$(echo "$out" | head -n 1)" "^src=$client peer=127\\.0\\.0\\.1$"
    # Without a header: refused before any byte reaches nginx.
    rc=0
    xcurl -o /dev/null "http://127.0.0.1:$PROXY_PORT/" 2>/dev/null || rc=$?
    [[ $rc -ne 0 ]] || fail "$flag: a request without a PROXY header was answered"
    wait_log_lines "$name" 2
    expect_eq "$flag: log line of the curl --haproxy-protocol request" \
        "$(log_lines "$name" | grep -c "^$client fe=RAW .* code=NONE ")" 1
    expect_eq "$flag: log line of the header-less request" \
        "$(log_lines "$name" | grep -c ' code=PRX_NOT_HDR ')" 1
    stop_proxy "$name"
done
