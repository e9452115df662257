#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Tests of packetmancer-merge (tools/pm-merge.c) against single runs.

For every capture of captures/ and, when present, ../shared/captures/:
the capture is analysed once whole (tshark with the plugin, JSON with
state), then split into N = 2, 3 and 4 shards, each shard analysed on its
own, and the shard documents merged with their frame maps. The merged
document must equal the single run's, whole: every conversation (flow and
tcp.stream, renumbered by first frame), every counter, score, level,
reason and order, every evidence frame (translated through the maps),
every DNS pair with its names, the summary, and the percentiles. Those are
compared for equality, not within the sketch's 1%: a conversation or DNS
pair lives in one shard, so its sketch is carried over bucket for bucket
and the quantiles are the same doubles; the state objects, which hold the
sketches themselves, are compared too.

Shards come from the real splitter (--split, tools/pm-split.c); without
it, from a small splitter here (tshark fields for the flow key, editcap
to write the shards), so that the merge can be tested on its own.

Also checked: the report drawn by the merge equals the plugin's report
(English and Spanish), --json-top equals the plugin's json_top, merged
documents merge again, -o writes the same bytes, and every error path
(usage, unreadable or invalid parts, parts without state or with fewer
conversations listed than exist, mismatched settings, bad maps, an
unwritable output) exits with its documented status and names the file.

Usage: test_merge.py --plugin packetmancer.so --merge packetmancer-merge
                     [--split packetmancer-split] [--shards 2,3,4] [--jobs 2]
Prints a table of what was compared and "N passed, N failed, N skipped".
"""

import argparse
import concurrent.futures
import fnmatch
import json
import os
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
TSHARK_PM = ROOT / "tests" / "tshark-pm"

PASSED, FAILED, SKIPPED = [], [], []
ARGS = None
TMP = None

# packetmancer-merge's exit statuses (its --help).
EX_OK, EX_USAGE, EX_INPUT, EX_OUTPUT = 0, 1, 2, 3


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

def workdir(name):
    """A fresh folder that tshark, run as nobody by tshark-pm, can write."""
    d = TMP / name
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    d.chmod(0o777)
    return d


def tshark_json(capture, out, *prefs):
    """The plugin's JSON document with state for capture, written to out."""
    return tshark_run(capture, out, *prefs)[0]


def tshark_run(capture, out, *prefs, damaged_ok=False):
    """(document, damaged). damaged_ok: a capture damaged part-way makes
    tshark exit with 2 after the packets before the damage; the document
    of those is still written."""
    cmd = [str(TSHARK_PM), "--plugin", ARGS.plugin, "-q", "-r", str(capture),
           "-z", "packetmancer,json", "-o", "packetmancer.json_state:on",
           "-o", f"packetmancer.json_output:{out}"]
    for p in prefs:
        cmd += ["-o", p]
    r = subprocess.run(cmd, capture_output=True, text=True)
    damaged = r.returncode == 2 and ("cut short" in r.stderr or "damaged" in r.stderr)
    if (r.returncode != 0 and not (damaged_ok and damaged)) or not Path(out).exists():
        raise AssertionError(f"tshark on {capture} failed ({r.returncode}): {r.stderr.strip()[-500:]}")
    return json.loads(Path(out).read_text()), damaged


def tshark_report(capture, *prefs):
    cmd = [str(TSHARK_PM), "--plugin", ARGS.plugin, "-q", "-r", str(capture),
           "-z", "packetmancer,report"]
    for p in prefs:
        cmd += ["-o", p]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise AssertionError(f"tshark report on {capture} failed: {r.stderr.strip()[-500:]}")
    return r.stdout


def merge(*args):
    return subprocess.run([ARGS.merge, *map(str, args)], capture_output=True, text=True)


def merge_ok(*args):
    r = merge(*args)
    if r.returncode != 0:
        raise AssertionError(f"merge failed ({r.returncode}): {r.stderr.strip()}")
    return r


def read_map(path):
    data = Path(path).read_bytes()
    return list(struct.unpack(f"<{len(data) // 4}I", data))


