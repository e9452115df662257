#!/usr/bin/env python3
"""End-to-end tests: tshark with the freshly built PacketMancer plugin.

Expected values come from two independent places, never from the plugin:

* by hand, from docs/SCORING.md, for the generated captures in captures/
  (their content is known: tests/gen_captures.py, tests/captures-expected.txt);
* from plain tshark (no plugin) on the same file: its own tcp.analysis.*
  fields are aggregated here, in Python, following SCORING.md, and compared
  with the plugin's JSON and its per-packet fields. This runs on every
  capture in captures/ and in ../shared/captures/ when that folder exists.

tshark runs through tests/tshark-pm, which stages the plugin in a private
personal-plugin folder (and drops root, which ignores such folders).

Usage: integration.py --plugin build/packetmancer.so [--wireshark-version 4.0]
Prints one line per check and "N passed, N failed, N skipped" at the end.
"""

import argparse
import json
import os
import re
import subprocess
import sys
from decimal import Decimal, ROUND_HALF_UP
from fractions import Fraction
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CAPTURES = ROOT / "captures"
SHARED = ROOT.parent / "shared" / "captures"
WRAPPER = ROOT / "tests" / "tshark-pm"

PASSED, FAILED, SKIPPED = [], [], []
PLUGIN = None


# ------------------------------------------------------------------ running

def run(cmd, check_rc=None, timeout=600):
    p = subprocess.run(cmd, capture_output=True, timeout=timeout)
    out = p.stdout.decode("utf-8", "replace")
    err = p.stderr.decode("utf-8", "replace")
    if check_rc is not None and p.returncode != check_rc:
        raise AssertionError(f"{cmd[:6]}... exited {p.returncode}: {err.strip()[:500]}")
    return p.returncode, out, err


def pm(*args, check_rc=0):
    """tshark with the plugin."""
    return run([str(WRAPPER), "--plugin", PLUGIN, *args], check_rc=check_rc)


def plain(*args, check_rc=None):
    """tshark without the plugin (as root it ignores personal plugins, and
    HOME points nowhere useful otherwise)."""
    env_home = ["env", "HOME=/nonexistent"]
    return run([*env_home, "tshark", *args], check_rc=check_rc)


def pm_json(capture, *extra):
    rc, out, err = pm("-q", "-r", str(capture), *extra, "-z", "packetmancer,json", check_rc=None)
    return rc, out, err


def check(name, fn):
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
        print(f"ok   {name}")


class SkipTest(Exception):
    pass


def skip(why):
    raise SkipTest(why)


def eq(actual, expected, what):
    if actual != expected:
        raise AssertionError(f"{what}: expected {expected!r}, got {actual!r}")


# ------------------------------------------- SCORING.md, written again here

def score_level(P, R, Z, D, O, hs="mid_stream", syns=0, p95=None, samples=0):
    """Score and level of SCORING.md v1 with default weights, computed with
    exact fractions, independently of the C code; plus the connection
    signals (refused / unanswered SYN: +20; RTT p95 over 500 ms with at
    least 10 samples: +20)."""
    k = max(Fraction(P, 1000), 1)
    opct = Fraction(100 * O, P) if P else Fraction(0)
    raw = 12 * Fraction(R) / k + 9 * Fraction(Z) / k + 4 * Fraction(D) / k + 2 * opct
    # round half away from zero (raw >= 0)
    score = (2 * raw.numerator + raw.denominator) // (2 * raw.denominator)
    slow = p95 is not None and samples >= 10 and p95 > 500
    score += 20 if hs in ("refused", "no_answer") else 0
    score += 20 if slow else 0
    ooo_alarm = opct > 2 and O >= 3
    if score >= 100 or R >= 20 or Z >= 2:
        level = "HIGH"
    elif score >= 50 or R >= 5 or Z >= 1 or D >= 5 or ooo_alarm:
        level = "MEDIUM"
    elif score >= 1:
        level = "LOW"
    else:
        level = "OK"
    if level == "HIGH" and R < 3 and Z == 0:
        level = "MEDIUM"
        score = min(score, 80)
    reasons = []
    if R >= 20:
        reasons.append(f"high retransmissions ({R})")
    elif R >= 5:
        reasons.append(f"moderate retransmissions ({R})")
    if Z >= 1:
        reasons.append(f"zero window ({Z})")
    if D >= 3:
        if R == 0 and Z == 0:
            reasons.append(f"many duplicate ACKs without retransmissions ({D})")
        else:
            reasons.append(f"duplicate ACK events (\u22653) ({D})")
    if ooo_alarm:
        pct = Decimal(100 * O) / Decimal(P)
        reasons.append(f"out of order {pct.quantize(Decimal('0.1'), ROUND_HALF_UP)}% (~{O})")
    if hs == "refused":
        reasons.append("connection refused (RST to SYN)")
    elif hs == "no_answer":
        reasons.append(f"no answer to SYN ({syns} SYN)")
    if slow:
        reasons.append(f"slow RTT p95 {p95:.1f} ms ({samples} samples)")
    return score, level, reasons


def rank_quantile(samples, q):
    """The lower nearest rank, as the plugin defines its percentiles."""
    s = sorted(samples)
    return s[int(q * (len(s) - 1))]


def close(a, b, rel=0.01):
    return abs(a - b) <= rel * abs(b) + 1e-6


def same_reasons(got, want):
    """Reasons are compared exactly, except the slow-RTT figure, which
    comes from the plugin's sketch (within 1% of the exact p95)."""
    if len(got) != len(want):
        return False
    for g, w in zip(got, want):
        mg, mw = re.match(r"slow RTT p95 ([\d.]+) ms (.*)", g), re.match(r"slow RTT p95 ([\d.]+) ms (.*)", w)
        if mg and mw:
            if not close(float(mg.group(1)), float(mw.group(1))) or mg.group(2) != mw.group(2):
                return False
        elif g != w:
            return False
    return True


FIELDS = ["frame.number", "frame.len", "frame.time_epoch", "frame.protocols", "tcp.stream", "tcp.flags",
          "ip.src", "ipv6.src", "tcp.srcport", "ip.dst", "ipv6.dst", "tcp.dstport",
          "tcp.analysis.retransmission", "tcp.analysis.fast_retransmission",
          "tcp.analysis.spurious_retransmission", "tcp.analysis.out_of_order",
          "tcp.analysis.zero_window", "tcp.analysis.duplicate_ack_num",
          "tcp.analysis.lost_segment", "tcp.analysis.zero_window_probe",
          "tcp.analysis.ack_rtt", "tcp.analysis.initial_rtt",
          "ip.id", "tcp.seq", "tcp.ack", "tcp.window_size_value", "tcp.len",
          "tcp.analysis.ack_lost_segment", "frame.cap_len"]

COUNTERS = ["packets", "bytes", "retransmissions", "spurious_retransmissions", "out_of_order",
            "zero_window_events", "duplicate_ack_events", "lost_segments", "resets",
            "zero_window_probes", "capture_duplicates", "acked_unseen", "capture_gaps"]
DUP_WINDOW_US = 10000     # the plugin's default duplicate window
DUP_RECENT = 65536


def endpoint(ip4, ip6, port):
    return f"[{ip6}]:{port}" if ip6 else f"{ip4}:{port}"


def plain_frames(capture, two_pass=False):
    """One dict per frame from plain tshark's own fields."""
    args = ["-n", "-r", str(capture), "-o", "tcp.analyze_sequence_numbers:TRUE",
            "-T", "fields", "-E", "occurrence=l", "-E", "separator=\t"]
    if two_pass:
        args.insert(0, "-2")
    for f in FIELDS:
        args += ["-e", f]
    rc, out, err = plain(*args)
    frames = []
    for line in out.splitlines():
        v = dict(zip(FIELDS, line.split("\t")))
        frames.append(v)
    return rc, frames


