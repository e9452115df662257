#!/usr/bin/env python3
"""End-to-end: hostile strings from a capture through every output.

captures/hostile.pcap (tests/gen_captures.py, scen_hostile) carries DNS
query names with quotes, backslashes, NUL bytes, newlines, ANSI and OSC
escape sequences, C1 controls, invalid UTF-8, a bidi override and
over-long labels and names. This runs tshark with the plugin
(tests/tshark-pm) and checks:

* what Wireshark 4.0's DNS dissector hands the plugin in dns.qry.name
  (checked with plain tshark, so a change there is noticed): a NUL and
  other C0/DEL bytes as C escapes (\\000, \\033, \\n, \\a, \\177), C1 and
  format characters as \\uXXXX (\\u009B, \\u202E), each byte that is not
  UTF-8 as U+FFFD, quotes, backslashes and dots inside a label as they are,
  a name over 255 bytes as "<Name too long>", and no name at all for a
  question it cannot parse (an extended label type);
* the JSON document (stdout and the json_output file) parses with Python's
  json module and gives back exactly those names, counted where they
  belong, and its text carries no raw control character;
* the report (English and Spanish), the stats tree, the per-packet fields
  (-T fields, -T json, -V) and the expert info contain no byte below 0x20
  but newline, no DEL, no C1 code point, are valid UTF-8, and show the names
  as the report's rules say;
* a capture file name with an escape sequence, a newline, a C1 control,
  a byte that is not UTF-8, a bidi override, a quote and a backslash: the
  JSON gives it back (that byte as U+FFFD), the report shows it defused.

Usage: test_hostile.py --plugin build/packetmancer.so
Prints one line per check and "N passed, N failed" at the end.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CAPTURE = ROOT / "captures" / "hostile.pcap"
WRAPPER = ROOT / "tests" / "tshark-pm"
PLUGIN = None
PASSED, FAILED = [], []

# dns.qry.name of each query frame as Wireshark 4.0 presents it (Python
# string escapes: "\\" is one backslash in the name).
NX = ['say"hi".example', "back\\slash.example", "nul\\000byte.example",
      "line\\nbreak\\r\\ttab.example", "\\033[31mred\\033[0m.example"]
SERVFAIL = ["\\033]0;pwned\\a.example", "c1\ufffd31m.example", "c1utf8\\u009B31m.example",
            "bad\ufffd\ufffd\ufffd(.example", "del\\177</script>.example"]
LOST = ["<Name too long>", "dot.inside.example", "m\u00fcnchen.example",
        "bidi\\u202Eexe.txt.example", "xn--\\033[2J\\b.example"]
PAIRS = {"10.2.0.1 <-> 10.2.0.53/DNS": ("nxdomain", NX),
         "10.2.0.2 <-> 10.2.0.53/DNS": ("servfail", SERVFAIL),
         "10.2.0.3 <-> 10.2.0.53/DNS": ("unanswered", LOST),
         "10.2.0.4 <-> 10.2.0.53/DNS": (None, [])}

# Scores by docs/SCORING-DNS.md, worked out by hand: 10.2.0.3 has 5 of 5
# queries unanswered (100) and one punycode name (5): 105, HIGH; 10.2.0.2
# 5 of 5 SERVFAIL (100): HIGH; 10.2.0.1 5 of 5 NXDOMAIN (25): LOW; 10.2.0.4
# one query, one REFUSED, below the 5-message minimum: 0, OK.
VERDICTS = {"10.2.0.3 <-> 10.2.0.53/DNS": (105, "HIGH"),
            "10.2.0.2 <-> 10.2.0.53/DNS": (100, "HIGH"),
            "10.2.0.1 <-> 10.2.0.53/DNS": (25, "LOW"),
            "10.2.0.4 <-> 10.2.0.53/DNS": (0, "OK")}


def run(cmd, timeout=300):
    p = subprocess.run(cmd, capture_output=True, timeout=timeout)
    if p.returncode != 0:
        raise AssertionError(f"{cmd[:8]}... exited {p.returncode}: "
                             f"{p.stderr.decode('utf-8', 'replace').strip()[:400]}")
    return p.stdout


def pm(*args):
    """tshark with the plugin; stdout as bytes, exactly as written."""
    return run([str(WRAPPER), "--plugin", PLUGIN, *args])


def check(name, fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - every failure is reported the same way
        FAILED.append(name)
        print(f"FAIL {name}: {e}")
    else:
        PASSED.append(name)
        print(f"ok   {name}")


def eq(actual, expected, what):
    if actual != expected:
        raise AssertionError(f"{what}: expected {expected!r}, got {actual!r}")


def terminal_safe(data, what, allow="\n"):
    """data (bytes): valid UTF-8, no C0 but newline (and what allow adds),
    no DEL, no C1."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise AssertionError(f"{what}: not UTF-8 at byte {e.start}: {data[e.start - 20:e.start + 20]!r}")
    for i, ch in enumerate(text):
        cp = ord(ch)
        if (cp < 0x20 and ch not in allow) or 0x7f <= cp <= 0x9f:
            raise AssertionError(f"{what}: U+{cp:04X} at {i}: {text[max(i - 30, 0):i + 30]!r}")
    return text


