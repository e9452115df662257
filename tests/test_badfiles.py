#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Copyright (c) 2026 The PacketMancer authors
"""Bad capture files: tshark with the plugin, and the packetmancer command.

Each file is made here from the pcap/pcapng/gzip formats themselves (not
from tshark's output): cut mid-record, empty (0 bytes), a valid header and
no packet (pcap and pcapng), a text file, random bytes, gzip with a byte
flipped in the deflate data, with a wrong CRC, and cut in half, and a
pcapng whose first time stamp is 2^62 seconds (a crafted file).

With the plugin and all three outputs (-z packetmancer,report,json,tree),
tshark must give its own clear error on stderr and its exit status 2
where it considers the file an error, exit 0 for a valid file with no
packet (a report of 0 conversations), and never die of a signal nor let
a sanitizer report out (--plugin may be the PM_SANITIZE=ON build: then
tshark gets LD_PRELOAD of libasan).

With --build-dir, the build is also installed with `cmake --install` into
a throwaway DESTDIR and the installed `packetmancer` command must map
each file to its documented exit status (README: 5 not a capture file,
6 damaged or truncated, 0 ok) with one `packetmancer: ...` line, and must
never leave a --json file behind for a file tshark could not read whole.

Known issues (listed in KNOWN below, docs/ROBUSTNESS.md) are run too: they
are reported as XFAIL while they still fail, and fail the run as XPASS
once fixed, so that the list is kept true.

Usage: test_badfiles.py --plugin PLUGIN.so [--build-dir BUILD [--cmake CMAKE]]
Prints one line per check and "N passed, N failed, N skipped" at the end.
"""

import argparse
import gzip
import json
import os
import random
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CAPTURES = ROOT / "captures"
TSHARK_PM = ROOT / "tests" / "tshark-pm"

PASSED, FAILED, SKIPPED, XFAILED = [], [], [], []
SAN_EXIT = 86
SAN_REPORT = re.compile(r"ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|UndefinedBehaviorSanitizer")

# name -> why it is expected to fail for now (docs/ROBUSTNESS.md). The
# ones in KNOWN_SANITIZED fail only with a sanitizer build of the plugin.
KNOWN = {}
KNOWN_SANITIZED = {}


class SkipTest(Exception):
    pass


def check(name, fn):
    try:
        fn()
    except SkipTest as e:
        SKIPPED.append(name)
        print(f"SKIP {name}: {e}")
    except Exception as e:  # noqa: BLE001 - every failure is reported the same way
        if name in KNOWN:
            XFAILED.append(name)
            print(f"XFAIL {name}: {KNOWN[name]}\n      ({str(e).splitlines()[0][:300]})")
        else:
            FAILED.append(name)
            print(f"FAIL {name}: {e}")
    else:
        if name in KNOWN:
            FAILED.append(name)
            print(f"XPASS {name}: fixed? then remove it from KNOWN in {Path(__file__).name}")
        else:
            PASSED.append(name)
            print(f"ok   {name}")
    sys.stdout.flush()


def eq(actual, expected, what):
    if actual != expected:
        raise AssertionError(f"{what}: expected {expected!r}, got {actual!r}")


def has(text, needle, what):
    if needle not in text:
        raise AssertionError(f"{what}: {needle!r} not in {text.strip()[-1500:]!r}")


# ------------------------------------------------------------------ the files

def mid_record_cut(data, n):
    """Length ending in the middle of packet record n+1 of a classic
    little-endian pcap file: tshark then reads n packets."""
    off = 24
    for _ in range(n):
        off += 16 + struct.unpack("<I", data[off + 8:off + 12])[0]
    incl = struct.unpack("<I", data[off + 8:off + 12])[0]
    assert incl > 20
    return off + 16 + incl // 2


def pcapng_block(btype, body):
    body += b"\0" * (-len(body) % 4)
    n = 12 + len(body)
    return struct.pack("<II", btype, n) + body + struct.pack("<I", n)