def expected_from_plain(frames):
    """Per-conversation counters, per-frame running verdicts, and the
    summary, following SCORING.md from plain tshark's fields."""
    from collections import OrderedDict
    convs = {}
    per_frame = {}
    recent = OrderedDict()   # (stream, direction, signature) -> time (us)
    for v in frames:
        if not v.get("tcp.stream") or "icmp" in v["frame.protocols"].split(":"):
            continue
        stream = int(v["tcp.stream"])
        src = endpoint(v["ip.src"], v["ipv6.src"], v["tcp.srcport"])
        dst = endpoint(v["ip.dst"], v["ipv6.dst"], v["tcp.dstport"])
        flags = int(v["tcp.flags"], 16) if v["tcp.flags"] else 0
        syn_only = bool(flags & 0x02) and not flags & 0x10
        c = convs.get(stream)
        if c is None:
            c = convs[stream] = {"client": src, "server": dst, "syn": syn_only,
                                 "c2s": dict.fromkeys(COUNTERS, 0), "s2c": dict.fromkeys(COUNTERS, 0),
                                 "rtt": {"c2s": [], "s2c": []}, "hs": set(), "syns": 0,
                                 "irtt": None, "first_us": us(v), "last_us": us(v),
                                 "first_frame": int(v["frame.number"])}
        elif syn_only and not c["syn"]:
            if src != c["client"]:
                c["client"], c["server"] = c["server"], c["client"]
                c["c2s"], c["s2c"] = c["s2c"], c["c2s"]
                c["rtt"] = {"c2s": c["rtt"]["s2c"], "s2c": c["rtt"]["c2s"]}
                c["hs"] = set()
            c["syn"] = True
        to_server = src == c["client"]
        d = c["c2s"] if to_server else c["s2c"]
        dname = "c2s" if to_server else "s2c"
        # Capture duplicates: the same IP ID, seq, ack, flags, window and
        # length in the same stream and direction within 10 ms.
        sig = (stream, dname, v["ip.id"], v["tcp.seq"], v["tcp.ack"], flags,
               v["tcp.window_size_value"], v["tcp.len"])
        dupnum = int(v["tcp.analysis.duplicate_ack_num"] or 0)
        run = c.setdefault("run", {"c2s": 0, "s2c": 0})
        t_us = us(v)
        copy = sig in recent and abs(t_us - recent[sig]) <= DUP_WINDOW_US
        if not copy:
            recent.pop(sig, None)
            recent[sig] = t_us
            if len(recent) > DUP_RECENT:
                recent.popitem(last=False)
        if dupnum == 1:
            run[dname] = 0
        if copy:
            d["capture_duplicates"] += 1
            score, level, reasons = score_level(*totals(c))
            per_frame[int(v["frame.number"])] = (stream, score, level, [], reasons,
                                                 f"{c['client']} <-> {c['server']}/TCP")
            continue
        if v["tcp.analysis.ack_lost_segment"]:
            d["acked_unseen"] += 1
        # Handshake: the client's SYN, then the server's first word.
        if syn_only and to_server:
            c["hs"].add("syn")
            c["syns"] += 1
        elif not to_server and not c["hs"] & {"answered", "refused"}:
            c["hs"].add("refused" if flags & 0x04 else "answered")
        # An ACK's RTT belongs to the data of the other direction.
        # A negative RTT (timestamps going backwards in a damaged file) is
        # not a sample.
        if v["tcp.analysis.ack_rtt"] and float(v["tcp.analysis.ack_rtt"]) >= 0:
            c["rtt"]["s2c" if to_server else "c2s"].append(float(v["tcp.analysis.ack_rtt"]) * 1000)
        if v["tcp.analysis.initial_rtt"] and c["irtt"] is None:
            c["irtt"] = float(v["tcp.analysis.initial_rtt"]) * 1000
        c["first_us"] = min(c["first_us"], us(v))
        c["last_us"] = max(c["last_us"], us(v))
        d["packets"] += 1
        d["bytes"] += int(v["frame.len"])
        events = []
        if v["tcp.analysis.spurious_retransmission"]:
            d["spurious_retransmissions"] += 1
            events.append("spurious retransmission")
        elif v["tcp.analysis.retransmission"] or v["tcp.analysis.fast_retransmission"]:
            d["retransmissions"] += 1
            events.append("retransmission")
        if v["tcp.analysis.out_of_order"]:
            d["out_of_order"] += 1
            events.append("out of order")
        if v["tcp.analysis.zero_window"]:
            d["zero_window_events"] += 1
            events.append("zero window")
        # The third real duplicate ACK of a run (copies do not count).
        if dupnum:
            run[dname] += 1
            if run[dname] == 3:
                d["duplicate_ack_events"] += 1
                events.append("duplicate ACK event")
        if v["tcp.analysis.lost_segment"]:
            d["lost_segments"] += 1
            events.append("lost segment (not captured)")
        if flags & 0x04:
            d["resets"] += 1
            events.append("reset")
        if v["tcp.analysis.zero_window_probe"]:
            d["zero_window_probes"] += 1
            events.append("zero window probe")
        c["last_frame"] = int(v["frame.number"])
        tot = totals(c)
        score, level, reasons = score_level(*tot)
        flow = f"{c['client']} <-> {c['server']}/TCP"
        per_frame[int(v["frame.number"])] = (stream, score, level, events, reasons, flow)
    for c in convs.values():
        for d in ("c2s", "s2c"):
            c[d]["capture_gaps"] = c[d]["lost_segments"] + c[d]["acked_unseen"]
        c["flow"] = f"{c['client']} <-> {c['server']}/TCP"
        c["score"], c["level"], c["reasons"] = score_level(*totals(c))
    return convs, per_frame