def names_line(outcome, names):
    """The report's rendering: most first, then by the name's bytes."""
    return f"{outcome} " + ", ".join(f"{n} (1)" for n in sorted(names, key=lambda s: s.encode()))


# ------------------------------------------------------------------- checks

def t_wireshark_presentation():
    out = run(["env", "HOME=/nonexistent", "tshark", "-n", "-r", str(CAPTURE), "-T", "json",
               "-e", "frame.number", "-e", "dns.flags.response", "-e", "dns.qry.name"])
    got = {}
    for pkt in json.loads(out):
        f = pkt["_source"]["layers"]
        if f.get("dns.flags.response") == ["0"]:
            got[int(f["frame.number"][0])] = f.get("dns.qry.name", [None])[0]
    # Queries are frames 1, 3, ... 19 (each answered), then 21-25, then 26.
    want = dict(zip(list(range(1, 20, 2)) + list(range(21, 26)) + [26], NX + SERVFAIL + LOST + [None]))
    eq(got, want, "dns.qry.name per query frame")


def pairs_of(doc):
    return {p["pair"]: p for p in doc["detectors"]["dns_health"]["top_by_severity"]}


def check_doc(doc, what):
    dh = doc["detectors"]["dns_health"]
    eq(dh["pairs_total"], 4, f"{what}: pairs")
    pairs = pairs_of(doc)
    eq(sorted(pairs), sorted(PAIRS), f"{what}: pair names")
    for key, (outcome, names) in PAIRS.items():
        p = pairs[key]
        eq((p["score"]["value"], p["score"]["level"]), VERDICTS[key], f"{what}: {key} verdict")
        tops = {k: [n["name"] for n in v] for k, v in p["top_names"].items() if v}
        want = {outcome: sorted(names, key=lambda s: s.encode())} if outcome else {}
        if key.startswith("10.2.0.3 "):
            want["suspicious"] = ["xn--\\033[2J\\b.example"]
        eq(tops, want, f"{what}: {key} top names")
    # The malformed question: counted, answered, listed nowhere.
    p = pairs["10.2.0.4 <-> 10.2.0.53/DNS"]
    eq((p["queries"], p["responses"], p["unanswered"], p["rcodes"]["REFUSED"]), (1, 1, 0, 1),
       f"{what}: the nameless query")


def t_json_stdout():
    raw = pm("-q", "-r", str(CAPTURE), "-z", "packetmancer,json")
    terminal_safe(raw, "JSON document")
    check_doc(json.loads(raw), "stdout")
    # Written as escapes, never raw: the names carry backslashes of their
    # own (Wireshark's), doubled here; "</" is "<\/" as json_dumper writes it.
    text = raw.decode()
    for member in ['"name": "nul\\\\000byte.example"', '"name": "say\\"hi\\".example"',
                   '"name": "del\\\\177<\\/script>.example"', '"name": "c1\ufffd31m.example"']:
        if member not in text:
            raise AssertionError(f"{member} not in the document")


def t_json_file():
    with tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o777)          # tshark may run as "nobody"
        target = Path(tmp) / "doc.json"
        out = pm("-q", "-r", str(CAPTURE), "-o", f"packetmancer.json_output:{target}",
                 "-z", "packetmancer,json")
        eq(out, b"", "stdout when the document goes to a file")
        raw = target.read_bytes()
        terminal_safe(raw, "JSON file")
        check_doc(json.loads(raw), "json_output file")


def report_names(text, what):
    for key, (outcome, names) in PAIRS.items():
        block = text.split(f"] {key}\n", 1)
        if len(block) != 2:
            raise AssertionError(f"{what}: no entry for {key}")
        entry = block[1].split("\n  - [", 1)[0]
        lines = [l.strip() for l in entry.splitlines() if l.strip().startswith(("Names:", "Nombres:"))]
        if not outcome:
            eq(lines, [], f"{what}: {key} names")
            continue
        want = names_line({"nxdomain": "NXDOMAIN", "servfail": "SERVFAIL"}.get(outcome, outcome), names)
        if key.startswith("10.2.0.3 "):
            want += "; suspicious xn--\\033[2J\\b.example (1)"
        eq([l.split(": ", 1)[1] for l in lines], [want], f"{what}: {key} names")