def pcapng_file(tsresol_exp=None, packets=()):
    """A pcapng with one Ethernet interface and Enhanced Packet Blocks
    (timestamp, frame); tsresol_exp sets if_tsresol to 10^-exp seconds."""
    shb = pcapng_block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    opts = b""
    if tsresol_exp is not None:
        opts = struct.pack("<HHB3x", 9, 1, tsresol_exp) + struct.pack("<HH", 0, 0)
    idb = pcapng_block(1, struct.pack("<HHI", 1, 0, 0) + opts)
    epbs = b"".join(pcapng_block(6, struct.pack("<IIIII", 0, ts >> 32, ts & 0xFFFFFFFF, len(f), len(f)) + f)
                    for ts, f in packets)
    return shb + idb + epbs


def syn_frame():
    """Ethernet/IPv4/TCP SYN 10.0.0.1:40000 -> 10.0.0.2:80."""
    tcp = struct.pack("!HHIIBBHHH", 40000, 80, 1, 0, 5 << 4, 0x02, 65535, 0, 0)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 1, 0, 64, 6, 0,
                     socket.inet_aton("10.0.0.1"), socket.inet_aton("10.0.0.2"))
    return b"\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\x08\x00" + ip + tcp


def make_files(d):
    demo = (CAPTURES / "demo.pcap").read_bytes()   # 1900 packets, classic pcap, little-endian
    gz = gzip.compress(demo, mtime=0)
    files = {
        "truncated.pcap": demo[:mid_record_cut(demo, 199)],
        "cut-record-header.pcap": demo[:24 + 6],
        "empty.pcap": b"",
        # Magic, version 2.4, thiszone 0, sigfigs 0, snaplen 262144, Ethernet.
        "zero-packets.pcap": struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1),
        "zero-packets.pcapng": pcapng_file(),
        "notes.txt": b"These are notes about a capture, not a capture.\n" * 20,
        "random.bin": bytes(random.Random(7).randrange(256) for _ in range(4096)),
        # Every 997th byte of the deflate data (after the 10-byte header)
        # inverted: the stream no longer decodes.
        "flipped.pcap.gz": bytes(b ^ 0xFF if i >= 10 and (i - 10) % 997 == 0 and i < len(gz) - 8 else b
                                 for i, b in enumerate(gz)),
        # The CRC32 of the trailer (the last 8 bytes: CRC32, ISIZE) wrong.
        "bad-crc.pcap.gz": gz[:-8] + bytes(b ^ 0xFF for b in gz[-8:-4]) + gz[-4:],
        "cut.pcap.gz": gz[:len(gz) // 2],
        # Time stamps in seconds (if_tsresol 10^0): 2^62 s, then 5 s.
        "huge-timestamp.pcapng": pcapng_file(0, [(2 ** 62, syn_frame()), (5, syn_frame())]),
    }
    for name, data in files.items():
        (d / name).write_bytes(data)
        os.chmod(d / name, 0o644)
    return {name: d / name for name in files}


# ------------------------------------------------------------------ tshark

class T:
    pass


def tshark(path, *extra):
    env = dict(os.environ)
    env.update(T.env)
    p = subprocess.run([str(TSHARK_PM), "--plugin", T.plugin, "-q", "-r", str(path),
                        "-z", "packetmancer,report", "-z", "packetmancer,json", "-z", "packetmancer,tree", *extra],
                       capture_output=True, env=env, timeout=600)
    out, err = p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")
    if p.returncode < 0 or p.returncode >= 128:
        raise AssertionError(f"tshark died (exit {p.returncode}): {err[-2000:]}")
    if SAN_REPORT.search(err) or p.returncode == SAN_EXIT:
        raise AssertionError(f"sanitizer report (exit {p.returncode}): {err[-3000:]}")
    return p.returncode, out, err


def json_doc(out):
    """The JSON document printed on stdout between the report and the tree."""
    start = out.find("{\n")
    if start < 0:
        raise AssertionError(f"no JSON document in {out[-2000:]!r}")
    doc, _ = json.JSONDecoder().raw_decode(out[start:])
    return doc


