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
  [ -n "$wpid" ] && kill "$wpid" 2>/dev/null || true
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

# Frame 31 is a retransmission of 10.0.0.1:40002 (MEDIUM, score 72); -g
# selects it, so its PacketMancer subtree is in the details pane.
PM_EXTRA_CONFIG="$work/config" DISPLAY=":$n" XDG_RUNTIME_DIR="$work" \
  "$here/tests/tshark-pm" --plugin "$plugin" \
  --profile "$here/profiles/PacketMancer" --exec wireshark \
  -C PacketMancer -r "$work/demo.pcap" -g 31 \
  >"$work/wireshark.log" 2>&1 &
wpid=$!

# Wait for the main window to show the capture (its title names the file).
for _ in $(seq 1 60); do
  if ! kill -0 "$wpid" 2>/dev/null; then
    echo "FAIL: wireshark exited early:"; cat "$work/wireshark.log"; exit 1
  fi
  if DISPLAY=":$n" xwininfo -root -tree 2>/dev/null | grep -q "demo.pcap"; then break; fi
  sleep 1
done
sleep 3
# Open the PacketMancer subtree of the selected frame for the picture: a
# click on its line in the details pane, then "Expand Subtrees". Only the
# screenshot depends on this, so a missing xdotool just leaves it closed.
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

if grep -Ei "packetmancer|plugin" "$work/wireshark.log" | grep -Eiv "^\s*$" >/dev/null; then
  echo "FAIL: Wireshark said something about the plugin:"
  grep -Ei "packetmancer|plugin" "$work/wireshark.log"
  exit 1
fi
if ! DISPLAY=":$n" xwininfo -root -tree 2>/dev/null | grep -q "demo.pcap"; then
  echo "FAIL: no Wireshark window showing demo.pcap"; cat "$work/wireshark.log"; exit 1
fi
echo "1 passed, 0 failed"
