#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Copyright (c) 2026 The PacketMancer authors
"""Writes the seed corpus of fuzz_core (tests/fuzz/corpus/), deterministically.

Each seed is a small, meaningful input in fuzz_core.c's byte layout (read
that file's LLVMFuzzerTestOneInput alongside): a header, then records. The
seeds give the fuzzer a start in every branch: a complete TCP conversation
with events and RTTs, capture duplicates, DNS with every outcome and odd
names, every preference changed, odd file names, IPv6, extreme times.

  tests/fuzz/make_seeds.py    (rewrites tests/fuzz/corpus/*.bin)
"""
import struct
from pathlib import Path

OUT = Path(__file__).resolve().parent / "corpus"

u8 = lambda v: struct.pack("<B", v)
u16 = lambda v: struct.pack("<H", v)
u32 = lambda v: struct.pack("<I", v)
u64 = lambda v: struct.pack("<Q", v & (2**64 - 1))

# Endpoint pool bytes (rd_endpoint): 0x0N = 10.0.0.N port 40000, 0x1N =
# 10.0.0.N port 53, 0x8N = 2001::N, 0xcN = a full IPv6 address.
CLI, SRV, RES = 0x01, 0x02 | 0x10, 0x05 | 0x10
V6C, V6S = 0xC1, 0xC2


def header(opt=0x08, top=5, prefs=None, file=None, dup_ms=None):
    b = u8(opt | (0x10 if prefs is not None else 0) | (0x20 if file is not None else 0)
           | (0x80 if dup_ms is not None else 0)) + u8(top)
    if prefs is not None:
        b += prefs
    if file is not None:
        b += u8(len(file)) + file
    if dup_ms is not None:
        b += u16(dup_ms)
    return b


def ts_step(ms):          # rd_ts: top 3 bits >= 3, forward by (b & 0x1f) ms
    return u8(0x60 | (ms & 0x1f))


def tcp(stream, src, dst, events=0, flags=0, length=60, rtt=None, irtt=None, fp=0, dup=0, step=1):
    fl = flags | (0x40 if rtt is not None else 0) | (0x80 if irtt is not None else 0)
    b = u8(0x00) + ts_step(step) + u8(stream) + u16(length) + u16(events) + u8(fl)
    if rtt is not None:
        b += u8(2) + u16(rtt)          # rd_ms case 2: microseconds
    if irtt is not None:
        b += u8(2) + u16(irtt)
    return b + u8(fp) + u8(dup) + u8(src) + u8(dst)


def other(length=100, step=1):
    return u8(0x02) + ts_step(step) + u16(length)


def dns(src, dst, response=False, rcode=0, name=b"example.com", time_us=None, back=1, step=1, retx=False):
    fl = (1 if response else 0) | (4 if retx else 0) | ((rcode & 7) << 4) | ((back & 7) << 5)
    b = u8(0x03) + ts_step(step) + u8(src) + u8(dst) + u8(fl)
    if response:
        b += u8(2) + u16(time_us if time_us is not None else 5000)
    return b + u8(len(name)) + name


SYN, ACK, RST = 1, 2, 4
RETX, OOO, ZW, DUPACK, LOST, RESET = 1, 4, 8, 16, 32, 64


def seeds():
    s = {}
    s["empty"] = header(opt=0)
    conv = tcp(0, CLI, SRV, flags=SYN, fp=1) + tcp(0, SRV, CLI, flags=SYN | ACK, irtt=20000, fp=2)
    conv += tcp(0, CLI, SRV, flags=ACK, rtt=20000, fp=3)
    for i in range(12):
        conv += tcp(0, SRV, CLI, flags=ACK, length=1500, fp=10 + i)
        conv += tcp(0, CLI, SRV, flags=ACK, rtt=300 + 50 * i, fp=40 + i)
    conv += tcp(0, SRV, CLI, events=RETX, flags=ACK, length=1500, fp=10)
    conv += tcp(0, CLI, SRV, events=DUPACK, flags=ACK, dup=3, fp=60)
    conv += tcp(0, SRV, CLI, events=OOO | LOST, flags=ACK, fp=61)
    conv += tcp(0, CLI, SRV, events=ZW, flags=ACK, fp=62)
    conv += tcp(0, CLI, SRV, events=RESET, flags=RST | ACK, fp=63)
    s["tcp-conversation"] = header() + conv + other()
    # The same segment twice within the window: a capture duplicate.
    dup = tcp(1, CLI, SRV, flags=SYN, fp=7) + tcp(1, CLI, SRV, flags=SYN, fp=7, step=0)
    dup += tcp(2, 0x03, SRV, flags=SYN) + tcp(2, SRV, 0x03, flags=RST | ACK, events=RESET)
    dup += tcp(3, 0x04, SRV, flags=SYN) + tcp(3, 0x04, SRV, flags=SYN, step=30)
    s["duplicates-refused-noanswer"] = header(dup_ms=10) + dup
    d = b""
    names = [b"example.com", b"nxdomain.example", b"xn--bcher-kva.example", b"qxvzkwptrmhd.com",
             b"a" * 200 + b".com", b"\xff\xfe\x01bad\x7f.org", b"_sip._udp.example.com", b""]
    for i, n in enumerate(names):
        d += dns(CLI, RES, name=n)
        d += dns(RES, CLI, response=True, rcode=[0, 3, 2, 5, 0, 1, 0, 0][i], name=n, time_us=1000 * (i + 1))
    d += dns(CLI, RES, name=b"lost.example.net") + dns(CLI, RES, name=b"lost.example.net", retx=True)
    d += dns(V6C, 0x80 | 0x15, name=b"v6.example")
    s["dns-outcomes"] = header() + d
    prefs = b"".join(u8(v) for v in (0, 1, 0xff, 2, 0x41, 0, 5, 0, 0, 1, 2, 3, 0, 0, 0xff, 7, 1, 1, 1, 0, 0))
    prefs += u8(0xC1)                                          # one UINT32_MAX
    prefs += b"".join(u8(v) for v in (0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))
    s["prefs-file-spanish-color"] = header(opt=0x08 | 1 | 2, top=255, prefs=prefs,
                                          file=b"dir/\x1b[31mred\xc3(\n.pcap") + conv + d
    ext = u8(0x00) + u8(0x00) + u64(2**63 - 1) + u8(5) + u16(60) + u16(0) + u8(0) + u8(0) + u8(0) + u8(CLI) + u8(SRV)
    ext += u8(0x00) + u8(0x00) + u64(-2**63) + u8(5) + u16(60) + u16(0) + u8(0) + u8(0) + u8(0) + u8(SRV) + u8(CLI)
    ext += u8(0x03) + u8(0x00) + u64(-2**63) + u8(CLI) + u8(RES) + u8(1) + u8(3) + u32(4000000000) + u8(1) + b"x"
    s["extreme-times"] = header() + ext
    six = b"".join(tcp(i, V6C, V6S, flags=SYN) + tcp(i, V6S, V6C, flags=SYN | ACK) for i in range(20))
    s["ipv6-many"] = header(top=3) + six
    return s


def main():
    OUT.mkdir(exist_ok=True)
    for name, data in seeds().items():
        (OUT / f"{name}.bin").write_bytes(data)
        print(f"{name}.bin: {len(data)} bytes")


if __name__ == "__main__":
    main()