# ------------------------------------------------------------------ splitting

def split_real(capture, n, out, damaged=False):
    # A damaged capture: the shards of the records before the damage
    # (--keep-partial, exit status 3), as one run reads them.
    r = subprocess.run([ARGS.split, "-n", str(n), "-o", str(out), *(["--keep-partial"] if damaged else []),
                        str(capture)], capture_output=True, text=True)
    if r.returncode != (3 if damaged else 0):
        raise AssertionError(f"packetmancer-split -n {n} {capture.name}: {r.stderr.strip()}")
    return [(out / f"shard-{i:03d}.cap", out / f"shard-{i:03d}.frames") for i in range(n)]


def split_fallback(capture, n, out):
    """Shards by flow without packetmancer-split: the flow key of every
    frame from plain tshark's fields (address pair and port pair, both
    directions alike; the address pair alone for DNS and fragments, as
    the merge needs), editcap -r to write each shard's frames."""
    out.mkdir(parents=True, exist_ok=True)
    fields = ["frame.number", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst", "tcp.srcport",
              "tcp.dstport", "udp.srcport", "udp.dstport", "ip.flags.mf", "ip.frag_offset"]
    cmd = ["tshark", "-n", "-r", str(capture), "-T", "fields", "-E", "occurrence=f"]
    for f in fields:
        cmd += ["-e", f]
    rows = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.splitlines()
    frames = [[] for _ in range(n)]
    for row in rows:
        v = (row.split("\t") + [""] * len(fields))[:len(fields)]
        a, b = (v[1], v[2]) if v[1] else (v[3], v[4])
        ports = (v[5], v[6]) if v[5] else (v[7], v[8])
        if not a:
            shard = 0
        else:
            frag = v[9] in ("1", "True") or v[10] not in ("", "0")
            key = sorted([a, b])
            if ports[0] and "53" not in ports and not frag:
                key = sorted([(a, ports[0]), (b, ports[1])])
            shard = sum(ord(c) for c in repr(key)) % n
        frames[shard].append(int(v[0]))
    shards = []
    for i in range(n):
        cap, fmap = out / f"shard-{i:03d}.cap", out / f"shard-{i:03d}.frames"
        ranges, nums = [], frames[i]
        j = 0
        while j < len(nums):
            k = j
            while k + 1 < len(nums) and nums[k + 1] == nums[k] + 1:
                k += 1
            ranges.append(f"{nums[j]}-{nums[k]}" if k > j else str(nums[j]))
            j = k + 1
        # editcap -r keeps the frames named; with none it would keep none.
        subprocess.run(["editcap", "-r", str(capture), str(cap), *ranges] if ranges
                       else ["editcap", "-r", str(capture), str(cap), "0"],
                       capture_output=True, check=True)
        fmap.write_bytes(struct.pack(f"<{len(nums)}I", *nums))
        shards.append((cap, fmap))
    return shards


def split(capture, n, out, damaged=False):
    if ARGS.split:
        return split_real(capture, n, out, damaged)
    if damaged:
        raise SkipTest("a damaged capture needs packetmancer-split --keep-partial")
    return split_fallback(capture, n, out)


def chmod_all(d):
    for p in [d, *d.rglob("*")]:
        p.chmod(0o777 if p.is_dir() else 0o666)


def shard_docs(capture, n, wd, *prefs, damaged=False):
    """Split capture into n shards and analyse each: [(json path, map path)]."""
    shards = split(capture, n, wd / f"n{n}", damaged)
    chmod_all(wd)
    parts = []
    for cap, fmap in shards:
        out = cap.with_suffix(".json")
        tshark_json(cap, out, *prefs)
        parts.append((out, fmap))
    return parts


def merge_args(parts):
    args = []
    for doc, fmap in parts:
        args += ["--map", fmap, doc]
    return args


# ------------------------------------------------------------------ comparing

