#!/usr/bin/env python3
"""Tests of the `packetmancer` command, run as a user would run it.

The build is installed with `cmake --install` into a throwaway DESTDIR
(prefix /usr, so the plugin's absolute Wireshark folder lands inside it
too and nothing touches the real system). The command is then called from
there, with PACKETMANCER_TSHARK pointing at a small wrapper that runs
tests/tshark-pm with the INSTALLED packetmancer.so.

Expected values are worked out independently of the plugin: from
tests/captures-expected.txt and docs/SCORING.md for captures/demo.pcap
(13 conversations: HIGH 2, MEDIUM 2, LOW 6, OK 3. LOW: the four with one
retransmission, ports 40011-40013 and 40041; 40032 with 2% out of order;
and 10.0.0.7:40071, whose server answers the SYN with a RST, "refused",
+20. HIGH 2 + MEDIUM 2 + LOW 6 = 10 at LOW or above. The first by
severity is 10.0.0.5:40061, 20 retransmissions in 1500 packets, score
12*20/1.5 = 160), from the pcap format itself (where a
truncated copy is cut), from CMakeLists.txt (the version) and from plain
tshark.

tshark-pm runs tshark as "nobody" when the tests run as root (root ignores
personal plugin folders), so the folders tshark writes into (TMPDIR, the
--json targets) are made writable by everyone here.

Usage: test_cli.py --build-dir BUILD [--cmake CMAKE]
Prints one line per check and "N passed, N failed, N skipped" at the end.
"""

import argparse
import gzip
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CAPTURES = ROOT / "captures"
TSHARK_PM = ROOT / "tests" / "tshark-pm"

PASSED, FAILED, SKIPPED = [], [], []


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


# ------------------------------------------------------------------ set-up

class Env:
    """The installed layout and the files the checks use."""


E = Env()


def setup(build_dir, cmake):
    E.top = Path(tempfile.mkdtemp(prefix="pm-cli-"))
    os.chmod(E.top, 0o755)  # "nobody" (tshark in tshark-pm) must get through
    E.dest = E.top / "root"
    p = subprocess.run([cmake, "--install", str(build_dir), "--prefix", "/usr"],
                       env={**os.environ, "DESTDIR": str(E.dest)}, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"cmake --install failed: {p.stderr.strip()}")
    E.bin = E.dest / "usr" / "bin" / "packetmancer"
    E.man = E.dest / "usr" / "share" / "man" / "man1" / "packetmancer.1"
    sos = sorted(E.dest.rglob("packetmancer.so"))
    E.so = sos[0] if sos else None

    # tshark with the installed plugin; plain tshark (no plugin: as root it
    # ignores personal folders, and HOME points nowhere); and one that also
    # installs a personal profile "CliTest" setting packetmancer.top to 1.
    E.tshark = wrapper("tshark-with-plugin", f'exec "{TSHARK_PM}" --plugin "{E.so}" "$@"')
    E.tshark_plain = wrapper("tshark-without-plugin", 'exec env HOME=/nonexistent tshark "$@"')
    prof = E.top / "CliTest"
    prof.mkdir()
    (prof / "preferences").write_text("packetmancer.top: 1\n")
    os.chmod(prof, 0o755)
    os.chmod(prof / "preferences", 0o644)
    E.tshark_profile = wrapper("tshark-with-profile",
                               f'exec "{TSHARK_PM}" --plugin "{E.so}" --profile "{prof}" "$@"')

    # TMPDIR: tshark-pm stages there and --fail-on keeps its JSON there;
    # "nobody" writes into it. Must be empty after every run.
    E.tmp = E.top / "tmp"
    E.tmp.mkdir()
    os.chmod(E.tmp, 0o777)
    # --json targets go here.
    E.out = E.top / "out"
    E.out.mkdir()
    os.chmod(E.out, 0o777)

    # Inputs, readable by everyone.
    E.inp = E.top / "in"
    E.inp.mkdir()
    for name in ("demo.pcap", "clean.pcap", "retransmissions.pcap"):
        shutil.copy(CAPTURES / name, E.inp / name)
    E.demo, E.clean, E.retr = (E.inp / n for n in ("demo.pcap", "clean.pcap", "retransmissions.pcap"))
    demo = E.demo.read_bytes()
    (E.inp / "demo.pcap.gz").write_bytes(gzip.compress(demo, mtime=0))
    cut = mid_record_cut(demo)
    (E.inp / "truncated.pcap").write_bytes(demo[:cut])
    (E.inp / "truncated.pcap.gz").write_bytes(gzip.compress(demo[:cut], mtime=0))
    (E.inp / "notes.txt").write_text("These are notes about a capture, not a capture.\n" * 20)
    (E.inp / "secret.pcap").write_bytes(demo)
    os.chmod(E.inp / "secret.pcap", 0o600)
    E.folder = E.inp / "a-folder.pcap"
    E.folder.mkdir()
    for f in E.inp.iterdir():
        if f.name != "secret.pcap":
            os.chmod(f, 0o755 if f.is_dir() else 0o644)
    os.chmod(E.inp, 0o755)

    E.version = re.search(r"project\(PacketMancer VERSION ([0-9.]+)",
                          (ROOT / "CMakeLists.txt").read_text()).group(1)
    prefs = subprocess.run([str(E.tshark), "-G", "defaultprefs"], capture_output=True, text=True).stdout
    E.has_pref = lambda name: re.search(rf"^#?packetmancer\.{name}:", prefs, re.M) is not None


def wrapper(name, body):
    path = E.top / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    os.chmod(path, 0o755)
    return path


def mid_record_cut(data):
    """A length that ends in the middle of the 200th packet record of a
    classic pcap file (worked out from the format, not from tshark), so
    that tshark reads 199 packets and then finds the file cut short."""
    magic = data[:4]
    endian = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    off = 24
    for _ in range(199):
        incl_len = struct.unpack(endian + "I", data[off + 8:off + 12])[0]
        off += 16 + incl_len
    incl_len = struct.unpack(endian + "I", data[off + 8:off + 12])[0]
    assert incl_len > 20
    return off + 16 + incl_len // 2


