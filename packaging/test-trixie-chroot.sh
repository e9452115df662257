#!/usr/bin/env bash
# test-trixie-chroot.sh: run PacketMancer's full test suite against a real
# Wireshark 4.4 (Debian 13 "trixie") in a debootstrap chroot.
#
#   sudo packaging/test-trixie-chroot.sh DIR [--suite SUITE] [--mirror URL]
#                                            [--worktree] [--fresh]
#
# DIR/root becomes a minimal Debian SUITE (default trixie) made with
# debootstrap, and is kept for fast reruns (--fresh makes it again). The
# repository is copied to DIR/root/src/packetmancer: the committed HEAD by
# default (git archive), the working tree with --worktree. Inside, as root,
# README.md's test command runs (install-deps.sh --tests, cmake, build,
# ctest, as in .ci/run), so the chroot installs its own tshark, Wireshark
# 4.4 development files and build tools from the SUITE's archive. (If
# install-deps.sh fails on a package renamed in SUITE, the same list is
# installed with the new names, with a warning; see run-inside.sh below.)
#
# Why a chroot: the host keeps Debian 12 (Wireshark 4.0); the chroot gives
# a real 4.4 tshark without touching the host's packages. Only /proc is
# mounted into it (the plugin reads /proc/self/cmdline, tshark and apt need
# it); /dev is the static one debootstrap creates, so removing DIR can never
# reach host devices. The mount is undone on exit, whatever happens.
#
# Output: DIR/run-<suite>-<time>.log, timings at the end. Needs root,
# debootstrap and network access to the Debian mirror (default: the one in
# the host's apt sources, else deb.debian.org).
set -euo pipefail

dir=""
suite=trixie
mirror=""
worktree=0
fresh=0
while [ $# -gt 0 ]; do
  case $1 in
    --suite) suite=$2; shift 2 ;;
    --mirror) mirror=$2; shift 2 ;;
    --worktree) worktree=1; shift ;;
    --fresh) fresh=1; shift ;;
    -h|--help) sed -n '2,/^set /p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "test-trixie-chroot.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) [ -z "$dir" ] || { echo "test-trixie-chroot.sh: one DIR only" >&2; exit 2; }
       dir=$1; shift ;;
  esac
done

say() { echo "test-trixie-chroot.sh: $*"; }
die() { echo "test-trixie-chroot.sh: error: $*" >&2; exit 1; }
[ -n "$dir" ] || die "give the folder to build the chroot in (see --help)"
[ "$(id -u)" -eq 0 ] || die "debootstrap and chroot need root"
command -v debootstrap >/dev/null || die "debootstrap is not installed (apt-get install debootstrap)"

repo=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
root="$dir/root"
case $root in /|/root) die "refusing to use $root as the chroot" ;; esac

