#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Copyright (c) 2026 The PacketMancer authors
"""Fuzz the PacketMancer plugin inside tshark with damaged captures.

In the spirit of Wireshark's own tools/fuzz-test.sh: every capture in
captures/ and ../shared/captures/ is mutated with `editcap -E RATE --seed
SEED` (random bytes of the packet data replaced, headers kept), and tshark
runs with the plugin on each mutant with all three outputs
(-z packetmancer,report -z packetmancer,json -z packetmancer,tree) and the
per-packet fields: one run in two prints every packetmancer.* field with
-T fields (one pass), the other the whole tree with -V over two passes (-2,
the "final" values). The JSON goes to a file (packetmancer.json_output).

A mutant fails when tshark
  * dies of a signal (crash, abort) or with the sanitizers' exit status 86,
  * prints a sanitizer report that mentions plugin code (packetmancer.so or
    a plugin source file); reports from elsewhere are listed as "foreign",
  * does not finish within the timeout (a hang),
  * exits with something other than 0 or 2 (tshark exits 2 on a damaged
    file: that is fine),
  * exits 0 without a JSON document that parses, or without the report.
Failing mutants are copied into --failures DIR with their stderr and a
reproduction command.

Modes:
  --short      2 mutants per capture of captures/ (rates 0.005 and 0.05,
               seed 1) and 1 per shared capture (the rates taking turns),
               each cut to its first 1000 packets; runs with the fields
               and with -2 -V take turns: about 70 runs, under 2 minutes
               on 2 idle cores. What ctest runs (tests/sanitize.sh).
  --long       20 mutants per capture (5 rates x 4 seeds), up to 20000
               packets each, plus the valgrind sample and a libFuzzer run
               of the core harness (tests/fuzz/) for --libfuzzer-seconds.
  --valgrind   memcheck on a sample of mutants with the uninstrumented
               plugin (--plain-plugin): errors, and definite leaks, whose
               stack includes plugin code fail.

The plugin given with --plugin is normally the PM_SANITIZE=ON build; it is
detected as such (it needs libasan) and tshark then gets LD_PRELOAD of
gcc's libasan through tests/tshark-pm's PM_TSHARK_WRAP.

  tests/fuzz.py --plugin build-asan/packetmancer.so --short
  tests/fuzz.py --plugin build-asan/packetmancer.so --plain-plugin build/packetmancer.so --long

Exit status: 0 all passed, 1 a failure, 2 bad usage or set-up.
"""

import argparse
import concurrent.futures
import fnmatch
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CAPTURES = ROOT / "captures"
SHARED = ROOT.parent / "shared" / "captures"
WRAPPER = ROOT / "tests" / "tshark-pm"
FUZZ_DIR = ROOT / "tests" / "fuzz"

# tshark's exit statuses that are not a finding: 0, and 2 for a file it
# could not read to the end (damaged, truncated).
TSHARK_OK = {0, 2}
SAN_EXIT = 86      # exitcode= of ASan and UBSan below

# Runtime options. detect_leaks=0: tshark's own allocations left at exit
# are not the plugin's (valgrind mode looks at leaks, plugin stacks only).
# halt_on_error: the first report ends the run, with our exit status.
ASAN_OPTIONS = f"detect_leaks=0:exitcode={SAN_EXIT}:abort_on_error=0:halt_on_error=1:print_summary=1"
UBSAN_OPTIONS = f"print_stacktrace=1:halt_on_error=1:exitcode={SAN_EXIT}"

SAN_REPORT = re.compile(r"ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|"
                        r"UndefinedBehaviorSanitizer|ASan runtime does not come first")
# Plugin code in a stack or a report's first line: the staged module's
# name, or one of the plugin's source files.
PLUGIN_CODE = re.compile(r"packetmancer\.so|plugin/(core/)?[\w.-]+\.[ch]\b|"
                         r"\((pm_\w+|packet-packetmancer|tap-packetmancer|plugin)\.c:\d+")

SHORT = dict(rates=(0.005, 0.05), seeds=(1,), max_packets=1000, timeout=120, one_per_shared=True)
LONG = dict(rates=(0.001, 0.005, 0.02, 0.05, 0.1), seeds=(1, 2, 3, 4), max_packets=20000, timeout=600)


def log(msg):
    print(msg, flush=True)


def needs_asan(plugin):
    """True when the module was linked against the ASan runtime."""
    p = subprocess.run(["readelf", "-d", str(plugin)], capture_output=True, text=True)
    if p.returncode == 0:
        return "libasan" in p.stdout
    return b"libasan.so" in Path(plugin).read_bytes()