def t_error(name, rc_expected, *messages):
    """tshark's own error, its exit status, nothing printed by the plugin
    for a file it never read."""
    def run():
        rc, out, err = tshark(T.files[name])
        eq(rc, rc_expected, f"tshark exit status (stderr {err.strip()!r})")
        for m in messages:
            if not re.search(m, err):
                raise AssertionError(f"stderr lacks /{m}/: {err.strip()!r}")
    return run


def t_not_capture(name):
    def run():
        t_error(name, 2, r"isn't a capture file in a format TShark understands")()
        rc, out, err = tshark(T.files[name])
        # tshark gives up before reading: no report, no document.
        if "--- TCP Health Detector Report ---" in out:
            raise AssertionError(f"a report for a file that is not a capture: {out[:500]!r}")
    return run


def t_damaged(name, packets, *messages):
    """tshark stops at the damage with exit 2 and its message; the plugin's
    outputs cover what was read (packets), and the JSON still parses."""
    def run():
        rc, out, err = tshark(T.files[name])
        eq(rc, 2, f"tshark exit status (stderr {err.strip()!r})")
        if not any(re.search(m, err) for m in messages):
            raise AssertionError(f"stderr lacks any of {messages}: {err.strip()!r}")
        if packets is not None:
            has(out, f"| Packets: {packets} |", "partial report")
            eq(json_doc(out)["summary"]["packets_total"], packets, "JSON packets_total")
            has(out, "PacketMancer/TCP health", "stats tree")
        elif out.strip():
            # Where the damage lies decides how much was read (nothing
            # when the gzip stream breaks in its first block): whatever
            # was printed must be whole.
            json_doc(out)
            has(out, "--- ANALYSIS COMPLETE ---", "report")
    return run


def t_zero_packets(name):
    def run():
        rc, out, err = tshark(T.files[name])
        eq(rc, 0, f"tshark exit status (stderr {err.strip()!r})")
        has(out, "| Packets: 0 |", "report")
        has(out, "No TCP conversations found.", "report")
        doc = json_doc(out)
        eq((doc["summary"]["packets_total"], doc["detectors"]["tcp_health"]["conversations_total"]),
           (0, 0), "JSON packets and conversations")
        has(out, "PacketMancer/TCP health", "stats tree")
    return run


def t_empty_file():
    """0 bytes. tshark 4.0 reads it as a capture with no packet (exit 0,
    no message); other releases may call it an error (exit 2). Either way
    it must be one of the two, consistently reported."""
    rc, out, err = tshark(T.files["empty.pcap"])
    if rc == 0:
        has(out, "| Packets: 0 |", "report")
        eq(json_doc(out)["detectors"]["tcp_health"]["conversations_total"], 0, "conversations")
    else:
        eq(rc, 2, "tshark exit status")
        if not re.search(r"isn't a capture file|is empty|cut short", err):
            raise AssertionError(f"no clear error: {err!r}")


def t_json_output_truncated():
    """-o packetmancer.json_output on a truncated file: what is written?
    tshark exits 2, yet the plugin's taps are drawn as usual, so the file
    holds a complete-looking document of the 199 packets read before the
    cut, with nothing in it that says the read stopped early. Checked here
    so that a change shows; the packetmancer command never lets such a
    document out (its own check, below)."""
    target = T.outdir / "truncated.json"
    if target.exists():
        target.unlink()
    rc, out, err = tshark(T.files["truncated.pcap"], "-o", f"packetmancer.json_output:{target}")
    eq(rc, 2, "tshark exit status")
    if not target.exists():
        raise AssertionError("no JSON file written (the plugin changed: update docs/ROBUSTNESS.md)")
    doc = json.loads(target.read_text())
    eq(doc["summary"]["packets_total"], 199, "packets_total of the document")
    flags = [k for k in doc["summary"] if re.search(r"complete|partial|truncat|error", k)]
    eq(flags, [], "summary fields saying the read stopped early")
    # Atomic: no temporary file left beside the target.
    eq(sorted(p.name for p in T.outdir.iterdir()), ["truncated.json"], "files in the output folder")
    target.unlink()


