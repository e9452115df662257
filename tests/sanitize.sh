#!/bin/sh
# SPDX-License-Identifier: MIT
# Copyright (c) 2026 The PacketMancer authors
#
# sanitize.sh: one build with AddressSanitizer and UBSan (PM_SANITIZE=ON),
# and the tests run under it. What the ctest test "sanitizers" runs:
#
#   tests/sanitize.sh BUILDDIR [GENERATOR]
#
#  1. configures the source tree into BUILDDIR with PM_SANITIZE=ON (same
#     generator as the calling build when given) and builds it (-j2);
#  2. runs its unit tests (unit_*) under ASan with leak detection;
#  3. runs tests/integration.py --quick with the sanitized plugin inside an
#     ordinary tshark (LD_PRELOAD of gcc's libasan, via tshark-pm's
#     PM_TSHARK_WRAP);
#  4. runs tests/test_badfiles.py with the sanitized plugin;
#  5. runs tests/fuzz.py --short (mutated captures, and the libFuzzer
#     harness's seed corpus when clang's libFuzzer is there).
#
# Fails (exit 1) on any failing step and on any sanitizer report in any
# step's output, even one a step itself let pass. Exit 77 (ctest: skipped)
# when the compiler cannot build with sanitizers or libasan is missing.
set -u

here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:?usage: sanitize.sh BUILDDIR [GENERATOR]}
gen=${2:-}
logs="$build/sanitize-logs"
mkdir -p "$build" "$logs"
build=$(cd "$build" && pwd)
logs="$build/sanitize-logs"
start=$(date +%s)

step() { echo "== sanitize.sh: $* ($(( $(date +%s) - start )) s)"; }

# gcc's shared ASan runtime: the plugin is loaded into an uninstrumented
# tshark, so the runtime must come first in the process (LD_PRELOAD).
cc=${CC:-gcc}
rt=$("$cc" -print-file-name=libasan.so 2>/dev/null || true)
case "$rt" in
    /*) [ -e "$rt" ] || rt="" ;;
    *) rt="" ;;
esac
if [ -z "$rt" ]; then
    echo "sanitize.sh: SKIP: $cc has no shared libasan (Debian: libasan8 comes with gcc)" >&2
    exit 77
fi
rt=$(readlink -f "$rt")

# Runtime options: UB and ASan errors end the process with status 86.
# LeakSanitizer stays on for the unit tests (our own programs) and off in
# tshark, whose own allocations at exit are not ours.
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:exitcode=86"
asan_unit="detect_leaks=1:exitcode=86:halt_on_error=1"
asan_tshark="detect_leaks=0:exitcode=86:halt_on_error=1"

step "configure $build (PM_SANITIZE=ON)"
set -- -S "$here" -B "$build" -DPM_SANITIZE=ON -DPM_BUILD_TESTS=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
[ -n "$gen" ] && [ ! -f "$build/CMakeCache.txt" ] && set -- "$@" -G "$gen"
if ! cmake "$@" >"$logs/configure.log" 2>&1; then
    cat "$logs/configure.log"
    echo "sanitize.sh: FAIL: configure" >&2
    exit 1
fi
step "build"
if ! cmake --build "$build" -j2 >"$logs/build.log" 2>&1; then
    tail -50 "$logs/build.log"
    echo "sanitize.sh: FAIL: the sanitizer build does not build" >&2
    exit 1
fi
if ! readelf -d "$build/packetmancer.so" | grep -q libasan; then
    echo "sanitize.sh: FAIL: $build/packetmancer.so is not a sanitizer build" >&2
    exit 1
fi

failed=""
step "unit tests under ASan/UBSan"
if ! ASAN_OPTIONS=$asan_unit ctest --test-dir "$build" -R '^unit_' --output-on-failure \
        >"$logs/unit.log" 2>&1; then
    cat "$logs/unit.log"
    failed="$failed unit"
fi
grep -E 'tests passed|tests failed' "$logs/unit.log"

step "integration.py --quick with the sanitized plugin"
# LD_PRELOAD of libasan, plus a small library that takes LD_PRELOAD out of
# tshark's environment again so that the extcap helpers it runs (-G
# plugins) do not get libasan: androiddump hangs with it.
wrap=$(python3 "$here/tests/fuzz.py" --print-asan-wrap) || wrap="env LD_PRELOAD=$rt"
echo "PM_TSHARK_WRAP=$wrap"
if ! ASAN_OPTIONS=$asan_tshark PM_TSHARK_WRAP="$wrap" \
        python3 "$here/tests/integration.py" --plugin "$build/packetmancer.so" --quick \
        >"$logs/integration.log" 2>&1; then
    grep -E '^(FAIL|SKIP)' "$logs/integration.log"
    failed="$failed integration"
fi
tail -1 "$logs/integration.log"

step "test_badfiles.py with the sanitized plugin"
if ! python3 "$here/tests/test_badfiles.py" --plugin "$build/packetmancer.so" >"$logs/badfiles.log" 2>&1; then
    grep -E '^(FAIL|XPASS)' "$logs/badfiles.log"
    failed="$failed badfiles"
fi
tail -1 "$logs/badfiles.log"

step "fuzz.py --short"
if ! python3 "$here/tests/fuzz.py" --short --plugin "$build/packetmancer.so" \
        --failures "$build/fuzz-failures" --fuzz-build "$build/libfuzzer" >"$logs/fuzz.log" 2>&1; then
    grep -vE '^(ok|\.\.\.) ' "$logs/fuzz.log" | tail -60
    failed="$failed fuzz"
fi
grep -E '^(tshark:|libFuzzer|SKIP|valgrind:)' "$logs/fuzz.log"

# A sanitizer report anywhere fails the run, even in a step that passed:
# a test that catches exit statuses loosely must not hide one.
if grep -lE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|UndefinedBehaviorSanitizer' \
        "$logs"/unit.log "$logs"/integration.log >/dev/null 2>&1; then
    echo "sanitize.sh: sanitizer report(s):" >&2
    grep -nE -A20 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|UndefinedBehaviorSanitizer' \
        "$logs"/unit.log "$logs"/integration.log | head -80 >&2
    failed="$failed sanitizer-report"
fi

step "done"
if [ -n "$failed" ]; then
    echo "sanitize.sh: FAIL:$failed (logs in $logs)" >&2
    exit 1
fi
echo "sanitize.sh: unit, integration and fuzz tests pass under ASan/UBSan"