def iso_utc(epoch):
    """tshark's frame.time_epoch ("1704067210.000100000") as the plugin
    writes it: UTC, microseconds (truncated), a Z."""
    import datetime
    secs, _, frac = epoch.partition(".")
    t = datetime.datetime.fromtimestamp(int(secs), datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S") + "." + (frac + "000000")[:6] + "Z"


def us(v):
    secs, _, frac = v["frame.time_epoch"].partition(".")
    return int(secs) * 1000000 + int((frac + "000000")[:6])


def handshake(c):
    if "syn" not in c["hs"]:
        return "mid_stream"
    if "refused" in c["hs"]:
        return "refused"
    return "complete" if "answered" in c["hs"] else "no_answer"


def totals(c):
    a, b = c["c2s"], c["s2c"]
    p95, samples = None, 0
    for d in ("c2s", "s2c"):
        r = c["rtt"][d]
        if len(r) >= 10 and (p95 is None or rank_quantile(r, 0.95) > p95):
            p95, samples = rank_quantile(r, 0.95), len(r)
    return (a["packets"] + b["packets"], a["retransmissions"] + b["retransmissions"],
            a["zero_window_events"] + b["zero_window_events"],
            a["duplicate_ack_events"] + b["duplicate_ack_events"],
            a["out_of_order"] + b["out_of_order"], handshake(c), c["syns"], p95, samples)


def severity_order(convs):
    return [c["flow"] for c in sorted(convs, key=lambda c: (-c["score"], c["flow"].encode()))]


def compare_with_plain(capture, irtt=None):
    """The plugin's JSON equals what plain tshark's fields say. irtt, when
    given, says which initial RTT to expect instead of the fields' one:
    irtt(stream, expected conversation)."""
    prc, frames = plain_frames(capture)
    rc, out, err = pm_json(capture)
    eq(rc, prc, f"exit status (plain tshark exits {prc})")
    if "Segmentation fault" in err or rc < 0:
        raise AssertionError(f"crash: {err[-300:]}")
    doc = json.loads(out)
    convs, _ = expected_from_plain(frames)
    got = {c["stream"]: c for c in doc["detectors"]["tcp_health"]["top_by_severity"]}
    eq(doc["summary"]["packets_total"], len(frames), "packets_total")
    eq(doc["detectors"]["tcp_health"]["conversations_total"], len(convs), "conversations_total")
    eq(sorted(got), sorted(convs), "streams")
    for s, e in convs.items():
        g = got[s]
        eq(g["flow"], e["flow"], f"stream {s} flow")
        for d in ("c2s", "s2c"):
            gd = dict(g[d])
            rtt = gd.pop("rtt_ms")
            eq(gd, e[d], f"stream {s} {d}")
            check_rtt(rtt, e["rtt"][d], f"stream {s} {d} rtt_ms")
        eq((g["score"]["value"], g["score"]["level"]), (e["score"], e["level"]), f"stream {s} verdict")
        if not same_reasons(g["reasons"], e["reasons"]):
            raise AssertionError(f"stream {s} reasons: expected {e['reasons']!r}, got {g['reasons']!r}")
        eq(g["handshake"], handshake(e), f"stream {s} handshake")
        eq(g["duration_ms"], (e["last_us"] - e["first_us"]) // 1000, f"stream {s} duration")
        want = e["irtt"] if irtt is None else irtt(s, e)
        if (g["initial_rtt_ms"] is None) != (want is None) or (
                want is not None and abs(g["initial_rtt_ms"] - want) > 1e-3):
            raise AssertionError(f"stream {s} initial_rtt_ms: {g['initial_rtt_ms']} vs {want}")
        eq((g["first_frame"], g["last_frame"]), (e["first_frame"], e["last_frame"]), f"stream {s} frames")
    eq([c["flow"] for c in doc["detectors"]["tcp_health"]["top_by_severity"]],
       severity_order(convs.values()), "severity order")
    by_packets = [c["flow"] for c in sorted(convs.values(),
                  key=lambda c: (-(c["c2s"]["packets"] + c["s2c"]["packets"]), c["flow"].encode()))]
    eq([c["flow"] for c in doc["detectors"]["tcp_health"]["top_by_packets"]], by_packets,
       "top_by_packets order")
    by_bytes = [c["flow"] for c in sorted(convs.values(),
                key=lambda c: (-(c["c2s"]["bytes"] + c["s2c"]["bytes"]), c["flow"].encode()))]
    eq([c["flow"] for c in doc["detectors"]["tcp_health"]["top_by_bytes"]], by_bytes,
       "top_by_bytes order")
    summary = doc["summary"]
    eq(summary["bytes_total"], sum(int(v["frame.len"]) for v in frames), "bytes_total")
    if frames:
        times = sorted(iso_utc(v["frame.time_epoch"]) for v in frames)
        eq((summary["capture_start"], summary["capture_end"]), (times[0], times[-1]), "capture times")
    else:
        eq((summary["capture_start"], summary["capture_end"]), (None, None), "capture times")


def t_snaplen_cuts():
    """Frames cut by the snap length inside the TCP header or its options:
    TCP numbers such a segment, then throws before it reaches its tap, and
    the plugin asks TCP's conversation instead. Every count must still be
    what plain tshark's fields say of the cut capture. The cut frames never
    show tcp.analysis.initial_rtt, yet TCP measures it when it numbered
    the opening frames: then it is the whole capture's value (a VLAN tag
    moves the cut, so some openings are lost)."""
    import shutil
    import tempfile
    if not shutil.which("editcap"):
        skip("editcap is not installed")
    with tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o755)  # tshark may run as "nobody"
        for cap in ("demo.pcap", "rtt.pcap", "retransmissions.pcap", "ipv6.pcap"):
            _, whole = plain_frames(CAPTURES / cap)
            # By flow: a stream wholly lost to the cut renumbers the rest.
            whole_irtt = {c["flow"]: c["irtt"] for c in expected_from_plain(whole)[0].values()}
            def irtt(s, e):
                return whole_irtt.get(e["flow"]) if handshake(e) != "mid_stream" else None
            # Ethernet + IPv4 = 34 bytes: 50 leaves TCP 16 bytes (numbered,
            # then cut), 47 leaves 13 (never numbered); 62 cuts options.
            for snap in (47, 50, 62, 70):
                cut = Path(tmp) / f"s{snap}-{cap}"
                run(["editcap", "-s", str(snap), str(CAPTURES / cap), str(cut)], check_rc=0)
                os.chmod(cut, 0o644)
                try:
                    compare_with_plain(cut, irtt=irtt)
                except AssertionError as e:
                    raise AssertionError(f"{cut.name}: {e}") from None


def check_rtt(got, samples, what):
    """rtt_ms of one direction against the exact percentiles of plain
    tshark's ack_rtt samples: p50/p95/p99 within the sketch's 1%, max and
    the count exact."""
    if not samples:
        eq(got, None, what)
        return
    if got is None:
        raise AssertionError(f"{what}: null, but {len(samples)} samples")
    eq(got["samples"], len(samples), f"{what} samples")
    # The plugin keeps RTTs as 32-bit floats (7 digits) and writes
    # milliseconds with 3 decimals.
    if abs(got["max"] - max(samples)) > 1e-6 * max(samples) + 0.0005:
        raise AssertionError(f"{what} max: {got['max']} vs {max(samples)}")
    # The sketch's window spans 1.02^512 ~ 25,310:1 below the largest value;
    # samples further down are folded into its lowest bucket, so their
    # quantiles are upper bounds (pm_sketch.h, README).
    floor = max(samples) / 1.02 ** 511
    for q, key in ((0.5, "p50"), (0.95, "p95"), (0.99, "p99")):
        want = rank_quantile(samples, q)
        if want < floor:
            if not want - 0.0005 <= got[key] <= floor * 1.03 + 0.0005:
                raise AssertionError(f"{what} {key}: {got[key]} not in [{want}, {floor * 1.03}] (folded)")
            continue
        # 1% from the sketch, plus half a microsecond of printing.
        if abs(got[key] - want) > 0.0101 * want + 0.0005:
            raise AssertionError(f"{what} {key}: {got[key]} vs exact {want}")


def per_packet_fields(capture, two_pass=False):
    """packetmancer.* per frame equals, from plain tshark's fields, the
    verdict so far (one pass) or the conversation's final verdict (-2)."""
    _, frames = plain_frames(capture)
    convs, expected = expected_from_plain(frames)
    args = ["-n", "-r", str(capture), "-o", "packetmancer.analyze:always", "-T", "fields",
            "-E", "separator=\t", "-E", "aggregator=|",
            "-e", "frame.number", "-e", "packetmancer.stream", "-e", "packetmancer.score",
            "-e", "packetmancer.level", "-e", "packetmancer.event", "-e", "packetmancer.final",
            "-e", "packetmancer.reason", "-e", "packetmancer.flow"]
    if two_pass:
        args.insert(0, "-2")
    _, out, _ = pm(*args)
    seen = 0
    for line in out.splitlines():
        num, stream, score, level, events, final, reasons, flow = (line.split("\t") + [""] * 8)[:8]
        num = int(num)
        if num not in expected:
            eq(stream, "", f"frame {num} is not a TCP segment but has packetmancer.stream")
            continue
        e_stream, e_score, e_level, e_events, e_reasons, e_flow = expected[num]
        if two_pass:
            c = convs[e_stream]
            e_score, e_level, e_reasons, e_flow = c["score"], c["level"], c["reasons"], c["flow"]
        eq((int(stream), int(score), level, events.split("|") if events else [], final, flow),
           (e_stream, e_score, e_level, e_events, "1" if two_pass else "0", e_flow),
           f"frame {num}")
        if not same_reasons(reasons.split("|") if reasons else [], e_reasons):
            raise AssertionError(f"frame {num} reasons: {reasons!r} vs {e_reasons!r}")
        seen += 1
    eq(seen, len(expected), "frames with packetmancer fields")


def expected_raises(capture):
    """(frame, severity, text) of each frame where a conversation first
    reaches MEDIUM, and first reaches HIGH, from plain tshark's fields."""
    _, frames = plain_frames(capture)
    _, per_frame = expected_from_plain(frames)
    rank = {"OK": 0, "LOW": 1, "MEDIUM": 2, "HIGH": 3}
    best, out = {}, []
    for num in sorted(per_frame):
        stream, score, level, _, reasons, flow = per_frame[num]
        if rank[level] >= 2 and rank[level] > best.get(stream, 1):
            best[stream] = rank[level]
            text = f"Conversation {flow} reached {level} (score {score})"
            if reasons:
                text += ": " + "; ".join(reasons)
            out.append((num, "warn" if level == "HIGH" else "note", text))
    return out


def expert_entries(capture, two_pass=False):
    args = ["-n", "-r", str(capture), "-o", "packetmancer.analyze:always", "-T", "fields",
            "-E", "separator=\t", "-E", "aggregator=|", "-e", "frame.number",
            "-e", "_ws.expert.message", "-e", "_ws.expert.severity",
            "-Y", "packetmancer.raised.medium || packetmancer.raised.high"]
    if two_pass:
        args.insert(0, "-2")
    _, out, _ = pm(*args)
    sev = {"4194304": "note", "6291456": "warn"}
    got = []
    for line in out.splitlines():
        num, msgs, sevs = line.split("\t")
        for m, v in zip(msgs.split("|"), sevs.split("|")):
            if m.startswith("Conversation "):
                got.append((int(num), sev.get(v, v), m))
    return got


# ------------------------------------------------- generated captures, by hand

# Worked out from SCORING.md with the counts the generator puts in each
# capture (tests/captures-expected.txt). k = 1 unless P > 1000.
HAND = {
    # P=22, nothing flagged: score 0.
    "10.0.0.1:40001 <-> 10.0.0.2:80/TCP": (0, "OK", []),
    # P=40, R=6: 12*6 = 72 -> MEDIUM (score >= 50, and R >= 5).
    "10.0.0.1:40002 <-> 10.0.0.2:80/TCP": (72, "MEDIUM", ["moderate retransmissions (6)"]),
    # dup-ACK run of 2: no event; the fast retransmission: R=1 -> 12, LOW.
    "10.0.0.1:40011 <-> 10.0.0.2:80/TCP": (12, "LOW", []),
    # runs of 3 and of 5 each count once: D=1, R=1 -> 12 + 4 = 16, LOW.
    "10.0.0.1:40012 <-> 10.0.0.2:80/TCP": (16, "LOW", []),
    "10.0.0.1:40013 <-> 10.0.0.2:80/TCP": (16, "LOW", []),
    # P=24, Z=2: 9*2 = 18 -> HIGH by Z >= 2; the cap needs Z = 0, so it stays.
    "10.0.0.1:40021 <-> 10.0.0.2:80/TCP": (18, "HIGH", ["zero window (2)"]),
    # P=100, O=3: O% = 3, 2*3 = 6 -> MEDIUM (O% > 2 and O >= 3).
    "10.0.0.3:40031 <-> 10.0.0.4:80/TCP": (6, "MEDIUM", ["out of order 3.0% (~3)"]),
    # P=100, O=2: O% = 2, not above 2 -> score 4, LOW.
    "10.0.0.3:40032 <-> 10.0.0.4:80/TCP": (4, "LOW", []),
    # IPv6, P=30, R=1 -> 12, LOW.
    "[2001:db8::1]:40041 <-> [2001:db8::2]:443/TCP": (12, "LOW", []),
    # No handshake: the first packet's source (the real server) is the client.
    "10.0.0.2:80 <-> 10.0.0.1:40051/TCP": (0, "OK", []),
    # P=1500, R=20: k = 1.5, 12*20/1.5 = 160 -> HIGH (R >= 20, not capped).
    "10.0.0.5:40061 <-> 10.0.0.6:80/TCP": (160, "HIGH", ["high retransmissions (20)"]),
    # SYN answered by RST/ACK: refused, +20 (connection signal) -> LOW.
    "10.0.0.7:40071 <-> 10.0.0.8:80/TCP": (20, "LOW", ["connection refused (RST to SYN)"]),
    # A client's RST after a complete handshake is counted, not scored.
    "10.0.0.7:40072 <-> 10.0.0.8:80/TCP": (0, "OK", []),
}

# Score descending, then flow ascending (byte order: '1' < '[').
HAND_ORDER = [
    "10.0.0.5:40061 <-> 10.0.0.6:80/TCP",
    "10.0.0.1:40002 <-> 10.0.0.2:80/TCP",
    "10.0.0.7:40071 <-> 10.0.0.8:80/TCP",
    "10.0.0.1:40021 <-> 10.0.0.2:80/TCP",
    "10.0.0.1:40012 <-> 10.0.0.2:80/TCP",
    "10.0.0.1:40013 <-> 10.0.0.2:80/TCP",
    "10.0.0.1:40011 <-> 10.0.0.2:80/TCP",
    "[2001:db8::1]:40041 <-> [2001:db8::2]:443/TCP",
    "10.0.0.3:40031 <-> 10.0.0.4:80/TCP",
    "10.0.0.3:40032 <-> 10.0.0.4:80/TCP",
    "10.0.0.1:40001 <-> 10.0.0.2:80/TCP",
    "10.0.0.2:80 <-> 10.0.0.1:40051/TCP",
    "10.0.0.7:40072 <-> 10.0.0.8:80/TCP",
]


def demo_json(*extra):
    rc, out, err = pm_json(CAPTURES / "demo.pcap", *extra)
    eq(rc, 0, f"exit status ({err.strip()[:200]})")
    return json.loads(out)


def t_hand_verdicts():
    doc = demo_json()
    th = doc["detectors"]["tcp_health"]
    got = {c["flow"]: (c["score"]["value"], c["score"]["level"], c["reasons"]) for c in th["top_by_severity"]}
    eq(got, HAND, "verdicts")
    eq([c["flow"] for c in th["top_by_severity"]], HAND_ORDER, "severity order")
    eq(th["conversations_total"], 13, "conversations_total")
    eq(th["conversations_by_level"], {"HIGH": 2, "MEDIUM": 2, "LOW": 6, "OK": 3}, "levels")
    eq(doc["summary"]["packets_total"], 1900, "packets_total")
    eq(doc["summary"]["schema"], "v1", "schema")
    eq(doc["summary"]["file"].endswith("captures/demo.pcap"), True, "file name")


def t_hand_counters():
    th = demo_json()["detectors"]["tcp_health"]
    by_flow = {c["flow"]: c for c in th["top_by_severity"]}
    # Per-direction counts the generator wrote (captures-expected.txt).
    zw = by_flow["10.0.0.1:40021 <-> 10.0.0.2:80/TCP"]
    eq((zw["c2s"]["zero_window_events"], zw["s2c"]["zero_window_events"]), (2, 0), "zero windows by direction")
    retx = by_flow["10.0.0.1:40002 <-> 10.0.0.2:80/TCP"]
    eq((retx["c2s"]["packets"], retx["s2c"]["packets"], retx["s2c"]["retransmissions"]), (17, 23, 6), "retransmissions")
    eq((retx["c2s"]["bytes"], retx["s2c"]["bytes"]), (1042, 22246), "bytes")
    d5 = by_flow["10.0.0.1:40013 <-> 10.0.0.2:80/TCP"]
    eq((d5["c2s"]["duplicate_ack_events"], d5["s2c"]["retransmissions"]), (1, 1), "dup-ACK run of 5")
    d2 = by_flow["10.0.0.1:40011 <-> 10.0.0.2:80/TCP"]
    eq(d2["c2s"]["duplicate_ack_events"], 0, "dup-ACK run of 2")
    refused = by_flow["10.0.0.7:40071 <-> 10.0.0.8:80/TCP"]
    eq((refused["c2s"]["resets"], refused["s2c"]["resets"]), (0, 1), "refused")
    reset = by_flow["10.0.0.7:40072 <-> 10.0.0.8:80/TCP"]
    eq((reset["c2s"]["resets"], reset["s2c"]["resets"]), (1, 0), "client reset")
    mid = by_flow["10.0.0.2:80 <-> 10.0.0.1:40051/TCP"]
    eq((mid["c2s"]["packets"], mid["s2c"]["packets"]), (8, 5), "mid-stream directions")
    by_pkts = [c["flow"] for c in th["top_by_packets"]][:3]
    eq(by_pkts, ["10.0.0.5:40061 <-> 10.0.0.6:80/TCP", "10.0.0.3:40031 <-> 10.0.0.4:80/TCP",
                 "10.0.0.3:40032 <-> 10.0.0.4:80/TCP"], "top_by_packets head")


def t_report_layout():
    _, out, _ = pm("-q", "-r", str(CAPTURES / "demo.pcap"), "-z", "packetmancer,report")
    lines = out.splitlines()
    header = next(l for l in lines if l.startswith("File: "))
    m = re.match(r"File: (\S+) \| Packets: 1900 \| Duration: (\d+) ms \| Rate: [\d.]+ Mbps \| Schema: v1$", header)
    if not m or not m.group(1).endswith("captures/demo.pcap"):
        raise AssertionError(f"header line: {header!r}")
    if "Found 13 distinct TCP conversations." not in lines:
        raise AssertionError("conversation count line missing")
    tops = [l for l in lines if re.match(r"  - \[[A-Z]+ \| score=", l)]
    eq(len(tops), 5, "top N default")
    eq(tops[0], "  - [HIGH | score=160] 10.0.0.5:40061 <-> 10.0.0.6:80/TCP", "first entry")
    eq(tops[1], "  - [MEDIUM | score=72] 10.0.0.1:40002 <-> 10.0.0.2:80/TCP", "second entry")
    i = lines.index(tops[1])
    eq(lines[i + 1], "    -> C->S: Pkts: 17, Retrans.: 0, Out of order: 0, ZeroWin: 0, DupACK(ev\u22653): 0", "c2s line")
    eq(lines[i + 2], "    <- S->C: Pkts: 23, Retrans.: 6, Out of order: 0, ZeroWin: 0, DupACK(ev\u22653): 0", "s2c line")
    eq(lines[i + 3], "    Reasons: moderate retransmissions (6)", "reasons line")
    if "\x1b" in out:
        raise AssertionError("colour codes in a report that is not on a terminal")


def t_report_top_and_spanish():
    _, out, _ = pm("-q", "-r", str(CAPTURES / "demo.pcap"), "-o", "packetmancer.top:2",
                   "-o", "packetmancer.language:es", "-z", "packetmancer,report")
    lines = out.splitlines()
    tops = [l for l in lines if re.match(r"  - \[[A-Z]+ \| score=", l)]
    eq(tops, ["  - [ALTA | score=160] 10.0.0.5:40061 <-> 10.0.0.6:80/TCP",
              "  - [MEDIA | score=72] 10.0.0.1:40002 <-> 10.0.0.2:80/TCP"], "top 2 in Spanish")
    if "    Razones: retransmisiones altas (20)" not in lines:
        raise AssertionError("Spanish reason missing")
    if "Se encontraron 13 conversaciones TCP distintas." not in lines:
        raise AssertionError("Spanish count line missing")
    # Counted-but-unscored signals show on the connection line, C->S/S->C:
    # the refused SYN got one RST back.
    _, out, _ = pm("-q", "-r", str(CAPTURES / "demo.pcap"), "-o", "packetmancer.top:13", "-z", "packetmancer,report")
    lines = out.splitlines()
    i = lines.index("  - [LOW | score=20] 10.0.0.7:40071 <-> 10.0.0.8:80/TCP")
    if not lines[i + 4].startswith("    Connection: refused (RST to SYN), iRTT 0.1 ms, 0 ms, RST 0/1; "):
        raise AssertionError(f"connection line: {lines[i + 4]!r}")


def t_tree():
    _, out, _ = pm("-q", "-r", str(CAPTURES / "demo.pcap"), "-z", "packetmancer,tree")
    rows = {}
    section = None
    for line in out.splitlines():
        m = re.match(r"^(\s*)(\S.*?)\s{2,}(\d+)\s", line)
        if m and not m.group(1):
            section = m.group(2)
        # Flows appear in several sections: keep the scores' one.
        if m and (section in (None, "Conversations (score)") or not m.group(2)[0].isdigit()):
            rows.setdefault((len(m.group(1)), m.group(2)), int(m.group(3)))
    eq(rows.get((0, "Conversations by level")), 13, "conversations")
    eq({l: rows.get((1, l)) for l in ("HIGH", "MEDIUM", "LOW", "OK")},
       {"HIGH": 2, "MEDIUM": 2, "LOW": 6, "OK": 3}, "levels")
    # Events: R = 6+1+1+1+1+20 = 30, Z = 2, D = 2, O = 5, RST = 2.
    eq(rows.get((1, "Retransmissions")), 30, "retransmissions")
    eq(rows.get((1, "Zero window")), 2, "zero windows")
    eq(rows.get((1, "Duplicate ACK events (3rd dup ACK)")), 2, "dup-ACK events")
    eq(rows.get((1, "Out of order")), 5, "out of order")
    eq(rows.get((1, "Resets")), 2, "resets")
    eq(rows.get((1, "10.0.0.5:40061 <-> 10.0.0.6:80/TCP")), 160, "conversation score")
    eq(rows.get((1, "10.0.0.1:40021 <-> 10.0.0.2:80/TCP")), 18, "conversation score")


def t_filter_only():
    rc, out, err = pm("-q", "-r", str(CAPTURES / "demo.pcap"), "-z", "packetmancer,json,tcp.port==40041")
    doc = json.loads(out)
    th = doc["detectors"]["tcp_health"]
    eq([c["flow"] for c in th["top_by_severity"]], ["[2001:db8::1]:40041 <-> [2001:db8::2]:443/TCP"], "filtered flows")
    eq(doc["summary"]["packets_total"], 30, "packets that passed the filter")
    rc, out, err = pm("-q", "-r", str(CAPTURES / "demo.pcap"), "-z", "packetmancer,json,ip.addr==10.0.0.7")
    flows = [c["flow"] for c in json.loads(out)["detectors"]["tcp_health"]["top_by_severity"]]
    eq(flows, ["10.0.0.7:40071 <-> 10.0.0.8:80/TCP", "10.0.0.7:40072 <-> 10.0.0.8:80/TCP"], "ip.addr filter")


def t_bad_arguments():
    for arg in ("packetmancer,jsonx", "packetmancer,reportx", "packetmancer,treex",
                "packetmancer,foo", "packetmancer"):
        rc, out, err = pm("-q", "-r", str(CAPTURES / "clean.pcap"), "-z", arg, check_rc=None)
        if rc == 0:
            raise AssertionError(f"-z {arg} was accepted")
        if "packetmancer,report|json|tree" not in err:
            raise AssertionError(f"-z {arg}: no usage hint in {err.strip()!r}")
        eq(out, "", f"-z {arg} stdout")
    rc, out, err = pm("-q", "-r", str(CAPTURES / "clean.pcap"), "-z", "packetmancer,json,tcp.port==", check_rc=None)
    if rc == 0 or "packetmancer" not in err:
        raise AssertionError(f"bad filter accepted: rc={rc} {err!r}")


def t_two_pass_same_json():
    # Taps fire only on the second pass with -2, from the stored snapshots.
    one = json.loads(pm_json(CAPTURES / "demo.pcap")[1])
    two = json.loads(pm("-2", "-q", "-r", str(CAPTURES / "demo.pcap"), "-z", "packetmancer,json")[1])
    eq(two, one, "JSON with -2")


def t_json_output_file():
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o777)  # tshark may run as "nobody"
        target = Path(tmp) / "report.json"
        rc, out, err = pm("-q", "-r", str(CAPTURES / "demo.pcap"), "-o",
                          f"packetmancer.json_output:{target}", "-z", "packetmancer,json")
        eq(out, "", "stdout when the document goes to a file")
        doc = json.loads(target.read_text())
        eq(doc["detectors"]["tcp_health"]["conversations_total"], 13, "document in the file")
        eq(sorted(p.name for p in Path(tmp).iterdir()), ["report.json"], "no temporary file left")
        # A folder that does not exist: a clear error, nothing written.
        rc, out, err = pm("-q", "-r", str(CAPTURES / "demo.pcap"), "-o",
                          f"packetmancer.json_output:{tmp}/nope/report.json", "-z", "packetmancer,json")
        if "cannot write the JSON document" not in err:
            raise AssertionError(f"no error for an unwritable path: {err!r}")


