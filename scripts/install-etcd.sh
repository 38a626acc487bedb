#!/usr/bin/env bash
# Makes etcd 3.4 available in a project-local prefix (default: .thaw/etcd) without touching the
# machine's packages: the cluster module's tests and `LocalEtcd` start etcd processes of their own
# from .thaw/etcd/bin/etcd. Debian 12 ships etcd 3.4.23 (etcd-server, with etcdctl in etcd-client),
# a Go binary that needs nothing but libc, so `apt-get download` + `dpkg -x` is the whole install;
# nothing is registered with dpkg and no service is started. When the machine's package lists are
# missing (a fresh CI machine), the index of the machine's own Debian suite is fetched into a
# private apt state in a scratch directory, as install-criu.sh does, instead of `apt-get update`.
# Idempotent (a no-op when a working etcd 3.4+ is there); verifies with `etcd --version`.
#
# Usage: scripts/install-etcd.sh [--prefix DIR] [--force]
# Prints the path of the etcd binary on its last line.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PREFIX="${THAW_ETCD_PREFIX:-$ROOT/.thaw/etcd}"
FORCE=0
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) PREFIX="$2"; shift 2 ;;
    --force) FORCE=1; shift ;;
    *) echo "install-etcd: unknown argument '$1'" >&2; exit 2 ;;
  esac
done

MIN_VERSION="3.4"
PACKAGES=(etcd-server etcd-client)
ETCD="$PREFIX/bin/etcd"

say() { echo "install-etcd: $*" >&2; }

etcd_version() { "$ETCD" --version 2>/dev/null | sed -n 's/^etcd Version: *//p' | head -1; }

version_ok() {
  local v
  [ -x "$ETCD" ] || return 1
  v="$(etcd_version)" || return 1
  [ -n "$v" ] || return 1
  [ "$(printf '%s\n%s\n' "$MIN_VERSION" "$v" | sort -V | head -1)" = "$MIN_VERSION" ]
}

# Links bin/etcd and bin/etcdctl to the unpacked binaries (relative links: the prefix can move).
write_links() {
  mkdir -p "$PREFIX/bin"
  ln -sfn ../root/usr/bin/etcd "$PREFIX/bin/etcd"
  if [ -x "$PREFIX/root/usr/bin/etcdctl" ]; then
    ln -sfn ../root/usr/bin/etcdctl "$PREFIX/bin/etcdctl"
  fi
}

# A private apt source list for the machine's own Debian suite, derived from its /etc/apt entry.
private_sources() {
  local out="$1" uri suite keyring
  local src=/etc/apt/sources.list.d/debian.sources
  if [ -f "$src" ]; then
    uri="$(awk '/^URIs:/{print $2; exit}' "$src")"
    suite="$(awk '/^Suites:/{print $2; exit}' "$src")"
    keyring="$(awk '/^Signed-By:/{print $2; exit}' "$src")"
  else
    uri="$(awk '$1=="deb" && $0 !~ /security/ {print $2; exit}' /etc/apt/sources.list)"
    suite="$(awk '$1=="deb" && $0 !~ /security/ {print $3; exit}' /etc/apt/sources.list)"
    keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  fi
  [ -n "$uri" ] && [ -n "$suite" ] || { say "cannot find the machine's Debian package source in /etc/apt"; return 1; }
  printf 'Types: deb\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: %s\n' \
    "$uri" "$suite" "${keyring:-/usr/share/keyrings/debian-archive-keyring.gpg}" > "$out"
}

if [ "$FORCE" = 0 ] && version_ok; then
  say "etcd $(etcd_version) already installed in $PREFIX"
  [ -e "$PREFIX/bin/etcdctl" ] || write_links
  echo "$ETCD"
  exit 0
fi

command -v apt-get >/dev/null || { say "apt-get not found: cannot fetch etcd on this machine"; exit 3; }
command -v dpkg >/dev/null || { say "dpkg not found: cannot unpack etcd on this machine"; exit 3; }
SCRATCH="$(mktemp -d)"
trap 'rm -rf "$SCRATCH"' EXIT
mkdir -p "$SCRATCH/debs"

# First with the machine's own package lists (no network beyond the two packages); when they are
# missing or stale, with a freshly fetched private index of the same suite.
fetched=0
if (cd "$SCRATCH/debs" && apt-get -q download "${PACKAGES[@]}" >"$SCRATCH/download.log" 2>&1); then
  fetched=1
else
  say "apt-get download with the machine's package lists failed ($(tail -1 "$SCRATCH/download.log")); fetching a private package index"
  rm -f "$SCRATCH"/debs/*.deb
  mkdir -p "$SCRATCH/lists/partial" "$SCRATCH/cache/archives/partial" "$SCRATCH/sources"
  private_sources "$SCRATCH/sources/thaw.sources"
  APT=(apt-get -q -o "Dir::Etc::sourcelist=/dev/null" -o "Dir::Etc::sourceparts=$SCRATCH/sources"
       -o "Dir::State::Lists=$SCRATCH/lists" -o "Dir::Cache=$SCRATCH/cache"
       -o "Dir::State::status=/dev/null" -o "Debug::NoLocking=1" -o "APT::Sandbox::User=root")
  if ! "${APT[@]}" update >"$SCRATCH/update.log" 2>&1; then
    say "apt update failed:"; tail -5 "$SCRATCH/update.log" >&2
  elif (cd "$SCRATCH/debs" && "${APT[@]}" download "${PACKAGES[@]}" >"$SCRATCH/download.log" 2>&1); then
    fetched=1
  else
    say "apt-get download failed:"; tail -5 "$SCRATCH/download.log" >&2
  fi
fi
[ "$fetched" = 1 ] || { say "could not download ${PACKAGES[*]}; the cluster module's tests need etcd"; exit 4; }

rm -rf "$PREFIX/root"
mkdir -p "$PREFIX/root"
for deb in "$SCRATCH"/debs/*.deb; do
  dpkg -x "$deb" "$PREFIX/root"
done
# only the binaries are used: the service unit, init script and docs are dropped
rm -rf "$PREFIX/root/etc" "$PREFIX/root/lib" "$PREFIX/root/usr/share"
say "unpacked $(ls "$SCRATCH"/debs/*.deb | wc -l) packages ($(du -sh "$PREFIX/root" | cut -f1)) into $PREFIX/root"
write_links
version_ok || { say "the unpacked etcd does not run or is older than $MIN_VERSION: $("$ETCD" --version 2>&1 | head -3)"; exit 5; }
say "installed etcd $(etcd_version) at $ETCD"
echo "$ETCD"
