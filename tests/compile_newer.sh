#!/usr/bin/env bash
# compile_newer.sh: compile every plugin source against the Wireshark
# development headers of Debian trixie (4.4) and sid (4.6), and against the
# installed headers (4.0 on Debian 12), with -Werror.
#
#   tests/compile_newer.sh [--cache DIR] [--refresh] [--src DIR]
#
# --src DIR compiles the plugin sources of another checkout (default: the
# one this script is in).
#
# Why: the plugin is built and tested against one Wireshark (the installed
# one), but Wireshark changed its plugin API in 4.2/4.4/4.6. Compiling
# against the newer headers catches those breaks without a newer Wireshark
# on the machine. Nothing is installed and the system's apt configuration
# is not touched: a private apt configuration (own sources.list, state and
# cache under the cache folder) downloads the -dev packages, and dpkg -x
# unpacks them into the cache folder.
#
# Exit status: 0 every header set compiled; 1 a header set did not compile
# (or a downloaded set is unusable); 77 (ctest "skipped") a newer header set
# could not be fetched, e.g. no network, and none was cached; 2 usage or
# missing tools.
#
# Cache: --cache DIR, else $PM_HEADER_CACHE, else
# ${XDG_CACHE_HOME:-~/.cache}/packetmancer/wireshark-headers. A cached set
# is reused for 7 days (sid moves; trixie gets point releases); --refresh
# fetches again. When a refresh fails, a stale cached set is still used.
#
# Mirror: $PM_DEBIAN_MIRROR, else the first Debian mirror in the system's
# apt sources, else http://deb.debian.org/debian. $PM_APT_OPTIONS adds apt
# options (-o ...) to the private configuration.
set -uo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cache=${PM_HEADER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/packetmancer/wireshark-headers}
refresh=0
max_age_days=7
# suite:expected major.minor. The expectation guards against a suite moving
# on (sid to 4.8, say) without anyone noticing what is being tested.
suites="trixie:4.4 sid:4.6"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg

while [ $# -gt 0 ]; do
  case $1 in
    --cache) cache=$2; shift 2 ;;
    --refresh) refresh=1; shift ;;
    --src) here=$(cd "$2" && pwd) || exit 2; shift 2 ;;
    -h|--help) sed -n '2,/^set /p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "compile_newer.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

say() { echo "compile_newer.sh: $*" >&2; }
for tool in gcc pkg-config apt-get dpkg dpkg-deb; do
  command -v "$tool" >/dev/null || { say "needs $tool, which is not installed"; exit 2; }
done
glib_cflags=$(pkg-config --cflags glib-2.0) || { say "glib-2.0 development files not found (libglib2.0-dev)"; exit 2; }

