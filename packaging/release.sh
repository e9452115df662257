#!/usr/bin/env bash
# release.sh: build the release artefacts of PacketMancer, checksum them,
# sign the checksums when a GPG key is given, and verify all of it.
#
#   packaging/release.sh [--out DIR] [--worktree] [--force]
#
# Artefacts (in DIR, default build/release/<version>/):
#   packetmancer-<version>.tar.gz       the sources
#   packetmancer_<version>_<arch>.deb   Debian package (cpack)
#   packetmancer-<version>-1.<arch>.rpm RPM package, when rpmbuild exists
#   SHA256SUMS                          sha256sum of the above
#   SHA256SUMS.asc                      detached, armoured GPG signature
#                                       of SHA256SUMS, when PM_GPG_KEY is set
#
# Environment:
#   PM_GPG_KEY=<keyid|fingerprint|email>  sign with this secret key (gpg
#       --local-user). Unset: the checksums are written and verified but not
#       signed, and the script says so.
#   PM_GPG_PASSPHRASE_FILE=<file>  passphrase for that key, for unattended
#       runs (loopback pinentry). Unset: gpg-agent asks or already knows.
#   GNUPGHOME  the usual gpg home, e.g. a temporary one in CI.
#
# By default the release is built from the committed HEAD (git archive),
# not from the working tree: a release must be reproducible from a commit,
# and uncommitted edits must not slip in. --worktree builds the working
# tree instead (tracked and untracked, not ignored, files), for trying the
# script out; such artefacts are not a release.
# The packages are built against the Wireshark installed here: they are for
# this distribution release only (see packaging/README.md).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
out=""
worktree=0
force=0
while [ $# -gt 0 ]; do
  case $1 in
    --out) out=$2; shift 2 ;;
    --worktree) worktree=1; shift ;;
    --force) force=1; shift ;;
    -h|--help) sed -n '2,/^set /p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "release.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

say() { echo "release.sh: $*"; }
die() { echo "release.sh: error: $*" >&2; exit 1; }
for tool in git cmake cpack sha256sum tar gzip; do
  command -v "$tool" >/dev/null || die "$tool is not installed"
done
if [ -n "${PM_GPG_KEY:-}" ]; then
  command -v gpg >/dev/null || die "PM_GPG_KEY is set but gpg is not installed"
  # Fail before building, not after: the key must exist and be able to sign.
  gpg --batch --list-secret-keys "$PM_GPG_KEY" > /dev/null 2>&1 ||
    die "no secret key '$PM_GPG_KEY' in ${GNUPGHOME:-~/.gnupg} (gpg --list-secret-keys)"
fi

cd "$repo"
commit=$(git rev-parse HEAD) || die "$repo is not a git checkout"
work=$(mktemp -d "${TMPDIR:-/tmp}/pm-release.XXXXXX")
trap 'rm -rf "$work"' EXIT

# ---------------------------------------------------------- the sources
# Both modes produce the same tree under packetmancer-src/, which is both
# what gets built and what goes into the tarball (renamed once the version
# is known from CMake).
mkdir -p "$work/src"
if [ "$worktree" -eq 1 ]; then
  say "building the WORKING TREE of $repo (not a release: --worktree)"
  git ls-files -z --cached --others --exclude-standard |
    while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
    tar --null -T - -cf - | tar -xf - -C "$work/src"
  label="worktree of $commit"
else
  if [ -n "$(git status --porcelain --untracked-files=no)" ]; then
    say "note: uncommitted changes in $repo are NOT part of this release"
  fi
  git archive "$commit" | tar -xf - -C "$work/src"
  label="commit $commit"
fi

# ------------------------------------------------------------- building
# Tests are not built or run here: CI runs them on the same commit. The
# packages only need the plugin and the install rules.
say "configuring and building ($label)"
cmake -S "$work/src" -B "$work/build" -DPM_BUILD_TESTS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  > "$work/configure.log" 2>&1 || { cat "$work/configure.log"; die "cmake configure failed"; }
cmake --build "$work/build" -j"$(nproc 2>/dev/null || echo 2)" > "$work/build.log" 2>&1 ||
  { tail -n 40 "$work/build.log"; die "build failed"; }

