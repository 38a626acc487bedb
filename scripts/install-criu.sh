#!/usr/bin/env bash
# Makes CRIU >= 4.2 available in a project-local prefix (default: .thaw/criu) without
# touching the machine's packages. Debian 12's criu 3.17 fails on recent kernels
# ("Unexpected rt vDSO area bounds") and 4.1 cannot dump processes holding TCP sockets
# on kernels >= 6.16, so we fetch criu and its library closure from Debian's newer suite
# with a private apt configuration, unpack them with dpkg -x, and run criu through the
# unpacked dynamic loader (see docs/DESIGN.md, "CRIU on this machine kind"). Idempotent; verifies with `criu check`.
#
# Usage: scripts/install-criu.sh [--prefix DIR] [--force]
# Prints the path of the criu launcher on its last line.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PREFIX="${THAW_CRIU_PREFIX:-$ROOT/.thaw/criu}"
FORCE=0
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) PREFIX="$2"; shift 2 ;;
    --force) FORCE=1; shift ;;
    *) echo "install-criu: unknown argument '$1'" >&2; exit 2 ;;
  esac
done

MIN_VERSION="4.2"
SUITES=(forky sid)
PACKAGES=(criu libcompel1 libbsd0 libc6 libc-gconv-modules-extra gcc-16-base libgcc-s1 libffi8
  libgmp10 libgnutls30t64 libhogweed6t64 libnettle8t64 libidn2-0 libunistring5 libjansson4 libmd0
  libmnl0 libnet9 libnftables1 libnftnl11 libxtables12 libnl-3-200 libp11-kit0 libprotobuf-c1
  libtasn1-6 libuuid1)
LAUNCHER="$PREFIX/bin/criu"

say() { echo "install-criu: $*" >&2; }

version_ok() {
  local v
  v="$("$LAUNCHER" --version 2>/dev/null | sed -n 's/^Version: *//p' | head -1)" || return 1
  [ -n "$v" ] || return 1
  [ "$(printf '%s\n%s\n' "$MIN_VERSION" "$v" | sort -V | head -1)" = "$MIN_VERSION" ]
}

# CRIU probes the kernel's features (~30-50 ms) on every run unless it finds its cache,
# /run/criu.kdat, which it only writes when /run is a tmpfs (so that a reboot clears it). Where /run
# is a plain directory, as on these machines, every restore paid that probe. criu-kdat runs
# `criu check` once in a private mount namespace with a tmpfs on /run and installs the resulting
# cache; the node runs it at every start, so a cache never outlives the boot it was made on.
write_kdat_helper() {
  cat > "$PREFIX/bin/criu-kdat" <<KDAT
#!/bin/sh
# Refreshes CRIU's kernel-feature cache /run/criu.kdat for the running kernel (see install-criu.sh).
set -e
rm -f /run/criu.kdat.tmp
tmp="\$(mktemp /run/criu.kdat.thaw.XXXXXX)"
unshare --mount --propagation private sh -c 'mount -t tmpfs thaw-kdat /run && "\$0" check >/dev/null 2>&1; cat /run/criu.kdat' "$LAUNCHER" > "\$tmp" || true
if [ -s "\$tmp" ]; then mv -f "\$tmp" /run/criu.kdat; else rm -f "\$tmp"; exit 1; fi
KDAT
  chmod +x "$PREFIX/bin/criu-kdat"
}

# A small library the loader preloads into CRIU (criu/src/main/c/thaw-criu-preload.c): helpers CRIU
# forks end without running every library's destructors, which on these VMs made each sandboxed
# restore wait milliseconds for its user namespace's daemon to exit, and a parked restore launcher
# can start CRIU ahead of its command line. Built here, named after its source's hash; without gcc
# CRIU runs without it (correct, slower: nothing is started ahead).
PRELOAD_SRC="$ROOT/criu/src/main/c/thaw-criu-preload.c"
PRELOAD=""

build_preload() {
  local hash out
  hash="$(sha256sum "$PRELOAD_SRC" | cut -c1-12)"
  out="$PREFIX/lib/thaw-criu-preload-$hash.so"
  if [ ! -f "$out" ]; then
    command -v gcc >/dev/null || { say "gcc not found: CRIU runs without $(basename "$PRELOAD_SRC") (restores are slower)"; return 0; }
    mkdir -p "$PREFIX/lib"
    gcc -O2 -Wall -Wextra -Werror -shared -fPIC -o "$out.tmp" "$PRELOAD_SRC" -ldl
    mv -f "$out.tmp" "$out"
    find "$PREFIX/lib" -maxdepth 1 -name 'thaw-criu-preload-*.so' ! -path "$out" -delete
    say "built $(basename "$out")"
  fi
  PRELOAD="$out"
}

write_launcher() {
  local preload=""
  [ -z "$PRELOAD" ] || preload="--preload \"$PRELOAD\" "
  mkdir -p "$PREFIX/bin"
  cat > "$LAUNCHER" <<LAUNCH
#!/bin/sh
# Runs the project-local CRIU through its own dynamic loader and libraries.
P="$PREFIX/root"
exec "\$P/usr/lib64/ld-linux-x86-64.so.2" --library-path "\$P/usr/lib/x86_64-linux-gnu:\$P/lib/x86_64-linux-gnu" $preload"\$P/usr/sbin/criu" "\$@"
LAUNCH
  chmod +x "$LAUNCHER"
  write_argv
}