def pm(*args, tshark=None, env=None, cwd=None, user=None):
    """Runs the installed command; returns (rc, stdout, stderr). Checks that
    it leaves nothing behind in TMPDIR."""
    e = {k: v for k, v in os.environ.items() if k not in ("PACKETMANCER_TSHARK", "TMPDIR")}
    e["TMPDIR"] = str(E.tmp)
    e["PACKETMANCER_TSHARK"] = str(tshark or E.tshark)
    e.update(env or {})
    cmd = [str(E.bin), *map(str, args)]
    if user is not None:
        cmd = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *cmd]
    p = subprocess.run(cmd, capture_output=True, env=e, cwd=cwd or E.top, timeout=300)
    left = sorted(os.listdir(E.tmp))
    if left:
        for f in left:
            p = E.tmp / f
            shutil.rmtree(p) if p.is_dir() else os.remove(p)
        raise AssertionError(f"left behind in TMPDIR: {left}")
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def ok_run(*args, **kw):
    rc, out, err = pm(*args, **kw)
    eq(rc, 0, f"exit status of packetmancer {' '.join(map(str, args))} (stderr {err.strip()!r})")
    eq(err, "", "standard error")
    return out


def one_error_line(err, *contains):
    lines = err.splitlines()
    eq(len(lines), 1, f"lines on standard error ({err!r})")
    if not lines[0].startswith("packetmancer: "):
        raise AssertionError(f"error line does not start with 'packetmancer: ': {lines[0]!r}")
    for c in contains:
        if c not in lines[0]:
            raise AssertionError(f"error line lacks {c!r}: {lines[0]!r}")


def fails(status, args, *contains, stdout_empty=True, **kw):
    rc, out, err = pm(*args, **kw)
    eq(rc, status, f"exit status of packetmancer {' '.join(map(str, args))} (stderr {err.strip()!r})")
    one_error_line(err, *contains)
    if stdout_empty:
        eq(out, "", "standard output")
    return out


def section(report, title):
    """The conversation lines ("  - ...") of one "Top N ... by TITLE:" section."""
    m = re.search(rf"^Top \d+ conversations by {title}:\n((?:  .*\n)*)", report, re.M)
    if not m:
        raise AssertionError(f"no section by {title} in:\n{report}")
    return [l for l in m.group(1).splitlines() if l.startswith("  - ")]


def outdir_files():
    return sorted(os.listdir(E.out))


def clear_out():
    for f in os.listdir(E.out):
        p = E.out / f
        shutil.rmtree(p) if p.is_dir() else os.remove(p)


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


DEMO_LEVELS = "Levels: HIGH 2 | MEDIUM 2 | LOW 6 | OK 3"
DEMO_BY_LEVEL = {"HIGH": 2, "MEDIUM": 2, "LOW": 6, "OK": 3}
TOP_HIGH = "  - [HIGH | score=160] 10.0.0.5:40061 <-> 10.0.0.6:80/TCP"


# ------------------------------------------------------------------ checks

def t_layout():
    if E.so is None:
        raise AssertionError("cmake --install installed no packetmancer.so")
    if not os.access(E.bin, os.X_OK):
        raise AssertionError(f"{E.bin} missing or not executable")
    if not E.man.is_file():
        raise AssertionError(f"{E.man} not installed")
    if "@PM_VERSION@" in E.bin.read_text():
        raise AssertionError("the installed command was not configured by CMake")


def t_report():
    out = ok_run("--file", E.demo)
    for line in ("Found 13 distinct TCP conversations.", DEMO_LEVELS, TOP_HIGH):
        if line not in out.splitlines():
            raise AssertionError(f"report lacks {line!r}:\n{out}")
    eq(len(section(out, "SEVERITY")), 5, "conversations by severity (default top 5)")
    # The report is exactly the plugin's: the command adds or removes nothing.
    direct = subprocess.run([str(E.tshark), "-q", "-r", str(E.demo), "-z", "packetmancer,report"],
                            capture_output=True, text=True).stdout
    eq(out, direct, "report compared with tshark -z packetmancer,report")


def t_file_equals_form():
    out = ok_run(f"--file={E.demo}", "--top=2")
    eq(len(section(out, "SEVERITY")), 2, "conversations with --top=2")


def t_compressed():
    out = ok_run("--file", E.inp / "demo.pcap.gz")
    if DEMO_LEVELS not in out or "Found 13 distinct TCP conversations." not in out:
        raise AssertionError(f"gzip-compressed demo.pcap gave:\n{out}")


def t_top():
    out = ok_run("--file", E.demo, "--top", "2")
    sev = section(out, "SEVERITY")
    eq(len(sev), 2, "conversations by severity with --top 2")
    eq(sev[0], TOP_HIGH, "first conversation")
    eq(len(section(out, "PACKETS")), 2, "conversations by packets with --top 2")


def t_lang_es():
    out = ok_run("--file", E.demo, "--lang", "es")
    for line in ("Se encontraron 13 conversaciones TCP distintas.", "Niveles: ALTA 2 | MEDIA 2 | BAJA 6 | OK 3"):
        if line not in out.splitlines():
            raise AssertionError(f"Spanish report lacks {line!r}:\n{out}")
    out_upper = ok_run("--file", E.demo, "--lang", "ES")
    eq(out_upper, out, "--lang ES is --lang es")
    out_en = ok_run("--file", E.demo, "--lang", "en")
    if DEMO_LEVELS not in out_en:
        raise AssertionError("--lang en is not English")


