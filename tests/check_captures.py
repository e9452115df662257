#!/usr/bin/env python3
"""The captures in captures/ are exactly what tests/gen_captures.py makes:
regenerate them into a temporary folder and compare byte for byte."""
import filecmp
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

with tempfile.TemporaryDirectory() as tmp:
    subprocess.run([sys.executable, str(ROOT / "tests" / "gen_captures.py"), tmp], check=True,
                   stdout=subprocess.DEVNULL)
    made = sorted(p.name for p in Path(tmp).iterdir())
    kept = sorted(p.name for p in (ROOT / "captures").glob("*.pcap"))
    bad = [n for n in made if n not in kept or not filecmp.cmp(Path(tmp) / n, ROOT / "captures" / n, shallow=False)]
    bad += [n for n in kept if n not in made]
    for n in made:
        print(("FAIL " if n in bad else "ok   ") + n)
    print(f"{len(made) - len([n for n in bad if n in made])} passed, {len(bad)} failed")
    sys.exit(1 if bad else 0)
