#!/usr/bin/env python3
"""Writes the seed corpora of the handshake fuzz targets into fuzz/corpus/<target>/.

The seeds are small, hand-described inputs: valid headers of every kind and a few invalid
ones per rule family, so that the fuzzers start from inside each parser's interesting paths.
Re-run after changing a seed below; the files are committed, the script only documents them.

    python3 fuzz/make_corpus.py
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
SIG = bytes.fromhex("0d0a0d0a000d0a515549540a")
CIP_MAGIC = 0x1234ABCD  # fuzz/fuzz_checks.h: cip_seed_magic
PAYLOAD = b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


def tlv(t, v):
    return bytes([t]) + struct.pack(">H", len(v)) + v


def v2(ver_cmd, fam, body, crc_at=None, length=None):
    """A v2 header; crc_at = offset of a zeroed CRC value inside `body` to fill in."""
    h = bytearray(SIG + bytes([ver_cmd, fam]) +
                  struct.pack(">H", len(body) if length is None else length) + body)
    if crc_at is not None:
        h[16 + crc_at:16 + crc_at + 4] = struct.pack(">I", crc32c(h))
    return bytes(h)


INET4 = bytes([192, 0, 2, 1, 198, 51, 100, 2]) + struct.pack(">HH", 12345, 443)
INET6 = (bytes.fromhex("20010db8000000000000000000000001") +
         bytes.fromhex("20010db8000000000000000000000002") + struct.pack(">HH", 12345, 443))
CRC0 = tlv(0x03, b"\0\0\0\0")


def ssl_tlv():
    subs = (tlv(0x21, b"TLSv1.3") + tlv(0x22, b"client.example") +
            tlv(0x23, b"TLS_AES_128_GCM_SHA256") + tlv(0x24, b"RSA-SHA256") +
            tlv(0x25, b"RSA2048") + tlv(0x26, b"X25519") + tlv(0x27, b"rsa_pss_rsae_sha256") +
            tlv(0x28, bytes.fromhex("3082010a02820101")))
    return tlv(0x20, bytes([0x07]) + struct.pack(">I", 0) + subs)


def all_tlvs_tcp6():
    body = INET6 + tlv(0xE1, b"custom")
    crc_at = len(body) + 3
    body += CRC0 + tlv(0x01, b"h2") + tlv(0x02, b"example.com") + tlv(0x05, b"req-42")
    body += ssl_tlv() + tlv(0x30, b"blue") + tlv(0xEA, b"\x01vpce-08d2bf15fac5001c9")
    body += tlv(0x04, b"")
    return v2(0x21, 0x21, body, crc_at)


def unix_paths():
    return b"/var/run/src.sock".ljust(108, b"\0") + b"\0abstract".ljust(108, b"\0")


V1 = {
    "tcp4": b"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n" + PAYLOAD,
    "tcp6": b"PROXY TCP6 2001:db8::1 ::1 1 2\r\n" + PAYLOAD,
    "tcp6_mapped": b"PROXY TCP6 ::ffff:10.0.0.1 ::1.2.3.4 1000 2000\r\n",
    "tcp6_longest": b"PROXY TCP6 " + b"ffff:" * 7 + b"ffff " + b"ffff:" * 7 + b"ffff 65535 65535\r\n",
    "unknown_short": b"PROXY UNKNOWN\r\n" + PAYLOAD,
    "unknown_long": b"PROXY UNKNOWN " + b"ffff:" * 7 + b"ffff " + b"ffff:" * 7 + b"ffff 65535 65535\r\n",
    "bad_leading_zero": b"PROXY TCP4 010.0.0.1 10.0.0.2 80 443\r\n",
    "bad_octet": b"PROXY TCP4 10.0.0.300 10.0.0.2 80 443\r\n",
    "bad_port": b"PROXY TCP4 10.0.0.1 10.0.0.2 70000 443\r\n",
    "bad_double_space": b"PROXY TCP4  10.0.0.1 10.0.0.2 80 443\r\n",
    "bad_lone_lf": b"PROXY TCP4 10.0.0.1 10.0.0.2 80 443\n",
    "bad_noncanonical_ipv6": b"PROXY TCP6 2001:0db8::1 ::1 1 2\r\n",
    "bad_too_long": b"PROXY UNKNOWN " + b"a" * 100 + b"\r\n",
    "bad_proto": b"PROXY TCP5 10.0.0.1 10.0.0.2 80 443\r\n",
}

AWS_NLB = bytes.fromhex("0d0a0d0a000d0a515549540a20110054030004bce5951f04004a") + b"\0" * 74
HAPROXY = bytes.fromhex("0d0a0d0a000d0a515549540a211100257f0000017f0000019f2046ae"
                        "e10003666f6f0300045a4d9bdf050009544553542d49442d31")

V2 = {
    "local_unspec": v2(0x20, 0x00, b"") + PAYLOAD,
    "local_unspec_tlv": v2(0x20, 0x00, tlv(0x02, b"example.com")),
    "local_with_block": v2(0x20, 0x11, INET4 + tlv(0x05, b"id")),
    "tcp4": v2(0x21, 0x11, INET4) + PAYLOAD,
    "tcp6": v2(0x21, 0x21, INET6),
    "tcp6_all_tlvs_crc": all_tlvs_tcp6(),
    "udp4": v2(0x21, 0x12, INET4),
    "unix_stream": v2(0x21, 0x31, unix_paths() + tlv(0x30, b"ns")),
    "aws_nlb_health_check": AWS_NLB,
    "haproxy_style": HAPROXY + PAYLOAD,
    "duplicates": v2(0x21, 0x00, tlv(0x02, b"a") + tlv(0x05, b"x") + tlv(0x02, b"b")),
    "bad_crc": AWS_NLB[:22] + b"\x20" + AWS_NLB[23:],
    "bad_crc_len": v2(0x21, 0x11, INET4 + tlv(0x03, b"\0\0\0")),
    "bad_version": SIG + bytes([0x11, 0x11, 0, 12]) + INET4,
    "bad_command": SIG + bytes([0x22, 0x11, 0, 12]) + INET4,
    "bad_family": SIG + bytes([0x21, 0x13, 0, 12]) + INET4,
    "bad_len": v2(0x21, 0x21, INET4),
    "bad_tlv_overrun": v2(0x21, 0x11, INET4 + b"\x02\x00\x09abc"),
    "bad_ssl": v2(0x21, 0x11, INET4 + tlv(0x20, b"\x01\0\0\0\0\x21\x00\x05TLS")),
    "bad_authority": v2(0x21, 0x00, tlv(0x02, b"a" * 256)),
    "bad_too_big": SIG + bytes([0x21, 0x00, 0x10, 0x00]),
}


def ip4_tcp(proto=6):
    ip = bytearray(20)
    ip[0] = 0x45
    ip[9] = proto
    ip[12:20] = bytes([192, 0, 2, 1, 198, 51, 100, 2])
    tcp = bytearray(20)
    tcp[0:4] = struct.pack(">HH", 12345, 443)
    tcp[12] = 0x50
    return bytes(ip + tcp)


def ip6_tcp(nxt=6):
    ip = bytearray(40)
    ip[0] = 0x60
    ip[6] = nxt
    ip[8:40] = INET6[:32]
    tcp = bytearray(20)
    tcp[0:4] = struct.pack(">HH", 12345, 443)
    return bytes(ip + tcp)


def cip_legacy(body, magic=CIP_MAGIC):
    return struct.pack(">II", magic, len(body)) + body


def cip_standard(body):
    return struct.pack(">IIHH", CIP_MAGIC, 12 + len(body), 1, len(body)) + body


CIP = {
    "legacy_ipv4": cip_legacy(ip4_tcp()) + PAYLOAD,
    "legacy_ipv6": cip_legacy(ip6_tcp()),
    "standard_ipv4": cip_standard(ip4_tcp()) + PAYLOAD,
    "standard_ipv6": cip_standard(ip6_tcp()),
    "bad_magic": cip_legacy(ip4_tcp(), 0xDEADBEEF),
    "bad_udp": cip_standard(ip4_tcp(17)),
    "bad_len": struct.pack(">IIHH", CIP_MAGIC, 12, 1, 30) + ip4_tcp()[:30],
}

SOCKS4 = {
    "granted": bytes.fromhex("005a1f900a000001"),
    "granted_then_data": bytes.fromhex("005a000000000000") + PAYLOAD,
    "bad_rejected": bytes.fromhex("005b000000000000"),
    "bad_no_identd": bytes.fromhex("005c000000000000"),
    "bad_identd_mismatch": bytes.fromhex("005d000000000000"),
    "bad_version": bytes.fromhex("055a000000000000"),
    "partial": bytes.fromhex("005a00"),
}


def chunking():
    """Selector byte, number of chunk sizes, the sizes, then the input (fuzz_checks.h)."""
    out = {}
    picks = [("v1_tcp4", 0, V1["tcp4"]), ("v1_unknown_long", 4, V1["unknown_long"]),
             ("v1_bad_octet", 0, V1["bad_octet"]), ("v2_all_tlvs", 0, V2["tcp6_all_tlvs_crc"]),
             ("v2_aws", 1, V2["aws_nlb_health_check"]), ("v2_bad_crc", 0, V2["bad_crc"]),
             ("cip_standard", 2, CIP["standard_ipv4"]), ("socks4_rejected", 3, SOCKS4["bad_rejected"])]
    for name, sel, data in picks:
        cuts = bytes([1, 7, 3, 13])
        out[name] = bytes([sel, len(cuts)]) + cuts + data
    return out


def write(target, seeds):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)


def main():
    assert crc32c(b"123456789") == 0xE3069283
    write("proxy_v1_fuzz", V1)
    write("proxy_v2_fuzz", V2)
    write("cip_fuzz", CIP)
    write("socks4_reply_fuzz", SOCKS4)
    write("proxy_chunking_fuzz", chunking())


if __name__ == "__main__":
    main()