# ------------------------------------------------------------------ the command

class Cli:
    pass


def cli_setup(build_dir, cmake, top):
    Cli.top = top
    dest = top / "root"
    p = subprocess.run([cmake, "--install", str(build_dir), "--prefix", "/usr"],
                       env={**os.environ, "DESTDIR": str(dest)}, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"cmake --install failed: {p.stderr.strip()}")
    Cli.bin = dest / "usr" / "bin" / "packetmancer"
    sos = sorted(dest.rglob("packetmancer.so"))
    if not Cli.bin.exists() or not sos:
        raise SystemExit(f"the install into {dest} has no packetmancer command or plugin")
    Cli.tshark = top / "tshark-with-plugin"
    Cli.tshark.write_text(f'#!/bin/sh\nexec "{TSHARK_PM}" --plugin "{sos[0]}" "$@"\n')
    os.chmod(Cli.tshark, 0o755)
    Cli.tmp = top / "tmp"
    Cli.tmp.mkdir()
    os.chmod(Cli.tmp, 0o777)


def cli(*args):
    env = {k: v for k, v in os.environ.items() if k not in ("PACKETMANCER_TSHARK", "TMPDIR")}
    env.update(T.env)
    env["TMPDIR"] = str(Cli.tmp)
    env["PACKETMANCER_TSHARK"] = str(Cli.tshark)
    p = subprocess.run([str(Cli.bin), *map(str, args)], capture_output=True, env=env, timeout=600)
    out, err = p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")
    if p.returncode < 0 or SAN_REPORT.search(err):
        raise AssertionError(f"packetmancer died or a sanitizer reported (exit {p.returncode}): {err[-2000:]}")
    eq(sorted(os.listdir(Cli.tmp)), [], "files left in TMPDIR")
    return p.returncode, out, err


def one_error_line(err, *contains):
    lines = err.splitlines()
    eq(len(lines), 1, f"lines on standard error ({err!r})")
    if not lines[0].startswith("packetmancer: "):
        raise AssertionError(f"error line does not start with 'packetmancer: ': {lines[0]!r}")
    for c in contains:
        has(lines[0], c, "error line")


def t_cli(name, status, *contains):
    """packetmancer --file NAME --json T: the status and its one line; the
    --json target is written only on success."""
    def run():
        target = T.outdir / "cli.json"
        if target.exists():
            target.unlink()
        rc, out, err = cli("--file", T.files[name], "--json", target)
        eq(rc, status, f"exit status (stderr {err.strip()!r})")
        if status == 0:
            eq(err, "", "standard error")
            doc = json.loads(target.read_text())
            eq(doc["detectors"]["tcp_health"]["conversations_total"], 0, "conversations in the JSON")
            has(out, "No TCP conversations found.", "report")
            target.unlink()
        else:
            one_error_line(err, *contains)
            eq(target.exists(), False, "--json target written for a file tshark could not read whole")
        eq(sorted(p.name for p in T.outdir.iterdir()), [], "files in the --json folder")
    return run


# ------------------------------------------------------------------ main