def differences(a, b, path="", out=None):
    """Paths where two JSON values differ (at most 12)."""
    out = [] if out is None else out
    if len(out) >= 12:
        return out
    if type(a) is not type(b):
        out.append(f"{path}: {json.dumps(a)[:80]} vs {json.dumps(b)[:80]}")
    elif isinstance(a, dict):
        for k in list(a) + [k for k in b if k not in a]:
            if k not in a or k not in b:
                out.append(f"{path}/{k}: only in {'the single run' if k in a else 'the merge'}")
            else:
                differences(a[k], b[k], f"{path}/{k}", out)
    elif isinstance(a, list):
        if len(a) != len(b):
            out.append(f"{path}: {len(a)} entries vs {len(b)}")
        for i, (x, y) in enumerate(zip(a, b)):
            differences(x, y, f"{path}/{i}", out)
    elif a != b:
        out.append(f"{path}: {json.dumps(a)[:80]} vs {json.dumps(b)[:80]}")
    return out


def same_document(single, merged, what):
    diffs = differences(single, merged)
    if diffs:
        raise AssertionError(f"{what}: merged document differs from the single run:\n      "
                             + "\n      ".join(diffs))
    # Key order too: the merge writes the document with the same code.
    if json.dumps(single) != json.dumps(merged):
        raise AssertionError(f"{what}: same values, different order of members")


def inventory(doc):
    """What a document holds, for the table: conversations, evidence frames,
    RTT sketches (with samples), DNS pairs, DNS names."""
    tcp = doc["detectors"].get("tcp_health", {}).get("top_by_severity", [])
    dns = doc["detectors"].get("dns_health", {}).get("top_by_severity", [])
    ev = sum(len(f) for c in tcp for f in c["evidence"]["event_frames"].values())
    rtt = sum(1 for c in tcp for d in ("c2s", "s2c") if c[d]["rtt_ms"])
    names = sum(len(v) for p in dns for v in p["top_names"].values())
    lat = sum(1 for p in dns if p["latency_ms"])
    return len(tcp), ev, rtt, len(dns), names + lat


TABLE = []


def check_capture(capture, counts):
    """Single run vs merges of N shards for one capture; returns a table row."""
    wd = workdir("cap-" + capture.name.replace(".", "_"))
    # Damaged part-way (two shared captures are, on purpose): tshark
    # reports on the packets before the damage, and so must the merge of
    # the shards of those packets.
    single, damaged = tshark_run(capture, wd / "single.json", damaged_ok=True)
    shown = single["summary"]["file"]
    row = [capture.name + (" (damaged)" if damaged else ""), single["summary"]["packets_total"],
           *inventory(single)]
    for n in ARGS.shard_counts:
        if n not in counts:
            row.append("-")
            continue
        parts = shard_docs(capture, n, wd, damaged=damaged)
        merged = json.loads(merge_ok("--file", shown, *merge_args(parts)).stdout)
        same_document(single, merged, f"{capture.name}, {n} shards")
        row.append("=")
    return row


def test_captures():
    caps = sorted(CAPTURES.glob("*.pcap"))
    if SHARED.is_dir():
        caps += sorted(p for p in SHARED.iterdir() if p.name != "MANIFEST.md" and p.is_file())
    else:
        print(f"SKIP shared captures: {SHARED} is absent (only captures/ is compared)")
        SKIPPED.append("shared captures")
    if ARGS.captures:
        caps = [c for c in caps if fnmatch.fnmatch(c.name, ARGS.captures)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=ARGS.jobs) as pool:
        # The shared captures (many, some large) with --shared-shards only,
        # to keep the test command's time reasonable; --shared-shards 2,3,4
        # is the full comparison.
        counts = {c: ARGS.shard_counts if c.parent == CAPTURES else ARGS.shared_counts
                  for c in caps}
        futures = {c: pool.submit(check_capture, c, counts[c]) for c in caps}
        for c, f in futures.items():
            check(f"merge of {','.join(map(str, counts[c]))} shards equals the single run: "
                  f"{c.parent.name}/{c.name}", lambda f=f: TABLE.append(f.result()))


