#!/usr/bin/env bash
# bench/compare/haproxy-cfg.sh XSTACK-PROXY-OPTIONS...
# Prints, on stdout, the HAProxy 2.6 `mode tcp` configuration equivalent to an xstack-proxy
# command line, so that the comparison (bench/compare/run.sh) runs both proxies with the same
# settings. Only the translation lives here; run.sh adds nothing to the proxy part.
#
#   xstack-proxy option           HAProxy
#   --listen A / --connect A      bind A / server s1 A   (unix:P -> unix@P, [v6]:p -> ipv6@v6:p)
#   --accept-proxy                bind ... accept-proxy
#   --tls-cert F [--tls-key F.key] bind ... ssl crt F    (HAProxy finds F.key beside F itself)
#   --alpn L                      bind ... alpn L
#   --send-proxy / -v2            server ... send-proxy / send-proxy-v2
#   --tls [--tls-ca F]            server ... ssl verify required ca-file F (default @system-ca)
#   --tls-sni N                   server ... sni str(N) verifyhost N
#   --tls-no-verify               server ... ssl verify none
#   --splice never|always|auto    global nosplice | option splice-request + splice-response |
#                                 option splice-auto
#   --tfo                         bind ... tfo, server ... tfo
#   --pipe-size N                 global tune.pipesize N
#   --poller epoll-et|epoll|poll  HAProxy's own epoll | the same | global noepoll
#   --threads N                   global nbthread N
#   --handshake-timeout MS        timeout connect (0: left out). HAProxy 2.6 has no separate
#                                 client handshake timeout: `timeout client` bounds it.
#   --idle-timeout MS             timeout client, timeout server (0: left out)
#   --stats-socket P              global stats socket P (@name -> abns@name)
# HAProxy's maxconn is not an xstack-proxy option: HAPROXY_MAXCONN, when set, adds it.
# An option it cannot translate is an error (exit status 2), never silently dropped.
set -euo pipefail

die() {
    echo "haproxy-cfg: $*" >&2
    exit 2
}

# addr KIND TEXT: an xstack-proxy address in HAProxy's syntax
addr() {
    local a=$2
    case "$a" in
        unix:@*) echo "abns@${a#unix:@}" ;;
        unix:*) echo "unix@${a#unix:}" ;;
        \[*\]:*)
            local host=${a%]:*}
            echo "ipv6@${host#[}:${a##*]:}"
            ;;
        *:*) echo "$a" ;;
        *) die "$1: '$a' is not HOST:PORT" ;;
    esac
}

ms() {  # ms OPTION VALUE: a non-negative number of milliseconds
    [[ "$2" =~ ^[0-9]+$ ]] || die "$1: '$2' is not a number of milliseconds"
    echo "$2"
}

listen="" connect="" accept_proxy=0 cert="" key="" alpn="" send_proxy="" tls=0 ca="" sni=""
no_verify=0 splice=auto tfo=0 threads=1 hs_ms=5000 idle_ms=60000 stats="" pipe_size="" poller=""
while [[ $# -gt 0 ]]; do
    opt=$1 val="" has_val=0
    if [[ "$opt" == --*=* ]]; then
        val=${opt#*=} opt=${opt%%=*} has_val=1
    fi
    case "$opt" in
        --listen|--connect|--tls-cert|--tls-key|--alpn|--tls-ca|--tls-sni|--splice|--threads|\
        --handshake-timeout|--idle-timeout|--stats-socket|--pipe-size|--poller)
            if ((has_val == 0)); then
                [[ $# -ge 2 ]] || die "$opt needs a value"
                val=$2
                shift
            fi
            ;;
        *) ((has_val == 0)) || die "$opt takes no value" ;;
    esac
    case "$opt" in
        --listen) listen=$(addr "$opt" "$val") ;;
        --connect) connect=$(addr "$opt" "$val") ;;
        --accept-proxy) accept_proxy=1 ;;
        --tls-cert) cert=$val ;;
        --tls-key) key=$val ;;
        --alpn) alpn=$val ;;
        --send-proxy) send_proxy=send-proxy ;;
        --send-proxy-v2) send_proxy=send-proxy-v2 ;;
        --tls) tls=1 ;;
        --tls-ca) ca=$val ;;
        --tls-sni) sni=$val ;;
        --tls-no-verify) no_verify=1 ;;
        --splice)
            case "$val" in never|always|auto) splice=$val ;; *) die "--splice: '$val'" ;; esac
            ;;
        --tfo) tfo=1 ;;
        --pipe-size)
            [[ "$val" =~ ^[1-9][0-9]*$ ]] || die "--pipe-size: '$val'"
            pipe_size=$val
            ;;
        --poller)
            case "$val" in epoll-et|epoll|poll) poller=$val ;; *) die "--poller: '$val'" ;; esac
            ;;
        --threads)
            [[ "$val" =~ ^[1-9][0-9]*$ ]] || die "--threads: '$val'"
            threads=$val
            ;;
        --handshake-timeout) hs_ms=$(ms "$opt" "$val") ;;
        --idle-timeout) idle_ms=$(ms "$opt" "$val") ;;
        --stats-socket) stats=$val ;;
        *) die "cannot translate '$1'" ;;
    esac
    shift
done
[[ -n "$listen" && -n "$connect" ]] || die "--listen and --connect are required"
if [[ -n "$key" && "$key" != "$cert.key" ]]; then
    die "--tls-key must be '$cert.key' (HAProxy 2.6 loads the key from beside the certificate)"
fi

bind_opts="" server_opts=""
((accept_proxy)) && bind_opts+=" accept-proxy"
if [[ -n "$cert" ]]; then
    bind_opts+=" ssl crt $cert"
    [[ -n "$alpn" ]] && bind_opts+=" alpn $alpn"
fi
((tfo)) && bind_opts+=" tfo" && server_opts+=" tfo"
[[ -n "$send_proxy" ]] && server_opts+=" $send_proxy"
if ((tls)); then
    if ((no_verify)); then
        server_opts+=" ssl verify none"
    else
        server_opts+=" ssl verify required ca-file ${ca:-@system-ca}"
        [[ -n "$sni" ]] && server_opts+=" verifyhost $sni"
    fi
    [[ -n "$sni" ]] && server_opts+=" sni str($sni)"
fi

echo "global"
[[ -n "${HAPROXY_MAXCONN:-}" ]] && echo "    maxconn $HAPROXY_MAXCONN"
echo "    nbthread $threads"
[[ "$splice" == never ]] && echo "    nosplice"
[[ -n "$pipe_size" ]] && echo "    tune.pipesize $pipe_size"
[[ "$poller" == poll ]] && echo "    noepoll"
if [[ -n "$stats" ]]; then
    [[ "$stats" == @* ]] && stats="abns@${stats#@}"
    echo "    stats socket $stats mode 600 level user"
fi
echo "defaults"
echo "    mode tcp"
if ((hs_ms > 0)); then
    echo "    timeout connect ${hs_ms}ms"
fi
if ((idle_ms > 0)); then
    echo "    timeout client ${idle_ms}ms"
    echo "    timeout server ${idle_ms}ms"
fi
case "$splice" in
    always) printf '    option splice-request\n    option splice-response\n' ;;
    auto) echo "    option splice-auto" ;;
esac
echo "frontend fe"
echo "    bind $listen$bind_opts"
echo "    default_backend be"
echo "backend be"
echo "    server s1 $connect$server_opts"
