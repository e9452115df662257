#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Checks that pm-gen writes what it says, as plain tshark sees it.

Generates a small mixed capture (20,000 packets, 200 concurrent
conversations, 1% loss, 20% IPv6) and compares tshark's own TCP analysis
with pm-gen's summary line:

  * tcp.stream count == conversations whose SYN was written;
  * streams over IPv6 == ipv6_conversations, and their share is 20% +- 8
    points (binomial: 250 conversations give a standard deviation of
    2.5 points, so this fails only on a real change of behaviour);
  * tcp.analysis.retransmission == retransmissions, fast_retransmission ==
    fast_retransmissions, duplicate_ack == dup_acks, data packets that are
    not retransmissions == data_written: exact, the generator models
    Wireshark-visible loss rather than guessing;
  * no out-of-order or spurious retransmission flags (the model never
    makes them);
  * the generated loss, lost / data_segments, is 1% within +-35% (about
    130 losses: 3 standard deviations are 26%);
  * tshark's retransmission rate is at least a third of that: the rest are
    losses of a response's last segments, whose copies Wireshark cannot
    tell from new data;
  * the same arguments give the same bytes, another seed does not.
Exit 77 (skip) when tshark is missing.
"""
import argparse
import filecmp
import os
import re
import shutil
import subprocess
import sys
import tempfile


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gen", required=True, help="path of the pm-gen binary")
    args = ap.parse_args()
    if not shutil.which("tshark"):
        print("SKIP: tshark is not installed")
        return 77
    failures = []

    def check(ok, what):
        print(("ok   " if ok else "FAIL ") + what)
        if not ok:
            failures.append(what)

    with tempfile.TemporaryDirectory() as tmp:
        cap = os.path.join(tmp, "g.pcap")
        gen_args = ["--packets", "20000", "--conversations", "200", "--loss", "0.01",
                    "--ipv6", "0.2", "--seed", "42"]
        r = subprocess.run([args.gen, *gen_args, "-o", cap], capture_output=True, text=True)
        if r.returncode != 0:
            print(r.stderr)
            return 1
        summary = dict((k, int(v)) for k, v in re.findall(r"(\w+)=(\d+)", r.stderr))
        print(r.stderr.strip())

        # Bad input: a clear message and a non-zero exit.
        bad = subprocess.run([args.gen, "--loss", "2", "-o", cap + ".bad"],
                             capture_output=True, text=True)
        check(bad.returncode == 2 and "--loss" in bad.stderr, "--loss 2 is refused")
        bad = subprocess.run([args.gen, "--shape", "nope", "-o", cap + ".bad"],
                             capture_output=True, text=True)
        check(bad.returncode == 2 and "shape" in bad.stderr, "an unknown shape is refused")

        # Determinism.
        again = os.path.join(tmp, "again.pcap")
        subprocess.run([args.gen, *gen_args, "-o", again], check=True, capture_output=True)
        check(filecmp.cmp(cap, again, shallow=False), "same arguments, same bytes")
        other = os.path.join(tmp, "other.pcap")
        subprocess.run([args.gen, *gen_args[:-1], "43", "-o", other], check=True,
                       capture_output=True)
        check(not filecmp.cmp(cap, other, shallow=False), "another seed, other bytes")

        fields = ["tcp.stream", "ipv6.src", "tcp.len", "tcp.analysis.retransmission",
                  "tcp.analysis.fast_retransmission", "tcp.analysis.duplicate_ack",
                  "tcp.analysis.out_of_order", "tcp.analysis.spurious_retransmission"]
        cmd = ["tshark", "-n", "-r", cap, "-T", "fields"]
        for f in fields:
            cmd += ["-e", f]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        streams, v6 = set(), set()
        packets = data = rt = frt = dup = ooo = spur = 0
        for line in out.splitlines():
            f = line.split("\t")
            packets += 1
            streams.add(f[0])
            if f[1]:
                v6.add(f[0])
            if f[2] and int(f[2]) > 0 and not f[3]:
                data += 1
            rt += bool(f[3])
            frt += bool(f[4])
            dup += bool(f[5])
            ooo += bool(f[6])
            spur += bool(f[7])

    check(packets == 20000 == summary["packets"], f"packets: tshark {packets}, pm-gen {summary['packets']}")
    check(len(streams) == summary["conversations"],
          f"tcp.stream count {len(streams)} == conversations {summary['conversations']}")
    check(len(v6) == summary["ipv6_conversations"],
          f"IPv6 streams {len(v6)} == ipv6_conversations {summary['ipv6_conversations']}")
    share = len(v6) / len(streams)
    check(0.12 <= share <= 0.28, f"IPv6 share {share:.3f} within 0.20 +- 0.08")
    check(rt == summary["retransmissions"],
          f"retransmissions: tshark {rt}, pm-gen {summary['retransmissions']}")
    check(frt == summary["fast_retransmissions"],
          f"fast retransmissions: tshark {frt}, pm-gen {summary['fast_retransmissions']}")
    check(dup == summary["dup_acks"], f"duplicate ACKs: tshark {dup}, pm-gen {summary['dup_acks']}")
    check(data == summary["data_written"], f"data segments: tshark {data}, pm-gen {summary['data_written']}")
    check(ooo == 0 and spur == 0, f"no out-of-order ({ooo}) or spurious ({spur}) flags")
    gen_rate = summary["lost"] / summary["data_segments"]
    check(0.0065 <= gen_rate <= 0.0135, f"generated loss {gen_rate:.4f} within 0.01 +- 35%")
    seen_rate = rt / (data + rt)
    check(seen_rate >= 0.01 / 3, f"tshark's retransmission rate {seen_rate:.4f} >= 0.0033")
    check(rt > 30 and dup > 100, f"loss shows at all ({rt} retransmissions, {dup} duplicate ACKs)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