def t_filter():
    out = ok_run("--file", E.demo, "--filter", "tcp.port==40041")
    if "Found 1 distinct TCP conversations." not in out:
        raise AssertionError(f"filtered report:\n{out}")
    sev = section(out, "SEVERITY")
    eq(len(sev), 1, "conversations")
    if "[2001:db8::1]:40041 <-> [2001:db8::2]:443/TCP" not in sev[0]:
        raise AssertionError(f"wrong conversation: {sev[0]}")
    # A filter with a comma reaches tshark whole.
    out = ok_run("--file", E.demo, "--filter", "tcp.port in {40041,40002}")
    if "Found 2 distinct TCP conversations." not in out:
        raise AssertionError(f"filter with a comma:\n{out}")


def t_json():
    clear_out()
    target = E.out / "report.json"
    target.write_text("OLD")
    out = ok_run("--file", E.demo, "--json", target)
    doc = load(target)
    eq(doc["summary"]["file"], str(E.demo), "summary.file")
    eq(doc["summary"]["packets_total"], 1900, "summary.packets_total")
    eq(doc["summary"]["plugin_version"], E.version, "summary.plugin_version")
    tcp = doc["detectors"]["tcp_health"]
    eq(tcp["conversations_total"], 13, "conversations_total")
    eq(tcp["conversations_by_level"], DEMO_BY_LEVEL, "conversations_by_level")
    eq(outdir_files(), ["report.json"], "files in the --json folder")
    # Same document as the plugin's own, and the same report as without --json.
    direct = subprocess.run([str(E.tshark), "-q", "-r", str(E.demo), "-z", "packetmancer,json"],
                            capture_output=True, text=True).stdout
    eq(doc, json.loads(direct), "document compared with tshark -z packetmancer,json")
    eq(out, ok_run("--file", E.demo), "report with --json compared with the report alone")


def t_json_relative_and_filter():
    clear_out()
    ok_run(f"--file={E.demo}", "--json=rel.json", "--filter", "tcp.port==40041", "--quiet", cwd=E.out)
    doc = load(E.out / "rel.json")
    eq(doc["detectors"]["tcp_health"]["conversations_total"], 1, "conversations_total with --filter")
    eq(outdir_files(), ["rel.json"], "files in the --json folder")


def t_json_lang_es():
    clear_out()
    ok_run("--file", E.demo, "--json", E.out / "es.json", "--lang", "es", "--quiet")
    doc = load(E.out / "es.json")
    eq(doc["summary"]["settings"]["language"], "es", "settings.language")
    tcp = doc["detectors"]["tcp_health"]
    eq(tcp["top_by_severity"][0]["score"]["level"], "ALTA", "level of the first conversation")
    eq(tcp["conversations_by_level"], DEMO_BY_LEVEL,
       "conversations_by_level (English keys in Spanish too)")


def t_quiet():
    eq(ok_run("--file", E.demo, "--quiet"), "", "standard output with --quiet")
    clear_out()
    eq(ok_run("--file", E.demo, "--quiet", "--json", E.out / "q.json"), "", "standard output with --quiet --json")
    eq(load(E.out / "q.json")["detectors"]["tcp_health"]["conversations_total"], 13, "conversations_total")


CANONICAL = {"HIGH": "HIGH", "ALTA": "HIGH", "MEDIUM": "MEDIUM", "MEDIA": "MEDIUM", "LOW": "LOW", "BAJA": "LOW"}


def t_fail_on():
    cases = [  # capture, level, expected status, conversations counted
        (E.demo, "HIGH", 3, 2), (E.demo, "high", 3, 2), (E.demo, "ALTA", 3, 2),
        (E.demo, "MEDIUM", 3, 4), (E.demo, "Media", 3, 4),
        (E.demo, "LOW", 3, 10), (E.demo, "baja", 3, 10),
        (E.clean, "HIGH", 0, 0), (E.clean, "LOW", 0, 0),
        (E.retr, "HIGH", 0, 0), (E.retr, "MEDIUM", 3, 1), (E.retr, "MEDIA", 3, 1),
    ]
    for cap, level, status, n in cases:
        rc, out, err = pm("--file", cap, "--fail-on", level)
        eq(rc, status, f"--fail-on {level} on {cap.name}")
        if "--- ANALYSIS COMPLETE ---" not in out:
            raise AssertionError(f"--fail-on {level} on {cap.name}: no report")
        if status == 3:
            one_error_line(err, f"--fail-on {level}: {n} at {CANONICAL[level.upper()]} or above (tcp_health {n})")
        else:
            eq(err, "", f"standard error, --fail-on {level} on {cap.name}")


def t_fail_on_combined():
    # The filter applies to --fail-on: port 40041 is one LOW conversation.
    eq(pm("--file", E.demo, "--filter", "tcp.port==40041", "--fail-on", "MEDIUM")[0], 0, "filtered, MEDIUM")
    eq(pm("--file", E.demo, "--filter", "tcp.port==40041", "--fail-on", "LOW")[0], 3, "filtered, LOW")
    # Spanish report, English JSON keys: still counted.
    eq(pm("--file", E.demo, "--lang", "es", "--fail-on", "ALTA")[0], 3, "--lang es --fail-on ALTA")
    # With --json and --quiet: status 3, the JSON written, nothing on stdout.
    clear_out()
    out = fails(3, ["--file", E.demo, "--fail-on", "HIGH", "--json", E.out / "ci.json", "--quiet"],
                "--fail-on HIGH: 2 at HIGH or above (tcp_health 2)")
    eq(load(E.out / "ci.json")["detectors"]["tcp_health"]["conversations_total"], 13, "conversations_total")
    eq(outdir_files(), ["ci.json"], "files in the --json folder")


