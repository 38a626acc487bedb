#!/usr/bin/env bash
# Builds what is needed, starts a node, deploys two examples (hello and the Spring Boot function),
# invokes each cold (boot), cold again (restore from the snapshot) and warm, and prints the timings.
# Usage: scripts/demo.sh [--port 18080]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/node-http.sh"
PORT=18080
[ "${1:-}" = "--port" ] && PORT="$2"
DATA="$(mktemp -d /tmp/thaw-demo-XXXXXX)"
URL="http://127.0.0.1:$PORT"
THAW=("$ROOT/thaw" --url "$URL")

"$ROOT/thaw" up --port "$PORT" --data-dir "$DATA" > "$DATA/node.log" 2>&1 &
NODE=$!
cleanup() { kill "$NODE" 2>/dev/null || true; wait "$NODE" 2>/dev/null || true; rm -rf "$DATA"; }
trap cleanup EXIT
echo "demo: starting a node on $URL (building first if needed)..."
for _ in $(seq 1 600); do
  thaw_http GET "$PORT" /healthz > /dev/null && break
  kill -0 "$NODE" 2>/dev/null || { echo "demo: the node did not start:"; cat "$DATA/node.log"; exit 1; }
  sleep 0.5
done
export THAW_TOKEN="$(cat "$DATA/api-token")"   # the node's API token, created on its first start
thaw_http GET "$PORT" /healthz "$THAW_TOKEN" || true; echo   # without the token: only {"status":"ok"}

"${THAW[@]}" deploy hello --jar "$ROOT/examples/hello/target/thaw-examples-hello.jar" \
  --handler dev.thaw.examples.hello.Hello::handle
"${THAW[@]}" deploy spring-boot --jar "$ROOT/examples/spring-boot/target/thaw-examples-spring-boot.jar" \
  --handler dev.thaw.examples.springboot.QuoteHandler::apply --memory-mb 1024

ms() { sed -n "s/^$1: *\([0-9.]*\) ms.*/\1/p" "$2" | head -1; }
run() { # function payload -> prints "start latency phase"
  local out; out="$(mktemp)"
  "${THAW[@]}" invoke "$1" --data "$2" --verbose > "$out.body" 2> "$out"
  printf '%s %s %s\n' "$(sed -n 's/^start: *//p' "$out")" "$(ms 'client latency' "$out")" \
    "$(ms init "$out")$(ms restore "$out")"
  cat "$out.body" >> "$DATA/answers"; echo >> "$DATA/answers"
  rm -f "$out" "$out.body"
}

printf '\n%-12s %-8s %14s %14s\n' function start "latency ms" "init/restore ms"
for fn in hello spring-boot; do
  if [ "$fn" = hello ]; then payload='{"name":"demo"}'; else payload='{"customer":"demo","lines":[{"sku":"PEN-BLK","quantity":2}]}'; fi
  for step in cold restore warm; do
    [ "$step" = restore ] && "${THAW[@]}" evict "$fn" > /dev/null
    read -r start latency phase < <(run "$fn" "$payload")
    printf '%-12s %-8s %14s %14s\n' "$fn" "$start" "$latency" "${phase:--}"
  done
done
echo; echo "answers:"; cat "$DATA/answers"