def print_table():
    heads = ["capture", "frames", "convs", "evid.", "RTT sk.", "DNS", "names+lat"] + \
            [f"N={n}" for n in ARGS.shard_counts]
    rows = [heads] + [[str(x) for x in r] for r in TABLE]
    widths = [max(len(r[i]) for r in rows) for i in range(len(heads))]
    print("\nCompared, single run vs merge (= : whole documents equal, state included):")
    for r in rows:
        print("  " + "  ".join(x.rjust(w) if i else x.ljust(w) for i, (x, w) in enumerate(zip(r, widths))))
    tot = [sum(r[i] for r in TABLE) for i in range(1, 7)]
    print(f"  total: {len(TABLE)} captures, {tot[0]} frames, {tot[1]} conversations, {tot[2]} evidence "
          f"frames, {tot[3]} RTT sketches, {tot[4]} DNS pairs, {tot[5]} DNS names and latency sketches; "
          "percentiles equal, not merely within 1%: each conversation and pair lies in one shard, "
          "so its sketch is carried bucket for bucket\n")


# ------------------------------------------------------------------ other outputs

DEMO = CAPTURES / "demo.pcap"
DNS = CAPTURES / "dns.pcap"


def demo_parts(n=3, *prefs, capture=DEMO, name="demo"):
    wd = workdir(f"{name}-{n}-{len(prefs)}")
    return wd, shard_docs(capture, n, wd, *prefs)


def test_report():
    for cap in (DEMO, DNS):
        _, parts = demo_parts(3, capture=cap, name=cap.stem + "-en")
        for lang in ("en", "es"):
            want = tshark_report(cap, f"packetmancer.language:{lang}", "packetmancer.top:3")
            # English parts: the report in their language, and in Spanish
            # with --lang es.
            got = merge_ok("--format", "report", "--top", "3", "--lang", lang, "--file", str(cap),
                           *merge_args(parts)).stdout
            eq(got, want, f"report of {cap.name} with --lang {lang}")
    # Spanish parts, no --lang: the parts' language.
    _, parts = demo_parts(3, "packetmancer.language:es", capture=DNS, name="dns-es")
    got = merge_ok("--format", "report", "--top", "3", "--file", str(DNS), *merge_args(parts)).stdout
    eq(got, tshark_report(DNS, "packetmancer.language:es", "packetmancer.top:3"), "report of Spanish parts")


def test_json_top_and_output_file():
    wd, parts = demo_parts(2)
    want = tshark_json(DEMO, wd / "top2.json", "packetmancer.json_top:2")
    got = json.loads(merge_ok("--json-top", "2", "--file", want["summary"]["file"], *merge_args(parts)).stdout)
    same_document(want, got, "--json-top 2")
    out = wd / "merged.json"
    r = merge_ok("-o", out, *merge_args(parts))
    eq(r.stdout, "", "stdout with -o")
    eq(out.read_text(), merge_ok(*merge_args(parts)).stdout, "-o FILE vs standard output")


def test_merges_compose():
    wd, parts = demo_parts(3, capture=DNS, name="compose")
    single = tshark_json(DNS, wd / "single.json")
    shown = single["summary"]["file"]
    ab = wd / "ab.json"
    merge_ok("-o", ab, *merge_args(parts[:2]))
    # The merged part's frames are already the capture's: no map.
    got = json.loads(merge_ok("--file", shown, ab, "--map", parts[2][1], parts[2][0]).stdout)
    same_document(single, got, "merge of (merge of shards 0 and 1) and shard 2")
    # Parts given twice: every conversation twice, flagged, and counted.
    r = merge_ok(*merge_args(parts), *merge_args(parts))
    if f"{single['detectors']['tcp_health']['conversations_total']} conversations start at the same frame" \
            not in r.stderr:
        raise AssertionError(f"no warning for a part given twice: {r.stderr!r}")