def t_no_detector_tcp():
    out = ok_run("--file", E.demo, "--no-detector", "tcp_health")
    if "TCP health detector turned off." not in out:
        raise AssertionError(f"report with tcp_health off:\n{out}")
    clear_out()
    ok_run("--file", E.demo, "--no-detector", "tcp_health", "--json", E.out / "off.json", "--fail-on", "LOW")
    doc = load(E.out / "off.json")
    if "tcp_health" in doc["detectors"] or "tcp_health" in doc["summary"]["settings"]["detectors"]:
        raise AssertionError(f"tcp_health still in the document: {doc['summary']['settings']['detectors']}")


def t_no_detector_dns():
    if not E.has_pref("dns_health"):
        raise SkipTest("the plugin has no preference packetmancer.dns_health yet (tshark -G defaultprefs)")
    clear_out()
    ok_run("--file", E.demo, "--no-detector", "dns_health", "--json", E.out / "nodns.json", "--quiet")
    doc = load(E.out / "nodns.json")
    if "dns_health" in doc["summary"]["settings"]["detectors"] or "dns_health" in doc["detectors"]:
        raise AssertionError("dns_health still in the document")
    eq(doc["detectors"]["tcp_health"]["conversations_total"], 13, "tcp_health untouched")
    ok_run("--file", E.demo, "--no-detector", "dns_health", "--no-detector", "tcp_health", "--quiet")


def t_no_detector_dns_old_plugin():
    if E.has_pref("dns_health"):
        raise SkipTest("the plugin has packetmancer.dns_health")
    fails(10, ["--file", E.demo, "--no-detector", "dns_health"], "packetmancer.dns_health", "--no-detector dns_health")


def t_dns_threshold():
    if not E.has_pref("dns_latency_threshold_ms"):
        raise SkipTest("the plugin has no preference packetmancer.dns_latency_threshold_ms yet (tshark -G defaultprefs)")
    clear_out()
    ok_run("--file", E.demo, "--dns-latency-threshold", "123", "--json", E.out / "dns.json", "--quiet")
    eq(load(E.out / "dns.json")["summary"]["settings"].get("dns_latency_threshold_ms"), 123,
       "settings.dns_latency_threshold_ms")


def t_dns_threshold_old_plugin():
    if E.has_pref("dns_latency_threshold_ms"):
        raise SkipTest("the plugin has packetmancer.dns_latency_threshold_ms")
    fails(10, ["--file", E.demo, "--dns-latency-threshold", "250"], "dns_latency_threshold_ms",
          "--dns-latency-threshold")


def t_profile():
    out = ok_run("--file", E.demo, "--profile", "CliTest", tshark=E.tshark_profile)
    eq(len(section(out, "SEVERITY")), 1, "conversations with the profile's packetmancer.top: 1")
    out = ok_run("--file", E.demo, "--profile", "CliTest", "--top", "3", tshark=E.tshark_profile)
    eq(len(section(out, "SEVERITY")), 3, "--top 3 over the profile's top")
    # Without --profile the profile is not used.
    out = ok_run("--file", E.demo, tshark=E.tshark_profile)
    eq(len(section(out, "SEVERITY")), 5, "conversations without --profile")
    fails(2, ["--file", E.demo, "--profile", "NoSuchProfile"], "NoSuchProfile")


