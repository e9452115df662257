#!/bin/sh
# install-deps.sh: install what PacketMancer needs to build, on Debian 12+
# or Ubuntu 22.04+; with --tests, also what the tests need (the Wireshark
# GUI under a virtual X server for the GUI test; valgrind, clang and its
# libFuzzer runtime for the robustness tests). Installs nothing when
# everything is there; uses sudo when not run as root.
#
#   ./install-deps.sh [--tests]
set -eu

pkgs="tshark wireshark-dev libwireshark-dev libglib2.0-dev libcunit1-dev cmake pkg-config gcc make python3"
case "${1:-}" in
    --tests)
        # The GUI is wireshark-qt on Debian 12 / Ubuntu 22.04 and plain
        # "wireshark" on later releases; take whichever this system knows.
        gui=wireshark-qt
        if ! apt-cache show wireshark-qt >/dev/null 2>&1 && apt-cache show wireshark >/dev/null 2>&1; then
            gui=wireshark
        fi
        pkgs="$pkgs $gui xvfb xauth x11-utils xdotool imagemagick"
        # Robustness tests (docs/ROBUSTNESS.md): valgrind, and clang with
        # its libFuzzer runtime for the core's fuzz harness. The runtime is
        # libclang-rt-dev (a package for the default clang) on Debian 12 and
        # later, libclang-rt-NN-dev or, on older releases such as Ubuntu
        # 22.04, libclang-common-NN-dev for clang-NN. Where none is known
        # the harness is skipped with a message; gcc's libasan (for the
        # PM_SANITIZE build) comes with gcc.
        pkgs="$pkgs valgrind clang"
        rt=""
        if apt-cache show libclang-rt-dev >/dev/null 2>&1; then
            rt=libclang-rt-dev
        else
            ver=$(apt-cache show clang 2>/dev/null | sed -n 's/^Depends:.*clang-\([0-9][0-9]*\).*/\1/p' | head -n 1)
            for cand in "libclang-rt-$ver-dev" "libclang-common-$ver-dev"; do
                if [ -n "$ver" ] && apt-cache show "$cand" >/dev/null 2>&1; then rt=$cand; break; fi
            done
        fi
        if [ -n "$rt" ]; then
            pkgs="$pkgs $rt"
        else
            echo "install-deps.sh: no libFuzzer runtime package known here; the fuzz harness will be skipped" >&2
        fi ;;
    "") ;;
    *) echo "usage: $0 [--tests]" >&2; exit 2 ;;
esac

missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "install-deps.sh: installing:$missing" >&2
if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
# tshark's package asks whether non-root users may capture; the default
# (no) is right for a build machine, so answer nothing.
$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
