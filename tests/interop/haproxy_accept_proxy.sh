#!/usr/bin/env bash
# curl -> xstack-proxy --send-proxy-v2 / --send-proxy -> HAProxy `bind ... accept-proxy`
#      (mode http, option forwardfor) -> nginx (on a UNIX socket):
# HAProxy accepts our v2 and v1 headers; its src/dst become curl's address and the proxy's
# listener, which it forwards to nginx in X-Forwarded-For and two headers of its own.
source "$(dirname "$0")/lib.sh"
need haproxy nginx curl

cat >"$IOP_TMP/servers.conf" <<'EOF'
server {
    listen unix:@DIR@/web.sock;
    location / {
        return 200 "xff=$http_x_forwarded_for src_port=$http_x_src_port dst=$http_x_dst\n";
    }
}
EOF
start_nginx web 0 "$IOP_TMP/servers.conf"

cat >"$IOP_TMP/haproxy.body" <<EOF
frontend fe
    mode http
    bind 127.0.0.1:@PORT1@ accept-proxy
    option forwardfor
    http-request set-header X-Src-Port %[src_port]
    http-request set-header X-Dst %[dst]:%[dst_port]
    default_backend web
backend web
    mode http
    server nginx unix@$NGINX_DIR/web.sock
EOF
start_haproxy hap 1 "$IOP_TMP/haproxy.body"

# Without a header HAProxy must refuse: the bind really requires PROXY.
rc=0
xcurl -o /dev/null "http://127.0.0.1:$HAPROXY_PORT1/" 2>/dev/null || rc=$?
[[ $rc -ne 0 ]] || fail "HAProxy accept-proxy bind answered a request without a header"
ok "HAProxy refuses a connection without a PROXY header (curl exit $rc)"

for v in v2 v1; do
    flag=--send-proxy-v2
    [[ $v == v1 ]] && flag=--send-proxy
    start_proxy "$v" --connect "127.0.0.1:$HAPROXY_PORT1" "$flag"
    for i in 1 2; do
        out=$(xcurl -w ' client=%{local_ip}:%{local_port} code=%{http_code}' \
            "http://127.0.0.1:$PROXY_PORT/")
        [[ "$out" =~ client=([0-9.]+):([0-9]+)\ code=200$ ]] || fail "$v: unexpected: $out"
        expect_eq "xstack-proxy $flag -> HAProxy accept-proxy, request $i: what nginx got" \
            "$(echo "$out" | head -n 1)" \
            "xff=${BASH_REMATCH[1]} src_port=${BASH_REMATCH[2]} dst=127.0.0.1:$PROXY_PORT"
    done
    wait_log_lines "$v" 2
    expect_eq "$flag: log lines with code=NONE" "$(log_lines "$v" | grep -c ' code=NONE ')" 2
    stop_proxy "$v"
done