def t_version():
    for opt in ("--version", "-V"):
        out = ok_run(opt)
        lines = out.splitlines()
        eq(len(lines), 3, f"lines of {opt}")
        eq(lines[0], f"packetmancer {E.version}", "the command's version (CMakeLists.txt)")
        if not (lines[1].startswith(f"plugin: packetmancer {E.version} (") and "packetmancer.so)" in lines[1]):
            raise AssertionError(f"plugin line: {lines[1]!r}")
        first = subprocess.run(["tshark", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
        eq(lines[2], f"tshark: {first}", "tshark line")


def t_help():
    out = ok_run("--help")
    eq(ok_run("-h"), out, "-h compared with --help")
    for opt in ("--file", "--json", "--top", "--filter", "--no-detector", "--dns-latency-threshold",
                "--profile", "--lang", "--fail-on", "--quiet", "--version", "--help", "PACKETMANCER_TSHARK"):
        if opt not in out:
            raise AssertionError(f"--help does not mention {opt}")
    eq(help_statuses(out), list(range(11)), "exit statuses listed by --help")


def help_statuses(text):
    part = text.split("Exit status:", 1)[1]
    return [int(m) for m in re.findall(r"^  (\d+) ", part, re.M)]


def help_options(text):
    part = text.split("Options:", 1)[1].split("\n\n", 1)[0]
    return sorted(set(re.findall(r"^  (?:-\w, )?(--[a-z-]+)", part, re.M)))


def t_man():
    if shutil.which("groff") is None:
        raise SkipTest("groff is not installed (apt-get install groff-base)")
    p = subprocess.run(["groff", "-man", "-ww", "-z", str(E.man)], capture_output=True, text=True)
    eq((p.returncode, p.stdout + p.stderr), (0, ""), "groff -man -ww -z")
    src = E.man.read_text()
    for s in ("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXIT STATUS", "FILES", "EXAMPLES", "SEE ALSO"):
        if f"\n.SH {s}\n" not in src:
            raise AssertionError(f"man page has no section {s}")
    # The man page and --help describe the same options and exit statuses.
    help_text = ok_run("--help")
    options = src.split("\n.SH OPTIONS\n", 1)[1].split("\n.SH ", 1)[0]
    man_opts = sorted(set(o.replace("\\-", "-") for o in
                          re.findall(r"^\.(?:BI|BR|B) (\\-\\-[a-z\\-]+)", options, re.M)))
    eq(man_opts, help_options(help_text), "options in the man page compared with --help")
    statuses = src.split("\n.SH EXIT STATUS\n", 1)[1].split("\n.SH ", 1)[0]
    eq([int(n) for n in re.findall(r"^\.TP\n\.B (\d+)$", statuses, re.M)], help_statuses(help_text),
       "exit statuses in the man page compared with --help")
    if shutil.which("man"):
        p = subprocess.run(["man", "-l", str(E.man)], capture_output=True, text=True,
                           env={**os.environ, "MANPAGER": "cat", "MANWIDTH": "80"})
        if p.returncode != 0 or "EXIT STATUS" not in p.stdout:
            raise AssertionError(f"man -l failed: {p.stderr.strip()}")


USAGE_ERRORS = [
    ([], "missing --file"),
    (["--top", "3"], "missing --file"),
    (["--bogus"], "unknown option: --bogus"),
    (["-x"], "unknown option: -x"),
    (["demo.pcap"], "unexpected argument"),
    (["--file"], "--file needs a value"),
    (["--file", "--json", "x.json"], "--file needs a value"),
    (["--file", ""], "--file needs a value"),
    (["--file", "DEMO", "--top", "abc"], "--top"),
    (["--file", "DEMO", "--top", "-1"], "--top"),
    (["--file", "DEMO", "--top="], "--top needs a value"),
    (["--file", "DEMO", "--top", "12345678901"], "--top"),
    (["--file", "DEMO", "--lang", "fr"], "--lang"),
    (["--file", "DEMO", "--fail-on", "CRITICAL"], "--fail-on"),
    (["--file", "DEMO", "--fail-on", "OK"], "--fail-on"),
    (["--file", "DEMO", "--no-detector", "http_health"], "unknown detector 'http_health'"),
    (["--file", "DEMO", "--dns-latency-threshold", "1.5"], "--dns-latency-threshold"),
    (["--file", "DEMO", "--quiet=yes"], "--quiet takes no value"),
    (["--file", "DEMO", "--profile", ""], "--profile needs a value"),
]


def t_usage_errors():
    for args, text in USAGE_ERRORS:
        args = [str(E.demo) if a == "DEMO" else a for a in args]
        fails(2, args, text)


def t_missing_file():
    fails(4, ["--file", E.inp / "no-such.pcap"], "no such file")
    fails(4, ["--file", E.folder], "is a directory")


def t_unreadable_file():
    if os.geteuid() == 0:
        # Root reads everything: run the command itself as "nobody".
        fails(4, ["--file", E.inp / "secret.pcap"], "cannot read", user=65534)
    else:
        os.chmod(E.inp / "secret.pcap", 0)
        fails(4, ["--file", E.inp / "secret.pcap"], "cannot read")


def t_not_a_capture():
    fails(5, ["--file", E.inp / "notes.txt"], "not a capture file")


def t_truncated():
    clear_out()
    target = E.out / "report.json"
    target.write_text("OLD")
    for cap in ("truncated.pcap", "truncated.pcap.gz"):
        out = fails(6, ["--file", E.inp / cap, "--json", target], "damaged or truncated", stdout_empty=False)
        # What tshark read before the cut: the first 199 packets.
        if "| Packets: 199 |" not in out:
            raise AssertionError(f"partial report of {cap}:\n{out}")
        eq(target.read_text(), "OLD", f"--json target after {cap}")
        eq(outdir_files(), ["report.json"], f"files in the --json folder after {cap}")
    target.unlink()
    fails(6, ["--file", E.inp / "truncated.pcap", "--json", target, "--quiet"], "damaged or truncated")
    eq(outdir_files(), [], "files in the --json folder")


def t_bad_filter():
    fails(7, ["--file", E.demo, "--filter", "tcp.port=="], "invalid display filter", "tcp.port==")
    fails(7, ["--file", E.demo, "--filter", "no.such.field == 1", "--json", E.out / "f.json"],
          "invalid display filter")


def t_json_target():
    clear_out()
    fails(8, ["--file", E.demo, "--json", E.out / "missing-folder" / "r.json"], "does not exist")
    (E.out / "adir").mkdir()
    fails(8, ["--file", E.demo, "--json", E.out / "adir"], "is a directory")
    # A folder the analysis cannot write into: as root, the command can but
    # tshark (as nobody) cannot; as another user, neither can.
    ro = E.out / "readonly"
    ro.mkdir()
    os.chmod(ro, 0o755 if os.geteuid() == 0 else 0o555)
    # As root the failure shows only after the run, so the report is out.
    fails(8, ["--file", E.demo, "--json", ro / "r.json"], "cannot write the JSON report",
          stdout_empty=os.geteuid() != 0)
    eq(sorted(os.listdir(ro)), [], "files left in the read-only folder")


def t_no_tshark():
    fails(9, ["--file", E.demo], "tshark not found", tshark="/nonexistent/tshark")
    rc, out, err = pm("--version", tshark="/nonexistent/tshark")
    eq(rc, 9, "--version without tshark")
    one_error_line(err, "tshark not found")
    eq(out, f"packetmancer {E.version}\n", "--version without tshark")


def t_no_plugin():
    p = subprocess.run([str(E.tshark_plain), "-G", "plugins"], capture_output=True, text=True)
    if "packetmancer" in p.stdout:
        raise SkipTest("packetmancer.so is in Wireshark's global plugin folder (a package installed?)")
    fails(10, ["--file", E.demo], "does not load the PacketMancer plugin", tshark=E.tshark_plain)
    fails(10, ["--file", E.demo, "--top", "3", "--json", E.out / "x.json"], "does not load the PacketMancer plugin",
          tshark=E.tshark_plain)
    rc, out, err = pm("--version", tshark=E.tshark_plain)
    eq(rc, 10, "--version without the plugin")
    if "plugin: not loaded by tshark" not in out:
        raise AssertionError(f"--version without the plugin: {out!r}")


def t_no_python():
    # A PATH with everything of the system's bin folders except python.
    bindir = E.top / "bin-without-python"
    if not bindir.exists():
        bindir.mkdir()
        for d in ("/usr/local/bin", "/usr/bin", "/bin", "/usr/sbin", "/sbin"):
            if not os.path.isdir(d):
                continue
            for name in os.listdir(d):
                if not name.startswith("python") and not (bindir / name).exists():
                    os.symlink(os.path.join(d, name), bindir / name)
    env = {"PATH": str(bindir)}
    fails(1, ["--file", E.demo, "--fail-on", "HIGH"], "needs python3", env=env)
    eq(pm("--file", E.demo, "--quiet", env=env)[0], 0, "exit status without python3 and without --fail-on")


FAKE_TSHARK = r"""#!/usr/bin/env python3
# A stand-in for tshark: copies $FAKE_JSON to the json_output preference's
# path (when set), appends the GLIBC_TUNABLES it was given to $FAKE_ENV_OUT
# (when set) and prints a one-line report; knows -G plugins.
import os, shutil, sys
args = sys.argv[1:]
if args[:2] == ["-G", "plugins"]:
    print("packetmancer.so\t9.9.9\tdissector\t/fake/packetmancer.so")
    sys.exit(0)
for a in args:
    if a.startswith("packetmancer.json_output:") and os.environ.get("FAKE_JSON"):
        shutil.copyfile(os.environ["FAKE_JSON"], a.split(":", 1)[1])
if os.environ.get("FAKE_ENV_OUT"):
    with open(os.environ["FAKE_ENV_OUT"], "a") as f:
        f.write(os.environ.get("GLIBC_TUNABLES", "(unset)") + "\n")
print("fake report")
"""


def t_huge_pages():
    """tshark runs with glibc.malloc.hugetlb=1 added to GLIBC_TUNABLES,
    the user's other tunables kept, and a hugetlb value of the user's
    left as it is (docs/PERFORMANCE.md, ninth round)."""
    fake = wrapper("fake-tshark", "")
    fake.write_text(FAKE_TSHARK)
    seen = E.out / "tunables.txt"
    cases = [("", "glibc.malloc.hugetlb=1"),
             ("glibc.malloc.check=3", "glibc.malloc.check=3:glibc.malloc.hugetlb=1"),
             ("glibc.malloc.hugetlb=0", "glibc.malloc.hugetlb=0"),
             ("glibc.malloc.check=3:glibc.malloc.hugetlb=2", "glibc.malloc.check=3:glibc.malloc.hugetlb=2")]
    for given, expected in cases:
        clear_out()
        out = ok_run("--file", E.demo, tshark=fake,
                     env={"GLIBC_TUNABLES": given, "FAKE_ENV_OUT": str(seen)})
        eq(out, "fake report\n", f"report with GLIBC_TUNABLES={given!r}")
        eq(seen.read_text(), expected + "\n", f"tshark's GLIBC_TUNABLES, given {given!r}")
    clear_out()


def t_fail_on_every_detector():
    """--fail-on counts every detector's *_by_level object (tcp_health's
    conversations, dns_health's client/server pairs, any later one),
    checked with a stand-in tshark that hands over a given JSON document."""
    fake = wrapper("fake-tshark", "")
    fake.write_text(FAKE_TSHARK)
    zero = {"HIGH": 0, "MEDIUM": 0, "LOW": 0, "OK": 3}
    docs = {
        "dns-high.json": {"detectors": {"tcp_health": {"conversations_by_level": zero},
                                        "dns_health": {"pairs_by_level": {"HIGH": 1, "MEDIUM": 0, "LOW": 2, "OK": 0}}}},
        "future.json": {"detectors": {"tcp_health": {"conversations_by_level": {**zero, "MEDIUM": 1}},
                                      "x_health": {"flows_by_level": {"HIGH": 0, "MEDIUM": 2, "LOW": 0, "OK": 0}}}},
        "broken.json": None,
    }
    for name, doc in docs.items():
        (E.inp / name).write_text("{" if doc is None else json.dumps(doc))
        os.chmod(E.inp / name, 0o644)

    def run(doc, level):
        return pm("--file", E.demo, "--fail-on", level, "--quiet", tshark=fake,
                  env={"FAKE_JSON": str(E.inp / doc)} if doc else {})

    rc, out, err = run("dns-high.json", "HIGH")
    eq(rc, 3, "exit status, a HIGH DNS pair")
    one_error_line(err, "--fail-on HIGH: 1 at HIGH or above (dns_health 1)")
    rc, out, err = run("dns-high.json", "LOW")
    eq(rc, 3, "exit status, LOW")
    one_error_line(err, "--fail-on LOW: 3 at LOW or above (dns_health 3)")
    rc, out, err = run("future.json", "MEDIUM")
    eq(rc, 3, "exit status, MEDIUM in two detectors")
    one_error_line(err, "--fail-on MEDIUM: 3 at MEDIUM or above (tcp_health 1, x_health 2)")
    eq(run("future.json", "HIGH")[0], 0, "exit status, nothing HIGH")
    # A document that is not JSON, or none at all, is an error, never a pass.
    rc, out, err = run("broken.json", "HIGH")
    eq(rc, 1, "exit status, unreadable JSON")
    one_error_line(err, "cannot read the levels")
    rc, out, err = run(None, "HIGH")
    eq(rc, 1, "exit status, no JSON written")
    one_error_line(err, "no JSON document")
    clear_out()
    fails(8, ["--file", E.demo, "--json", E.out / "none.json"], "tshark wrote no document",
          stdout_empty=False, tshark=fake)
    eq(outdir_files(), [], "files in the --json folder")


# ------------------------------------------------------------------ --jobs N
# The capture split by conversation (packetmancer-split), one tshark per
# shard, the parts merged (packetmancer-merge): the report and the JSON
# document must be those of one run, byte for byte (docs/PARALLEL.md).

SHARED = ROOT.parent / "shared" / "captures"


def jobs_inputs():
    """Bundled captures, and a few shared ones when ../shared is there:
    mixed link types, DNS pairs with ICMP-quoted copies, Linux SLL. Few,
    because every one costs two full runs (docs/PARALLEL.md has the sweep
    over all 60)."""
    caps = [E.demo, E.inp / "demo.pcap.gz"]
    for name in ("dns.pcap", "ipv6.pcap"):
        shutil.copy(CAPTURES / name, E.inp / name)
        os.chmod(E.inp / name, 0o644)
        caps.append(E.inp / name)
    if SHARED.is_dir():
        for name in ("many_interfaces-1.pcapng", "20171220_smb_psexec_add_user.pcap", "sll.pcap"):
            if (SHARED / name).is_file():
                shutil.copy(SHARED / name, E.inp / name)
                os.chmod(E.inp / name, 0o644)
                caps.append(E.inp / name)
    return caps


def same_as_one_run(args, jobs=3, **kw):
    """Runs args with --jobs 1 and --jobs N, both with --json; returns the
    report after checking that report, JSON and exit status are equal."""
    clear_out()
    one, many = E.out / "one.json", E.out / "many.json"
    rc1, out1, err1 = pm(*args, "--json", one, **kw)
    rcn, outn, errn = pm(*args, "--jobs", jobs, "--json", many, **kw)
    eq(rc1, 0, f"exit status of one run ({err1.strip()!r})")
    eq((rcn, errn), (0, ""), f"exit status and errors with --jobs {jobs}")
    eq(outn, out1, f"report with --jobs {jobs} of {args}")
    if one.read_bytes() != many.read_bytes():
        raise AssertionError(f"JSON with --jobs {jobs} of {args} differs from one run's")
    eq(outdir_files(), ["many.json", "one.json"], "files in the --json folder")
    return out1


def t_jobs_same():
    for cap in jobs_inputs():
        same_as_one_run(["--file", cap])
    # More shards than conversations: empty shards change nothing.
    same_as_one_run(["--file", E.retr], jobs=8)


def t_jobs_options():
    out = same_as_one_run(["--file", E.demo, "--top", "2", "--dns-latency-threshold", "100"], jobs=2)
    eq(len(section(out, "SEVERITY")), 2, "conversations listed with --top 2")
    same_as_one_run(["--file", E.demo, "--lang", "es"], jobs=2)
    same_as_one_run(["--file", E.demo, "--no-detector", "dns_health"], jobs=2)
    # The profile's packetmancer.top (1) is found for the merged report too.
    out = same_as_one_run(["--file", E.demo, "--profile", "CliTest"], jobs=2, tshark=E.tshark_profile)
    eq(len(section(out, "SEVERITY")), 1, "conversations listed with the profile's top 1")


def t_jobs_filter():
    # A per-host or per-port filter selects whole conversations, so per
    # shard it selects what it selects in the whole file: same counts,
    # scores, levels and frames. Only tcp.stream numbers differ when the
    # filter leaves conversations out (docs/PARALLEL.md): one run shows
    # Wireshark's numbers in the whole file, the merge numbers the
    # conversations it was given. Here 10.0.0.5's only conversation is
    # tcp.stream 10 (captures-expected.txt; demo.pcap's README example),
    # the 11th to start, and the first and only one among those matched.
    clear_out()
    one, many = E.out / "one.json", E.out / "many.json"
    args = ["--file", E.demo, "--filter", "ip.addr==10.0.0.5"]
    rc1, out1, _ = pm(*args, "--json", one)
    rcn, outn, errn = pm(*args, "--jobs", "2", "--json", many)
    eq((rc1, rcn, errn), (0, 0, ""), "exit statuses and errors")
    if "Evidence: tcp.stream 10, frames 389-1888" not in out1:
        raise AssertionError(f"one run's evidence line:\n{out1}")
    eq(outn, out1.replace("tcp.stream 10", "tcp.stream 0").replace("tcp.stream eq 10", "tcp.stream eq 0"),
       "report with --jobs 2 (streams numbered among the matched conversations)")
    doc1, docn = load(one), load(many)
    conv1 = doc1["detectors"]["tcp_health"]["top_by_severity"]
    convn = docn["detectors"]["tcp_health"]["top_by_severity"]
    eq([c["stream"] for c in conv1], [10], "tcp.stream of one run")
    eq([c["stream"] for c in convn], [0], "tcp.stream with --jobs 2")
    text1 = json.dumps(doc1).replace("tcp.stream eq 10", "tcp.stream eq 0").replace('"stream": 10', '"stream": 0')
    eq(json.loads(text1), docn, "JSON with --jobs 2 but for the stream number")
    # A filter that keeps every conversation keeps every number.
    same_as_one_run(["--file", E.demo, "--filter", "tcp"], jobs=3)


def t_jobs_fail_on_quiet():
    clear_out()
    r1 = pm("--file", E.demo, "--fail-on", "HIGH", "--quiet")
    rn = pm("--file", E.demo, "--fail-on", "HIGH", "--quiet", "--jobs", "2")
    eq(rn, r1, "--fail-on HIGH --quiet with --jobs 2 and one run")
    eq(rn[0], 3, "exit status of --fail-on HIGH")
    eq(rn[1], "", "standard output with --quiet")
    rc, out, err = pm("--file", E.clean, "--quiet", "--jobs", "2")
    eq((rc, out, err), (0, "", ""), "--quiet --jobs 2 on a clean capture")


def t_jobs_errors():
    clear_out()
    target = E.out / "report.json"
    target.write_text("OLD")
    for cap in ("truncated.pcap", "truncated.pcap.gz"):
        one = pm("--file", E.inp / cap)
        out = fails(6, ["--file", E.inp / cap, "--json", target, "--jobs", "2"],
                    "damaged or truncated", stdout_empty=False)
        # The report of the 199 packets before the cut, as one run prints it.
        eq(out, one[1], f"partial report of {cap} with --jobs 2")
        eq(target.read_text(), "OLD", f"--json target after {cap}")
    target.unlink()
    fails(5, ["--file", E.inp / "notes.txt", "--jobs", "2"], "not a capture file")
    fails(4, ["--file", E.inp / "nothing.pcap", "--jobs", "2"], "no such file")
    fails(7, ["--file", E.demo, "--filter", "ip.addr==", "--jobs", "2"], "invalid display filter")
    fails(10, ["--file", E.demo, "--jobs", "2"], "does not load the PacketMancer plugin",
          tshark=E.tshark_plain)
    for bad in ("0", "257", "two", "-1", ""):
        fails(2, ["--file", E.demo, "--jobs", bad], "--jobs")
    fails(1, ["--file", E.demo, "--jobs", "2"], "packetmancer-split",
          env={"PACKETMANCER_SPLIT": "/nonexistent/packetmancer-split"})
    eq(outdir_files(), [], "files in the --json folder")


def t_jobs_interrupt():
    # Ctrl-C (SIGINT to the terminal's process group) and a TERM to the
    # command alone: the workers stop and every temporary file goes.
    pids = E.top / "worker-pids"
    slow = wrapper("tshark-slow", f'case "$1" in -G) ;; *) echo $$ >>"{pids}"; sleep 60 ;; esac\n'
                                  f'exec "{TSHARK_PM}" --plugin "{E.so}" "$@"')
    for sig, status in ((signal.SIGINT, 130), (signal.SIGTERM, 143)):
        pids.write_text("")
        os.chmod(pids, 0o666)
        e = {k: v for k, v in os.environ.items() if k not in ("PACKETMANCER_TSHARK", "TMPDIR")}
        e.update(TMPDIR=str(E.tmp), PACKETMANCER_TSHARK=str(slow))
        p = subprocess.Popen([str(E.bin), "--file", str(E.demo), "--jobs", "2"], env=e,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        deadline = time.monotonic() + 60
        while len(pids.read_text().split()) < 2:
            if time.monotonic() > deadline or p.poll() is not None:
                p.kill()
                raise AssertionError("the two workers did not start")
            time.sleep(0.1)
        if sig == signal.SIGINT:
            os.killpg(p.pid, sig)
        else:
            p.send_signal(sig)
        p.wait(timeout=30)
        eq(p.returncode, status, f"exit status after {sig.name}")
        # Stopped workers may linger as zombies until init reaps them: a
        # zombie runs nothing, so only other states count as running.
        def running(pid):
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
            except OSError:
                return False
            return stat.rsplit(")", 1)[1].split()[0] != "Z"
        deadline = time.monotonic() + 5
        while True:
            alive = [pid for pid in map(int, pids.read_text().split()) if running(pid)]
            if not alive or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        eq(alive, [], f"workers still running after {sig.name}")
        left = sorted(os.listdir(E.tmp))
        for f in left:
            shutil.rmtree(E.tmp / f, ignore_errors=True) if (E.tmp / f).is_dir() else os.remove(E.tmp / f)
        eq(left, [], f"left behind in TMPDIR after {sig.name}")


CHECKS = [
    ("installed layout", t_layout),
    ("report of demo.pcap", t_report),
    ("--option=value form", t_file_equals_form),
    ("gzip-compressed capture", t_compressed),
    ("--top 2", t_top),
    ("--lang es", t_lang_es),
    ("--filter", t_filter),
    ("--json", t_json),
    ("--json relative path with --filter", t_json_relative_and_filter),
    ("--json with --lang es", t_json_lang_es),
    ("--quiet", t_quiet),
    ("--fail-on levels", t_fail_on),
    ("--fail-on with --filter, --lang, --json, --quiet", t_fail_on_combined),
    ("--fail-on counts every detector (stand-in tshark)", t_fail_on_every_detector),
    ("tshark's heap on huge pages (stand-in tshark)", t_huge_pages),
    ("--no-detector tcp_health", t_no_detector_tcp),
    ("--no-detector dns_health", t_no_detector_dns),
    ("--no-detector dns_health, plugin without DNS: status 10", t_no_detector_dns_old_plugin),
    ("--dns-latency-threshold", t_dns_threshold),
    ("--dns-latency-threshold, plugin without DNS: status 10", t_dns_threshold_old_plugin),
    ("--profile", t_profile),
    ("--version", t_version),
    ("--help", t_help),
    ("man page", t_man),
    ("usage errors: status 2", t_usage_errors),
    ("missing file, folder: status 4", t_missing_file),
    ("unreadable file: status 4", t_unreadable_file),
    ("not a capture: status 5", t_not_a_capture),
    ("truncated capture: status 6, JSON untouched", t_truncated),
    ("bad display filter: status 7", t_bad_filter),
    ("--json target not writable: status 8", t_json_target),
    ("tshark missing: status 9", t_no_tshark),
    ("plugin missing: status 10", t_no_plugin),
    ("python3 missing with --fail-on: status 1", t_no_python),
    ("--jobs: report and JSON of one run", t_jobs_same),
    ("--jobs with --top, --lang, --no-detector, --profile", t_jobs_options),
    ("--jobs with --filter", t_jobs_filter),
    ("--jobs with --fail-on, --quiet", t_jobs_fail_on_quiet),
    ("--jobs errors: statuses 1, 2, 4, 5, 6, 7, 10", t_jobs_errors),
    ("--jobs stopped by Ctrl-C or TERM: workers and files gone", t_jobs_interrupt),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-dir", required=True, type=Path)
    ap.add_argument("--cmake", default="cmake")
    a = ap.parse_args()
    t0 = time.monotonic()
    setup(a.build_dir.resolve(), a.cmake)
    try:
        for name, fn in CHECKS:
            check(name, fn)
    finally:
        shutil.rmtree(E.top, ignore_errors=True)
    print(f"{len(PASSED)} passed, {len(FAILED)} failed, {len(SKIPPED)} skipped "
          f"({time.monotonic() - t0:.0f} s)")
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