def asan_runtime():
    """gcc's shared ASan runtime (PM_SANITIZE builds with gcc)."""
    cc = os.environ.get("CC", "gcc")
    p = subprocess.run([cc, "-print-file-name=libasan.so"], capture_output=True, text=True)
    path = p.stdout.strip()
    if p.returncode != 0 or not os.path.isabs(path) or not os.path.exists(path):
        return None
    return os.path.realpath(path)


def preload_shim():
    """tests/fuzz/unset_preload.c built into a folder everyone can read
    (tshark runs as nobody under root): a library that drops LD_PRELOAD
    from tshark's environment once it has started, so that extcap helpers
    tshark starts do not get libasan (androiddump then hangs). None when
    it cannot be built: tshark then runs without it (only -G plugins and
    capture interfaces need extcaps)."""
    src = FUZZ_DIR / "unset_preload.c"
    base = Path("/tmp") if Path("/tmp").is_dir() else Path(tempfile.gettempdir())
    d = base / f"pm-asan-shim-{os.getuid()}"
    out = d / "unset_preload.so"
    try:
        d.mkdir(mode=0o755, exist_ok=True)
        os.chmod(d, 0o755)
        if out.exists() and out.stat().st_mtime >= src.stat().st_mtime:
            return str(out)
        tmp = d / f"unset_preload.{os.getpid()}.so"
        p = subprocess.run([os.environ.get("CC", "gcc"), "-shared", "-fPIC", "-O2", "-o", str(tmp), str(src)],
                           capture_output=True, text=True)
        if p.returncode != 0:
            log(f"note: cannot build {src.name}: {p.stderr.strip()[:300]}")
            return None
        os.chmod(tmp, 0o755)
        os.replace(tmp, out)      # atomic: parallel runs may build it too
        return str(out)
    except OSError as e:
        log(f"note: cannot build {src.name}: {e}")
        return None


def asan_wrap():
    """PM_TSHARK_WRAP for a sanitizer build of the plugin, or None when
    gcc's libasan cannot be found."""
    rt = asan_runtime()
    if not rt:
        return None
    shim = preload_shim()
    return f"env LD_PRELOAD={rt}" + (f":{shim}" if shim else "")


