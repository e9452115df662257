#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""PacketMancer benchmarks: tshark with and without the plugin, side by side.

    bench/run.py [--build DIR] [--plugin SO] [--data DIR] [--sections LIST] [--scale]

Every tshark runs through tests/tshark-pm (--plugin SO for "with",
--plugin none for "without"): same tshark, same throwaway HOME, same user
(nobody when run as root). Sections (docs/PERFORMANCE.md explains them):

  overhead   wall time (--repeat rounds; each run with the plugin between two
             baseline runs, ratio to their mean) and peak RSS of
             plain TCP analysis (-Y tcp.analysis.flags, no plugin) against
             -z packetmancer,json / ,tree / ,report, on a --packets capture
  callgrind  the same four commands under callgrind on a smaller capture
             (--cg-packets); instruction ratios, also net of tshark's start-up
  idle       plugin installed but not asked for: -z conv,tcp, -Y tcp, -w:
             callgrind instructions with against without (target <= 1.02)
  knobs      tshark options a health run can turn off: identical JSON on the
             shared captures and the big capture, time and RSS saved
  timeshare  the same three commands each paired with the baseline, the two
             running at once on one CPU and taking turns (SCHED_RR when
             allowed): CPU seconds of each, --repeat pairs per command.
             A host slowdown hits both alike (see PERFORMANCE.md).
             --tree-reference adds Wireshark's own -z plen,tree and
             -z ip_hosts,tree (no plugin) against the same baseline
  hugepages  GLIBC_TUNABLES=glibc.malloc.hugetlb=1 (what the packetmancer
             command sets) against nothing, baseline and JSON: --repeat
             alternated pairs, wall time, RSS, identical output
  parallel   packetmancer-split and packetmancer --jobs (skips while absent)
  scale      (--scale, minutes and GBs) 1,000,000-conversation SYN flood and
             one 10,000,000-packet conversation: RSS, time, bytes per unit
  profile    callgrind_annotate of the with-plugin run: the plugin's own top
             functions (uses the callgrind section's output)

Captures are made by pm-gen (from --build) into --data once and reused.
Exit status: 0 when every section ran (ratios above target are reported,
not failed), 2 on bad arguments or missing tools.
"""
import argparse
import concurrent.futures
import filecmp
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TSHARK_PM = os.path.join(ROOT, "tests", "tshark-pm")
SHARED = os.path.join(ROOT, "..", "shared", "captures")
NOBODY = 65534
# For the "only these protocols" knob: frames, the usual link layers, IP,
# TCP, UDP, DNS, ICMP and the plugin itself.
ONLY_PROTOCOLS = ("frame,eth,ethertype,vlan,sll,sll2,null,loop,raw,ppp,pppoes,llc,snap,"
                  "ip,ipv6,tcp,udp,dns,icmp,icmpv6,packetmancer")


def log(msg=""):
    print(msg, flush=True)


def die(msg):
    print("run.py: " + msg, file=sys.stderr)
    sys.exit(2)


class Bench:
    def __init__(self, a):
        self.a = a
        self.gen = os.path.join(a.build, "bench", "pm-gen")
        # callgrind output and -w files are written by tshark, which runs as
        # nobody when we are root: a world-writable scratch folder.
        self.scratch = tempfile.mkdtemp(prefix="pm-bench.")
        os.chmod(self.scratch, 0o1777)
        self.keep = a.keep
        self.results = {}

    # ------------------------------------------------------------ helpers
    def capture(self, name, *gen_args):
        """A pm-gen capture in --data, generated once."""
        path = os.path.join(self.a.data, name)
        if not os.path.exists(path):
            if not os.access(self.gen, os.X_OK):
                die(f"{self.gen} not built (cmake --build {self.a.build} --target pm-gen)")
            log(f"# generating {path}: pm-gen {' '.join(gen_args)}")
            t0 = time.monotonic()
            r = subprocess.run([self.gen, *gen_args, "-o", path + ".part"],
                               capture_output=True, text=True)
            if r.returncode:
                die(f"pm-gen failed: {r.stderr.strip()}")
            os.rename(path + ".part", path)
            with open(path + ".summary", "w") as f:
                f.write(r.stderr)
            log(f"#   {r.stderr.strip()} ({time.monotonic() - t0:.1f} s)")
        return path

    def summary(self, path):
        try:
            with open(path + ".summary") as f:
                return dict((k, int(v)) for k, v in re.findall(r"(\w+)=(\d+)", f.read()))
        except OSError:
            return {}

    def run(self, plugin, args, wrap=None, stdout=None, env_extra=None):
        """One tshark run through tshark-pm: (wall seconds, peak RSS KiB, rc).

        os.wait4 gives the rusage of that one child, whose peak RSS covers
        the tshark it execs into (tshark-pm's setpriv and env exec, they do
        not fork)."""
        env = run_env(env_extra, wrap)
        out = open(stdout, "wb") if stdout else subprocess.DEVNULL
        t0 = time.monotonic()
        p = subprocess.Popen([TSHARK_PM, "--plugin", plugin or "none", *args], env=env,
                             stdout=out, stderr=subprocess.PIPE)
        err = p.stderr.read()
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.monotonic() - t0
        # CPU seconds (user + system) of the run: much less sensitive than
        # wall time to other work on a shared machine.
        self.last_cpu = ru.ru_utime + ru.ru_stime
        p.returncode = os.waitstatus_to_exitcode(status)
        if stdout:
            out.close()
        if p.returncode != 0:
            log(f"#   warning: exit {p.returncode}: {' '.join(args)}: {err.decode(errors='replace')[-300:]}")
        return wall, ru.ru_maxrss, p.returncode

    def callgrind(self, tag, plugin, args):
        """Instructions (Ir) of one tshark run under callgrind."""
        out = os.path.join(self.scratch, f"cg.{tag}.out")
        wrap = f"valgrind --tool=callgrind --dump-instr=no --callgrind-out-file={out}"
        self.run(plugin, args, wrap=wrap)
        try:
            with open(out) as f:
                for line in f:
                    if line.startswith(("summary:", "totals:")):
                        return int(line.split()[1]), out
        except OSError:
            pass
        log(f"#   warning: no callgrind output for {tag}")
        return None, out

    def wfile(self, name):
        return os.path.join(self.scratch, name)

    # ------------------------------------------------------------ sections
    def big(self):
        a = self.a
        return self.capture(f"mix-{a.packets}p-{a.conversations}c-loss{a.loss}.pcap",
                            "--packets", str(a.packets), "--conversations", str(a.conversations),
                            "--loss", str(a.loss), "--ipv6", "0.1", "--seed", "1")

    def small(self, idle=False):
        a = self.a
        n = a.idle_packets if idle else a.cg_packets
        # Same packets per concurrent conversation as the big capture.
        conv = max(1, round(n * a.conversations / a.packets))
        return self.capture(f"mix-{n}p-{conv}c-loss{a.loss}.pcap",
                            "--packets", str(n), "--conversations", str(conv),
                            "--loss", str(a.loss), "--ipv6", "0.1", "--seed", "1")

    def tiny(self):
        return self.capture("mix-10p.pcap", "--packets", "10", "--conversations", "1")

    def commands(self, f):
        P = self.a.plugin
        return [("baseline  -Y tcp.analysis.flags (no plugin)", None, ["-q", "-r", f, "-Y", "tcp.analysis.flags"]),
                ("-z packetmancer,json", P, ["-q", "-r", f, "-z", "packetmancer,json"]),
                ("-z packetmancer,tree", P, ["-q", "-r", f, "-z", "packetmancer,tree"]),
                ("-z packetmancer,report", P, ["-q", "-r", f, "-z", "packetmancer,report"])]

    def sec_overhead(self):
        f = self.big()
        s = self.summary(f)
        log(f"\n== a. Overhead: {os.path.basename(f)} ({s.get('packets', '?')} packets, "
            f"{s.get('conversations', '?')} conversations), {self.a.repeat} rounds, load {load()}")
        cmds = self.commands(f)
        base = cmds[0][0]
        walls = {c[0]: [] for c in cmds}
        rss = {c[0]: [] for c in cmds}
        cpus = {c[0]: [] for c in cmds}
        # Every run with the plugin sits between two baseline runs and is
        # compared with their mean: on a shared machine the speed of the
        # same command drifts by tens of percent over minutes, and a ratio
        # of neighbours cancels most of it where a ratio of medians does not.
        paired = {c[0]: ([], []) for c in cmds[1:]}

        def one(i, name, plugin, args):
            w, m, _ = self.run(plugin, args)
            walls[name].append(w)
            rss[name].append(m)
            cpus[name].append(self.last_cpu)
            log(f"#   round {i + 1}: {name}: {w:.2f} s wall, {self.last_cpu:.2f} s CPU, {m / 1024:.0f} MiB")
            return w, self.last_cpu

        prev = one(0, *cmds[0])
        for i in range(self.a.repeat):
            for name, plugin, args in cmds[1:]:
                w, c = one(i, name, plugin, args)
                nxt = one(i, *cmds[0])
                paired[name][0].append(w / ((prev[0] + nxt[0]) / 2))
                paired[name][1].append(c / ((prev[1] + nxt[1]) / 2))
                prev = nxt
        bw, bm = statistics.median(walls[base]), max(rss[base])
        bc = statistics.median(cpus[base])
        bf = min(walls[base])
        log(f"{'command':46} {'wall s':>8} {'ratio':>6} {'paired':>6} {'(range)':>13} {'fastest':>7} "
            f"{'CPU s':>8} {'paired':>6} {'peak RSS MiB':>13} {'ratio':>6}")
        rows = []
        for name, _, _ in cmds:
            w, m, c = statistics.median(walls[name]), max(rss[name]), statistics.median(cpus[name])
            pw, pc = paired.get(name, ([1.0], [1.0]))
            rows.append({"command": name, "wall_s": w, "wall_ratio": w / bw, "cpu_s": c, "cpu_ratio": c / bc,
                         "paired_wall_ratio": statistics.median(pw), "paired_wall_ratios": pw,
                         "paired_cpu_ratio": statistics.median(pc), "paired_cpu_ratios": pc,
                         "fastest_ratio": min(walls[name]) / bf,
                         "rss_kib": m, "rss_ratio": m / bm, "walls": walls[name], "cpus": cpus[name]})
            rng = f"{min(pw):.3f}-{max(pw):.3f}"
            log(f"{name:46} {w:8.2f} {w / bw:6.3f} {statistics.median(pw):6.3f} {rng:>13} "
                f"{min(walls[name]) / bf:7.3f} "
                f"{c:8.2f} {statistics.median(pc):6.3f} {m / 1024:13.0f} {m / bm:6.3f}")
        log("(ratio: of medians; paired: median over rounds of each run against the mean of the")
        log(" baseline runs just before and after it; fastest: fastest run against fastest baseline")
        log(" (interference only ever slows a run down); CPU: user + system seconds;")
        log(f" load after: {load()}; target ratio <= 1.10)")
        self.results["overhead"] = rows

    def callgrind_many(self, jobs):
        """[(tag, plugin, args)] under callgrind, --cg-jobs at a time (the
        instruction counts do not depend on what else runs)."""
        with concurrent.futures.ThreadPoolExecutor(max_workers=self.a.cg_jobs) as ex:
            futs = {tag: ex.submit(self.callgrind, tag, plugin, args) for tag, plugin, args in jobs}
            return {tag: f.result() for tag, f in futs.items()}

    def sec_callgrind(self):
        f, t = self.small(), self.tiny()
        s = self.summary(f)
        log(f"\n== a'. Callgrind instructions: {os.path.basename(f)} ({s.get('packets', '?')} packets, "
            f"{s.get('conversations', '?')} conversations); start-up measured on a 10-packet capture")
        # The per-packet fields without any report, as Wireshark's window
        # computes them: the baseline's filter plus analyze:always.
        cmds = self.commands(f)
        cmds.append(("fields only (analyze:always, -Y tcp.analysis.flags)", self.a.plugin,
                     ["-o", "packetmancer.analyze:always"] + cmds[0][2]))
        jobs = [(f"a{i}", plugin, args) for i, (_, plugin, args) in enumerate(cmds)]
        # Start-up (registration, preferences, the tap's end-of-file output
        # for 10 packets): once without the plugin, once with the json tap;
        # the tree and report taps start up the same way.
        jobs += [("a0-startup", None, [t if x == f else x for x in cmds[0][2]]),
                 ("a1-startup", cmds[1][1], [t if x == f else x for x in cmds[1][2]])]
        res = self.callgrind_many(jobs)
        rows = []
        (base, _), (base0, _), (with0, _) = res["a0"], res["a0-startup"], res["a1-startup"]
        if None in (base, base0, with0):
            log("#   callgrind failed; see the warnings above")
            return
        log(f"{'command':46} {'Ir total':>15} {'ratio':>6} {'Ir start-up':>14} {'net ratio':>9}")
        for i, (name, plugin, args) in enumerate(cmds):
            ir, out = res[f"a{i}"]
            if ir is None:
                continue
            ir0 = base0 if i == 0 else with0
            net = (ir - ir0) / (base - base0)
            rows.append({"command": name, "ir": ir, "ir_startup": ir0, "ratio": ir / base,
                         "net_ratio": net, "callgrind_out": out})
            log(f"{name:46} {ir:15,} {ir / base:6.3f} {ir0:14,} {net:9.3f}")
        log("(net = per-packet work: total minus start-up on a 10-packet file; target <= 1.10)")
        self.results["callgrind"] = rows

    def sec_idle(self):
        f = self.small(idle=True)
        P = self.a.plugin
        log(f"\n== b. Idle cost (plugin installed, not asked for): {os.path.basename(f)}, callgrind instructions")
        cmds = [("-q -z conv,tcp", ["-q", "-r", f, "-z", "conv,tcp"]),
                ("-Y tcp > /dev/null", ["-r", f, "-Y", "tcp"]),
                ("-w out.pcapng", ["-r", f, "-w", "@W@"])]
        jobs = []
        for i, (name, args) in enumerate(cmds):
            for tag, plugin in (("none", None), ("with", P)):
                a = [self.wfile(f"idle-{i}-{tag}.pcapng") if x == "@W@" else x for x in args]
                jobs.append((f"b{i}-{tag}", plugin, a))
        res = self.callgrind_many(jobs)
        log(f"{'command':24} {'Ir without':>15} {'Ir with':>15} {'ratio':>7}")
        rows = []
        for i, (name, _) in enumerate(cmds):
            irs = [res[f"b{i}-none"][0], res[f"b{i}-with"][0]]
            if None in irs:
                continue
            rows.append({"command": name, "ir_without": irs[0], "ir_with": irs[1], "ratio": irs[1] / irs[0]})
            log(f"{name:24} {irs[0]:15,} {irs[1]:15,} {irs[1] / irs[0]:7.4f}")
        log("(whole runs, start-up included: what a user pays; target ratio <= 1.02)")
        self.results["idle"] = rows

    def sec_profile(self):
        rows = self.results.get("callgrind") or []
        outs = [r["callgrind_out"] for r in rows if "json" in r["command"]]
        if not outs or not shutil.which("callgrind_annotate"):
            log("\n== Profile: skipped (needs the callgrind section and callgrind_annotate)")
            return
        log(f"\n== Profile: callgrind_annotate --inclusive=yes of the -z packetmancer,json run, top 40")
        r = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=99.9", outs[0]],
                           capture_output=True, text=True)
        lines = [l for l in r.stdout.splitlines() if re.match(r"\s*[\d,]+ \(", l)]
        for l in lines[:40]:
            log(l[:160])
        log("-- exclusive, functions of packetmancer.so only")
        r = subprocess.run(["callgrind_annotate", "--threshold=100", outs[0]],
                           capture_output=True, text=True)
        n = 0
        for l in r.stdout.splitlines():
            if "packetmancer" in l and re.match(r"\s*[\d,]+ \(", l):
                log(l[:160])
                n += 1
                if n == 25:
                    break

    def sec_knobs(self):
        P = self.a.plugin
        knobs = [
            ("-n", ["-n"]),
            ("tcp.track_bytes_in_flight:FALSE", ["-o", "tcp.track_bytes_in_flight:FALSE"]),
            ("tcp.calculate_timestamps:FALSE", ["-o", "tcp.calculate_timestamps:FALSE"]),
            ("tcp.desegment_tcp_streams:FALSE", ["-o", "tcp.desegment_tcp_streams:FALSE"]),
            ("ip.defragment:FALSE", ["-o", "ip.defragment:FALSE"]),
            ("ipv6.defragment:FALSE", ["-o", "ipv6.defragment:FALSE"]),
            ("udp.calculate_timestamps:FALSE", ["-o", "udp.calculate_timestamps:FALSE"]),
            ("tcp+udp heuristics off", heuristics_off()),
            ("protocols above TCP/UDP off (but DNS)", upper_protocols_off()),
            # Everything off, then only what a TCP/DNS health run reads and
            # the link layers of common captures back on.
            ("only link/IP/TCP/UDP/DNS/ICMP on", ["--disable-protocol", "ALL", "--enable-protocol",
                                                  ONLY_PROTOCOLS]),
        ]
        caps = shared_captures()
        log(f"\n== d. Knobs: identical -z packetmancer,json on {len(caps)} shared captures and the big one")
        if not caps:
            log("(no ../shared/captures: only the generated capture is compared)")
        elif not self.a.knobs_per_file and shutil.which("mergecap"):
            # One tshark start-up per knob instead of one per capture and
            # knob: the shared captures concatenated (pcapng keeps each
            # file's link type). --knobs-per-file checks them one by one.
            merged = os.path.join(self.a.data, "shared-merged.pcapng")
            if not os.path.exists(merged):
                # A capture cut short (http-fault-post.pcap is) makes
                # mergecap complain and exit 2 after writing what it read.
                r = subprocess.run(["mergecap", "-a", "-F", "pcapng", "-w", merged + ".part", *caps],
                                   capture_output=True, text=True)
                if not os.path.exists(merged + ".part"):
                    die(f"mergecap failed: {r.stderr.strip()}")
                if r.returncode:
                    log(f"#   mergecap: {r.stderr.strip()}")
                os.rename(merged + ".part", merged)
            log(f"(compared on {os.path.basename(merged)}: the {len(caps)} captures concatenated by mergecap -a)")
            caps = [merged]

        def report(f, extra, tag):
            out = self.wfile(f"knob-{tag}.json")
            self.run(P, ["-q", "-r", f, *extra, "-z", "packetmancer,json"], stdout=out)
            with open(out, "rb") as fh:
                return fh.read()

        base = {c: report(c, [], "base") for c in caps}
        safe = []
        for name, extra in knobs:
            bad = [os.path.basename(c) for c in caps if report(c, extra, "k") != base[c]]
            log(f"{name:42} {'identical' if not bad else 'DIFFERS on ' + ', '.join(bad[:6])}")
            if not bad:
                safe.append((name, extra))
        combo = [x for _, e in safe for x in e]
        bad = [os.path.basename(c) for c in caps if report(c, combo, "combo") != base[c]]
        log(f"{'all safe knobs together':42} {'identical' if not bad else 'DIFFERS on ' + ', '.join(bad)}")

        f = self.small() if self.a.knobs_small else self.big()
        log(f"-- CPU time (user+sys) and peak RSS on {os.path.basename(f)}, one run each, load {load()}")
        rows = []
        ref = None
        log(f"{'setting':42} {'CPU s':>8} {'ratio':>6} {'RSS MiB':>8} {'ratio':>6} same JSON")
        for name, extra in [("defaults", [])] + safe + [("all safe knobs", combo)]:
            out = self.wfile("knob-big.json")
            _, m, _ = self.run(P, ["-q", "-r", f, *extra, "-z", "packetmancer,json"], stdout=out)
            w = self.last_cpu
            with open(out, "rb") as fh:
                doc = fh.read()
            if ref is None:
                ref = (w, m, doc)
            same = doc == ref[2]
            rows.append({"setting": name, "cpu_s": w, "rss_kib": m, "same": same})
            log(f"{name:42} {w:8.2f} {w / ref[0]:6.3f} {m / 1024:8.0f} {m / ref[1]:6.3f} {'yes' if same else 'NO'}")
        log("safe set: " + " ".join(combo))
        self.results["knobs"] = {"rows": rows, "safe_set": combo}

    def sec_timeshare(self):
        # ---------------------------------------------------------------
        # On a shared host the same tshark run takes 25 s or 48 s, in
        # spells of minutes, so ratios of runs made one after the other
        # scatter by +-0.1 (overhead section). Here the plugin's run and a
        # baseline run go at the same time, pinned to one CPU and taking
        # turns on it (SCHED_RR, 100 ms slices, when we may set it; the
        # kernel's own sharing otherwise), and each is charged its own CPU
        # seconds: a slowdown of the host lasts seconds and so hits both
        # alike. When one finishes first a copy of it takes its place, so
        # that the other shares the CPU to its end; the copy is killed then
        # and not counted. The other CPUs stay idle.
        # ---------------------------------------------------------------
        f = self.big()
        s = self.summary(f)
        cpu = max(os.sched_getaffinity(0))
        try:
            os.sched_setscheduler(0, os.SCHED_RR, os.sched_param(1))
            os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
            rr = True
        except (PermissionError, OSError):
            rr = False
        policy = "SCHED_RR" if rr else "SCHED_OTHER (no permission for SCHED_RR)"
        other = self.a.against
        log(f"\n== a2. Overhead, time-shared: {os.path.basename(f)} ({s.get('packets', '?')} packets), "
            f"{self.a.repeat} pairs a command on CPU {cpu}, {policy}, load {load()}")
        if other:
            log(f"#   against {other}: each command run with both builds, not against plain tshark")
        cmds = self.commands(f)
        base = cmds[0]
        if self.a.tree_reference and not other:
            # What Wireshark's own stats trees cost on the same analysis:
            # the price of the stats-tree API itself, for reading the
            # tree's row (docs/PERFORMANCE.md, twelfth round). plen ticks
            # two nodes a packet; ip_hosts adds a node per address, each
            # appended after a walk over its siblings, so it grows with
            # the number of hosts (why our tree names only
            # tree_conversations conversations).
            for tree in ("plen", "ip_hosts"):
                cmds.append((f"-z {tree},tree (Wireshark's own, no plugin)", None,
                             base[2] + ["-z", f"{tree},tree"]))

        def start(cmd):
            def pin():
                os.sched_setaffinity(0, {cpu})
                if rr:
                    os.sched_setscheduler(0, os.SCHED_RR, os.sched_param(1))
            _, plugin, args = cmd
            return subprocess.Popen([TSHARK_PM, "--plugin", plugin or "none", *args], env=run_env(),
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                    preexec_fn=pin)

        def pair(cmd, order):
            # With --against, the same command with the other build is the
            # baseline: a change's own effect, to a hundredth or so.
            runs = {"base": (cmd[0], other, cmd[2]) if other else base, "pm": cmd}
            procs = {k: start(runs[k]) for k in order}
            cpus, failed, filler = {}, [], None
            try:
                while procs:
                    time.sleep(0.2)
                    for k, p in list(procs.items()):
                        pid, status, ru = os.wait4(p.pid, os.WNOHANG)
                        if pid:
                            cpus[k] = ru.ru_utime + ru.ru_stime
                            if os.waitstatus_to_exitcode(status):
                                failed.append(k)
                            del procs[k]
                    if filler and os.wait4(filler.pid, os.WNOHANG)[0]:
                        filler = None
                    if len(procs) == 1 and not filler:
                        done = next(k for k in cpus)
                        filler = start(runs[done])
            finally:
                for p in list(procs.values()) + ([filler] if filler else []):
                    p.kill()
                    os.wait4(p.pid, 0)
            return cpus, failed

        rows = []
        log(f"{'command':46} {'pairs':>5} {'base CPU s':>10} {'CPU s':>8} {'paired':>6} {'(range)':>13}")
        for name, plugin, args in cmds[1:]:
            ratios, bc, pc = [], [], []
            for i in range(self.a.repeat):
                # Alternate which starts first, so that neither is favoured.
                cpus, failed = pair((name, plugin, args), ("base", "pm") if i % 2 == 0 else ("pm", "base"))
                if failed:
                    log(f"#   warning: {name}: a run failed ({', '.join(failed)}); pair left out")
                    continue
                ratios.append(cpus["pm"] / cpus["base"])
                bc.append(cpus["base"])
                pc.append(cpus["pm"])
                side = "this build" if other else "with the plugin" if plugin else "with the tree"
                log(f"#   pair {i + 1}: {name}: {'other build' if other else 'baseline'} "
                    f"{cpus['base']:.2f} s, {side} {cpus['pm']:.2f} s CPU: {ratios[-1]:.3f}")
            if not ratios:
                continue
            row = {"command": name, "pairs": len(ratios), "base_cpu_s": statistics.median(bc),
                   "cpu_s": statistics.median(pc), "paired_cpu_ratio": statistics.median(ratios),
                   "paired_cpu_ratios": ratios}
            rows.append(row)
            log(f"{name:46} {len(ratios):5} {row['base_cpu_s']:10.2f} {row['cpu_s']:8.2f} "
                f"{row['paired_cpu_ratio']:6.3f} {min(ratios):6.3f}-{max(ratios):6.3f}")
        if other:
            log("(paired: median over pairs of this build's CPU seconds against the other build's on the")
            log(f" same command, the two sharing CPU {cpu} from start to end; CPU: user + system)")
        else:
            who = "the command's" if self.a.tree_reference else "the plugin's"
            log(f"(paired: median over pairs of {who} CPU seconds against the baseline's, the two")
            log(f" sharing CPU {cpu} from start to end; CPU: user + system; target ratio <= 1.10)")
        self.results["timeshare"] = {"cpu": cpu, "policy": "rr" if rr else "other", "against": other,
                                     "rows": rows}

    def sec_hugepages(self):
        # ---------------------------------------------------------------
        # The packetmancer command runs tshark with
        # GLIBC_TUNABLES=glibc.malloc.hugetlb=1: glibc (2.35+) then puts
        # the heap on transparent huge pages. Each command alternates
        # without / with, --repeat times; the JSON must not change.
        # ---------------------------------------------------------------
        f = self.big()
        huge = {"GLIBC_TUNABLES": "glibc.malloc.hugetlb=1"}
        thp = "?"
        try:
            with open("/sys/kernel/mm/transparent_hugepage/enabled") as fh:
                thp = fh.read().strip()
        except OSError:
            pass
        log(f"\n== d'. Huge pages: GLIBC_TUNABLES=glibc.malloc.hugetlb=1 against nothing, "
            f"{os.path.basename(f)}, {self.a.repeat} rounds (THP: {thp}), load {load()}")
        log(f"{'command':46} {'without s':>9} {'with s':>8} {'paired':>6} {'(range)':>13} {'fastest':>7} "
            f"{'RSS ratio':>9} same output")
        rows = []
        for name, plugin, args in self.commands(f)[:2]:   # the baseline and the JSON
            pairs, walls, rss = [], ([], []), ([], [])
            outs = [self.wfile("huge-0.out"), self.wfile("huge-1.out")]
            for i in range(self.a.repeat):
                # Alternate which goes first, so that a drift favours neither.
                order = (0, 1) if i % 2 == 0 else (1, 0)
                w = {}
                for k in order:
                    w[k], m, _ = self.run(plugin, args, stdout=outs[k], env_extra=huge if k else None)
                    walls[k].append(w[k])
                    rss[k].append(m)
                pairs.append(w[1] / w[0])
            same = filecmp.cmp(outs[0], outs[1], shallow=False)
            row = {"command": name, "without_s": statistics.median(walls[0]),
                   "with_s": statistics.median(walls[1]), "paired_ratio": statistics.median(pairs),
                   "paired_ratios": pairs, "fastest_ratio": min(walls[1]) / min(walls[0]),
                   "rss_ratio": max(rss[1]) / max(rss[0]), "same_output": same}
            rows.append(row)
            log(f"{name:46} {row['without_s']:9.2f} {row['with_s']:8.2f} {row['paired_ratio']:6.3f} "
                f"{min(pairs):6.3f}-{max(pairs):6.3f} {row['fastest_ratio']:7.3f} {row['rss_ratio']:9.3f} "
                f"{'yes' if same else 'NO'}")
        log("(paired: median over rounds of with / without, the two run back to back in alternating order;")
        log(" fastest: fastest with against fastest without; same output: the last runs' stdout, byte for byte)")
        self.results["hugepages"] = rows

    def sec_parallel(self):
        # ---------------------------------------------------------------
        # Parallel runs (issue 8 item 5). packetmancer-split cuts a capture
        # into per-conversation shards (DIR/shard-NNN.cap + .frames);
        # packetmancer --jobs N runs one tshark per shard and merges.
        # Skips with a message while either tool is missing.
        # ---------------------------------------------------------------
        log("\n== e. Parallel")
        split = os.path.join(self.a.build, "tools", "packetmancer-split")
        if not os.access(split, os.X_OK):
            split = shutil.which("packetmancer-split")
        f = self.big()
        if not split:
            log("skipped: packetmancer-split is not built (tools/) nor installed")
        else:
            t0 = time.monotonic()
            subprocess.run(["cat", f], stdout=subprocess.DEVNULL, check=True)
            tcat = time.monotonic() - t0
            size = os.path.getsize(f) / 1e6
            log(f"cat {os.path.basename(f)} > /dev/null: {tcat:.2f} s ({size / tcat:.0f} MB/s)")
            for n in (1, 2, 4):
                d = tempfile.mkdtemp(prefix="pm-split.", dir=self.a.data)
                t0 = time.monotonic()
                r = subprocess.run([split, "-n", str(n), "-o", d, f], capture_output=True, text=True)
                t = time.monotonic() - t0
                log(f"packetmancer-split -n {n}: {t:.2f} s ({size / t:.0f} MB/s, {t / tcat:.1f}x cat)"
                    + ("" if r.returncode == 0 else f" FAILED: {r.stderr.strip()[-200:]}"))
                shutil.rmtree(d, ignore_errors=True)
        pm = os.path.join(self.a.build, "tools", "packetmancer")
        tools = {n: os.path.join(self.a.build, "tools", n) for n in ("packetmancer-split", "packetmancer-merge")}
        tools = {n: (p if os.access(p, os.X_OK) else shutil.which(n)) for n, p in tools.items()}
        has_jobs = False
        if os.access(pm, os.X_OK):
            h = subprocess.run([pm, "--help"], capture_output=True, text=True)
            has_jobs = "--jobs" in h.stdout + h.stderr
        missing = [n for n, p in tools.items() if not p]
        if not has_jobs or missing:
            log("skipped packetmancer --jobs: " + ("no --jobs in " + pm if not has_jobs
                                                    else "not built: " + ", ".join(missing)))
            return
        # The command runs PACKETMANCER_TSHARK: a wrapper that goes through
        # tshark-pm with the plugin under test, like every other run here.
        wrapper = self.wfile("tshark-wrapper")
        with open(wrapper, "w") as w:
            w.write(f'#!/bin/sh\nexec "{TSHARK_PM}" --plugin "{self.a.plugin}" "$@"\n')
        os.chmod(wrapper, 0o755)
        env = dict(os.environ, PACKETMANCER_TSHARK=wrapper, TMPDIR=self.scratch,
                   PACKETMANCER_SPLIT=tools["packetmancer-split"],
                   PACKETMANCER_MERGE=tools["packetmancer-merge"])
        base = None
        for n in (1, 2, 4):
            out = self.wfile(f"jobs-{n}.json")
            t0 = time.monotonic()
            r = subprocess.run([pm, "--file", f, "--jobs", str(n), "--quiet", "--json", out],
                               capture_output=True, env=env)
            t = time.monotonic() - t0
            base = base or t
            log(f"packetmancer --jobs {n}: {t:.2f} s, speed-up {base / t:.2f}"
                + ("" if r.returncode == 0 else f" (exit {r.returncode}: {r.stderr.decode(errors='replace')[-200:]})"))

    def sec_scale(self):
        a = self.a
        avail = meminfo_available_gib()
        log(f"\n== c. Scale (available memory {avail:.1f} GiB, load {load()})")
        syn = self.capture("synflood-1000000c.pcap", "--shape", "synflood",
                           "--conversations", "1000000", "--seed", "1")
        single = None
        if avail < a.scale_mem_gib:
            log(f"single: skipped, {avail:.1f} GiB available, {a.scale_mem_gib} GiB wanted (--scale-mem-gib)")
        else:
            single = self.capture(f"single-{a.single_packets}p.pcap", "--shape", "single", "--packets",
                                  str(a.single_packets), "--loss", "0.001", "--snaplen", "128", "--seed", "1")
        log(f"{'capture':10} {'command':46} {'CPU s':>8} {'ratio':>6} {'RSS MiB':>8} {'ratio':>6} {'B/conv':>8} {'B/pkt':>7}")
        rows = []
        base = {}
        # The stats tree last: with a node per conversation it is the one
        # that may take long on a million conversations.
        order = [(sh, f, i) for i in range(3) for sh, f in (("synflood", syn), ("single", single)) if f]
        order += [(sh, f, 3) for sh, f in (("synflood", syn), ("single", single)) if f]
        for shape, f, i in order:
            name, plugin, args = self.commands(f)[i]
            s = self.summary(f)
            conv, pk = s.get("conversations", 1), s.get("packets", 1)
            w, m, rc = self.run(plugin, args)
            w = self.last_cpu   # CPU seconds: the machine may be shared
            if i == 0:
                base[shape] = (w, m)
            bw, bm = base[shape]
            extra = (m - bm) * 1024
            rows.append({"capture": shape, "command": name, "cpu_s": w, "rss_kib": m, "rc": rc,
                         "bytes_per_conversation": extra / conv, "bytes_per_packet": extra / pk})
            log(f"{shape:10} {name:46} {w:8.1f} {w / bw:6.2f} {m / 1024:8.0f} {m / bm:6.2f}"
                f" {extra / conv:8.0f} {extra / pk:7.1f}" + ("" if rc == 0 else f"  exit {rc}"))
        self.results["scale"] = rows


def run_env(env_extra=None, wrap=None):
    """The environment of a tshark-pm run: the caller's, minus what would
    change every run (PM_TSHARK_WRAP, and GLIBC_TUNABLES: see
    sec_hugepages), plus what a section asks for."""
    env = dict(os.environ)
    env.pop("PM_TSHARK_WRAP", None)
    env.pop("GLIBC_TUNABLES", None)
    env.update(env_extra or {})
    if wrap:
        env["PM_TSHARK_WRAP"] = wrap
    return env


def load():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


def meminfo_available_gib():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1024 / 1024
    return 0.0


def shared_captures():
    if not os.path.isdir(SHARED):
        return []
    return sorted(os.path.join(SHARED, n) for n in os.listdir(SHARED)
                  if re.search(r"\.(pcap|pcapng|cap)(\.gz)?$", n))


def refused_names(option, names):
    """The names tshark refuses for --disable-protocol/--disable-heuristic
    ("No such protocol X, can't disable"), asked once on an empty capture."""
    with tempfile.TemporaryDirectory() as d:
        cap = os.path.join(d, "empty.pcap")
        # A pcap with no packets is enough for tshark to check the names.
        with open(cap, "wb") as f:
            f.write(bytes.fromhex("d4c3b2a1020004000000000000000000ffff000001000000"))
        r = subprocess.run(["tshark", "-q", "-r", cap, *sum(([option, n] for n in names), [])],
                           capture_output=True, text=True)
    return set(re.findall(r"No such protocol (\S+), can't disable", r.stderr))


def heuristics_off():
    """--disable-heuristic for every heuristic dissector hung on TCP or UDP.

    tshark 4.0's -G heuristic-decodes lists parent and protocol, not the
    heuristic's short name, which is most often PROTOCOL_PARENT: those
    tshark accepts are used, the others stay on (the count is printed)."""
    r = subprocess.run(["tshark", "-G", "heuristic-decodes"], capture_output=True, text=True)
    names = sorted({f"{f[1]}_{f[0]}" for f in (line.split("\t") for line in r.stdout.splitlines())
                    if len(f) >= 2 and f[0] in ("tcp", "udp")})
    bad = refused_names("--disable-heuristic", names)
    ok = [n for n in names if n not in bad]
    log(f"#   heuristics: {len(ok)} of {len(names)} TCP/UDP heuristic names accepted by tshark")
    return sum((["--disable-heuristic", n] for n in ok), [])


def upper_protocols_off():
    """--disable-protocol for every dissector registered on a TCP or UDP
    port except DNS (the plugin reads dns.*): what runs above TCP/UDP is
    then only DNS and heuristics."""
    r = subprocess.run(["tshark", "-G", "decodes"], capture_output=True, text=True)
    protos = set()
    for line in r.stdout.splitlines():
        f = line.split("\t")
        if len(f) >= 3 and f[0] in ("tcp.port", "udp.port") and f[2] != "dns":
            protos.add(f[2])
    # Link layers registered on a port too (llc is) also carry IP in other
    # captures: keep what the "only these" knob keeps.
    protos -= set(ONLY_PROTOCOLS.split(","))
    # Dissector names are not always protocol names: tshark refuses (and
    # stops) on an unknown one, so keep the names -G protocols knows.
    r = subprocess.run(["tshark", "-G", "protocols"], capture_output=True, text=True)
    known = {line.split("\t")[2] for line in r.stdout.splitlines() if line.count("\t") >= 2}
    names = sorted(protos & known)
    refused = refused_names("--disable-protocol", names)
    return sum((["--disable-protocol", n] for n in names if n not in refused), [])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"), help="build folder (pm-gen, tools)")
    ap.add_argument("--plugin", help="packetmancer.so (default: BUILD/packetmancer.so)")
    ap.add_argument("--data", default=os.environ.get("PM_BENCH_DATA", "/tmp/pm-bench-data"),
                    help="where generated captures are kept (needs GBs; must be readable by nobody)")
    ap.add_argument("--sections", default="overhead,timeshare,callgrind,idle,profile,knobs,hugepages,parallel",
                    help="comma list of: overhead,timeshare,callgrind,idle,profile,knobs,hugepages,parallel,scale")
    ap.add_argument("--scale", action="store_true", help="add the scale section (minutes, GBs)")
    ap.add_argument("--repeat", type=int, default=3, help="overhead rounds (runs per plugin command, each between two baseline runs), "
                    "timeshare pairs per command, hugepages pairs")
    ap.add_argument("--packets", type=int, default=2000000)
    ap.add_argument("--conversations", type=int, default=20000)
    ap.add_argument("--loss", type=float, default=0.01)
    ap.add_argument("--cg-packets", type=int, default=150000, help="capture size for callgrind runs")
    ap.add_argument("--idle-packets", type=int, default=50000, help="capture size for the idle section")
    ap.add_argument("--cg-jobs", type=int, default=2, help="callgrind runs at a time")
    ap.add_argument("--single-packets", type=int, default=10000000)
    ap.add_argument("--scale-mem-gib", type=float, default=12.0,
                    help="memory the 10M-packet run needs available before it starts")
    ap.add_argument("--knobs-per-file", action="store_true",
                    help="knobs: compare each shared capture on its own (slow) instead of all merged")
    ap.add_argument("--knobs-small", action="store_true",
                    help="knobs: time on the callgrind-sized capture instead of the big one")
    ap.add_argument("--tree-reference", action="store_true",
                    help="timeshare: also pair two of Wireshark's own stats trees (-z plen,tree and "
                         "-z ip_hosts,tree, no plugin) with the baseline, for what the stats-tree API "
                         "itself costs (ignored with --against)")
    ap.add_argument("--against", metavar="OTHER.so",
                    help="timeshare: pair each plugin command with the same command run with this "
                         "other build of the plugin instead of with plain tshark (is a change faster?)")
    ap.add_argument("--json", help="also write every number to this JSON file")
    ap.add_argument("--keep", action="store_true", help="keep the scratch folder (callgrind outputs)")
    a = ap.parse_args()
    a.plugin = os.path.abspath(a.plugin or os.path.join(a.build, "packetmancer.so"))
    a.build = os.path.abspath(a.build)
    sections = [s for s in a.sections.split(",") if s]
    if a.scale and "scale" not in sections:
        sections.append("scale")
    known = {"overhead", "timeshare", "callgrind", "idle", "profile", "knobs", "hugepages", "parallel", "scale"}
    if set(sections) - known:
        die(f"unknown section(s): {', '.join(sorted(set(sections) - known))}")
    if a.repeat < 1:
        die("--repeat must be at least 1")
    if not os.access(a.plugin, os.R_OK):
        die(f"plugin not found: {a.plugin}")
    if a.against:
        a.against = os.path.abspath(a.against)
        if not os.access(a.against, os.R_OK):
            die(f"--against: plugin not found: {a.against}")
    for tool in ["tshark"] + (["valgrind"] if {"callgrind", "idle"} & set(sections) else []):
        if not shutil.which(tool):
            die(f"{tool} is not installed")
    os.makedirs(a.data, exist_ok=True)
    if os.getuid() == 0:
        # tshark runs as nobody: it must read the captures in place (a copy
        # of a 2 GB file per run would be what we measure).
        r = subprocess.run(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                            "test", "-r", a.data], capture_output=True)
        if r.returncode:
            die(f"{a.data} must be readable by user nobody (tshark-pm runs tshark as nobody)")

    b = Bench(a)
    log(f"# PacketMancer bench: plugin {a.plugin}, {os.cpu_count()} CPUs ({cpu_model()}), "
        f"tshark {tshark_version()}, load {load()}")
    try:
        order = ["overhead", "timeshare", "callgrind", "idle", "profile", "knobs", "hugepages", "parallel", "scale"]
        for s in order:
            if s in sections:
                getattr(b, "sec_" + s)()
    finally:
        if a.json:
            with open(a.json, "w") as f:
                json.dump(b.results, f, indent=2)
        if b.keep:
            log(f"# scratch kept: {b.scratch}")
        else:
            shutil.rmtree(b.scratch, ignore_errors=True)
    return 0


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "?"


def tshark_version():
    r = subprocess.run(["tshark", "--version"], capture_output=True, text=True)
    m = re.search(r"TShark \(Wireshark\) (\S+)", r.stdout)
    return m.group(1) if m else "?"


if __name__ == "__main__":
    sys.exit(main())