mkdir -p "$cache" || { say "cannot create cache folder $cache"; exit 2; }
# apt takes relative Dir:: paths as relative to its own folders.
cache=$(cd "$cache" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/pm-compile.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The Debian mirror the machine already uses (a local mirror may be the only
# one reachable), else deb.debian.org. Security and third-party sources are
# skipped: they do not carry trixie/sid main.
debian_mirror() {
  local uri
  uri=$( { cat /etc/apt/sources.list 2>/dev/null
           cat /etc/apt/sources.list.d/*.list 2>/dev/null
           cat /etc/apt/sources.list.d/*.sources 2>/dev/null; } |
    sed -n -e 's/^[[:space:]]*deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\{0,1\}\([^[:space:]]\+\).*/\2/p' \
           -e 's/^[[:space:]]*URIs:[[:space:]]*\([^[:space:]]\+\).*/\1/p' |
    grep -E '/debian/?$' | grep -v -- '-security' | head -n 1)
  echo "${uri:-http://deb.debian.org/debian}"
}

# Is the cached set for $1 present, and fresh enough to skip the network?
cached() { [ -f "$cache/$1/root/usr/include/wireshark/ws_version.h" ]; }
fresh() {
  cached "$1" && [ "$refresh" -eq 0 ] &&
    [ -n "$(find "$cache/$1/stamp" -mtime -"$max_age_days" 2>/dev/null)" ]
}

# One private apt tree for all suites. apt reads nothing of the system's
# sources, preferences or package state; only /etc/apt/apt.conf.d is kept,
# because a proxy configured there may be the only way out.
apt_private() {
  local a="$cache/apt"
  mkdir -p "$a/sources.list.d" "$a/preferences.d" "$a/lists/partial" "$a/archives/partial"
  : > "$a/status"
  apt_opts=(-q -o "Dir::Etc::sourcelist=$a/sources.list"
            -o "Dir::Etc::sourceparts=$a/sources.list.d"
            -o "Dir::Etc::preferences=$a/preferences"
            -o "Dir::Etc::preferencesparts=$a/preferences.d"
            -o "Dir::State=$a" -o "Dir::State::lists=$a/lists"
            -o "Dir::State::status=$a/status"
            -o "Dir::Cache=$a" -o "Dir::Cache::archives=$a/archives"
            -o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache="
            -o Acquire::Languages=none -o Acquire::IndexTargets::deb::Contents-deb::DefaultEnabled=false
            -o Acquire::Retries=1 -o Acquire::http::Timeout=20 -o Acquire::https::Timeout=20)
  # Extra options for this machine, e.g. for a frozen mirror whose Release
  # files have expired: PM_APT_OPTIONS="-o Acquire::Check-Valid-Until=false".
  # shellcheck disable=SC2206 # word splitting wanted
  apt_opts+=(${PM_APT_OPTIONS:-})
  # As root apt downloads as user _apt, which cannot write into a private
  # folder under /root or a build tree; it would fall back to root with a
  # warning on every file. These folders are ours, so say it up front.
  [ "$(id -u)" -eq 0 ] && apt_opts+=(-o APT::Sandbox::User=root)
  : > "$a/sources.list"
  for s in $suites; do
    echo "deb [signed-by=$keyring] $mirror ${s%%:*} main" >> "$a/sources.list"
  done
}

apt_ready=""   # "", "ok" or "failed": apt-get update runs at most once
fetch() {
  local suite=$1 dl="$work/dl-$1" p got=""
  if [ -z "$apt_ready" ]; then
    if [ ! -r "$keyring" ]; then
      say "$keyring is missing (package debian-archive-keyring); cannot check Debian's signatures"
      apt_ready=failed
    else
      mirror=${PM_DEBIAN_MIRROR:-$(debian_mirror)}
      apt_private
      say "updating a private package list of $(printf '%s' "$suites" | sed 's/:[0-9.]*//g') from $mirror"
      # One suite failing (unreachable, or an expired Release file) must
      # not cost the other: apt applies what it could fetch, and each
      # suite's download below tells whether it is usable.
      apt-get "${apt_opts[@]}" update > "$work/update.log" 2>&1 || true
      apt_ready=ok
    fi
  fi
  [ "$apt_ready" = ok ] || return 1
  mkdir -p "$dl"
  # The header packages moved between releases: wireshark-dev carries the
  # CMake files from 4.4 on, libwiretap-dev may not exist. Take those found.
  for p in libwireshark-dev libwsutil-dev libwiretap-dev wireshark-dev; do
    if (cd "$dl" && apt-get "${apt_opts[@]}" download "$p/$suite") >> "$work/download.log" 2>&1; then
      got="$got $p"
    fi
  done
  case $got in
    *libwireshark-dev*) ;;
    *) say "libwireshark-dev/$suite could not be downloaded; apt said:"
       { grep -E "dists/$suite/|/$suite/InRelease|resolv|connect" "$work/update.log" ||
           tail -n 3 "$work/update.log"; tail -n 2 "$work/download.log"; } | sed 's/^/    /' >&2
       return 1 ;;
  esac
  rm -rf "$cache/$suite.new"
  mkdir -p "$cache/$suite.new/root"
  for deb in "$dl"/*.deb; do
    dpkg -x "$deb" "$cache/$suite.new/root" || { say "cannot unpack $deb"; return 1; }
    # shellcheck disable=SC2016 # dpkg's own ${Field} syntax
    dpkg-deb -W --showformat='${Package} ${Version}\n' "$deb" >> "$cache/$suite.new/stamp"
  done
  rm -rf "${cache:?}/$suite" && mv "$cache/$suite.new" "$cache/$suite"
}

# Prints "major.minor.micro" from a ws_version.h.
ws_version() {
  sed -n 's/^#define WIRESHARK_VERSION_\(MAJOR\|MINOR\|MICRO\) \([0-9]*\).*/\2/p' "$1" | paste -sd.
}

# Same flags as the CMake build (-Wall -Wextra, gnu11, WS_BUILD_DLL for the
# glue), plus -Werror. The Wireshark headers come in with -I, not -isystem
# as CMake passes them: that is stricter, since a clash between our macros
# and Wireshark's (a redefinition) is only reported for non-system headers.
# All three header sets are warning-free this way today; should a future one
# warn about itself, move it to -isystem rather than dropping -Werror.
compile_all() {
  local label=$1 inc=$2 f fails=0 n=0 flags extra
  flags=(-fsyntax-only -std=gnu11 -Wall -Wextra -Werror -Werror=incompatible-pointer-types
         -Werror=implicit-function-declaration
         -I "$here/plugin" -I "$here/plugin/core" -I "$work/gen" -I "$inc")
  for f in $glib_cflags; do
    case $f in -I*) flags+=(-isystem "${f#-I}") ;; *) flags+=("$f") ;; esac
  done
  for f in "$here"/plugin/*.c "$here"/plugin/core/*.c; do
    case $f in */core/*) extra=() ;; *) extra=(-DWS_BUILD_DLL) ;; esac
    n=$((n + 1))
    if ! gcc "${flags[@]}" "${extra[@]}" "$f" 2> "$work/cc.log"; then
      say "FAILED on Wireshark $label: ${f#"$here"/}"
      sed 's/^/    /' "$work/cc.log" >&2
      fails=$((fails + 1))
    fi
  done
  if [ "$fails" -eq 0 ]; then
    echo "Wireshark $label: all $n sources compile with -Werror"
  fi
  return "$fails"
}

# pm_version.h is generated by CMake; only its shape matters here.
mkdir -p "$work/gen"
sed 's/@PM_VERSION@/0.0.0-compile-check/' "$here/plugin/pm_version.h.in" > "$work/gen/pm_version.h"

status=0
missing=""

sys_inc=$(pkg-config --variable=includedir wireshark 2>/dev/null)/wireshark
if [ -f "$sys_inc/ws_version.h" ]; then
  compile_all "$(ws_version "$sys_inc/ws_version.h") (installed)" "$sys_inc" || status=1
else
  say "no installed Wireshark headers (libwireshark-dev); checking the downloaded ones only"
fi

for s in $suites; do
  suite=${s%%:*} want=${s#*:}
  if ! fresh "$suite"; then
    if ! fetch "$suite"; then
      if cached "$suite"; then
        say "using the cached $suite headers from $(date -r "$cache/$suite/stamp" +%F)"
      else
        missing="$missing $suite"; continue
      fi
    fi
  fi
  inc="$cache/$suite/root/usr/include/wireshark"
  ver=$(ws_version "$inc/ws_version.h")
  case $ver in
    "$want".*) ;;
    *) say "$suite now carries Wireshark $ver, not $want: update 'suites' in $0"; status=1; continue ;;
  esac
  compile_all "$ver ($suite: $(cut -d' ' -f1 "$cache/$suite/stamp" | paste -sd' ') $(head -n1 "$cache/$suite/stamp" | cut -d' ' -f2))" "$inc" || status=1
done

if [ "$status" -ne 0 ]; then
  exit 1
fi
if [ -n "$missing" ]; then
  say "SKIPPED: no headers for$missing (not downloadable, see above, and nothing cached in $cache)"
  exit 77
fi
exit 0
