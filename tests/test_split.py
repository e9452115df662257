#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Tests of packetmancer-split (tools/pm-split.c), the flow-sharded splitter.

Every capture of captures/ and, when present, ../shared/captures/ is split
into shards, and the shards are checked against plain tshark on the
original (no plugin involved):

  * every record lands in exactly one shard: the .frames maps together are
    a permutation of 1..total, the shards hold as many records as their
    maps, and each map is increasing (order kept);
  * every original frame and its shard copy have the same time stamp,
    lengths and bytes (frame.time_epoch, frame.len, frame.cap_len and
    frame.md5_hash, matched through the maps);
  * all frames of a tcp.stream lie in one shard (both directions), and so
    do all DNS messages of a client/server host pair (over UDP and TCP);
  * the shard of every plainly parsed TCP/UDP packet is the one the hash
    documented in docs/PARALLEL.md gives, computed here independently
    from tshark's fields (so the rule can be re-implemented elsewhere);
  * the output format follows the input (pcap stays pcap, pcapng stays
    pcapng, gzip'd input is written uncompressed), and splits repeat
    byte for byte;
  * N=1 gives one shard with everything; damaged, truncated and non-capture
    inputs and bad command lines give the documented errors.

ICMP error messages quote the header of the packet they answer, which
tshark dissects (the quoted TCP/UDP header even gets a tcp.stream or
udp.stream). The splitter keys a packet by its own outer header, so those
ICMP frames go to shard 0 and are left out of the stream and DNS checks;
PacketMancer does not count quoted messages either (docs/SCORING-DNS.md).

Usage: test_split.py --split PATH/TO/packetmancer-split
Prints one line per check and "N passed, N failed, N skipped" at the end.
"""

import argparse
import gzip
import hashlib
import ipaddress
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CAPTURES = ROOT / "captures"
SHARED = ROOT.parent / "shared" / "captures"

PASSED, FAILED, SKIPPED = [], [], []
SPLIT = None
TMP = None

# Exit statuses of packetmancer-split (its --help).
EX_USAGE, EX_INPUT, EX_DAMAGED, EX_OUTPUT = 1, 2, 3, 4


class SkipTest(Exception):
    pass


def check(name, fn):
    t0 = time.monotonic()
    try:
        fn()
    except SkipTest as e:
        SKIPPED.append(name)
        print(f"SKIP {name}: {e}")
    except Exception as e:  # noqa: BLE001 - every failure is reported the same way
        FAILED.append(name)
        print(f"FAIL {name}: {e}")
    else:
        PASSED.append(name)
        print(f"ok   {name} ({time.monotonic() - t0:.1f} s)")
    sys.stdout.flush()


def eq(actual, expected, what):
    if actual != expected:
        raise AssertionError(f"{what}: expected {expected!r}, got {actual!r}")


# ------------------------------------------------------------------ helpers

def run_split(*args):
    return subprocess.run([str(SPLIT), *map(str, args)], capture_output=True, text=True)


def fresh_dir(name):
    d = TMP / name
    shutil.rmtree(d, ignore_errors=True)
    return d


def split_ok(capture, n, name, *extra):
    out = fresh_dir(name)
    r = run_split("-n", n, "-o", out, *extra, capture)
    if r.returncode != 0:
        raise AssertionError(f"split of {capture.name} failed ({r.returncode}): {r.stderr.strip()}")
    return out


def read_map(path):
    data = path.read_bytes()
    if len(data) % 4:
        raise AssertionError(f"{path.name}: {len(data)} bytes, not a whole number of uint32")
    return list(struct.unpack(f"<{len(data) // 4}I", data))


def shard_files(out, n):
    """The (capture, map) paths of shards 0..n-1; exactly those exist."""
    names = sorted(p.name for p in out.iterdir())
    want = sorted([f"shard-{i:03d}.cap" for i in range(n)] + [f"shard-{i:03d}.frames" for i in range(n)])
    eq(names, want, f"files in {out.name}")
    return [(out / f"shard-{i:03d}.cap", out / f"shard-{i:03d}.frames") for i in range(n)]


FIELDS = ["frame.number", "frame.time_epoch", "frame.len", "frame.cap_len", "frame.md5_hash"]


def tshark_fields(capture, fields, allow_fail=False, status=None):
    """One list of values per frame; "" where a field is absent. With
    allow_fail, tshark may stop on damage; status[0] is then its exit."""
    cmd = ["tshark", "-n", "-r", str(capture), "-o", "frame.generate_md5_hash:TRUE",
           "-T", "fields", "-E", "separator=\t", "-E", "occurrence=a", "-E", "aggregator=,"]
    for f in fields:
        cmd += ["-e", f]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0 and not allow_fail:
        raise AssertionError(f"tshark on {capture}: {r.stderr.strip()}")
    if status is not None:
        status.append(r.returncode)
    rows = [line.split("\t") for line in r.stdout.splitlines()]
    for row in rows:
        if len(row) != len(fields):
            raise AssertionError(f"tshark on {capture}: a line with {len(row)} fields")
    return rows


def magic(path):
    head = path.read_bytes()[:4]
    if head == b"\x0a\x0d\x0d\x0a":
        return "pcapng"
    if head in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d"):
        return "pcap"
    if head[:2] == b"\x1f\x8b":
        return "gzip"
    return "other"


def input_format(path):
    if magic(path) == "gzip":
        with gzip.open(path, "rb") as f:
            head = f.read(4)
        return "pcapng" if head == b"\x0a\x0d\x0d\x0a" else "pcap"
    return magic(path)


# ------------------------------------------------------------------ the documented hash, again

FNV_OFFSET, FNV_PRIME, M64 = 0xcbf29ce484222325, 0x100000001b3, (1 << 64) - 1


def fnv1a64(h, data):
    for b in data:
        h = ((h ^ b) * FNV_PRIME) & M64
    return h


def mix64(x):
    x ^= x >> 30
    x = (x * 0xbf58476d1ce4e5b9) & M64
    x ^= x >> 27
    x = (x * 0x94d049bb133111eb) & M64
    x ^= x >> 31
    return x


def doc_shard(version, a, b, pa, pb, addr_only, n):
    """docs/PARALLEL.md: mix64(FNV-1a-64(tag, lo end, hi end)) mod N."""
    if addr_only:
        pa = pb = 0
    ea = ipaddress.ip_address(a).packed + struct.pack(">H", pa)
    eb = ipaddress.ip_address(b).packed + struct.pack(">H", pb)
    lo, hi = sorted([ea, eb])
    tag = version | (0x80 if addr_only else 0)
    return mix64(fnv1a64(fnv1a64(fnv1a64(FNV_OFFSET, bytes([tag])), lo), hi)) % n


# frame.protocols of a packet whose IP header follows a link header the
# splitter parses, with nothing in between but VLAN tags.
PLAIN_IP = re.compile(r"^(eth:ethertype:(vlan:ethertype:)*|sll:ethertype:|null:|loop:|raw:)(ip|ipv6)(:|$)")
HASH_FIELDS = ["frame.number", "frame.protocols", "ip.src", "ip.dst", "ip.proto", "ip.flags.mf",
               "ip.frag_offset", "ipv6.src", "ipv6.dst", "ipv6.fraghdr.nxt", "tcp.srcport",
               "tcp.dstport", "udp.srcport", "udp.dstport", "icmp.type", "icmpv6.type"]


def expected_shard(row, n):
    """The documented shard of one frame, or None when this check cannot
    tell independently (tunnels, ICMP, link types not parsed)."""
    f = dict(zip(HASH_FIELDS, row))
    protos = f["frame.protocols"].split(":")
    nip = protos.count("ip") + protos.count("ipv6")
    if nip == 0:
        return 0 if f["frame.protocols"] else None
    if nip > 1 or f["icmp.type"] or f["icmpv6.type"] or not PLAIN_IP.match(f["frame.protocols"]):
        return None
    if f["ip.src"]:
        version, a, b = 4, f["ip.src"], f["ip.dst"]
        frag = f["ip.flags.mf"] in ("1", "True") or f["ip.frag_offset"] not in ("", "0")
        l4 = int(f["ip.proto"])
    else:
        version, a, b = 6, f["ipv6.src"], f["ipv6.dst"]
        frag = bool(f["ipv6.fraghdr.nxt"])
        l4 = int(f["ipv6.fraghdr.nxt"]) if frag else None
    sp = f["tcp.srcport"] or f["udp.srcport"]
    dp = f["tcp.dstport"] or f["udp.dstport"]
    if frag:
        return doc_shard(version, a, b, 0, 0, True, n) if l4 in (6, 17) else 0
    if not sp or "," in sp:
        return 0
    sp, dp = int(sp), int(dp)
    return doc_shard(version, a, b, sp, dp, sp == 53 or dp == 53, n)


# ------------------------------------------------------------------ the per-capture check

CONV_FIELDS = ["tcp.stream", "dns.id"]
ALL_FIELDS = FIELDS + [f for f in CONV_FIELDS + HASH_FIELDS if f not in FIELDS]


def check_capture(capture, n):
    # One tshark pass over the original gives everything compared below;
    # a non-zero exit means tshark stopped on damage part-way.
    status = []
    orig_all = tshark_fields(capture, ALL_FIELDS, allow_fail=True, status=status)
    is_damaged = status[0] != 0
    col = {f: i for i, f in enumerate(ALL_FIELDS)}
    orig = [row[:len(FIELDS)] for row in orig_all]
    total = len(orig)

    out = fresh_dir("cap")
    r = run_split("-n", n, "-o", out, "--keep-partial", capture)
    if is_damaged:
        # The error is an error; --keep-partial keeps what came before.
        eq(r.returncode, EX_DAMAGED, f"exit status on damaged {capture.name} ({r.stderr.strip()})")
        if "damaged or truncated" not in r.stderr:
            raise AssertionError(f"no damage message: {r.stderr.strip()}")
    elif r.returncode != 0:
        raise AssertionError(f"split failed ({r.returncode}): {r.stderr.strip()}")
    files = shard_files(out, n)

    # Exactly once each; per-shard order kept.
    where = {}
    for i, (cap, fmap) in enumerate(files):
        frames = read_map(fmap)
        if frames != sorted(frames) or len(set(frames)) != len(frames):
            raise AssertionError(f"shard {i}: frame numbers not strictly increasing")
        for fr in frames:
            if fr in where:
                raise AssertionError(f"frame {fr} in shards {where[fr]} and {i}")
            where[fr] = i
        rows = tshark_fields(cap, FIELDS) if frames else []
        eq(len(rows), len(frames), f"records in shard {i} vs its map")
        # Same time stamp, lengths and bytes as the original frame.
        for row, fr in zip(rows, frames):
            if fr < 1 or fr > total:
                raise AssertionError(f"shard {i} maps to frame {fr}, outside 1..{total}")
            if row[1:] != orig[fr - 1][1:]:
                raise AssertionError(f"frame {fr} differs in shard {i}: {row[1:]} vs {orig[fr - 1][1:]}")
    eq(sorted(where), list(range(1, total + 1)), "frames of all maps together")

    # Output type: the input's (pcap or pcapng), never compressed.
    want = input_format(capture)
    for cap, _ in files:
        eq(magic(cap), want, f"format of {cap.name}")

    # Conversations and DNS pairs never cross shards.
    streams, pairs = {}, {}
    for row in orig_all:
        v = lambda f: row[col[f]]  # noqa: E731
        if v("icmp.type") or v("icmpv6.type"):
            continue
        sh = where[int(v("frame.number"))]
        if v("tcp.stream") and "," not in v("tcp.stream"):
            streams.setdefault(v("tcp.stream"), set()).add(sh)
        if v("dns.id") and "," not in v("dns.id"):
            src, dst = (v("ip.src"), v("ip.dst")) if v("ip.src") else (v("ipv6.src"), v("ipv6.dst"))
            if "," not in src:
                pairs.setdefault(frozenset((src, dst)), set()).add(sh)
    for stream, shards in streams.items():
        if len(shards) > 1:
            raise AssertionError(f"tcp.stream {stream} spread over shards {sorted(shards)}")
    for pair, shards in pairs.items():
        if len(shards) > 1:
            raise AssertionError(f"DNS pair {sorted(pair)} spread over shards {sorted(shards)}")

    # The documented hash, recomputed from tshark's view of each packet.
    hashed = 0
    for row in orig_all:
        exp = expected_shard([row[col[f]] for f in HASH_FIELDS], n)
        if exp is None:
            continue
        hashed += 1
        num = int(row[0])
        if where[num] != exp:
            raise AssertionError(f"frame {num} ({row[col['frame.protocols']]}) in shard {where[num]}, "
                                 f"the documented hash says {exp}")
    return total, hashed, sum(1 for _, m in files if m.stat().st_size)


def all_captures():
    caps = sorted(CAPTURES.glob("*.pcap"))
    if SHARED.is_dir():
        caps += sorted(p for p in SHARED.iterdir() if p.is_file() and p.name != "MANIFEST.md")
    return caps


def make_capture_checks():
    checks = []
    for cap in sorted(CAPTURES.glob("*.pcap")):
        checks.append((f"split {cap.name}", lambda c=cap: check_capture(c, 3)))
    checks.append(("shared captures", t_shared))
    return checks


def t_shared():
    if not SHARED.is_dir():
        raise SkipTest(f"{SHARED} is absent")
    bad = []
    for cap in sorted(p for p in SHARED.iterdir() if p.is_file() and p.name != "MANIFEST.md"):
        try:
            total, hashed, used = check_capture(cap, 4)
            print(f"       {cap.name}: {total} frames, {hashed} hash-checked, {used} shards used")
        except Exception as e:  # noqa: BLE001 - collect them all, then fail once
            bad.append(f"{cap.name}: {e}")
    if bad:
        raise AssertionError("; ".join(bad))


# ------------------------------------------------------------------ other checks

# ------------------------------------------------------------------ synthetic link types

def ip4(src, dst, proto, payload, mf=0, frag_off=0):
    flags = (0x2000 if mf else 0) | frag_off
    return struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, flags, 64, proto, 0,
                       ipaddress.ip_address(src).packed, ipaddress.ip_address(dst).packed) + payload


def ip6(src, dst, nh, payload, ext=()):
    """ext: (header type, body) pairs put before payload, in order."""
    chain = b""
    types = [t for t, _ in ext] + [nh]
    for i, (_, body) in enumerate(ext):
        chain += bytes([types[i + 1]]) + body
    first = types[0]
    return struct.pack(">IHBB16s16s", 0x60000000, len(chain) + len(payload), first, 64,
                       ipaddress.ip_address(src).packed, ipaddress.ip_address(dst).packed) + chain + payload


def tcp(sp, dp):
    return struct.pack(">HHIIBBHHH", sp, dp, 1, 1, 0x50, 0x10, 1024, 0, 0)


def udp(sp, dp, data=b"x" * 12):
    return struct.pack(">HHHH", sp, dp, 8 + len(data), 0) + data


HOPOPTS = bytes([0, 1, 4, 0, 0, 0, 0])          # 8 bytes with the next-header byte
FRAG6 = bytes([0, 0, 0, 0, 0, 0, 7])            # offset 0, M=0, id 7


def synthetic_packets():
    """(ip version, IP packet, expected key) where the key is what
    docs/PARALLEL.md says: (version, a, b, port a, port b, address only),
    or None for shard 0."""
    pk = []
    for i in range(120):            # TCP over IPv4, both directions
        a, b, pa = f"10.0.{i // 100}.{i % 100 + 1}", "192.168.1.10", 1024 + 7 * i
        pk.append((4, ip4(a, b, 6, tcp(pa, 80)), (4, a, b, pa, 80, False)))
        pk.append((4, ip4(b, a, 6, tcp(80, pa)), (4, a, b, pa, 80, False)))
    for i in range(60):             # UDP over IPv6
        a, b, pa = f"2001:db8::{i + 1:x}", "2001:db8:1::1", 3000 + i
        pk.append((6, ip6(a, b, 17, udp(pa, 4000)), (6, a, b, pa, 4000, False)))
        pk.append((6, ip6(b, a, 17, udp(4000, pa)), (6, a, b, pa, 4000, False)))
    for i in range(30):             # DNS: the host pair, whatever the client port or transport
        a, b = f"10.9.0.{i + 1}", "8.8.8.8"
        pk.append((4, ip4(a, b, 17, udp(40000 + i, 53)), (4, a, b, 0, 0, True)))
        pk.append((4, ip4(b, a, 17, udp(53, 40000 + i)), (4, a, b, 0, 0, True)))
        pk.append((4, ip4(a, b, 6, tcp(50000 + 3 * i, 53)), (4, a, b, 0, 0, True)))
        a6 = f"2001:db8:9::{i + 1:x}"
        pk.append((6, ip6(a6, "2001:4860::8888", 17, udp(41000 + i, 53)),
                   (6, a6, "2001:4860::8888", 0, 0, True)))
    for i in range(20):             # IPv4 fragments: first (with ports) and last
        a, b = f"10.7.0.{i + 1}", "10.8.0.1"
        pk.append((4, ip4(a, b, 17, udp(5000 + i, 6000), mf=1), (4, a, b, 0, 0, True)))
        pk.append((4, ip4(a, b, 17, b"y" * 40, frag_off=3), (4, a, b, 0, 0, True)))
        pk.append((4, ip4(a, b, 1, b"y" * 40, mf=1), None))          # fragmented ICMP
    for i in range(20):             # IPv6 extension headers
        a, b = f"2001:db8:5::{i + 1:x}", "2001:db8:6::1"
        pk.append((6, ip6(a, b, 6, tcp(7000 + i, 443), ext=[(0, HOPOPTS)]), (6, a, b, 7000 + i, 443, False)))
        pk.append((6, ip6(b, a, 6, tcp(443, 7000 + i), ext=[(0, HOPOPTS), (44, FRAG6)]), (6, a, b, 0, 0, True)))
    pk.append((4, ip4("10.0.0.1", "10.0.0.2", 1, b"\x08\x00" + b"z" * 30), None))       # ICMP
    pk.append((4, ip4("10.0.0.1", "10.0.0.2", 6, b"\x01\x02"), None))             # ports cut off
    pk.append((6, ip6("2001:db8::1", "2001:db8::2", 58, b"\x80\x00" + b"z" * 10), None))  # ICMPv6
    return pk


def ether(ethertype, payload, vlans=()):
    """An Ethernet frame; each VLAN tag is its TPID then a TCI, and the
    next TPID (or the ethertype) follows the TCI."""
    out = b"\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb"
    for i, tpid in enumerate(vlans):
        out += struct.pack(">HH", tpid, 100 + i)
    return out + struct.pack(">H", ethertype) + payload


def et(version):
    return 0x0800 if version == 4 else 0x86dd


# pcap link type -> (name, frame builder or None when it cannot carry that version)
LINKS = [
    (1, "ethernet", lambda v, p: ether(et(v), p)),
    (1, "ethernet qinq", lambda v, p: ether(et(v), p, vlans=(0x88a8, 0x8100))),
    (113, "linux sll", lambda v, p: struct.pack(">HHH8sH", 0, 1, 6, b"\x00" * 8, et(v)) + p),
    (276, "linux sll2", lambda v, p: struct.pack(">HHIHBB8s", et(v), 0, 1, 1, 0, 6, b"\x00" * 8) + p),
    (0, "null little-endian", lambda v, p: struct.pack("<I", 2 if v == 4 else 30) + p),
    (0, "null big-endian", lambda v, p: struct.pack(">I", 2 if v == 4 else 24) + p),
    (0, "null linux af_inet6", lambda v, p: struct.pack("<I", 2 if v == 4 else 10) + p),
    (108, "openbsd loop", lambda v, p: struct.pack(">I", 2 if v == 4 else 24) + p),
    (101, "raw ip", lambda v, p: p),
    (228, "raw ipv4", lambda v, p: p if v == 4 else None),
    (229, "raw ipv6", lambda v, p: p if v == 6 else None),
]


def write_pcap(path, linktype, frames):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, linktype))
        for i, fr in enumerate(frames):
            f.write(struct.pack("<IIII", 1700000000 + i, 0, len(fr), len(fr)) + fr)


def t_link_types():
    # Packets of known keys on every parsed link type: each lands in the
    # shard docs/PARALLEL.md gives, computed here from the generator's own
    # addresses and ports (not from the splitter, not from tshark).
    n = 4
    pk = synthetic_packets()
    for linktype, name, build in LINKS:
        frames, want = [], []
        for version, packet, key in pk:
            fr = build(version, packet)
            if fr is None:
                continue
            frames.append(fr)
            want.append(0 if key is None else doc_shard(key[0], key[1], key[2], key[3], key[4], key[5], n))
        if linktype == 1:           # and non-IP: ARP goes to shard 0
            frames.append(ether(0x0806, b"\x00" * 28))
            want.append(0)
        cap = TMP / f"link-{linktype}.pcap"
        write_pcap(cap, linktype, frames)
        out = split_ok(cap, n, "link")
        got = {}
        for i, (_, m) in enumerate(shard_files(out, n)):
            for fr in read_map(m):
                got[fr] = i
        eq(len(got), len(frames), f"{name}: frames in the maps")
        for k, w in enumerate(want, start=1):
            if got[k] != w:
                raise AssertionError(f"{name}: frame {k} in shard {got[k]}, the documented hash says {w}")


def t_spread():
    # 120 IPv4 TCP conversations over 4 shards: a fair hash puts 30 +- 4.7
    # (one standard deviation) in each; between 12 and 48 is 3.8 standard
    # deviations. The hash is fixed, so this cannot be flaky: it either
    # always passes or the hash spreads badly.
    pk = synthetic_packets()[:240]
    cap = TMP / "spread.pcap"
    write_pcap(cap, 1, [ether(0x0800, p) for _, p, _ in pk])
    out = split_ok(cap, 4, "spread")
    for i, (_, m) in enumerate(shard_files(out, 4)):
        conversations = len(read_map(m)) // 2
        if not 12 <= conversations <= 48:
            raise AssertionError(f"shard {i} has {conversations} of 120 conversations")


def t_one_shard():
    cap = CAPTURES / "demo.pcap"
    out = split_ok(cap, 1, "one")
    (c, m), = shard_files(out, 1)
    frames = read_map(m)
    n = len(tshark_fields(cap, ["frame.number"]))
    eq(frames, list(range(1, n + 1)), "the one map")
    eq(tshark_fields(c, FIELDS), tshark_fields(cap, FIELDS), "the one shard's frames")


def t_repeatable():
    cap = CAPTURES / "demo.pcap"
    a = split_ok(cap, 3, "rep-a")
    b = split_ok(cap, 3, "rep-b")
    for name in sorted(p.name for p in a.iterdir()):
        eq(hashlib.sha256((a / name).read_bytes()).hexdigest(),
           hashlib.sha256((b / name).read_bytes()).hexdigest(), f"{name} of two splits")


def t_formats():
    # pcap in, pcap out by default; --format pcapng converts; a gzip'd
    # pcap comes out as plain pcap.
    cap = CAPTURES / "demo.pcap"
    out = split_ok(cap, 2, "fmt-ng", "--format", "pcapng")
    for c, _ in shard_files(out, 2):
        eq(magic(c), "pcapng", f"{c.name} with --format pcapng")
    gz = TMP / "demo.pcap.gz"
    gz.write_bytes(gzip.compress(cap.read_bytes()))
    out = split_ok(gz, 2, "fmt-gz")
    for c, _ in shard_files(out, 2):
        eq(magic(c), "pcap", f"{c.name} of a gzip'd pcap")
    total = sum(len(read_map(m)) for _, m in shard_files(out, 2))
    eq(total, len(tshark_fields(cap, ["frame.number"])), "records of the gzip'd split")


def fails(status, args, *contains, files_left=False):
    r = run_split(*args)
    eq(r.returncode, status, f"exit status of {args} ({r.stderr.strip()})")
    eq(r.stdout, "", "standard output")
    lines = r.stderr.strip().splitlines()
    eq(len(lines) >= 1 and lines[0].startswith("packetmancer-split: "), True, f"message {r.stderr!r}")
    for c in contains:
        if c not in r.stderr:
            raise AssertionError(f"{c!r} not in {r.stderr!r}")


def t_bad_inputs():
    out = TMP / "bad-out"
    shutil.rmtree(out, ignore_errors=True)
    fails(EX_INPUT, ["-n", 2, "-o", out, TMP / "no-such.pcap"], "No such file")
    eq(out.exists(), False, "output folder after a missing input")
    text = TMP / "text.pcap"
    text.write_text("not a capture\n" * 10)
    fails(EX_INPUT, ["-n", 2, "-o", out, text], "isn't a capture file")
    fails(EX_INPUT, ["-n", 2, "-o", out, TMP], "cannot open")

    # A pcap cut in the middle of a record: error, and no shard is left
    # that would look whole. The cut is worked out from the format: 24-byte
    # file header, then 16-byte record headers with the captured length at
    # offset 8.
    data = (CAPTURES / "demo.pcap").read_bytes()
    off, records = 24, 0
    while records < 100:
        caplen = struct.unpack_from("<I", data, off + 8)[0]
        off += 16 + caplen
        records += 1
    cut = TMP / "cut.pcap"
    cut.write_bytes(data[:off + 16 + 10])   # 100 whole records, then half of one
    fails(EX_DAMAGED, ["-n", 2, "-o", out, cut], "damaged or truncated after 100 records")
    eq(out.exists(), False, "output folder after a damaged input")
    r = run_split("-n", 2, "-o", out, "--keep-partial", cut)
    eq(r.returncode, EX_DAMAGED, "exit status with --keep-partial")
    eq(sorted(fr for _, m in shard_files(out, 2) for fr in read_map(m)), list(range(1, 101)),
       "frames kept by --keep-partial")


def t_usage():
    cap = CAPTURES / "demo.pcap"
    out = TMP / "usage-out"
    shutil.rmtree(out, ignore_errors=True)
    fails(EX_USAGE, ["-o", out, cap], "-n N and -o DIR are required")
    fails(EX_USAGE, ["-n", 2, cap], "-n N and -o DIR are required")
    for bad in ("0", "257", "x", "2x", ""):
        fails(EX_USAGE, ["-n", bad, "-o", out, cap], "number of shards")
    fails(EX_USAGE, ["-n", 2, "-o", out], "missing the input")
    fails(EX_USAGE, ["-n", 2, "-o", out, cap, cap], "only one input")
    fails(EX_USAGE, ["-n", 2, "-o", out, "--format", "erf", cap], "pcap or pcapng")
    fails(EX_USAGE, ["-n", 2, "-o", out, "--bogus", cap], "unknown option --bogus")
    fails(EX_USAGE, ["-n", 2, "-o"], "needs a value")
    eq(out.exists(), False, "output folder after usage errors")
    if SHARED.is_dir():
        # Mixed link types cannot be pcap.
        fails(EX_USAGE, ["-n", 2, "-o", out, "--format", "pcap", SHARED / "many_interfaces-1.pcapng"],
              "cannot be written as pcap")
    # A non-empty output folder is refused and left as it was.
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    fails(EX_OUTPUT, ["-n", 2, "-o", out, cap], "not empty")
    eq(sorted(p.name for p in out.iterdir()), ["keep.txt"], "the non-empty folder afterwards")
    # An output folder that cannot be made.
    fails(EX_OUTPUT, ["-n", 2, "-o", out / "keep.txt" / "sub", cap], "cannot create")
    r = run_split("--help")
    eq(r.returncode, 0, "--help")
    if "Exit status" not in r.stdout:
        raise AssertionError("--help lists no exit statuses")


def main():
    global SPLIT, TMP
    ap = argparse.ArgumentParser()
    ap.add_argument("--split", required=True, type=Path, help="the packetmancer-split program")
    a = ap.parse_args()
    SPLIT = a.split.resolve()
    t0 = time.monotonic()
    TMP = Path(tempfile.mkdtemp(prefix="pm-split-test."))
    try:
        checks = make_capture_checks() + [
            ("link types", t_link_types),
            ("spread over shards", t_spread),
            ("one shard", t_one_shard),
            ("repeatable", t_repeatable),
            ("formats", t_formats),
            ("bad inputs", t_bad_inputs),
            ("usage", t_usage),
        ]
        for name, fn in checks:
            check(name, fn)
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
    print(f"{len(PASSED)} passed, {len(FAILED)} failed, {len(SKIPPED)} skipped "
          f"({time.monotonic() - t0:.0f} s)")
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
