#!/usr/bin/env bash
# xstack-proxy --stats-socket, read with socat (HAProxy's CLI convention: one command, read
# until close) after real traffic (curl -> xstack-proxy -> nginx): `show info` counts the
# connections and bytes, `show conn` lists an open connection, `help` and an unknown command
# answer as documented, and the socket is mode 0600. Then with --threads 2: 20 parallel
# connections (curl --parallel) counted over both threads, and `show conn` answered by both.
source "$(dirname "$0")/lib.sh"
need nginx curl socat

www=$IOP_TMP/www
mkdir -p "$www"
head -c 100000 /dev/urandom >"$www/blob"
cat >"$IOP_TMP/servers.conf" <<EOF
server {
    listen 127.0.0.1:@PORT1@;
    root $www;
}
EOF
start_nginx web 1 "$IOP_TMP/servers.conf"
sock=$IOP_TMP/stats.sock
start_proxy st --connect "127.0.0.1:$NGINX_PORT1" --stats-socket "$sock"

expect_eq "stats socket mode" "$(stat -c %a "$sock")" 600
s=$(stats "$sock" "show info")
expect_eq "Name" "$(echo "$s" | sed -n 's/^Name: //p')" xstack-proxy
expect_eq "CumConns before traffic" "$(echo "$s" | sed -n 's/^CumConns: //p')" 0

N=5
for i in $(seq 1 $N); do
    xcurl -o "$IOP_TMP/blob.$i" "http://127.0.0.1:$PROXY_PORT/blob"
    cmp -s "$www/blob" "$IOP_TMP/blob.$i" || fail "request $i: body differs"
done
ok "$N requests, bodies identical"
wait_log_lines st $N

s=$(stats "$sock" "show info")
val() { echo "$s" | sed -n "s/^$1: //p"; }
expect_eq "CumConns after $N requests on $N connections" "$(val CumConns)" $N
expect_eq "CurrConns after they closed" "$(val CurrConns)" 0
expect_ge "BytesOut (backend -> client, $N x 100000 bytes of body)" "$(val BytesOut)" $((N * 100000))
expect_ge "BytesIn (client -> backend: the requests)" "$(val BytesIn)" $((N * 40))
expect_ge "TotalBytesOut" "$(val TotalBytesOut)" $((N * 100000))
expect_eq "BackendConnectErrors" "$(val BackendConnectErrors)" 0
expect_eq "Nbthread" "$(val Nbthread)" 1
# Pid is the xstack-proxy process (a child of the timeout(1) that spawn started).
pid=$(val Pid)
expect_eq "Pid is xstack-proxy" "$(readlink -f "/proc/$pid/exe")" "$(readlink -f "$XS_PROXY")"

# An open connection shows in `show conn`: hold one with a half-sent request.
hold_out=$IOP_TMP/hold.out
{
    printf 'GET /blob HTTP/1.1\r\nHost: x\r\n'
    in_show_conn() { stats "$sock" "show conn" | grep -q '^# thread 0: 1 connection'; }
    poll_until "the held connection in show conn" in_show_conn 2>/dev/null || true
    stats "$sock" "show conn" >"$IOP_TMP/show-conn.out"
    printf '\r\n'
} | timeout "$IOP_CLIENT_MAX" socat -t 2 - "TCP:127.0.0.1:$PROXY_PORT" >"$hold_out"
expect_line "show conn: one connection on thread 0" "$IOP_TMP/show-conn.out" \
    '# thread 0: 1 connection\(s\)'
expect_match "show conn: its chains" "$(cat "$IOP_TMP/show-conn.out")" 'RAW'
expect_line "the held request was answered" "$hold_out" $'HTTP/1\\.1 200 OK\r'

expect_match "help lists show info" "$(stats "$sock" help)" 'show info'
expect_match "unknown command" "$(stats "$sock" "frobnicate")" 'Unknown command'

stop_proxy st
[[ ! -e "$sock" ]] || fail "stats socket still there after exit"
ok "stats socket removed at exit"

# --threads 2: the counters are summed over the threads; `show conn` asks thread 1 through its
# mailbox.
sock2=$IOP_TMP/stats2.sock
start_proxy mt --connect "127.0.0.1:$NGINX_PORT1" --stats-socket "$sock2" --threads 2
urls=()
for i in $(seq 1 20); do
    urls+=(-o "$IOP_TMP/par.$i" "http://127.0.0.1:$PROXY_PORT/blob")
done
# --parallel opens up to 20 connections; -H 'Connection: close' makes each request its own.
xcurl --parallel --parallel-max 20 -H 'Connection: close' "${urls[@]}"
for i in $(seq 1 20); do
    cmp -s "$www/blob" "$IOP_TMP/par.$i" || fail "parallel request $i: body differs"
done
ok "20 parallel requests, bodies identical"
wait_log_lines mt 20
expect_eq "threads 2: Nbthread" "$(stat_value "$sock2" Nbthread)" 2
expect_eq "threads 2: CumConns" "$(stat_value "$sock2" CumConns)" 20
expect_ge "threads 2: BytesOut" "$(stat_value "$sock2" BytesOut)" $((20 * 100000))
stats "$sock2" "show conn" >"$IOP_TMP/show-conn2.out"
expect_line "threads 2: show conn, thread 0" "$IOP_TMP/show-conn2.out" '# thread 0: 0 connection\(s\)'
expect_line "threads 2: show conn, thread 1 answered" "$IOP_TMP/show-conn2.out" \
    '# thread 1: 0 connection\(s\)'
stop_proxy mt