def t_report():
    text = terminal_safe(pm("-q", "-r", str(CAPTURE), "-z", "packetmancer,report"), "report")
    report_names(text, "report")
    es = terminal_safe(pm("-q", "-r", str(CAPTURE), "-o", "packetmancer.language:es",
                          "-z", "packetmancer,report"), "Spanish report")
    report_names(es, "Spanish report")


def t_tree():
    text = terminal_safe(pm("-q", "-r", str(CAPTURE), "-z", "packetmancer,tree"), "stats tree")
    for key, (score, _) in VERDICTS.items():
        if not any(l.split()[:4] == key.split() + [str(score)] for l in text.splitlines()):
            raise AssertionError(f"tree: no node {key} with {score}")


def t_fields():
    common = ["-2", "-n", "-r", str(CAPTURE), "-o", "packetmancer.analyze:always"]
    fields = ["frame.number", "packetmancer.dns.pair", "packetmancer.dns.level",
              "packetmancer.dns.reason", "packetmancer.dns.outcome", "packetmancer.dns.suspicious"]
    args = [*common, "-T", "fields", "-E", "separator=/t"]
    for f in fields:
        args += ["-e", f]
    text = terminal_safe(pm(*args), "-T fields", allow="\n\t")   # tabs: the separator
    rows = [dict(zip(fields, l.split("\t"))) for l in text.splitlines()]
    eq(len(rows), 27, "frames")
    eq([r["packetmancer.dns.pair"] for r in rows if not r["packetmancer.dns.pair"]], [], "frames without a pair")
    eq({r["frame.number"]: r["packetmancer.dns.suspicious"] for r in rows if r["packetmancer.dns.suspicious"]},
       {"25": "punycode label xn--\\033[2J\\b"}, "suspicious-name reason")
    terminal_safe(pm(*common, "-V"), "-V")
    raw = pm(*common, "-T", "json", "-j", "packetmancer")
    terminal_safe(raw, "-T json")
    json.loads(raw)
    terminal_safe(pm("-q", *common, "-z", "expert"), "expert info")


def t_file_name():
    # Readable by "nobody", so tshark-pm passes the name on unchanged.
    with tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o755)
        name = b"cap\x1b]0;t\x07\n\xc2\x9b\xff\xe2\x80\xae\"q\\.pcap"
        path = os.path.join(os.fsencode(tmp), name)
        with open(path, "wb") as f:
            f.write(CAPTURE.read_bytes())
        os.chmod(path, 0o644)
        raw = pm("-q", "-r", os.fsdecode(path), "-z", "packetmancer,json")
        terminal_safe(raw, "JSON with a hostile file name")
        doc = json.loads(raw)
        eq(doc["summary"]["file"], tmp + "/cap\x1b]0;t\x07\n\x9b\ufffd\u202e\"q\\.pcap", "file")
        check_doc(doc, "hostile file name")
        text = terminal_safe(pm("-q", "-r", os.fsdecode(path), "-z", "packetmancer,report"),
                             "report with a hostile file name")
        shown = tmp + "/cap?]0;t???\ufffd?\"q\\.pcap"
        for line in (f"Starting analysis of file: {shown}\n", f"File: {shown} | Packets: 27 |"):
            if line not in text:
                raise AssertionError(f"{line!r} not in the report")


def main():
    global PLUGIN
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--plugin", required=True, help="the built packetmancer.so")
    a = ap.parse_args()
    if not Path(a.plugin).is_file():
        print(f"test_hostile.py: no plugin at {a.plugin}", file=sys.stderr)
        return 2
    if not CAPTURE.is_file():
        print(f"test_hostile.py: {CAPTURE} is missing (python3 tests/gen_captures.py makes it)",
              file=sys.stderr)
        return 2
    PLUGIN = str(Path(a.plugin).resolve())

    check("what Wireshark's DNS dissector hands over (plain tshark)", t_wireshark_presentation)
    check("JSON on stdout: parses, names exact, no raw control", t_json_stdout)
    check("JSON to a file (packetmancer.json_output)", t_json_file)
    check("report, English and Spanish: names defused and in place", t_report)
    check("stats tree: no control characters", t_tree)
    check("per-packet fields, -V, -T json, expert info", t_fields)
    check("a hostile capture file name", t_file_name)
    print(f"\n{len(PASSED)} passed, {len(FAILED)} failed")
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
