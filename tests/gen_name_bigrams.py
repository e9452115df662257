#!/usr/bin/env python3
"""Generate plugin/core/pm_names_bigrams.h, the English letter-bigram table
that pm_names.c scores DNS labels with.

Usage: python3 tests/gen_name_bigrams.py [WORDLIST [OUTPUT]]
       (defaults: /usr/share/dict/american-english, from the Debian package
        wamerican; <repo>/plugin/core/pm_names_bigrams.h)

Every word of the list is lower-cased; words with anything but the letters
a-z (possessives such as "aardvark's", accented names) are dropped, and each
remaining distinct word counts once. For every pair of adjacent letters a, b
the table holds, in hundredths of a bit,

    100 * (log2 P(b | a) + log2 26)         P(b | a) = (n(ab) + 1) / (n(a.) + 26)

that is, how much more (positive) or less (negative) likely English makes
the letter b after the letter a than a uniformly random letter would
(add-one smoothing keeps pairs the list never shows finite). Summed over a
label, it is the log-likelihood ratio "English-like versus random letters".
Integers keep the score identical on every platform.

The output depends only on the word list, so two runs on the same wamerican
version write byte-identical files. The version goes into the header when
dpkg-query can tell it.
"""

import math
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_WORDS = "/usr/share/dict/american-english"
DEFAULT_OUT = os.path.normpath(os.path.join(HERE, "..", "plugin", "core", "pm_names_bigrams.h"))


def wamerican_version():
    try:
        out = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "wamerican"],
                             capture_output=True, text=True, check=True)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main():
    words_path = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_WORDS
    out_path = sys.argv[2] if len(sys.argv) > 2 else DEFAULT_OUT

    with open(words_path, encoding="utf-8") as f:
        words = {w.strip().lower() for w in f}
    words = sorted(w for w in words if re.fullmatch("[a-z]+", w))

    counts = [[0] * 26 for _ in range(26)]
    for w in words:
        for a, b in zip(w, w[1:]):
            counts[ord(a) - 97][ord(b) - 97] += 1

    rows = []
    for a in range(26):
        total = sum(counts[a]) + 26
        row = [round(100 * (math.log2((counts[a][b] + 1) / total) + math.log2(26)))
               for b in range(26)]
        rows.append(row)

    source = words_path
    version = wamerican_version() if words_path == DEFAULT_WORDS else "n/a"
    lines = [
        "/* pm_names_bigrams.h",
        " * English letter-bigram table for pm_names.c. GENERATED: do not edit;",
        " * run `python3 tests/gen_name_bigrams.py` to remake it.",
        " *",
        f" * Made from {source}" + (f" (Debian package wamerican {version}," if version != "n/a" else ""),
        " * SCOWL word list by Kevin Atkinson, whose licence permits any use with",
        " * its notice; see tests/data/README.md) by counting letter pairs over",
        f" * its {len(words)} distinct lower-case a-z words. pm_bigram_llr[a][b] is",
        " * 100 * (log2 P(b|a) + log2 26), with P(b|a) = (n(ab)+1)/(n(a.)+26): the",
        " * log-likelihood ratio, in hundredths of a bit, of b following a in",
        " * English rather than in uniformly random letters.",
        " *",
        " * Copyright (c) 2026 The PacketMancer authors",
        " * SPDX-License-Identifier: MIT",
        " */",
        "",
        "#ifndef PM_NAMES_BIGRAMS_H",
        "#define PM_NAMES_BIGRAMS_H",
        "",
        "#include <stdint.h>",
        "",
        f"#define PM_BIGRAM_WORDS {len(words)}",
        "",
        "static const int16_t pm_bigram_llr[26][26] = {",
    ]
    for a, row in enumerate(rows):
        first = ", ".join(f"{v:5d}" for v in row[:13])
        second = ", ".join(f"{v:5d}" for v in row[13:])
        lines.append(f"    /* {chr(97 + a)} */ {{{first},")
        lines.append(f"              {second}}},")
    lines += ["};", "", "#endif /* PM_NAMES_BIGRAMS_H */", ""]

    with open(out_path, "w", encoding="ascii") as f:
        f.write("\n".join(lines))
    print(f"{out_path}: {len(words)} words from {source}")


if __name__ == "__main__":
    main()