def port_reuse_capture(path):
    """Port reuse, which none of the sample captures has: the same address
    and port pair opened, closed and opened again (a new ISN), between
    other conversations, so that Wireshark gives the pair two tcp.stream
    numbers and the shards number them differently from the whole."""
    sys.path.insert(0, str(ROOT / "tests"))
    import gen_captures as g  # noqa: E402 - the bundled captures' generator

    pk = []
    t = 0
    plan = [("10.9.0.1", 41000), ("10.9.0.3", 42000), ("10.9.0.1", 41000), ("10.9.0.5", 43000),
            ("10.9.0.7", 44000), ("10.9.0.3", 42000), ("10.9.0.1", 41000)]
    server = g.Host("10.9.0.2")
    for i, (ip, port) in enumerate(plan):
        c = g.Conversation(pk, g.Host(ip), server, port, 80, t + 1000)
        c.c.isn = c.c.next_seq = 0x10000000 * (i + 1)   # a new connection: a new ISN
        c.handshake()
        c.request()
        c.burst(4)
        c.close()
        t = c.t
    g.write_pcap(path, pk)


def test_port_reuse():
    wd = workdir("reuse")
    cap = wd / "reuse.pcap"
    port_reuse_capture(cap)
    chmod_all(wd)
    single = tshark_json(cap, wd / "single.json")
    convs = single["detectors"]["tcp_health"]["top_by_severity"]
    streams = {}
    for c in convs:
        streams.setdefault(c["flow"], []).append(c["stream"])
    eq(sorted(sorted(s) for s in streams.values()), [[0, 2, 6], [1, 5], [3], [4]],
       "tcp.stream numbers of the reused port pairs in the single run")
    for n in ARGS.shard_counts:
        parts = shard_docs(cap, n, wd)
        merged = json.loads(merge_ok("--file", single["summary"]["file"], *merge_args(parts)).stdout)
        same_document(single, merged, f"reuse.pcap, {n} shards")


def expect_error(status, args, *needles):
    r = merge(*args)
    eq(r.returncode, status, f"exit status of packetmancer-merge {' '.join(map(str, args))}")
    for n in needles:
        if str(n) not in r.stderr:
            raise AssertionError(f"message {r.stderr.strip()!r} does not name {n!r}")
    return r


