#!/bin/sh
# SPDX-License-Identifier: MIT
# Copyright (c) 2026 The PacketMancer authors
#
# build.sh OUTDIR: builds the libFuzzer harness of the core, OUTDIR/fuzz_core
# (clang, -fsanitize=fuzzer,address,undefined; UB is fatal). The core's
# sources are the pm_core list of the top CMakeLists.txt, so a new core file
# is picked up without touching this script.
#
# PM_FUZZ_FULL_TIMES=1: time stamps over all of int64 (fuzz_core.c says why
# that is not the default).
# Exit status 77 (and one line on stderr) when clang or its libFuzzer
# runtime (Debian 12: libclang-rt-14-dev) is missing: callers skip then.
set -eu

out=${1:?usage: build.sh OUTDIR}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

cc=""
for c in ${PM_FUZZ_CC:-} clang clang-19 clang-18 clang-17 clang-16 clang-15 clang-14; do
    if command -v "$c" >/dev/null 2>&1; then cc=$c; break; fi
done
if [ -z "$cc" ]; then
    echo "clang not found (install-deps.sh --tests installs it)" >&2
    exit 77
fi
mkdir -p "$out"
# libFuzzer is a separate runtime package: try a one-line target first.
probe="$out/probe.c"
echo 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }' > "$probe"
if ! "$cc" -fsanitize=fuzzer "$probe" -o "$out/probe" 2>/dev/null; then
    rm -f "$probe"
    echo "$cc cannot link -fsanitize=fuzzer: the libFuzzer runtime is missing (Debian 12: libclang-rt-14-dev)" >&2
    exit 77
fi
rm -f "$probe" "$out/probe"

# The pm_core sources, as CMakeLists.txt lists them.
srcs=$(sed -n '/^add_library(pm_core STATIC/,/^)/p' "$root/CMakeLists.txt" | grep -o 'plugin/core/[A-Za-z0-9_]*\.c')
[ -n "$srcs" ] || { echo "no pm_core sources found in $root/CMakeLists.txt" >&2; exit 1; }
set --
for s in $srcs; do set -- "$@" "$root/$s"; done

# shellcheck disable=SC2046 # pkg-config output is a list of flags
extra=""
[ "${PM_FUZZ_FULL_TIMES:-0}" = 1 ] && extra=-DPM_FUZZ_FULL_TIMES
"$cc" -g -O1 -std=c11 -D_GNU_SOURCE $extra \
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer \
    -I"$root/plugin/core" $(pkg-config --cflags glib-2.0) $(pkg-config --cflags wireshark) \
    "$here/fuzz_core.c" "$@" \
    $(pkg-config --libs glib-2.0) -lwsutil -lm \
    -o "$out/fuzz_core"
echo "$out/fuzz_core"