def t_settings_and_versions():
    doc = demo_json("-o", "packetmancer.weight_retransmission:6", "-o", "packetmancer.language:es")
    st = doc["summary"]["settings"]
    eq((st["weight_retransmission"], st["weight_zero_window"], st["language"], st["detectors"]),
       (6, 9, "es", ["tcp_health", "dns_health"]), "settings in force")
    eq(st["dup_window_ms"], 10, "capture-duplicate window in force (the default)")
    _, ver, _ = plain("--version")
    eq(doc["summary"]["wireshark_version"], re.search(r"\(Wireshark\) (\d+\.\d+\.\d+)", ver).group(1),
       "wireshark_version")
    _, plugins, _ = pm("-G", "plugins")
    pv = next(l.split("\t")[1] for l in plugins.splitlines() if l.startswith("packetmancer.so"))
    eq(doc["summary"]["plugin_version"], pv, "plugin_version")
    # Half the retransmission weight: 40002 has R=6, P=40 -> 6*6 = 36 (LOW? no:
    # R >= 5 still makes it MEDIUM); Spanish level names in the JSON.
    by_flow = {c["flow"]: c for c in doc["detectors"]["tcp_health"]["top_by_severity"]}
    eq(by_flow["10.0.0.1:40002 <-> 10.0.0.2:80/TCP"]["score"], {"value": 36, "level": "MEDIA"}, "re-weighted")


