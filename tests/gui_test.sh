#!/usr/bin/env bash
# gui_test.sh: the real Wireshark GUI with the plugin and the PacketMancer
# profile, under a virtual X server, on captures/demo.pcap. Saves a
# screenshot and fails if Wireshark reports a problem with the plugin or
# exits early.
#
#   tests/gui_test.sh PLUGIN.so OUTPUT.png
#
# Exits 77 (skipped, with the reason) when Xvfb, wireshark-qt or
# ImageMagick's import are missing; .ci/run installs them.
set -euo pipefail

plugin=$1
shot=$2
here=$(cd "$(dirname "$0")/.." && pwd)

for tool in wireshark Xvfb import; do
  if ! command -v "$tool" >/dev/null; then
    echo "SKIP: $tool is not installed (packages wireshark-qt, xvfb, imagemagick)"
    exit 77
  fi
done

work=$(mktemp -d "${TMPDIR:-/tmp}/pm-gui.XXXXXX")
xpid=""
wpid=""
cleanup() {
  pkill -f "$work/demo.pcap" 2>/dev/null || true
  [ -n "$xpid" ] && kill "$xpid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
chmod 755 "$work"
cp "$here/captures/demo.pcap" "$work/"
chmod 644 "$work/demo.pcap"

# A display nobody else uses; -ac because Wireshark runs as another user.
for n in $(seq 90 120); do [ -e "/tmp/.X11-unix/X$n" ] || break; done
Xvfb ":$n" -screen 0 1600x1000x24 -ac -nolisten tcp >"$work/xvfb.log" 2>&1 &
xpid=$!
sleep 2

# A window that fills the screen, with room for the packet details.
mkdir -p "$work/config"
cat >"$work/config/recent_common" <<'RECENT'
gui.geometry_main_x: 0
gui.geometry_main_y: 0
gui.geometry_main_width: 1600
gui.geometry_main_height: 1000
gui.geometry_main_maximized: TRUE
RECENT

# Starts Wireshark as the plugin user sees it: the built plugin, the
# PacketMancer profile, demo.pcap. Sets wpid.
start_wireshark() {
  PM_EXTRA_CONFIG="$work/config" DISPLAY=":$n" XDG_RUNTIME_DIR="$work" \
    "$here/tests/tshark-pm" --plugin "$plugin" \
    --profile "$here/profiles/PacketMancer" --exec wireshark \
    -C PacketMancer -r "$work/demo.pcap" "$@" \
    >>"$work/wireshark.log" 2>&1 &
  wpid=$!
}

# Waits up to a minute for a window whose title matches $1.
wait_window() {
  for _ in $(seq 1 60); do
    if ! kill -0 "$wpid" 2>/dev/null; then
      echo "FAIL: wireshark exited early:"; cat "$work/wireshark.log"; exit 1
    fi
    if DISPLAY=":$n" xwininfo -root -tree 2>/dev/null | grep -q "$1"; then return 0; fi
    sleep 1
  done
  echo "FAIL: no window titled like \"$1\" (a dialog may be in the way):"
  DISPLAY=":$n" xwininfo -root -tree | grep '"' | head -n 20
  cat "$work/wireshark.log"
  exit 1
}

# Wireshark runs under setpriv below the wrapper, so it is found by the
# capture's private path rather than by the wrapper's pid.
stop_wireshark() {
  pkill -f "$work/demo.pcap" 2>/dev/null || true
  wait "$wpid" 2>/dev/null || true
  wpid=""
  sleep 1
}

# 1. The main window. Frame 31 is a retransmission of 10.0.0.1:40002
# (MEDIUM, score 72); -g selects it, so its PacketMancer subtree is in the
# details pane. The main window's title names the file once it is loaded.
start_wireshark -g 31
wait_window "demo.pcap"
sleep 3
# Open the PacketMancer subtree of the selected frame for the picture. Only
# the screenshot depends on this, so a missing xdotool just leaves it closed.
if command -v xdotool >/dev/null; then
  wid=$(DISPLAY=":$n" xdotool search --name "demo.pcap" | head -n 1 || true)
  if [ -n "$wid" ]; then
    DISPLAY=":$n" xdotool windowsize "$wid" 1600 1000 windowmove "$wid" 0 0 || true
    sleep 2
    # Click the first line of the details pane (just below the packet
    # list, about 55% down), then End (the last top-level line, which is
    # PacketMancer) and Shift+Right (expand its subtrees).
    read -r y < <(DISPLAY=":$n" xwininfo -id "$wid" | awk '/Height:/ {print int($2 * 0.55)}')
    DISPLAY=":$n" xdotool mousemove --window "$wid" 120 "$y" click 1 sleep 0.5 key End sleep 0.5 key shift+Right || true
  fi
fi
sleep 2
mkdir -p "$(dirname "$shot")"
import -display ":$n" -window root "$shot"
echo "screenshot: $shot"
stop_wireshark

# 2. The stats tree, from the Statistics menu as a user opens it: the
# plugins' trees come last in that menu (Up from the top wraps to the last,
# PacketMancer, after F5 and the IP statistics); its submenu has one entry.
# The dialog is titled after it.
start_wireshark
wait_window "demo.pcap"
sleep 3
if ! command -v xdotool >/dev/null; then
  echo "SKIP: xdotool is not installed, the Statistics menu was not tried"
  echo "1 passed, 0 failed, 1 skipped"
  exit 0
fi
wid=$(DISPLAY=":$n" xdotool search --name "demo.pcap" | head -n 1)
DISPLAY=":$n" xdotool windowsize "$wid" 1600 1000 windowmove "$wid" 0 0 windowfocus --sync "$wid" \
  key alt+s sleep 1 key Up sleep 0.5 key Right sleep 0.5 key Return || true
wait_window "TCP health"
sleep 3
import -display ":$n" -window root "${shot%.png}-tree.png"
echo "screenshot: ${shot%.png}-tree.png"
stop_wireshark

if grep -Ei "packetmancer|plugin" "$work/wireshark.log" >/dev/null; then
  echo "FAIL: Wireshark said something about the plugin:"
  grep -Ei "packetmancer|plugin" "$work/wireshark.log"
  exit 1
fi
echo "2 passed, 0 failed"
