#!/usr/bin/env bash
# test_install.sh: build the .deb, install it on this machine with dpkg,
# use it from the installed files, remove it, and check nothing is left.
#
#   tests/test_install.sh --build-dir DIR [--cpack PATH] [--version X.Y.Z]
#                         [--wireshark-version MAJ.MIN]
#
# Registered as the ctest test install_deb (packaging/Packaging.cmake). It
# changes the machine, so it is careful about it:
#   - it needs root and dpkg, and skips (exit 77) without them;
#   - it skips when a packetmancer package is already installed, or a
#     packetmancer.so not from a package sits in Wireshark's global plugin
#     folder (e.g. from `cmake --install`): it will not replace or remove
#     someone else's copy;
#   - whatever happens (failure, Ctrl-C), the trap purges the package it
#     installed and deletes its temporary files, so the machine ends as it
#     started.
# Run from the source folder (captures/demo.pcap is read from there).
# Exit status: 0 passed, 1 failed, 77 skipped, 2 usage.
set -uo pipefail

build=""
cpack=cpack
version=""
wsver=""
while [ $# -gt 0 ]; do
  case $1 in
    --build-dir) build=$2; shift 2 ;;
    --cpack) cpack=$2; shift 2 ;;
    --version) version=$2; shift 2 ;;
    --wireshark-version) wsver=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set /p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "test_install.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

say() { echo "test_install.sh: $*"; }
skip() { say "SKIPPED: $*"; exit 77; }
failures=0
fail() { say "FAIL: $*"; failures=$((failures + 1)); }
ok() { say "ok: $*"; }

if [ -z "$build" ] || [ ! -f "$build/CPackConfig.cmake" ]; then
  say "--build-dir must name a configured build folder (no CPackConfig.cmake in '${build}')"; exit 2
fi
if [ -z "$version" ]; then
  version=$(sed -n 's/^set(CPACK_PACKAGE_VERSION "\(.*\)")$/\1/p' "$build/CPackConfig.cmake")
fi
demo=captures/demo.pcap
[ -r "$demo" ] || { say "run me from the source folder: $demo not found"; exit 2; }

# ------------------------------------------------------------ may we run?
[ "$(id -u)" -eq 0 ] || skip "installing a package needs root (this is uid $(id -u))"
for tool in dpkg dpkg-deb dpkg-query tshark; do
  command -v "$tool" >/dev/null || skip "$tool is not installed"
done
command -v "$cpack" >/dev/null || { say "cpack not found ($cpack)"; exit 2; }

state=$(dpkg-query -W -f='${db:Status-Status}' packetmancer 2>/dev/null)
if [ -n "$state" ] && [ "$state" != "not-installed" ]; then
  skip "a packetmancer package is already on this machine (dpkg state: $state, version" \
       "$(dpkg-query -W -f='${Version}' packetmancer)); this test will not replace or remove it"
fi

global=$(tshark -G folders 2>/dev/null | sed -n 's/^Global Plugins:[[:space:]]*//p')
[ -n "$global" ] || { say "cannot read the global plugin folder from tshark -G folders"; exit 1; }
if [ -n "$wsver" ] && [ "${global##*/}" != "$wsver" ]; then
  say "tshark's plugin folder $global is not for Wireshark $wsver, which the plugin was built for"
  exit 1
fi
if [ -e "$global/epan/packetmancer.so" ]; then
  skip "$global/epan/packetmancer.so exists and belongs to no package (cmake --install?);" \
       "remove it to run this test"
fi

# ---------------------------------------------------- cleanup, come what may
tmp=$(mktemp -d "${TMPDIR:-/tmp}/pm-install.XXXXXX")
installed=0
# shellcheck disable=SC2317 # called by the trap
cleanup() {
  local rc=$?
  if [ "$installed" -eq 1 ]; then
    state=$(dpkg-query -W -f='${db:Status-Status}' packetmancer 2>/dev/null)
    if [ -n "$state" ] && [ "$state" != "not-installed" ]; then
      say "cleanup: purging the packetmancer package this test installed (state: $state)"
      dpkg -P packetmancer > "$tmp/purge.log" 2>&1 || { cat "$tmp/purge.log"; rc=1; }
    fi
  fi
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT
trap 'say "interrupted"; exit 1' INT TERM HUP

# ---------------------------------------------------------------- build
arch=$(dpkg --print-architecture)
deb="$tmp/packages/packetmancer_${version}_${arch}.deb"
t0=$(date +%s)
if ! "$cpack" --config "$build/CPackConfig.cmake" -G DEB -B "$tmp/packages" > "$tmp/cpack.log" 2>&1; then
  cat "$tmp/cpack.log"; say "FAIL: cpack could not build the .deb"; exit 1
fi
[ -f "$deb" ] || { ls -l "$tmp/packages"; say "FAIL: cpack made no $(basename "$deb")"; exit 1; }
ok "built $(basename "$deb") ($(stat -c %s "$deb") bytes) in $(( $(date +%s) - t0 )) s"

# The dependency must pin the libwireshark package the installed tshark
# uses: same package, this major.minor only.
depends=$(dpkg-deb -f "$deb" Depends)
libws=$(ldd "$(command -v tshark)" | sed -n 's/^[[:space:]]*libwireshark\.so\.[0-9]* => \([^ ]*\).*/\1/p')
libpkg=$(dpkg-query -S "$(readlink -f "$libws")" 2>/dev/null | cut -d: -f1)
if [ -n "$libpkg" ] && printf '%s' "$depends" | grep -q "$libpkg (>= [0-9.]*), $libpkg (<< [0-9.]*~)"; then
  ok "Depends pins $libpkg: $(printf '%s' "$depends" | grep -o "$libpkg (>= [^)]*), $libpkg (<< [^)]*)")"