def t_tcp_health_off():
    doc = demo_json("-o", "packetmancer.tcp_health:off")
    eq(list(doc["detectors"]), ["dns_health"], "no TCP detector")
    eq(doc["summary"]["packets_total"], 1900, "summary still counts every packet")
    eq(doc["summary"]["settings"]["detectors"], ["dns_health"], "detectors in force")
    _, out, _ = pm("-q", "-r", str(CAPTURES / "demo.pcap"), "-o", "packetmancer.tcp_health:off",
                   "-z", "packetmancer,report")
    if "TCP health detector turned off." not in out or "  - [" in out:
        raise AssertionError(f"report with the detector off: {out!r}")


def t_tree_conversations_view():
    _, out, _ = pm("-q", "-r", str(CAPTURES / "demo.pcap"), "-z", "packetmancer,tree")
    lines = out.splitlines()
    i = next(n for n, l in enumerate(lines) if l.startswith("Conversations (bytes)"))
    # 10.0.0.5:40061: 27610 bytes c2s + 1042518 s2c (captures-expected.txt).
    eq(lines[i + 1].split()[:4], ["10.0.0.5:40061", "<->", "10.0.0.6:80/TCP", "1070128"], "top flow by bytes")
    rows = {l.split()[0]: int(l.split()[1]) for l in lines[i + 2:i + 4]}
    eq(rows, {"S->C": 1042518, "C->S": 27610}, "bytes per direction")


def t_rtt_hand():
    doc = json.loads(pm_json(CAPTURES / "rtt.pcap")[1])
    by = {c["flow"]: c for c in doc["detectors"]["tcp_health"]["top_by_severity"]}
    a = by["10.0.0.9:40081 <-> 10.0.0.10:80/TCP"]
    # S->C data: the handshake's SYN-ACK (acked 20 ms later) and 20 segments
    # acked after 10, 20, ..., 200 ms: 21 samples sorted 10, 20, 20, 30 ...
    # 200. Lower nearest rank: p50 = #10 = 100, p95 = #19 = 190,
    # p99 = #19 = 190, max 200. C->S data: the SYN and the request, each
    # acked 0.1 ms later.
    r = a["s2c"]["rtt_ms"]
    eq((r["samples"], r["max"]), (21, 200.0), "S->C samples and max")
    for key, want in (("p50", 100), ("p95", 190), ("p99", 190)):
        if not close(r[key], want):
            raise AssertionError(f"S->C {key}: {r[key]} is not within 1% of {want}")
    eq((a["c2s"]["rtt_ms"]["samples"], a["c2s"]["rtt_ms"]["max"]), (2, 0.1), "C->S RTT")
    eq((a["handshake"], a["initial_rtt_ms"], a["score"]), ("complete", 20.1, {"value": 0, "level": "OK"}),
       "conversation a")
    # 12 segments acked after 600 ms, plus the SYN-ACK's 20 ms: 13 samples,
    # p95 = #12 = 600 > 500 with >= 10 samples: slow, +20 -> LOW.
    b = by["10.0.0.9:40082 <-> 10.0.0.10:80/TCP"]
    eq((b["score"], b["s2c"]["rtt_ms"]["samples"]), ({"value": 20, "level": "LOW"}, 13), "slow path")
    m = re.fullmatch(r"slow RTT p95 ([\d.]+) ms \(13 samples\)", b["reasons"][0])
    if not m or not close(float(m.group(1)), 600):
        raise AssertionError(f"slow reason: {b['reasons']!r}")
    # Three SYNs, nothing back: R = 2 (the retries) -> 24, + 20 -> 44, LOW.
    c = by["10.0.0.9:40083 <-> 10.0.0.11:80/TCP"]
    eq((c["handshake"], c["score"], c["reasons"], c["initial_rtt_ms"]),
       ("no_answer", {"value": 44, "level": "LOW"}, ["no answer to SYN (3 SYN)"], None), "unanswered SYN")
    refused = {c["flow"]: c for c in demo_json()["detectors"]["tcp_health"]["top_by_severity"]}
    eq(refused["10.0.0.7:40071 <-> 10.0.0.8:80/TCP"]["handshake"], "refused", "refused handshake")
    eq(refused["10.0.0.2:80 <-> 10.0.0.1:40051/TCP"]["handshake"], "mid_stream", "mid-stream handshake")


# ------------------------------------------------------------------ DNS

DNS_FIELDS = ["frame.number", "frame.protocols", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst",
              "tcp.stream", "dns.flags.response", "dns.flags.rcode", "dns.time", "dns.response_to",
              "dns.qry.name", "dns.retransmission"]
RCODES = {"0": "NOERROR", "3": "NXDOMAIN", "2": "SERVFAIL", "5": "REFUSED"}