version=$(sed -n 's/^set(CPACK_PACKAGE_VERSION "\(.*\)")$/\1/p' "$work/build/CPackConfig.cmake")
generators=$(sed -n 's/^set(CPACK_GENERATOR "\(.*\)")$/\1/p' "$work/build/CPackConfig.cmake")
[ -n "$version" ] || die "no CPACK_PACKAGE_VERSION in the generated CPackConfig.cmake"
out=${out:-$repo/build/release/$version}

if [ -d "$out" ] && [ -n "$(ls -A "$out")" ]; then
  [ "$force" -eq 1 ] || die "$out is not empty; remove it or pass --force"
  rm -rf "${out:?}"/*
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)

say "packaging version $version with cpack ($generators)"
(cd "$work/build" && cpack -G "$generators" -B "$work/packages") > "$work/cpack.log" 2>&1 ||
  { cat "$work/cpack.log"; die "cpack failed"; }
case $generators in *RPM*) ;; *) say "note: rpmbuild not found, no .rpm in this release" ;; esac

# The source tarball: sorted names, fixed owner and the commit's time, so
# the same commit gives the same bytes.
src_name="packetmancer-$version"
mv "$work/src" "$work/$src_name"
mtime=$(git log -1 --format=%cI "$commit")
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="$mtime" \
    -C "$work" -cf - "$src_name" | gzip -n -9 > "$out/$src_name.tar.gz"

find "$work/packages" -maxdepth 1 -type f \( -name '*.deb' -o -name '*.rpm' \) -exec cp {} "$out/" \;

# ----------------------------------------------------- sanity of packages
cd "$out"
artefacts=""
for f in *.tar.gz *.deb *.rpm; do
  [ -f "$f" ] && artefacts="$artefacts $f"
done
for f in $artefacts; do
  case $f in
    *.deb) v=$(dpkg-deb -f "$f" Version) || die "$f is not a readable .deb"
           [ "$v" = "$version" ] || die "$f says version $v, not $version" ;;
    *.rpm) if command -v rpm >/dev/null; then
             v=$(rpm -qp --qf '%{VERSION}' "$f" 2>/dev/null) || die "$f is not a readable .rpm"
             [ "$v" = "$version" ] || die "$f says version $v, not $version"
           fi ;;
  esac
done

# ----------------------------------------------------- checksums, signature
# shellcheck disable=SC2086 # one name per line, no spaces in these names
sha256sum $artefacts > SHA256SUMS
if [ -n "${PM_GPG_KEY:-}" ]; then
  gpg_opts=(--batch --yes)
  if [ -n "${PM_GPG_PASSPHRASE_FILE:-}" ]; then
    gpg_opts+=(--pinentry-mode loopback --passphrase-file "$PM_GPG_PASSPHRASE_FILE")
  fi
  gpg "${gpg_opts[@]}" --local-user "$PM_GPG_KEY" --armor --detach-sign \
      --output SHA256SUMS.asc SHA256SUMS || die "gpg could not sign with '$PM_GPG_KEY'"
else
  say "PM_GPG_KEY is not set: SHA256SUMS is NOT signed (set PM_GPG_KEY=<keyid> to sign)"
fi

# ---------------------------------------------------------------- verify
sha256sum --quiet -c SHA256SUMS || die "sha256sum -c SHA256SUMS failed"
say "verified: sha256sum -c SHA256SUMS ($(wc -l < SHA256SUMS) files)"
if [ -n "${PM_GPG_KEY:-}" ]; then
  # A good signature is not enough: it must be by the key asked for.
  want=$(gpg --batch --with-colons --fingerprint "$PM_GPG_KEY" | awk -F: '$1=="fpr"{print $10}')
  status=$(gpg --batch --status-fd 1 --verify SHA256SUMS.asc SHA256SUMS 2>"$work/verify.err") ||
    { cat "$work/verify.err" >&2; die "gpg --verify SHA256SUMS.asc failed"; }
  signer=$(printf '%s\n' "$status" | awk '$2=="VALIDSIG"{print $3; print $NF}')
  match=""
  for f in $signer; do
    printf '%s\n' "$want" | grep -qx "$f" && match=$f
  done
  [ -n "$match" ] || die "SHA256SUMS.asc is signed by $signer, not by $PM_GPG_KEY"
  say "verified: gpg --verify SHA256SUMS.asc SHA256SUMS (key $match)"
fi

say "release $version from $label in $out:"
for f in "$out"/*; do
  printf '  %9s  %s\n' "$(stat -c %s "$f")" "$(basename "$f")"
done
