#!/usr/bin/env bash
# xstack-pp decode against HAProxy's own PROXY headers: a client (socat) connects to HAProxy
# (mode tcp, `server ... send-proxy-v2` / `send-proxy`), whose server is a socat listener on a
# UNIX socket that writes what it receives to a file. xstack-pp decodes the capture: the
# version, the command, the family, the client's address (socat's local address) and HAProxy's
# frontend address, and the client's bytes after the header; with proxy-v2-options
# crc32c,unique-id, the two TLVs (HAProxy's CRC32C must verify with xstack's CRC32C).
source "$(dirname "$0")/lib.sh"
need haproxy socat

cat >"$IOP_TMP/haproxy.body" <<EOF
frontend fe_v2
    mode tcp
    bind 127.0.0.1:@PORT1@
    default_backend cap_v2
backend cap_v2
    mode tcp
    server cap unix@@TMP@/cap-v2.sock send-proxy-v2
frontend fe_v1
    mode tcp
    bind 127.0.0.1:@PORT2@
    default_backend cap_v1
backend cap_v1
    mode tcp
    server cap unix@@TMP@/cap-v1.sock send-proxy
frontend fe_v2tlv
    mode tcp
    bind 127.0.0.1:@PORT3@
    unique-id-format xs-%{+X}o%ci:%cp
    default_backend cap_v2tlv
backend cap_v2tlv
    mode tcp
    server cap unix@@TMP@/cap-v2tlv.sock send-proxy-v2 proxy-v2-options crc32c,unique-id
EOF

for v in v2 v1 v2tlv; do
    spawn "socat capture $v" "$IOP_TMP/cap-$v.log" socat -u "UNIX-LISTEN:$IOP_TMP/cap-$v.sock" \
        "OPEN:$IOP_TMP/cap-$v.bin,creat,trunc"
done
cap_ready() {
    [[ -S "$IOP_TMP/cap-v2.sock" && -S "$IOP_TMP/cap-v1.sock" && -S "$IOP_TMP/cap-v2tlv.sock" ]]
}
poll_until "the capture listeners" cap_ready
start_haproxy hap 3 "$IOP_TMP/haproxy.body"

for v in v2 v1 v2tlv; do
    case $v in
        v2) port=$HAPROXY_PORT1 want_version=2 ;;
        v1) port=$HAPROXY_PORT2 want_version=1 ;;
        v2tlv) port=$HAPROXY_PORT3 want_version=2 ;;
    esac
    socat_send "$port" $'ping\n'
    client=$SENT_FROM
    captured() { [[ "$(tail -c 5 "$IOP_TMP/cap-$v.bin" 2>/dev/null)" == ping ]]; }
    poll_until "HAProxy's $v header and the client's bytes in the capture" captured
    rc=0
    json=$(timeout "$IOP_CLIENT_MAX" "$XS_PP" decode "$IOP_TMP/cap-$v.bin") || rc=$?
    expect_eq "xstack-pp decode exit status ($v)" "$rc" 0
    iop_note "HAProxy $v header: $json"
    expect_match "$v: version" "$json" "\"version\": $want_version,"
    if [[ $v == v2 ]]; then
        expect_match "v2: header length (16 + 12 for TCP4, no TLV)" "$json" '"header_length": 28,'
    fi
    expect_match "$v: command" "$json" '"command": "PROXY"'
    expect_match "$v: family" "$json" '"family": "TCP4"'
    expect_match "$v: src is the client" "$json" "\"src\": \"$client\""
    expect_match "$v: dst is HAProxy's frontend" "$json" "\"dst\": \"127.0.0.1:$port\""
    expect_match "$v: the client's 5 bytes follow the header" "$json" '"trailing": 5[,}]'
    if [[ $v == v2tlv ]]; then
        expect_match "v2tlv: HAProxy's CRC32C verifies" "$json" \
            '\{"type": 3, "name": "CRC32C", "length": 4, "value_hex": "[0-9a-f]{8}", "valid": true\}'
        # unique-id-format xs-%{+X}o%ci:%cp: "xs-" then the client address in hex
        uid=xs-7F000001:$(printf '%04X' "${client#*:}")
        expect_match "v2tlv: HAProxy's UNIQUE_ID TLV" "$json" \
            "\"type\": 5, \"name\": \"UNIQUE_ID\", .*\"value\": \"$uid\""
    fi
done