def dns_score(p, dga):
    """SCORING-DNS.md v1 with the defaults, exact, independently of the C code."""
    q, r, u = p["queries"], p["responses"], max(p["queries"] - p["responses"], 0)
    s, f, n = (p["rcodes"][k] for k in ("SERVFAIL", "REFUSED", "NXDOMAIN"))
    lat = p["latency"]
    p95 = rank_quantile(lat, 0.95) if lat else None
    slow = len(lat) >= 10 and p95 > 250
    terms, reasons = Fraction(0), []
    matters = lambda x, d, w: d >= 5 and x > 0 and w * x >= d
    if matters(u, q, 100):
        terms += Fraction(100 * u, q)
        reasons.append(f"unanswered queries {pct1(u, q)}% ({u} of {q})")
    for name, x, w in (("SERVFAIL", s, 100), ("REFUSED", f, 50), ("NXDOMAIN", n, 25)):
        if matters(x, r, w):
            terms += Fraction(w * x, r)
            reasons.append(f"{name} {pct1(x, r)}% ({x} of {r})")
    score = (2 * terms.numerator + terms.denominator) // (2 * terms.denominator)
    if slow:
        score += 30
        reasons.append(f"slow answers p95 {p95:.1f} ms ({len(lat)} answers)")
    if dga:
        score += 25 * min(dga, 4)
        reasons.append(f"DGA-like names ({dga})")
    if p["punycode"]:
        score += 5 * min(p["punycode"], 2)
        reasons.append(f"punycode names ({p['punycode']})")
    if score >= 100 or (q >= 5 and 100 * u >= 50 * q) or (r >= 5 and 100 * s >= 50 * r):
        level = "HIGH"
    elif (score >= 50 or (q >= 5 and u > 0 and 100 * u >= 20 * q) or (r >= 5 and s > 0 and 100 * s >= 10 * r)
          or slow or dga):
        level = "MEDIUM"
    else:
        level = "LOW" if score >= 1 else "OK"
    return score, level, reasons


def pct1(x, d):
    return str((Decimal(100 * x) / Decimal(d)).quantize(Decimal("0.1"), ROUND_HALF_UP))


def plain_dns(capture):
    args = ["-n", "-r", str(capture), "-T", "fields", "-E", "separator=\t", "-E", "occurrence=a",
            "-E", "aggregator=\x1f", "-Y", "dns"]
    for f in DNS_FIELDS:
        args += ["-e", f]
    _, out, _ = plain(*args)
    pairs = {}
    for line in out.splitlines():
        v = dict(zip(DNS_FIELDS, line.split("\t")))
        if "icmp" in v["frame.protocols"].split(":") or not v["dns.flags.response"]:
            continue
        last = lambda k: v[k].split("\x1f")[-1] if v[k] else ""
        src = v["ip.src"].split("\x1f")[-1] or "[" + v["ipv6.src"].split("\x1f")[-1] + "]"
        dst = v["ip.dst"].split("\x1f")[-1] or "[" + v["ipv6.dst"].split("\x1f")[-1] + "]"
        response = last("dns.flags.response") in ("1", "True")
        client, server = (dst, src) if response else (src, dst)
        key = f"{client} <-> {server}/DNS"
        p = pairs.setdefault(key, {"queries": 0, "queries_udp": 0, "queries_tcp": 0,
                                   "retransmitted_queries": 0, "responses": 0,
                                   "duplicate_responses": 0, "latency": [], "punycode": 0,
                                   "rcodes": dict.fromkeys(["NOERROR", "NXDOMAIN", "SERVFAIL",
                                                            "REFUSED", "other"], 0)})
        retx = last("dns.retransmission") in ("1", "True")
        name = v["dns.qry.name"].split("\x1f")[0]
        if not response:
            p["queries"] += 1
            p["queries_tcp" if v["tcp.stream"] else "queries_udp"] += 1
            p["retransmitted_queries"] += retx
            p["punycode"] += any(l.lower().startswith("xn--") for l in name.split("."))
        elif retx:
            p["duplicate_responses"] += 1
        else:
            p["responses"] += 1
            p["rcodes"][RCODES.get(last("dns.flags.rcode"), "other")] += 1
            if last("dns.time") and float(last("dns.time")) >= 0:
                p["latency"].append(float(last("dns.time")) * 1000)
    return pairs


def compare_dns_with_plain(capture):
    want = plain_dns(capture)
    rc, out, err = pm_json(capture)
    doc = json.loads(out)
    dh = doc["detectors"]["dns_health"]
    got = {p["pair"]: p for p in dh["top_by_severity"]}
    eq(sorted(got), sorted(want), "DNS pairs")
    for key, w in want.items():
        g = got[key]
        for k in ("queries", "queries_udp", "queries_tcp", "retransmitted_queries", "responses",
                  "duplicate_responses"):
            eq(g[k], w[k], f"{key} {k}")
        eq(g["unanswered"], max(w["queries"] - w["responses"], 0), f"{key} unanswered")
        eq(g["rcodes"], w["rcodes"], f"{key} rcodes")
        eq(g["suspicious_names"]["punycode"], w["punycode"], f"{key} punycode")
        check_rtt(g["latency_ms"], w["latency"], f"{key} latency_ms")
        score, level, reasons = dns_score(w, g["suspicious_names"]["dga"])
        eq((g["score"]["value"], g["score"]["level"]), (score, level), f"{key} verdict")
        if not same_reasons([x.replace("slow answers", "slow RTT") for x in g["reasons"]],
                            [x.replace("slow answers", "slow RTT") for x in reasons]):
            raise AssertionError(f"{key} reasons: {g['reasons']!r} vs {reasons!r}")
    order = sorted(want, key=lambda k: (-dns_score(want[k], got[k]["suspicious_names"]["dga"])[0], k.encode()))
    eq([p["pair"] for p in dh["top_by_severity"]], order, "DNS severity order")


def t_dns_hand():
    doc = json.loads(pm_json(CAPTURES / "dns.pcap")[1])
    dh = doc["detectors"]["dns_health"]
    eq((dh["pairs_total"], dh["pairs_by_level"]), (6, {"HIGH": 1, "MEDIUM": 3, "LOW": 0, "OK": 2}), "pairs")
    by = {p["pair"]: p for p in dh["top_by_severity"]}
    # docs/SCORING-DNS.md's worked examples, from the scenarios of
    # tests/dns-expected.txt.
    b = by["10.1.0.2 <-> 10.1.0.53/DNS"]
    eq((b["score"], b["reasons"]), ({"value": 35, "level": "MEDIUM"},
       ["SERVFAIL 20.0% (2 of 10)", "NXDOMAIN 60.0% (6 of 10)"]), "SERVFAIL/NXDOMAIN pair")
    eq([n["name"] for n in b["top_names"]["servfail"]],
       ["broken-dnssec.example.org", "lame-delegation.example.net"], "SERVFAIL names")
    c = by["10.1.0.3 <-> 10.1.0.54/DNS"]
    eq((c["score"], c["reasons"], c["queries"], c["retransmitted_queries"], c["unanswered"]),
       ({"value": 78, "level": "HIGH"}, ["unanswered queries 77.8% (7 of 9)"], 9, 1, 7), "unanswered pair")
    eq(c["top_names"]["unanswered"][0], {"name": "lost1.example.net", "count": 2}, "most unanswered name")
    d = by["10.1.0.4 <-> 10.1.0.53/DNS"]
    eq((d["score"], d["latency_ms"]["samples"]), ({"value": 30, "level": "MEDIUM"}, 12), "slow resolver")
    if not close(d["latency_ms"]["p95"], 400):
        raise AssertionError(f"slow p95 {d['latency_ms']['p95']}")
    e = by["10.1.0.5 <-> 10.1.0.53/DNS"]
    eq((e["score"], e["suspicious_names"], e["duplicate_responses"], e["reasons"]),
       ({"value": 85, "level": "MEDIUM"}, {"punycode": 2, "dga": 3}, 1,
        ["DGA-like names (3)", "punycode names (2)"]), "suspicious names")
    a = by["10.1.0.1 <-> 10.1.0.53/DNS"]
    # 20 answers after 10..200 ms: p50 = #9 = 100, p95 = #18 = 190, max 200.
    eq((a["score"], a["latency_ms"]["samples"], a["latency_ms"]["max"]),
       ({"value": 0, "level": "OK"}, 20, 200.0), "healthy pair")
    for key, want in (("p50", 100), ("p95", 190)):
        if not close(a["latency_ms"][key], want):
            raise AssertionError(f"healthy {key}: {a['latency_ms'][key]}")
    f = by["10.1.0.6 <-> 10.1.0.53/DNS"]
    eq((f["queries_tcp"], f["rcodes"]["REFUSED"], f["score"]), (1, 1, {"value": 0, "level": "OK"}), "TCP REFUSED")


def t_dns_options():
    # A threshold above 400 ms makes the slow resolver healthy; off removes DNS.
    doc = json.loads(pm_json(CAPTURES / "dns.pcap", "-o", "packetmancer.dns_latency_threshold_ms:500")[1])
    by = {p["pair"]: p for p in doc["detectors"]["dns_health"]["top_by_severity"]}
    eq(by["10.1.0.4 <-> 10.1.0.53/DNS"]["score"], {"value": 0, "level": "OK"}, "threshold 500 ms")
    eq(doc["summary"]["settings"]["dns_latency_threshold_ms"], 500, "setting in force")
    doc = json.loads(pm_json(CAPTURES / "dns.pcap", "-o", "packetmancer.dns_health:off")[1])
    eq(("dns_health" in doc["detectors"], doc["summary"]["settings"]["detectors"]),
       (False, ["tcp_health"]), "DNS detector off")
    _, out, _ = pm("-q", "-r", str(CAPTURES / "dns.pcap"), "-z", "packetmancer,report")
    if "--- DNS Health Detector Report ---" not in out or "    Reasons: unanswered queries 77.8% (7 of 9)" not in out:
        raise AssertionError("DNS section of the report")
    _, out, _ = pm("-2", "-n", "-r", str(CAPTURES / "dns.pcap"), "-o", "packetmancer.analyze:always",
                   "-Y", "packetmancer.dns.level == \"HIGH\"", "-T", "fields", "-e", "frame.number")
    # The HIGH pair (10.1.0.3 <-> 10.1.0.54): 9 queries + 2 answers = 11 frames.
    eq(len(out.split()), 11, "frames of the HIGH DNS pair")