class Runner:
    """Runs tshark with a plugin on one file and judges the result."""

    def __init__(self, plugin, timeout, wrap, env_extra):
        self.plugin = str(Path(plugin).resolve())
        self.timeout = timeout
        self.wrap = wrap              # PM_TSHARK_WRAP, "" for none
        self.env = {**os.environ, **env_extra}
        if wrap:
            self.env["PM_TSHARK_WRAP"] = wrap
        else:
            self.env.pop("PM_TSHARK_WRAP", None)
        self.env_extra = env_extra
        self.fields = None

    def tshark(self, args, stdout, timeout=None):
        """(returncode or None on timeout, stderr text)."""
        cmd = [str(WRAPPER), "--plugin", self.plugin, *args]
        # A session of its own, so that a hang is killed with every child
        # (tshark-pm's bash, setpriv, tshark).
        p = subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.PIPE, env=self.env,
                             start_new_session=True)
        try:
            _, err = p.communicate(timeout=timeout or self.timeout)
            return p.returncode, err.decode("utf-8", "replace")
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            _, err = p.communicate()
            return None, err.decode("utf-8", "replace")

    def load_fields(self):
        """Every packetmancer.* field this plugin registers."""
        with tempfile.TemporaryFile() as out:
            rc, err = self.tshark(["-G", "fields"], out, timeout=120)
            out.seek(0)
            text = out.read().decode("utf-8", "replace")
        names = [ln.split("\t")[2] for ln in text.splitlines()
                 if ln.startswith("F\t") and ln.split("\t")[2].startswith("packetmancer.")]
        if rc != 0 or not names:
            raise SystemExit(f"fuzz.py: tshark with {self.plugin} registers no packetmancer fields "
                             f"(exit {rc}): {err.strip()[:2000]}")
        self.fields = names

    def args_for(self, capture, variant, json_path):
        outs = ["-z", "packetmancer,report", "-z", "packetmancer,json", "-z", "packetmancer,tree",
                "-o", f"packetmancer.json_output:{json_path}"]
        if variant == 0:
            fields = [x for f in self.fields for x in ("-e", f)]
            return ["-r", str(capture), "-T", "fields", "-E", "occurrence=a", *fields, *outs]
        return ["-2", "-r", str(capture), "-V", *outs]

    def repro(self, args):
        env = " ".join(f"{k}={shlex.quote(v)}" for k, v in self.env_extra.items())
        wrap = f"PM_TSHARK_WRAP={shlex.quote(self.wrap)} " if self.wrap else ""
        return (f"env {env} {wrap}{shlex.quote(str(WRAPPER))} --plugin {shlex.quote(self.plugin)} "
                + " ".join(shlex.quote(a) for a in args)).strip()

    def check(self, capture, variant, workdir):
        """Returns (verdict, detail, args): verdict is "ok", "fail" or
        "foreign"; detail ends with what the sanitizer said, if anything."""
        verdict, detail, args, err = self._check(capture, variant, workdir)
        if verdict != "ok":
            first = [ln for ln in err.splitlines() if SAN_REPORT.search(ln) or "SUMMARY:" in ln]
            if first:
                detail += "\n     " + "\n     ".join(first[:3])
            detail += "\n\nstderr (last 80 lines):\n" + "\n".join(err.splitlines()[-80:])
        return verdict, detail, args

    def _check(self, capture, variant, workdir):
        json_path = Path(workdir) / f"{capture.name}.json"
        if json_path.exists():
            json_path.unlink()
        args = self.args_for(capture, variant, json_path)
        with tempfile.TemporaryFile(dir=workdir) as out:
            t0 = time.monotonic()
            rc, err = self.tshark(args, out)
            elapsed = time.monotonic() - t0
            out.seek(0)
            has_report = contains(out, b"--- TCP Health Detector Report ---")
        if rc is None:
            return "fail", f"hang: no exit after {self.timeout} s", args, err
        if SAN_REPORT.search(err):
            if PLUGIN_CODE.search(err) or "runtime error:" in err:
                # UBSan only instruments the plugin: any of its reports is ours.
                return "fail", f"sanitizer report in plugin code (exit {rc})", args, err
            return "foreign", f"sanitizer report outside the plugin (exit {rc})", args, err
        if rc < 0 or rc >= 128:
            sig = -rc if rc < 0 else rc - 128
            return "fail", f"killed by signal {sig} ({signal.Signals(sig).name if sig in signal.valid_signals() else '?'})", args, err
        if rc == SAN_EXIT:
            return "fail", f"exit {rc}: a sanitizer stopped tshark", args, err
        if rc not in TSHARK_OK:
            return "fail", f"unexpected exit status {rc}", args, err
        if rc == 0:
            if not has_report:
                return "fail", "exit 0 without the report on standard output", args, err
            if not json_path.exists():
                return "fail", "exit 0 without the JSON document", args, err
            try:
                doc = json.loads(json_path.read_text(encoding="utf-8"))
                doc["summary"]["schema"]
            except (ValueError, KeyError, TypeError) as e:
                return "fail", f"JSON does not parse or lacks summary.schema: {e}", args, err
        return "ok", f"exit {rc}, {elapsed:.1f} s", args, err


def contains(f, needle, chunk=1 << 20):
    """Whether the open binary file f holds needle, read piece by piece
    (-V output of a large mutant is hundreds of MB)."""
    prev = b""
    while True:
        buf = f.read(chunk)
        if not buf:
            return False
        if needle in prev + buf:
            return True
        prev = buf[-len(needle):]


def captures(include_shared):
    files = sorted(p for p in CAPTURES.iterdir() if p.is_file() and ".pcap" in p.name)
    if include_shared:
        if SHARED.is_dir():
            files += sorted(p for p in SHARED.iterdir() if p.is_file() and p.name != "MANIFEST.md")
        else:
            log(f"SKIP {SHARED}: absent (it sits beside the project in CI only); captures/ only")
    return files


def mutate(src, rate, seed, max_packets, outdir):
    """editcap -E: a mutant of src's first max_packets packets, or None
    when editcap cannot read src (then there is nothing to fuzz)."""
    dst = Path(outdir) / f"{src.name}.E{rate}.s{seed}.pcapng"
    cmd = ["editcap", "-E", str(rate), "--seed", str(seed), "-r", str(src), str(dst), f"1-{max_packets}"]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0 and not dst.exists():
        log(f"note {src.name}: editcap failed ({p.stderr.strip()[:200]}); not fuzzed")
        return None
    os.chmod(dst, 0o644)
    return dst