else
  fail "Depends does not pin the libwireshark package (${libpkg:-unknown}): $depends"
fi

# What the package will own, and which of those paths exist beforehand
# (shared folders such as /usr/share/doc do; they must survive removal).
dpkg-deb -c "$deb" | awk '{print $NF}' | sed 's|^\./|/|; s|/$||' | grep -v '^$' > "$tmp/contents"
while read -r p; do
  [ -e "$p" ] && echo "$p"
done < "$tmp/contents" > "$tmp/existed"

# -------------------------------------------------------------- install
installed=1
if ! dpkg -i "$deb" > "$tmp/dpkg-i.log" 2>&1; then
  cat "$tmp/dpkg-i.log"; say "FAIL: dpkg -i did not install the package"; exit 1
fi
ok "dpkg -i installed $(dpkg-query -W -f='${Package} ${Version}' packetmancer)"
dpkg -L packetmancer | grep -v '^/\.$' > "$tmp/owned"

so="$global/epan/packetmancer.so"
if grep -qx "$so" "$tmp/owned" && [ -f "$so" ]; then
  ok "plugin installed as $so"
else
  fail "the package did not put the plugin in the global plugin folder ($so)"
fi
for d in README.md LICENSE; do
  [ -f "/usr/share/doc/packetmancer/$d" ] || fail "/usr/share/doc/packetmancer/$d is missing"
done

# tshark as root scans the global folder (and only it), so this is the
# installed copy. HOME/XDG_CONFIG_HOME point at an empty folder so root's
# own Wireshark preferences cannot change the outcome.
mkdir -p "$tmp/home"
ts() { env HOME="$tmp/home" XDG_CONFIG_HOME="$tmp/home/.config" tshark "$@"; }
line=$(ts -G plugins 2>/dev/null | grep '^packetmancer\.so')
listed_ver=$(printf '%s' "$line" | cut -f2)
listed_path=$(printf '%s' "$line" | cut -f4)
if [ "$listed_ver" = "$version" ] && [ "$listed_path" = "$so" ]; then
  ok "tshark -G plugins lists packetmancer.so $listed_ver from $listed_path"
else
  fail "tshark -G plugins: expected packetmancer.so $version from $so, got '${line:-nothing}'"
fi

if ts -q -r "$demo" -z packetmancer,report > "$tmp/report.txt" 2> "$tmp/report.err" &&
   grep -q "^Found 13 distinct TCP conversations\.$" "$tmp/report.txt"; then
  ok "tshark -z packetmancer,report from the installed plugin: $(grep '^Found' "$tmp/report.txt")"
else
  sed 's/^/    /' "$tmp/report.txt" "$tmp/report.err" | head -n 30
  fail "tshark -q -r $demo -z packetmancer,report did not report 13 conversations"
fi

# Parts other issues add; checked when the package ships them.
# The global profile: tshark -C finds it (it refuses unknown profiles), and
# its preferences (packetmancer.analyze: always) make the per-packet fields
# work without any -o.
if grep -q "/profiles/PacketMancer/preferences$" "$tmp/owned"; then
  n=$(ts -C PacketMancer -r "$demo" -Y 'packetmancer.severity == 3' -T fields -e frame.number 2>/dev/null | wc -l)
  if [ "$n" -gt 0 ]; then
    ok "global profile: tshark -C PacketMancer gives per-packet fields ($n HIGH packets)"
  else
    fail "tshark -C PacketMancer did not give per-packet fields from the installed profile"
  fi
fi
if grep -qx /usr/bin/packetmancer "$tmp/owned"; then
  if out=$(/usr/bin/packetmancer --version 2>&1) && printf '%s' "$out" | grep -qF "$version"; then
    ok "packetmancer --version: $out"
  else
    fail "packetmancer --version does not say $version: $out"
  fi
fi
if grep -q '^/usr/share/man/man1/packetmancer\.1' "$tmp/owned"; then
  ok "man page installed: $(grep '^/usr/share/man/man1/packetmancer\.1' "$tmp/owned")"
fi

# --------------------------------------------------------------- remove
if ! dpkg -r packetmancer > "$tmp/dpkg-r.log" 2>&1; then
  cat "$tmp/dpkg-r.log"; fail "dpkg -r packetmancer failed"
fi
state=$(dpkg-query -W -f='${db:Status-Status}' packetmancer 2>/dev/null)
if [ -z "$state" ] || [ "$state" = "not-installed" ]; then
  ok "dpkg -r removed the package (dpkg state: ${state:-unknown to dpkg})"
  installed=0
else
  fail "after dpkg -r the package is still '$state' (config files left?)"
fi

left=0
while read -r p; do
  if grep -qxF "$p" "$tmp/existed"; then
    [ -e "$p" ] || { fail "$p existed before the test and is gone"; left=1; }
  elif [ -e "$p" ] || [ -L "$p" ]; then
    fail "left behind: $p"; left=1
  fi
done < <(sort -u "$tmp/owned" "$tmp/contents")
[ "$left" -eq 0 ] && ok "nothing left of the $(wc -l < "$tmp/owned") paths the package owned"
if ts -G plugins 2>/dev/null | grep -q '^packetmancer\.so'; then
  fail "tshark still lists packetmancer.so after removal"
fi

if [ "$failures" -ne 0 ]; then
  say "$failures check(s) failed"; exit 1
fi
say "passed"
exit 0