# The launcher's command line, one argument a line: the node starts CRIU with it directly, without
# the shell (an exec and ~3.5 ms of every restore's start on this project's VMs).
write_argv() {
  { printf '%s\n' "$PREFIX/root/usr/lib64/ld-linux-x86-64.so.2" --library-path \
      "$PREFIX/root/usr/lib/x86_64-linux-gnu:$PREFIX/root/lib/x86_64-linux-gnu"
    [ -z "$PRELOAD" ] || printf '%s\n' --preload "$PRELOAD"
    printf '%s\n' "$PREFIX/root/usr/sbin/criu"; } > "$LAUNCHER.argv"
}

# Derives a private apt source list from the machine's own Debian entry, with the suite changed.
private_sources() {
  local suite="$1" out="$2" uri keyring
  local src=/etc/apt/sources.list.d/debian.sources
  if [ -f "$src" ]; then
    uri="$(awk '/^URIs:/{print $2; exit}' "$src")"
    keyring="$(awk '/^Signed-By:/{print $2; exit}' "$src")"
  else
    uri="$(awk '$1=="deb" && $0 !~ /security/ {print $2; exit}' /etc/apt/sources.list)"
    keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  fi
  [ -n "$uri" ] || { say "cannot find the machine's Debian package source in /etc/apt"; return 1; }
  printf 'Types: deb\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: %s\n' \
    "$uri" "$suite" "${keyring:-/usr/share/keyrings/debian-archive-keyring.gpg}" > "$out"
}

if [ "$FORCE" = 0 ] && [ -x "$LAUNCHER" ] && version_ok; then
  say "CRIU $("$LAUNCHER" --version | sed -n 's/^Version: *//p') already installed in $PREFIX"
  [ -x "$PREFIX/bin/criu-kdat" ] || write_kdat_helper
  build_preload
  if [ ! -f "$LAUNCHER.argv" ] || ! grep -qxF -- "${PRELOAD:---library-path}" "$LAUNCHER.argv"; then
    write_launcher
  fi
  echo "$LAUNCHER"
  exit 0
fi

command -v apt-get >/dev/null || { say "apt-get not found: cannot fetch CRIU on this machine"; exit 3; }
SCRATCH="$(mktemp -d)"
trap 'rm -rf "$SCRATCH"' EXIT
mkdir -p "$SCRATCH/lists/partial" "$SCRATCH/cache/archives/partial" "$SCRATCH/sources"

fetched=0
for suite in "${SUITES[@]}"; do
  say "fetching the package index of Debian '$suite' into a private apt state"
  private_sources "$suite" "$SCRATCH/sources/thaw.sources"
  APT=(apt-get -q -o "Dir::Etc::sourcelist=/dev/null" -o "Dir::Etc::sourceparts=$SCRATCH/sources"
       -o "Dir::State::Lists=$SCRATCH/lists" -o "Dir::Cache=$SCRATCH/cache"
       -o "Dir::State::status=/dev/null" -o "Debug::NoLocking=1" -o "APT::Sandbox::User=root")
  if ! "${APT[@]}" update >"$SCRATCH/update.log" 2>&1; then
    say "apt update for '$suite' failed:"; tail -5 "$SCRATCH/update.log" >&2; continue
  fi
  candidate="$(apt-cache -o "Dir::Etc::sourcelist=/dev/null" -o "Dir::Etc::sourceparts=$SCRATCH/sources" \
    -o "Dir::State::Lists=$SCRATCH/lists" -o "Dir::Cache=$SCRATCH/cache" -o "Dir::State::status=/dev/null" \
    show criu 2>/dev/null | sed -n 's/^Version: *//p' | sort -V | tail -1)"
  say "Debian '$suite' offers criu ${candidate:-none}"
  case "$candidate" in ''|[0-3].*|4.[01]*) continue ;; esac
  (cd "$SCRATCH/cache/archives" && "${APT[@]}" download "${PACKAGES[@]}" >"$SCRATCH/download.log" 2>&1) || {
    say "download from '$suite' failed:"; tail -5 "$SCRATCH/download.log" >&2; continue; }
  fetched=1
  break
done
[ "$fetched" = 1 ] || { say "could not download CRIU >= $MIN_VERSION; thaw will run without snapshots"; exit 4; }

rm -rf "$PREFIX/root"
mkdir -p "$PREFIX/root"
for deb in "$SCRATCH"/cache/archives/*.deb; do
  dpkg -x "$deb" "$PREFIX/root"
done
say "unpacked $(ls "$SCRATCH"/cache/archives/*.deb | wc -l) packages ($(du -sh "$PREFIX/root" | cut -f1)) into $PREFIX/root"
build_preload
write_launcher
write_kdat_helper
version_ok || { say "the unpacked CRIU does not run: $("$LAUNCHER" --version 2>&1 | head -3)"; exit 5; }
say "installed CRIU $("$LAUNCHER" --version | sed -n 's/^Version: *//p') at $LAUNCHER"
if [ "$(id -u)" = 0 ]; then
  if "$LAUNCHER" check >"$SCRATCH/check.log" 2>&1; then
    say "criu check: $(tail -1 "$SCRATCH/check.log")"
    "$PREFIX/bin/criu-kdat" && say "kernel-feature cache written to /run/criu.kdat"
  else
    say "criu check failed (snapshots will be off):"; tail -5 "$SCRATCH/check.log" >&2
  fi
else
  say "not root: criu check skipped; snapshots need root (or CAP_CHECKPOINT_RESTORE and CAP_SYS_PTRACE)"
fi
echo "$LAUNCHER"