def keep_failure(failures, mutant, detail, runner, args, verdict):
    """Copies the mutant into failures (foreign/ for reports outside the
    plugin) with NAME.txt (what happened) and NAME.sh (the reproduction
    command); returns how to run the latter."""
    sub = Path(failures) / ("foreign" if verdict == "foreign" else "")
    sub.mkdir(parents=True, exist_ok=True)
    kept = sub / mutant.name
    shutil.copy(mutant, kept)
    os.chmod(kept, 0o644)
    args = [str(kept) if a == str(mutant) else a for a in args]
    # The JSON file of the repro run goes to /tmp, which tshark (as
    # nobody) can write.
    args = [re.sub(r"^packetmancer\.json_output:.*", "packetmancer.json_output:/tmp/pm-repro.json", a)
            for a in args]
    cmd = runner.repro(args)
    (sub / f"{mutant.name}.txt").write_text(f"{detail}\n\nreproduce with:\n{cmd}\n")
    script = sub / f"{mutant.name}.sh"
    script.write_text(f"#!/bin/sh\n# {detail.splitlines()[0]}\nexec {cmd}\n")
    os.chmod(script, 0o755)
    return f"sh {script}"


def run_tshark_fuzz(a, runner, files, params, workdir):
    """Mutates every file and runs every mutant; returns (runs, failures, foreign)."""
    mutdir = Path(workdir) / "mutants"
    mutdir.mkdir()
    os.chmod(mutdir, 0o777)
    jobs = []
    n = 0
    for i, src in enumerate(files):
        combos = [(rate, seed) for rate in params["rates"] for seed in params["seeds"]]
        if params.get("one_per_shared") and src.parent == SHARED:
            # --short: one mutant per shared capture, rates taking turns.
            combos = [combos[i % len(combos)]]
        for rate, seed in combos:
            jobs.append((src, rate, seed, n % 2))   # fields and -2 -V take turns
            n += 1
    lock = threading.Lock()
    fails, foreign, done = [], [], [0]
    t0 = time.monotonic()

    def one(job):
        src, rate, seed, variant = job
        m = mutate(src, rate, seed, params["max_packets"], mutdir)
        if m is None:
            return
        verdict, detail, args = runner.check(m, variant, mutdir)
        with lock:
            done[0] += 1
            if verdict != "ok":
                cmd = keep_failure(a.failures, m, detail, runner, args, verdict)
                (fails if verdict == "fail" else foreign).append(m.name)
                log(f"{'FAIL' if verdict == 'fail' else 'WARN'} {m.name}: {detail.split(chr(10) + chr(10))[0]}\n"
                    f"     reproduce: {cmd}")
            elif a.verbose:
                log(f"ok   {m.name}: {detail}")
            if done[0] % 50 == 0:
                log(f"... {done[0]}/{len(jobs)} mutants, {time.monotonic() - t0:.0f} s")
        m.unlink()

    with concurrent.futures.ThreadPoolExecutor(max_workers=a.jobs) as ex:
        list(ex.map(one, jobs))
    log(f"tshark: {done[0]} mutants of {len(files)} captures (rates {params['rates']}, seeds "
        f"{params['seeds']}{', one per shared capture' if params.get('one_per_shared') else ''}, "
        f"first {params['max_packets']} packets) in {time.monotonic() - t0:.0f} s: "
        f"{len(fails)} failed, {len(foreign)} with sanitizer reports outside the plugin")
    return done[0], fails, foreign


# ------------------------------------------------------------------ valgrind

VG_BLOCK_START = re.compile(r"^==\d+== (?=\S)")


def valgrind_errors(stderr):
    """Valgrind's error and leak records (blocks of ==PID== lines between
    blank ones) that mention plugin code."""
    blocks, cur = [], []
    for line in stderr.splitlines():
        m = re.match(r"^==\d+==(.*)$", line)
        if not m:
            continue
        if m.group(1).strip() == "":
            if cur:
                blocks.append("\n".join(cur))
            cur = []
        else:
            cur.append(line)
    if cur:
        blocks.append("\n".join(cur))
    return [b for b in blocks if PLUGIN_CODE.search(b) or re.search(r"\bpm_\w+ \(", b)]