def asan_env(plugin):
    """PM_TSHARK_WRAP (LD_PRELOAD of libasan, fuzz.py's asan_wrap) and
    options for a sanitizer build of the plugin; {} for a plain one."""
    p = subprocess.run(["readelf", "-d", plugin], capture_output=True, text=True)
    if "libasan" not in p.stdout:
        return {}
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import fuzz  # noqa: E402 - the one place that knows how to preload ASan
    wrap = fuzz.asan_wrap()
    if not wrap:
        raise SystemExit("the plugin is a sanitizer build but gcc has no libasan.so")
    return {"PM_TSHARK_WRAP": wrap,
            "ASAN_OPTIONS": f"detect_leaks=0:exitcode={SAN_EXIT}:halt_on_error=1",
            "UBSAN_OPTIONS": f"print_stacktrace=1:halt_on_error=1:exitcode={SAN_EXIT}"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--plugin", required=True)
    ap.add_argument("--build-dir", type=Path, help="also test the installed packetmancer command")
    ap.add_argument("--cmake", default="cmake")
    a = ap.parse_args()
    T.plugin = str(Path(a.plugin).resolve())
    T.env = asan_env(T.plugin)
    if T.env:
        KNOWN.update(KNOWN_SANITIZED)
    top = Path(tempfile.mkdtemp(prefix="pm-badfiles-"))
    os.chmod(top, 0o755)          # tshark runs as nobody when we are root
    try:
        inp = top / "in"
        inp.mkdir()
        os.chmod(inp, 0o755)
        T.files = make_files(inp)
        T.outdir = top / "out"
        T.outdir.mkdir()
        os.chmod(T.outdir, 0o777)
        cut_short = r"appears to have been cut short in the middle of a packet"
        damaged = r"cannot be decompressed; it may be damaged or corrupt|appears to be damaged or corrupt"

        check("tshark: truncated mid-record", t_damaged("truncated.pcap", 199, cut_short))
        check("tshark: cut inside the first record header", t_damaged("cut-record-header.pcap", 0, cut_short))
        check("tshark: empty file (0 bytes)", t_empty_file)
        check("tshark: pcap with no packet", t_zero_packets("zero-packets.pcap"))
        check("tshark: pcapng with no packet", t_zero_packets("zero-packets.pcapng"))
        check("tshark: text file", t_not_capture("notes.txt"))
        check("tshark: random bytes", t_not_capture("random.bin"))
        check("tshark: gzip with flipped bytes", t_damaged("flipped.pcap.gz", None, damaged, cut_short))
        # The CRC is checked at the end: every packet was read.
        check("tshark: gzip with a wrong CRC", t_damaged("bad-crc.pcap.gz", 1900, r"cannot be decompressed.*\n?.*bad CRC"))
        check("tshark: gzip cut in half", t_damaged("cut.pcap.gz", None, cut_short, damaged))
        check("tshark: pcapng with a time stamp of 2^62 s", t_error("huge-timestamp.pcapng", 0))
        check("tshark: json_output on a truncated file", t_json_output_truncated)

        if a.build_dir:
            cli_setup(a.build_dir.resolve(), a.cmake, top)
            check("packetmancer: truncated mid-record: status 6", t_cli("truncated.pcap", 6, "damaged or truncated"))
            check("packetmancer: cut record header: status 6", t_cli("cut-record-header.pcap", 6, "damaged or truncated"))
            check("packetmancer: pcap with no packet: status 0", t_cli("zero-packets.pcap", 0))
            check("packetmancer: pcapng with no packet: status 0", t_cli("zero-packets.pcapng", 0))
            check("packetmancer: text file: status 5", t_cli("notes.txt", 5, "not a capture file"))
            check("packetmancer: random bytes: status 5", t_cli("random.bin", 5, "not a capture file"))
            check("packetmancer: gzip with flipped bytes: status 6", t_cli("flipped.pcap.gz", 6, "damaged or truncated"))
            check("packetmancer: gzip with a wrong CRC: status 6", t_cli("bad-crc.pcap.gz", 6, "damaged or truncated"))
            check("packetmancer: gzip cut in half: status 6", t_cli("cut.pcap.gz", 6, "damaged or truncated"))
            check("packetmancer: empty file (0 bytes): status 5", t_cli("empty.pcap", 5, "not a capture file"))
        else:
            check("the packetmancer command", lambda: (_ for _ in ()).throw(SkipTest("no --build-dir")))
    finally:
        shutil.rmtree(top, ignore_errors=True)
    print(f"\n{len(PASSED)} passed, {len(FAILED)} failed, {len(SKIPPED)} skipped, {len(XFAILED)} known issues")
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
