#!/usr/bin/env bash
# Makes the node's AOT cache, .thaw/lib/thaw-cli.aot, from a training run of a node. It is a JDK AOT
# cache (JEP 483, 514, 515): the classes the node loaded and linked, and the profiles of its hot
# methods. ./thaw starts the commands that run a node from it: the node is up sooner and its request
# path compiles sooner (docs/BENCHMARKS.md, "The node's AOT cache"). The other commands start from a
# smaller cache, .thaw/lib/thaw-client.aot, made from one `thaw describe` against the training node.
#
# ./thaw up runs this when the JAR in .thaw/lib has no cache yet, that is once per build
# (THAW_AOT=off skips it). It takes about 50 s: a node on a free port with a data directory of its
# own under .thaw, hello deployed and called 3,000 times by `thaw bench run`
# (scripts/aot/node-training.yaml, about one call in a hundred a restore), then stopped. The JVM
# writes the cache as it exits. Usage: scripts/node-aot-cache.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/java-env.sh"
source "$ROOT/scripts/node-http.sh"
JAR="$THAW_CLI_JAR"
OUT="$THAW_AOT_CACHE"
HELLO="$ROOT/examples/hello/target/thaw-examples-hello.jar"
for needed in "$JAR" "$THAW_RUNTIME_JAR" "$HELLO"; do
  [ -f "$needed" ] || { echo "node-aot-cache: $needed is missing: build first (./thaw --help builds)" >&2; exit 1; }
done

started=$SECONDS
WORK="$(mktemp -d "$ROOT/.thaw/aot-training.XXXXXX")"
node_pid=""
cleanup() {
  if [ -n "$node_pid" ] && kill -0 "$node_pid" 2>/dev/null; then
    kill -TERM "$node_pid" 2>/dev/null || true
    wait "$node_pid" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM # through the EXIT trap: the training node stops and its directory goes
fail() {
  echo "node-aot-cache: $1; the last lines of $2:" >&2
  tail -n 20 "$2" >&2
  exit 1
}
free_port() {
  local p
  for p in $(seq 18181 18380); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return 0
    fi
  done
  return 1
}

port="$(free_port)" || { echo "node-aot-cache: no free port in 18181-18380" >&2; exit 1; }
# the node as ./thaw starts it, plus the flag that records the training run
"$JAVA_HOME/bin/java" -XX:AOTCacheOutput="$WORK/thaw-cli.aot" "${THAW_CLI_JAVA_OPTIONS[@]}" -jar "$JAR" \
  up --port "$port" --data-dir "$WORK/data" > "$WORK/node.log" 2>&1 &
node_pid=$!
answered=""
for _ in $(seq 1 240); do
  kill -0 "$node_pid" 2>/dev/null || fail "the training node exited before it answered" "$WORK/node.log"
  if [ -f "$WORK/data/api-token" ] && thaw_http GET "$port" /healthz "$(cat "$WORK/data/api-token")" > /dev/null; then
    answered=yes
    break
  fi
  sleep 0.5
done
[ -n "$answered" ] || fail "the training node did not answer /healthz within 2 minutes" "$WORK/node.log"
echo "node-aot-cache: a training node is up on port $port after $(( SECONDS - started )) s; deploying hello and calling it 3,000 times..." >&2
"$JAVA_HOME/bin/java" "${THAW_CLI_JAVA_OPTIONS[@]}" -jar "$JAR" bench run --url "http://127.0.0.1:$port" \
  --token-file "$WORK/data/api-token" --output "$WORK/results" --repo "$ROOT" "$ROOT/scripts/aot/node-training.yaml" \
  > "$WORK/bench.log" 2>&1 || fail "the training calls failed" "$WORK/bench.log"
# the client's cache, from one short command against the training node (the CLI's commands share
# its start: picocli, the HTTP client, Jackson reading the node's answer)
"$JAVA_HOME/bin/java" -XX:AOTCacheOutput="$WORK/thaw-client.aot" "${THAW_CLI_JAVA_OPTIONS[@]}" -jar "$JAR" \
  describe hello --url "http://127.0.0.1:$port" --token-file "$WORK/data/api-token" > "$WORK/client.log" 2>&1 \
  || rm -f "$WORK/thaw-client.aot"
if [ ! -s "$WORK/thaw-client.aot" ]; then # not fatal: the other commands then start without a cache
  echo "node-aot-cache: the client's training command made no cache; the last lines of its output:" >&2
  tail -n 20 "$WORK/client.log" >&2
fi
echo "node-aot-cache: stopping the training node after $(( SECONDS - started )) s; its JVM writes the cache as it exits..." >&2
kill -TERM "$node_pid"
wait "$node_pid" || true # a JVM stopped by SIGTERM exits with 143, after it wrote the cache
node_pid=""
[ -s "$WORK/thaw-cli.aot" ] || fail "the training node wrote no cache" "$WORK/node.log"
client=""
if [ -s "$WORK/thaw-client.aot" ]; then
  mv -f "$WORK/thaw-client.aot" "$THAW_CLIENT_AOT_CACHE"
  client="; the other commands' $THAW_CLIENT_AOT_CACHE ($(( $(stat -c %s "$THAW_CLIENT_AOT_CACHE") >> 20 )) MB)"
fi
mv -f "$WORK/thaw-cli.aot" "$OUT"
echo "node-aot-cache: $OUT ($(( $(stat -c %s "$OUT") >> 20 )) MB) made in $(( SECONDS - started )) s$client" >&2