def run_valgrind(a, files, n_sample, workdir):
    if not shutil.which("valgrind"):
        log("SKIP valgrind: not installed (install-deps.sh --tests installs it)")
        return 0, []
    plugin = a.plain_plugin
    if not plugin or not Path(plugin).is_file():
        raise SystemExit("fuzz.py: --valgrind needs --plain-plugin PATH, a plugin built without sanitizers")
    if needs_asan(plugin):
        raise SystemExit(f"fuzz.py: {plugin} is a sanitizer build; valgrind needs a plain one")
    # No --error-exitcode: tshark and GLib have definite leaks and errors
    # of their own in every run; only records through plugin code count.
    wrap = "valgrind -q --num-callers=40 --leak-check=full --show-leak-kinds=definite"
    runner = Runner(plugin, timeout=1800, wrap=wrap, env_extra={})
    plain = Runner(plugin, timeout=300, wrap="", env_extra={})
    plain.load_fields()          # without valgrind: quicker, and no leak noise
    runner.fields = plain.fields
    vdir = Path(workdir) / "valgrind"
    vdir.mkdir()
    os.chmod(vdir, 0o777)
    # The sample: spread over the list, the smallest files first so that a
    # slow memcheck run stays bounded; 2000 packets each at most.
    # Files of under 1 KiB (empty.pcap) hold too little to be worth it.
    sized = sorted((p for p in files if p.stat().st_size >= 1024), key=lambda p: p.stat().st_size)
    sample = sized[:max(n_sample, 1) * 3:3][:n_sample]
    fails = []
    t0 = time.monotonic()
    for i, src in enumerate(sample):
        m = mutate(src, 0.02, 100 + i, 2000, vdir)
        if m is None:
            continue
        args = runner.args_for(m, i % 2, vdir / f"{m.name}.json")
        rc, err = runner.tshark(args, subprocess.DEVNULL)
        bad = valgrind_errors(err)
        if rc is None:
            bad = [f"no exit after {runner.timeout} s"]
        elif rc < 0 or rc >= 128:
            bad.append(f"killed by signal (exit {rc})")
        if bad:
            cmd = keep_failure(a.failures, m, "valgrind:\n" + "\n\n".join(bad), runner, args, "fail")
            fails.append(m.name)
            log(f"FAIL valgrind {m.name}: {len(bad)} record(s) in plugin code\n" + "\n".join(bad[:3])
                + f"\n     reproduce: {cmd}")
        else:
            log(f"ok   valgrind {m.name} (exit {rc}, {len(err.splitlines())} lines of valgrind output "
                f"outside the plugin)")
        m.unlink()
    log(f"valgrind: {len(sample)} mutants in {time.monotonic() - t0:.0f} s: {len(fails)} failed")
    return len(sample), fails


# ------------------------------------------------------------------ libFuzzer

def run_libfuzzer(a, seconds, workdir):
    """Builds tests/fuzz/ and replays its seed corpus (seconds == 0) or
    fuzzes for that many seconds. Returns a list of failures, or None when
    skipped."""
    build = FUZZ_DIR / "build.sh"
    out = Path(a.fuzz_build or (Path(workdir) / "libfuzzer"))
    p = subprocess.run([str(build), str(out)], capture_output=True, text=True)
    if p.returncode == 77:
        log(f"SKIP libFuzzer harness: {p.stderr.strip()}")
        return None
    if p.returncode != 0:
        log(f"FAIL libFuzzer harness does not build:\n{p.stderr.strip()[-3000:]}")
        return ["build"]
    exe = out / "fuzz_core"
    seeds = sorted((FUZZ_DIR / "corpus").iterdir())
    env = {**os.environ, "ASAN_OPTIONS": f"exitcode={SAN_EXIT}:detect_leaks=1",
           "UBSAN_OPTIONS": UBSAN_OPTIONS}
    art = Path(a.failures) / "libfuzzer"
    art.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    if seconds == 0:
        cmd = [str(exe), f"-artifact_prefix={art}/", *map(str, seeds)]
    else:
        corpus = out / "corpus"
        corpus.mkdir(exist_ok=True)
        cmd = [str(exe), f"-max_total_time={seconds}", "-timeout=20", "-rss_limit_mb=2048",
               f"-artifact_prefix={art}/", "-print_final_stats=1", str(corpus), str(FUZZ_DIR / "corpus")]
    r = subprocess.run(cmd, capture_output=True, text=True)
    what = f"{len(seeds)} seed inputs replayed" if seconds == 0 else f"{seconds} s of fuzzing"
    stats = " ".join(re.findall(r"stat::number_of_executed_units:\s*\d+|cov: \d+ ft: \d+|corp: \S+", r.stderr)[-3:])
    if r.returncode != 0:
        log(f"FAIL libFuzzer ({what}), exit {r.returncode}:\n{r.stderr.strip()[-4000:]}\n"
            f"     artifacts in {art}; reproduce: {exe} {art}/crash-*")
        return ["libfuzzer"]
    log(f"libFuzzer: {what} in {time.monotonic() - t0:.0f} s, no finding {stats}")
    if art.exists() and not any(art.iterdir()):
        art.rmdir()
    return []