if [ -z "$mirror" ]; then
  mirror=$( { cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
                  /etc/apt/sources.list.d/*.sources 2>/dev/null || true; } |
    sed -n -e 's/^[[:space:]]*deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\{0,1\}\([^[:space:]]\+\).*/\2/p' \
           -e 's/^[[:space:]]*URIs:[[:space:]]*\([^[:space:]]\+\).*/\1/p' |
    grep -E '/debian/?$' | grep -v -- '-security' | head -n 1 || true)
  mirror=${mirror:-http://deb.debian.org/debian}
fi

log="$dir/run-$suite-$(date +%Y%m%d-%H%M%S).log"
exec > >(tee -a "$log") 2>&1

mounted=""
# shellcheck disable=SC2317 # called by the trap
cleanup() {
  local rc=$?
  if [ -n "$mounted" ]; then
    umount "$mounted" 2>/dev/null || umount -l "$mounted" || say "WARNING: could not unmount $mounted"
  fi
  say "log: $log"
  exit "$rc"
}
trap cleanup EXIT

# Never delete a tree that still has something mounted in it.
if [ "$fresh" -eq 1 ] && [ -d "$root" ]; then
  if grep -q " $root/" /proc/mounts; then die "something is still mounted under $root"; fi
  say "--fresh: removing $root"
  rm -rf --one-file-system "$root"
fi

t0=$(date +%s)
if [ ! -f "$root/.pm-debootstrap-done" ]; then
  say "debootstrap $suite from $mirror into $root (a few minutes)"
  rm -rf --one-file-system "$root"
  debootstrap --variant=minbase --include=ca-certificates,git "$suite" "$root" "$mirror"
  # The security archive gets fixes out first; updates are part of a
  # point release. Both exist for a stable suite only.
  if [ "$suite" != sid ] && [ "$suite" != unstable ]; then
    printf 'deb %s %s main\ndeb %s %s-updates main\ndeb http://deb.debian.org/debian-security %s-security main\n' \
      "$mirror" "$suite" "$mirror" "$suite" "$suite" > "$root/etc/apt/sources.list"
  fi
  # No daemon may start inside the chroot when packages are installed.
  printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"
  chmod 755 "$root/usr/sbin/policy-rc.d"
  touch "$root/.pm-debootstrap-done"
else
  say "reusing the $suite chroot in $root (--fresh to make it again)"
fi
t1=$(date +%s)
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true

# A fresh copy of the sources each run: a stale build folder from an earlier
# run must not hide anything.
rm -rf --one-file-system "$root/src/packetmancer"
mkdir -p "$root/src/packetmancer"
if [ "$worktree" -eq 1 ]; then
  say "copying the working tree of $repo"
  (cd "$repo" && git ls-files -z --cached --others --exclude-standard |
     while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
     tar --null -T - -cf -) | tar -xf - -C "$root/src/packetmancer"
else
  say "copying commit $(git -C "$repo" rev-parse --short HEAD) of $repo"
  git -C "$repo" archive HEAD | tar -xf - -C "$root/src/packetmancer"
fi

mount -t proc proc "$root/proc"
mounted="$root/proc"

# The inner script: README's test command as .ci/run has it. When
# install-deps.sh fails only because a package it names has no candidate in
# this suite (trixie has no wireshark-qt: the Qt GUI is in "wireshark"),
# install the same list with the renamed packages, say so loudly, and go
# on with the rest of the command: the point here is the tests on 4.4.
cat > "$root/src/run-inside.sh" <<'INNER'
#!/bin/bash
set -uo pipefail
cd /src/packetmancer
if ! ./install-deps.sh --tests; then
  echo "test-trixie-chroot.sh: WARNING: README's './install-deps.sh --tests' FAILED on this suite"
  pkgs=$(sed -n -e 's/^pkgs="\([^$]*\)"$/\1/p' -e 's/.*--tests) pkgs="$pkgs \([^"]*\)".*/\1/p' install-deps.sh | tr '\n' ' ')
  subst=""
  for p in $pkgs; do
    if [ -z "$(apt-cache policy "$p" 2>/dev/null | sed -n 's/^ *Candidate: //p' | grep -v '(none)')" ]; then
      case $p in
        wireshark-qt) echo "  $p: no candidate here; using 'wireshark' (the Qt GUI since trixie)"; p=wireshark ;;
        *) echo "  $p: no candidate here and no known replacement; leaving it out"; continue ;;
      esac
    fi
    subst="$subst $p"
  done
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $subst || exit 1
  echo "test-trixie-chroot.sh: continuing with the rest of README's command"
fi
tshark --version | head -n 1
cmake -S . -B build && cmake --build build -j2 && ctest --test-dir build --output-on-failure
INNER
chmod 755 "$root/src/run-inside.sh"

say "running README's test command inside the $suite chroot"
set +e
chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin /src/run-inside.sh
rc=$?
set -e
t2=$(date +%s)
say "debootstrap: $((t1 - t0)) s, install + build + tests: $((t2 - t1)) s, exit status $rc"
exit "$rc"
