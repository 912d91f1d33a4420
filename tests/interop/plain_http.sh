#!/usr/bin/env bash
# curl -> xstack-proxy -> nginx, plain HTTP: status and body intact, several keep-alive
# requests on one client connection, a 4 MiB download and a 4 MiB upload (PUT, nginx dav)
# byte-identical, with --splice always, never and auto (the stats socket confirms which path
# moved the bytes).
source "$(dirname "$0")/lib.sh"
need nginx curl socat sha256sum

www=$IOP_TMP/www
mkdir -p "$www"
printf 'hello from nginx\n' >"$www/index.html"
head -c $((4 * 1024 * 1024)) /dev/urandom >"$www/big.bin"
big_sha=$(sha256sum <"$www/big.bin" | cut -d' ' -f1)

cat >"$IOP_TMP/servers.conf" <<EOF
server {
    listen 127.0.0.1:@PORT1@;
    root $www;
    location = /teapot { return 418 "short and stout\n"; }
    location /up/ {
        dav_methods PUT;
        create_full_put_path on;
        client_max_body_size 16m;
    }
}
EOF
start_nginx web 1 "$IOP_TMP/servers.conf"

for mode in always never auto; do
    start_proxy "$mode" --connect "127.0.0.1:$NGINX_PORT1" --splice "$mode" \
        --stats-socket "$IOP_TMP/stats-$mode.sock"
    base=http://127.0.0.1:$PROXY_PORT
    d=$IOP_TMP/out-$mode
    mkdir -p "$d"

    # Three requests on one connection: statuses, bodies, and exactly one connection made.
    out=$(xcurl --http1.1 -w '%{http_code} %{num_connects} %{size_download}\n' \
        -o "$d/1" "$base/index.html" -o "$d/2" "$base/teapot" -o "$d/3" "$base/missing")
    expect_eq "splice=$mode keep-alive: code/new connections/size per request" \
        "$(echo "$out" | xargs)" "200 1 17 418 0 16 404 0 $(stat -c %s "$d/3")"
    expect_eq "splice=$mode body 1" "$(cat "$d/1")" "hello from nginx"
    expect_eq "splice=$mode body 2" "$(cat "$d/2")" "short and stout"
    expect_match "splice=$mode body 3 (nginx 404 page)" "$(cat "$d/3")" '404 Not Found'
    wait_log_lines "$mode" 1
    expect_eq "splice=$mode: connections seen by the proxy for 3 requests" \
        "$(log_lines "$mode" | wc -l)" 1

    # 4 MiB, byte-identical.
    xcurl -o "$d/big" -w '%{http_code}' "$base/big.bin" >"$d/big.code"
    expect_eq "splice=$mode 4 MiB status" "$(cat "$d/big.code")" 200
    expect_eq "splice=$mode 4 MiB sha256" "$(sha256sum <"$d/big" | cut -d' ' -f1)" "$big_sha"
    wait_log_lines "$mode" 2
    line=$(log_lines "$mode" | tail -n 1)
    expect_match "splice=$mode log line" "$line" \
        "^127\.0\.0\.1:[0-9]+ fe=RAW -> 127\.0\.0\.1:$NGINX_PORT1 be=RAW .* term=(client|server)_fin code=NONE "
    [[ "$line" =~ bytes_out=([0-9]+) ]] || fail "no bytes_out in: $line"
    expect_ge "splice=$mode bytes_out of the 4 MiB connection" "${BASH_REMATCH[1]}" $((4 * 1024 * 1024))

    # 4 MiB up: nginx stores the PUT body; the file must be byte-identical.
    code=$(xcurl -o /dev/null -w '%{http_code}' -T "$www/big.bin" "$base/up/put-$mode.bin")
    expect_eq "splice=$mode 4 MiB PUT status" "$code" 201
    expect_eq "splice=$mode 4 MiB PUT sha256 (as nginx stored it)" \
        "$(sha256sum <"$www/up/put-$mode.bin" | cut -d' ' -f1)" "$big_sha"
    wait_log_lines "$mode" 3
    line=$(log_lines "$mode" | tail -n 1)
    [[ "$line" =~ bytes_in=([0-9]+) ]] || fail "no bytes_in in: $line"
    expect_ge "splice=$mode bytes_in of the PUT connection" "${BASH_REMATCH[1]}" $((4 * 1024 * 1024))

    spliced=$(stat_value "$IOP_TMP/stats-$mode.sock" TotalSplicedBytesOut)
    streams=$(stat_value "$IOP_TMP/stats-$mode.sock" SplicedStreams)
    if [[ $mode == always ]]; then
        expect_ge "splice=always TotalSplicedBytesOut (down and up)" "$spliced" $((8 * 1024 * 1024))
        expect_eq "splice=always SplicedStreams (every connection)" "$streams" 3
    elif [[ $mode == auto ]]; then
        # auto switches a direction to splice after a read that filled a whole buffer: the
        # two 4 MiB transfers do, so most of their bytes are spliced.
        expect_ge "splice=auto TotalSplicedBytesOut" "$spliced" $((4 * 1024 * 1024))
        expect_ge "splice=auto SplicedStreams" "$streams" 2
    else
        expect_eq "splice=never TotalSplicedBytesOut" "$spliced" 0
        expect_eq "splice=never SplicedStreams" "$streams" 0
    fi
    stop_proxy "$mode"
done