# ------------------------------------------------------------------ main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--short", action="store_true", help="a few hundred mutants (default; ctest)")
    mode.add_argument("--long", action="store_true", help="more rates, seeds and packets, valgrind, libFuzzer")
    ap.add_argument("--plugin", help="the plugin tshark loads (normally the PM_SANITIZE=ON build)")
    ap.add_argument("--plain-plugin", help="an uninstrumented plugin, for --valgrind")
    ap.add_argument("--valgrind", action="store_true", help="also run memcheck on a sample of mutants")
    ap.add_argument("--valgrind-sample", type=int, default=None, help="mutants run under valgrind")
    ap.add_argument("--libfuzzer-seconds", type=int, default=None,
                    help="fuzz the core harness this long (default: 0 = replay seeds in --short, 600 in --long)")
    ap.add_argument("--no-libfuzzer", action="store_true", help="skip the core harness")
    ap.add_argument("--fuzz-build", help="folder for the libFuzzer harness build (default: a temporary one)")
    ap.add_argument("--no-shared", action="store_true", help="only captures/, not ../shared/captures/")
    ap.add_argument("--only", metavar="GLOB", help="only captures whose name matches (e.g. 'demo*')")
    ap.add_argument("--jobs", type=int, default=2, help="tshark runs at once (default 2)")
    ap.add_argument("--failures", default="fuzz-failures", help="where failing mutants are kept")
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--print-asan-wrap", action="store_true",
                    help="print the PM_TSHARK_WRAP a sanitizer build needs, and exit")
    a = ap.parse_args()
    if a.print_asan_wrap:
        wrap = asan_wrap()
        if not wrap:
            print("fuzz.py: gcc has no libasan.so", file=sys.stderr)
            return 2
        print(wrap)
        return 0
    params = LONG if a.long else SHORT
    if not a.plugin:
        ap.error("--plugin is required")
    if not Path(a.plugin).is_file():
        ap.error(f"--plugin {a.plugin}: no such file")
    for tool in ("editcap", "tshark", "readelf"):
        if not shutil.which(tool):
            print(f"fuzz.py: {tool} is not installed", file=sys.stderr)
            return 2
    a.failures = str(Path(a.failures).resolve())

    env_extra, wrap = {}, ""
    if needs_asan(a.plugin):
        wrap = asan_wrap()
        if not wrap:
            print("fuzz.py: the plugin needs libasan, but `gcc -print-file-name=libasan.so` finds none",
                  file=sys.stderr)
            return 2
        env_extra = {"ASAN_OPTIONS": ASAN_OPTIONS, "UBSAN_OPTIONS": UBSAN_OPTIONS}
        log(f"sanitizer build: tshark runs with PM_TSHARK_WRAP='{wrap}'")
    else:
        log("note: the plugin is not a sanitizer build; only crashes, hangs and bad JSON are caught")
    runner = Runner(a.plugin, params["timeout"], wrap, env_extra)
    runner.load_fields()

    workdir = tempfile.mkdtemp(prefix="pm-fuzz-")
    os.chmod(workdir, 0o755)   # tshark runs as nobody when we are root
    failed = []
    try:
        files = captures(not a.no_shared)
        if a.only:
            files = [f for f in files if fnmatch.fnmatch(f.name, a.only)]
        _, fails, _ = run_tshark_fuzz(a, runner, files, params, workdir)
        failed += fails
        if a.valgrind or a.long:
            n = a.valgrind_sample if a.valgrind_sample is not None else (12 if a.long else 4)
            failed += run_valgrind(a, files, n, workdir)[1]
        if not a.no_libfuzzer:
            secs = a.libfuzzer_seconds if a.libfuzzer_seconds is not None else (600 if a.long else 0)
            failed += run_libfuzzer(a, secs, workdir) or []
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if failed:
        log(f"FAILED: {len(failed)} finding(s); kept in {a.failures}")
        return 1
    log("fuzz.py: no finding")
    return 0


if __name__ == "__main__":
    sys.exit(main())