def test_errors():
    wd, parts = demo_parts(2, name="errors")
    (doc0, map0), (doc1, map1) = parts
    # Usage.
    r = merge()
    eq(r.returncode, EX_USAGE, "no argument")
    if "Usage:" not in r.stderr:
        raise AssertionError("no usage text without arguments")
    r = merge("--help")
    eq((r.returncode, "Usage:" in r.stdout), (EX_OK, True), "--help")
    expect_error(EX_USAGE, ["--bogus", doc0], "--bogus")
    expect_error(EX_USAGE, ["--format", "xml", doc0], "xml")
    expect_error(EX_USAGE, ["--top", "many", doc0], "many")
    expect_error(EX_USAGE, ["--lang", "fr", doc0], "fr")
    expect_error(EX_USAGE, [doc0, "--map", map0], "--map")
    expect_error(EX_USAGE, ["--map", map0, "--map", map1, doc0], "two --map")
    expect_error(EX_USAGE, ["-o"], "-o needs a value")
    # Bad input.
    missing = wd / "missing.json"
    expect_error(EX_INPUT, [doc0, missing], missing)
    cut = wd / "cut.json"
    cut.write_text(Path(doc0).read_text()[:-200])
    expect_error(EX_INPUT, [doc0, cut], cut, "not JSON")
    notjson = wd / "not.json"
    notjson.write_text("hello\n")
    expect_error(EX_INPUT, [notjson], notjson, "not")
    nostate = wd / "nostate.json"
    subprocess.run([str(TSHARK_PM), "--plugin", ARGS.plugin, "-q", "-r", str(DEMO), "-z", "packetmancer,json",
                    "-o", f"packetmancer.json_output:{nostate}"], check=True, capture_output=True)
    expect_error(EX_INPUT, [doc0, nostate], nostate, "json_state:on")
    top1 = wd / "top1.json"
    tshark_json(DEMO, top1, "packetmancer.json_top:1")
    expect_error(EX_INPUT, [top1], top1, "json_top:0")
    other = wd / "other.json"
    tshark_json(DEMO, other, "packetmancer.weight_retransmission:13")
    expect_error(EX_INPUT, [doc0, other], other, "weight_retransmission", doc0)
    window = wd / "window.json"
    eq(tshark_json(DEMO, window, "packetmancer.dup_window_ms:25")["summary"]["settings"]["dup_window_ms"],
       25, "the window in force is in the settings")
    expect_error(EX_INPUT, [doc0, window], window, "dup_window_ms", doc0)
    dnsoff = wd / "dnsoff.json"
    tshark_json(DEMO, dnsoff, "packetmancer.dns_health:off")
    expect_error(EX_INPUT, [doc0, dnsoff], dnsoff, "detectors")
    # Bad maps.
    odd = wd / "odd.frames"
    odd.write_bytes(b"\x01\x00\x00")
    expect_error(EX_INPUT, ["--map", odd, doc0], odd, "4-byte")
    short = wd / "short.frames"
    m = read_map(map0)
    short.write_bytes(struct.pack(f"<{len(m) // 2}I", *m[:len(m) // 2]))
    expect_error(EX_INPUT, ["--map", short, doc0], doc0, "beyond the frame map")
    backwards = wd / "backwards.frames"
    backwards.write_bytes(struct.pack(f"<{len(m)}I", *reversed(m)))
    expect_error(EX_INPUT, ["--map", backwards, doc0], backwards, "not above")
    zero = wd / "zero.frames"
    zero.write_bytes(struct.pack(f"<{len(m)}I", 0, *m[1:]))
    expect_error(EX_INPUT, ["--map", zero, doc0], zero, "0")
    expect_error(EX_INPUT, ["--map", wd / "nomap.frames", doc0], "nomap.frames")
    # Output that cannot be written; nothing left behind.
    expect_error(EX_OUTPUT, ["-o", wd / "no" / "such" / "dir.json", *merge_args(parts)], "cannot write")
    if os.geteuid() == 0:
        return   # root writes anywhere: the read-only folder below proves nothing
    ro = workdir("readonly")
    ro.chmod(0o555)
    expect_error(EX_OUTPUT, ["-o", ro / "x.json", *merge_args(parts)], "cannot write")


def main():
    global ARGS, TMP
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--plugin", required=True)
    ap.add_argument("--merge", required=True)
    ap.add_argument("--split", help="packetmancer-split (default: the splitter in this test)")
    ap.add_argument("--shards", default="2,3,4")
    ap.add_argument("--shared-shards", default="3",
                    help="shard counts for ../shared/captures (default 3; the full run: 2,3,4)")
    ap.add_argument("--captures", help="only captures whose name matches this pattern")
    ap.add_argument("--jobs", type=int, default=2, help="captures analysed at once (default 2)")
    ARGS = ap.parse_args()
    ARGS.shard_counts = [int(x) for x in ARGS.shards.split(",")]
    ARGS.shared_counts = [int(x) for x in ARGS.shared_shards.split(",")]
    ARGS.shard_counts = sorted(set(ARGS.shard_counts) | set(ARGS.shared_counts))
    if ARGS.split and not Path(ARGS.split).exists():
        print(f"note: {ARGS.split} not built; shards come from this test's own splitter")
        ARGS.split = None
    print(f"shards from {'packetmancer-split (' + ARGS.split + ')' if ARGS.split else 'the fallback splitter'}")
    TMP = Path(tempfile.mkdtemp(prefix="pm-merge-test."))
    TMP.chmod(0o777)
    try:
        check("error paths: usage 1, bad input 2, output 3, each naming the file", test_errors)
        check("report (en, es, --lang) equals the plugin's report", test_report)
        check("--json-top equals the plugin's json_top; -o writes the same bytes", test_json_top_and_output_file)
        check("merged documents merge again; a part twice is flagged", test_merges_compose)
        check("port reuse: the merge numbers tcp.stream as the single run", test_port_reuse)
        test_captures()
        if TABLE:
            print_table()
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
    print(f"{len(PASSED)} passed, {len(FAILED)} failed, {len(SKIPPED)} skipped")
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