def t_capture_duplicates():
    """Copies made by the capture: the verdicts of the originals, by hand."""
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o755)
        t = Path(tmp)
        run(["mergecap", "-w", str(t / "same.pcap"), str(CAPTURES / "clean.pcap"),
             str(CAPTURES / "clean.pcap")], check_rc=0)
        run(["editcap", "-t", "0.000005", str(CAPTURES / "clean.pcap"), str(t / "late5us.pcap")], check_rc=0)
        run(["mergecap", "-w", str(t / "late.pcap"), str(CAPTURES / "clean.pcap"), str(t / "late5us.pcap")],
            check_rc=0)
        run(["mergecap", "-w", str(t / "retx.pcap"), str(CAPTURES / "retransmissions.pcap"),
             str(CAPTURES / "retransmissions.pcap")], check_rc=0)
        plain("-r", str(CAPTURES / "dupacks.pcap"), "-Y", "tcp.len==0", "-w", str(t / "acks.pcap"), check_rc=0)
        run(["mergecap", "-w", str(t / "dupacks2.pcap"), str(CAPTURES / "dupacks.pcap"), str(t / "acks.pcap")],
            check_rc=0)
        for f in t.iterdir():
            os.chmod(f, 0o644)

        def verdicts(name, *extra):
            doc = json.loads(pm_json(t / name, *extra)[1])
            return doc, {c["flow"]: c for c in doc["detectors"]["tcp_health"]["top_by_severity"]}

        flow = "10.0.0.1:40001 <-> 10.0.0.2:80/TCP"
        for name in ("same.pcap", "late.pcap"):
            doc, by = verdicts(name)
            c = by[flow]
            # Every frame twice (at once, or 5 us later): still the clean
            # transfer, 10 + 12 packets, each copied once.
            eq((c["score"]["value"], c["score"]["level"], c["reasons"]), HAND[flow], f"{name} verdict")
            eq((c["c2s"]["packets"], c["s2c"]["packets"], c["c2s"]["capture_duplicates"],
                c["s2c"]["capture_duplicates"]), (10, 12, 10, 12), f"{name} counts")
            eq(doc["summary"]["capture_quality"], {
                "duplicates": 22, "duplicate_share": 0.5, "gaps": 0, "truncated_frames": 0,
                "verdict": "capture duplicated (almost) every packet: counts corrected"}, f"{name} quality")
        _, out, _ = pm("-q", "-r", str(t / "same.pcap"), "-z", "packetmancer,report")
        if "Capture: capture duplicated (almost) every packet: counts corrected" not in out.splitlines():
            raise AssertionError("no capture line in the report")
        # The check turned off: the copies are Wireshark's retransmissions again.
        doc, by = verdicts("same.pcap", "-o", "packetmancer.dup_window_ms:0")
        eq(by[flow]["c2s"]["capture_duplicates"] + by[flow]["s2c"]["capture_duplicates"], 0, "check off")
        if by[flow]["score"]["level"] == "OK":
            raise AssertionError("with the check off the copies should look like retransmissions")
        # The genuine retransmissions (same seq, new IP ID, 200 ms later)
        # still count: 6, score 72, MEDIUM, and 40 copies are set aside.
        doc, by = verdicts("retx.pcap")
        c = by["10.0.0.1:40002 <-> 10.0.0.2:80/TCP"]
        eq((c["score"]["value"], c["score"]["level"], c["reasons"]),
           HAND["10.0.0.1:40002 <-> 10.0.0.2:80/TCP"], "duplicated lossy transfer")
        eq((c["s2c"]["retransmissions"], c["c2s"]["capture_duplicates"] + c["s2c"]["capture_duplicates"]),
           (6, 40), "genuine retransmissions and copies")
        # Only the ACKs copied: the copies would shift Wireshark's
        # duplicate-ACK numbers; runs of 2, 3, 5 still give 0, 1, 1 events.
        doc, by = verdicts("dupacks2.pcap")
        for port, d in (("40011", 0), ("40012", 1), ("40013", 1)):
            f = f"10.0.0.1:{port} <-> 10.0.0.2:80/TCP"
            eq((by[f]["c2s"]["duplicate_ack_events"], by[f]["score"]["value"], by[f]["score"]["level"]),
               (d, HAND[f][0], HAND[f][1]), f"ACK copies {port}")
            if by[f]["c2s"]["capture_duplicates"] == 0:
                raise AssertionError(f"{port}: the ACK copies were not recognised")


def t_ftp_crack():
    """ftp-crack.pcap holds every frame twice (the file appended to itself):
    each conversation must come out as in the de-duplicated file."""
    import tempfile
    if not SHARED.is_dir():
        raise SkipTest("../shared/captures is absent")
    with tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o755)
        dedup = Path(tmp) / "ftp-dedup.pcap"
        run(["editcap", "-D", "20000", str(SHARED / "ftp-crack.pcap"), str(dedup)], check_rc=0)
        os.chmod(dedup, 0o644)
        for extra in ((), ("-o", "packetmancer.weight_refused:0", "-o", "packetmancer.weight_no_answer:0")):
            a = json.loads(pm_json(SHARED / "ftp-crack.pcap", *extra)[1])
            b = json.loads(pm_json(dedup, *extra)[1])
            va = {c["flow"]: (c["score"], c["reasons"]) for c in a["detectors"]["tcp_health"]["top_by_severity"]}
            vb = {c["flow"]: (c["score"], c["reasons"]) for c in b["detectors"]["tcp_health"]["top_by_severity"]}
            eq(va, vb, f"verdicts vs the de-duplicated file {extra}")
            eq(a["summary"]["capture_quality"]["duplicates"], 9865, "copies found")
        # The numbers for the de-duplicated file, with only the
        # contract's TCP scoring (no connection signals).
        eq(b["detectors"]["tcp_health"]["conversations_by_level"],
           {"HIGH": 0, "MEDIUM": 3, "LOW": 1, "OK": 710}, "levels")


def t_empty_capture():
    rc, out, err = pm_json(CAPTURES / "empty.pcap")
    eq(rc, 0, "exit status")
    doc = json.loads(out)
    eq(doc["summary"]["packets_total"], 0, "packets")
    eq(doc["summary"]["duration_ms"], 0, "duration")
    th = doc["detectors"]["tcp_health"]
    eq((th["conversations_total"], th["top_by_severity"], th["top_by_packets"]), (0, [], []), "empty")
    _, out, _ = pm("-q", "-r", str(CAPTURES / "empty.pcap"), "-z", "packetmancer,report")
    if "No TCP conversations found." not in out:
        raise AssertionError("empty report")


def t_fields_filter():
    _, out, _ = pm("-n", "-r", str(CAPTURES / "outoforder.pcap"), "-o", "packetmancer.analyze:always",
                   "-Y", 'packetmancer.level == "MEDIUM"', "-T", "fields", "-e", "packetmancer.score")
    scores = out.split()
    # Conversation A turns MEDIUM at its 3rd out-of-order segment and stays
    # there; B never does. Every matching frame has a score >= 4 (3 of at most 100).
    if not scores or any(int(s) < 4 for s in scores):
        raise AssertionError(f"MEDIUM frames: {scores[:10]}")
    _, frames = plain_frames(CAPTURES / "outoforder.pcap")
    _, expected = expected_from_plain(frames)
    eq(len(scores), sum(1 for v in expected.values() if v[2] == "MEDIUM"), "frames at MEDIUM")


def t_fields_hint():
    _, out, err = pm("-n", "-r", str(CAPTURES / "clean.pcap"), "-Y", "packetmancer.score > 0")
    if "packetmancer.analyze:always" not in err:
        raise AssertionError(f"no hint on stderr: {err!r}")


def t_expert_hand():
    got = expert_entries(CAPTURES / "demo.pcap")
    pairs = [(text.split(" reached ")[0][len("Conversation "):], sev, text.split(" reached ")[1])
             for _, sev, text in got]
    # By hand (k = 1 at each of these moments): 12*5 = 60 at the 5th
    # retransmission (MEDIUM by R >= 5); 12*9 = 108 at the 9th (HIGH by score);
    # a first zero window is MEDIUM with 9, the second HIGH with 18; the
    # third out-of-order segment makes 40031 MEDIUM (its score depends on P then).
    eq([(f, sev, rest) for f, sev, rest in pairs if "40031" not in f], [
        ("10.0.0.1:40002 <-> 10.0.0.2:80/TCP", "note", "MEDIUM (score 60): moderate retransmissions (5)"),
        ("10.0.0.1:40021 <-> 10.0.0.2:80/TCP", "note", "MEDIUM (score 9): zero window (1)"),
        ("10.0.0.1:40021 <-> 10.0.0.2:80/TCP", "warn", "HIGH (score 18): zero window (2)"),
        ("10.0.0.5:40061 <-> 10.0.0.6:80/TCP", "note", "MEDIUM (score 60): moderate retransmissions (5)"),
        ("10.0.0.5:40061 <-> 10.0.0.6:80/TCP", "warn", "HIGH (score 108): moderate retransmissions (9)"),
    ], "expert entries")
    eq([sev for f, sev, _ in pairs if "40031" in f], ["note"], "40031 entries")
    # The -z expert summary lists them under Warns and Notes.
    _, out, _ = pm("-q", "-r", str(CAPTURES / "demo.pcap"), "-o", "packetmancer.analyze:always", "-z", "expert")
    mine = [l.split() for l in out.splitlines() if "PacketMancer" in l]
    eq(sorted(int(l[0]) for l in mine), [1] * 6, "one entry per raise in -z expert")


