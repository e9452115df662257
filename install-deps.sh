#!/bin/sh
# install-deps.sh: install what PacketMancer needs to build, on Debian 12+
# or Ubuntu 22.04+; with --tests, also what the tests need (the Wireshark
# GUI under a virtual X server for the GUI test). Installs nothing when
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
        pkgs="$pkgs $gui xvfb xauth x11-utils xdotool imagemagick" ;;
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