def t_expert_vs_plain(capture, two_pass=False):
    eq(expert_entries(capture, two_pass), expected_raises(capture), "expert entries")


def sharkd(requests):
    """Runs sharkd (the engine under the GUI) on JSON-RPC requests."""
    lines = [json.dumps({"jsonrpc": "2.0", "id": i + 1, "method": m, "params": p})
             for i, (m, p) in enumerate(requests)]
    p = subprocess.run([str(WRAPPER), "--plugin", PLUGIN, "--exec", "sharkd", "-"],
                       input=("\n".join(lines) + "\n").encode(), capture_output=True, timeout=300)
    answers = {}
    for line in p.stdout.decode("utf-8", "replace").splitlines():
        if line.startswith("{"):
            a = json.loads(line)
            answers[a.get("id")] = a
    return answers


def t_sharkd():
    import shutil
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o755)
        cap = Path(tmp) / "demo.pcap"
        shutil.copy(CAPTURES / "demo.pcap", cap)
        os.chmod(cap, 0o644)
        a = sharkd([("load", {"file": str(cap)}),
                    ("frames", {"filter": 'packetmancer.level == "HIGH"'}),
                    ("frame", {"frame": 31, "proto": True}),
                    ("tap", {"tap0": "stat:packetmancer"})])
    eq(a.get(1, {}).get("result", {}).get("status"), "OK", "load")
    # HIGH: 10.0.0.5:40061 (1500 packets) and 10.0.0.1:40021 (24 packets);
    # re-dissected frames show the final verdict, so all their packets match.
    eq(len(a[2]["result"]), 1524, "frames at HIGH")
    labels = []

    def walk(nodes):
        for n in nodes:
            labels.append(n.get("l", ""))
            walk(n.get("n", []))
    walk(a[3]["result"]["tree"])
    for want in ("PacketMancer: MEDIUM, score 72, 10.0.0.1:40002 <-> 10.0.0.2:80/TCP",
                 "Final verdict: True", "Reason: moderate retransmissions (6)",
                 "Event: retransmission", "Server to client Retransmissions: 6",
                 "Event at frame: 31 (retransmission)"):
        if want not in labels:
            raise AssertionError(f"frame 31 tree lacks {want!r}")
    stats = a[4]["result"]["taps"][0]["stats"]
    levels = {n["name"]: n["count"] for n in stats[0]["sub"]}
    eq((stats[0]["name"], levels), ("Conversations by level",
                                    {"HIGH": 2, "MEDIUM": 2, "LOW": 6, "OK": 3}), "stats tree")


def t_profile():
    _, out, _ = pm("--profile", str(ROOT / "profiles" / "PacketMancer"), "-C", "PacketMancer", "-2",
                   "-n", "-r", str(CAPTURES / "demo.pcap"))
    lines = out.splitlines()
    # The profile adds Level and Score columns and turns the analysis on.
    if not re.search(r"^\s*31\s.*\sTCP MEDIUM 72 1054 ", lines[30]):
        raise AssertionError(f"frame 31 row: {lines[30]!r}")
    if not re.search(r"^\s*389\s.*\sTCP HIGH 160 58 ", lines[388]):
        raise AssertionError(f"frame 389 row: {lines[388]!r}")


def t_shared(fn, name):
    def run_one():
        if not SHARED.is_dir():
            raise SkipTest(f"{SHARED} is absent (it sits beside the project in CI only)")
        fn(SHARED / name)
    return run_one


def t_tcp_ecn():
    if not SHARED.is_dir():
        raise SkipTest("../shared/captures is absent")
    doc = json.loads(pm_json(SHARED / "tcp-ecn-sample.pcap")[1])
    th = doc["detectors"]["tcp_health"]
    c = th["top_by_severity"][0]
    eq((th["conversations_total"], c["score"]["value"], c["score"]["level"], c["reasons"]),
       (1, 0, "OK", []), "tcp-ecn-sample verdict")
    eq(c["c2s"]["packets"] + c["s2c"]["packets"], 479, "packets")


def main():
    global PLUGIN
    ap = argparse.ArgumentParser()
    ap.add_argument("--plugin", required=True)
    ap.add_argument("--wireshark-version", default="")
    ap.add_argument("--quick", action="store_true", help="skip the sweep over ../shared/captures")
    a = ap.parse_args()
    PLUGIN = str(Path(a.plugin).resolve())

    check("hand: verdicts and order of every generated conversation", t_hand_verdicts)
    check("hand: per-direction counters", t_hand_counters)
    check("report: layout, order and reasons", t_report_layout)
    check("report: top N and Spanish", t_report_top_and_spanish)
    check("tree: levels, events, scores", t_tree)
    check("filter after the tap name", t_filter_only)
    check("unknown -z suffixes and bad filters are refused", t_bad_arguments)
    check("empty capture", t_empty_capture)
    check("two-pass run gives the same JSON", t_two_pass_same_json)
    check("JSON to a file, atomically (packetmancer.json_output)", t_json_output_file)
    check("summary: settings in force and versions", t_settings_and_versions)
    check("TCP detector turned off", t_tcp_health_off)
    check("tree: conversations by packets and bytes", t_tree_conversations_view)
    check("RTT percentiles, slow path, refused and unanswered SYNs (by hand)", t_rtt_hand)
    check("capture duplicates: same time, 5 us later, lossy, ACK copies (by hand)", t_capture_duplicates)
    check("ftp-crack.pcap comes out as its de-duplicated self", t_ftp_crack)
    check("DNS health by hand (dns.pcap)", t_dns_hand)
    check("DNS options: threshold, detector off, report, fields", t_dns_options)
    check("DNS vs plain tshark: captures/dns.pcap", lambda: compare_dns_with_plain(CAPTURES / "dns.pcap"))
    check("expert info where conversations reach MEDIUM and HIGH (by hand)", t_expert_hand)
    for two in (False, True):
        check(f"expert info vs plain tshark{' (-2)' if two else ''}: demo.pcap",
              lambda t=two: t_expert_vs_plain(CAPTURES / "demo.pcap", t))
    check("sharkd: filter, frame tree and stats tree", t_sharkd)
    check("profile: Level and Score columns", t_profile)
    check("per-packet fields usable in display filters", t_fields_filter)
    check("hint when fields are filtered without analysis", t_fields_hint)
    check("tcp-ecn-sample.pcap is OK with score 0", t_tcp_ecn)
    check("snap-length cuts inside TCP headers and options (editcap -s)", t_snaplen_cuts)
    for cap in ("demo.pcap", "outoforder.pcap", "rtt.pcap"):
        check(f"per-packet fields vs plain tshark: {cap}", lambda c=cap: per_packet_fields(CAPTURES / c))
        check(f"per-packet fields, two passes (-2): {cap}",
              lambda c=cap: per_packet_fields(CAPTURES / c, two_pass=True))
    for cap in sorted(CAPTURES.glob("*.pcap")):
        check(f"JSON vs plain tshark: captures/{cap.name}", lambda c=cap: compare_with_plain(c))
    if SHARED.is_dir() and not a.quick:
        for cap in sorted(p for p in SHARED.iterdir() if p.name != "MANIFEST.md"):
            check(f"JSON vs plain tshark: shared/{cap.name}", lambda c=cap: compare_with_plain(c))
        for cap in ("dns_query_nonexistent.pcapng", "stranded_branchdns.pcapng", "nowebaccess1.pcapng",
                    "20171220_smb_psexec_add_user.pcap", "suricata_sip-method_sip.pcap",
                    "suricata_flow-drop-iponly-02.pcap", "suricata_dns-answer-emptydata.pcap",
                    "punycode-idn.pcap", "bad-dns-traffic.pcap", "sll.pcap", "many_interfaces-1.pcapng",
                    "pcapng-multi-interface.pcapng", "zeek_dnssec_nsec3.pcap", "http.cap"):
            check(f"DNS vs plain tshark: shared/{cap}", t_shared(compare_dns_with_plain, cap))
        for cap in ("http.cap", "email-troubles.pcap", "vlan-collisions.pcap", "fix2.pcap",
                    "four_ipv6_http_streams.pcap", "sll.pcap"):
            check(f"per-packet fields vs plain tshark: shared/{cap}", t_shared(per_packet_fields, cap))
            check(f"final per-packet fields (-2) vs plain tshark: shared/{cap}",
                  t_shared(lambda c: per_packet_fields(c, two_pass=True), cap))
            check(f"expert info vs plain tshark: shared/{cap}", t_shared(t_expert_vs_plain, cap))
    else:
        why = "--quick" if a.quick else f"{SHARED} is absent (a user's clone has no ../shared)"
        check("sweep over ../shared/captures", lambda: skip(why))

    print(f"\n{len(PASSED)} passed, {len(FAILED)} failed, {len(SKIPPED)} skipped")
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
