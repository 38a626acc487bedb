#!/usr/bin/env bash
# A node killed with SIGKILL while restores run must leave nothing running: not CRIU, not the tasks
# it was restoring. Each round starts a node on a data directory of its own (the start sweeps what the
# last round's node left), evicts sleeper, sends four Event invocations (four restores) and kills the
# node 0-390 ms later; 3 s after, it counts CRIU processes whose parent is gone and tasks still in the
# node's cgroups. Needs root and the project built (./thaw builds it).
#
# Usage: scripts/kill-mid-restore.sh [ROUNDS] [PORT]        (default 20 rounds on port 8601)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/node-http.sh"
ROUNDS=${1:-20}
PORT=${2:-8601}
DATA=$(mktemp -d /tmp/thaw-kill-mid-restore-XXXXXX)
cd "$ROOT"
export THAW_URL=http://127.0.0.1:$PORT
start_node() {
  (setsid nohup ./thaw up --port "$PORT" --data-dir "$DATA/data" > "$DATA/node.log" 2>&1 < /dev/null &)
  for _ in $(seq 1 300); do thaw_http GET "$PORT" /healthz > /dev/null && return 0; sleep 0.2; done
  echo "the node did not start: $DATA/node.log" >&2; exit 1
}
cgroup_keys() { # the nodes' cgroup directories (hybrid hierarchy, or v2 alone)
  for d in /sys/fs/cgroup/unified/thaw /sys/fs/cgroup/thaw; do if [ -d "$d" ]; then ls "$d"; fi; done | sort -u
}
left_over() { # CRIU processes of this node reparented to init, and tasks in this node's cgroups
  local criu tasks
  criu=$({ pgrep -f "criu restore .*$DATA/data" || true; } | while read -r p; do
    awk '$1 == "PPid:" && $2 == 1' /proc/"$p"/status 2>/dev/null; done | wc -l)
  tasks=$({ cat /sys/fs/cgroup/*/thaw/"$KEY"/*/cgroup.procs /sys/fs/cgroup/thaw/"$KEY"/*/cgroup.procs 2>/dev/null \
    || true; } | sort -u | wc -l)
  echo "$criu $tasks"
}
finish() { # what a killed node left is swept by the next start: one more, stopped at once
  pkill -KILL -f "up --port $PORT --data-dir $DATA/data" || true
  if [ -d "$DATA/data" ]; then
    start_node
    pkill -TERM -f "up --port $PORT --data-dir $DATA/data" || true
    while pgrep -f "up --port $PORT --data-dir $DATA/data" > /dev/null; do sleep 0.5; done
  fi
  rm -rf "$DATA"
}
trap finish EXIT
KEYS_BEFORE=$(cgroup_keys)
KEY=none
bad=0
for i in $(seq 1 "$ROUNDS"); do
  start_node
  export THAW_TOKEN=$(cat "$DATA/data/api-token")
  if [ "$i" = 1 ]; then
    ./thaw deploy sleeper --jar testfunctions/target/thaw-testfunctions.jar \
      --handler dev.thaw.testfunctions.Sleeper::handle --max-instances 4 > /dev/null
    ./thaw invoke sleeper --data '{"ms":1}' > /dev/null
    KEY=$(comm -13 <(echo "$KEYS_BEFORE") <(cgroup_keys) | head -1)
    [ -n "$KEY" ] || { echo "cannot tell this node's cgroups (is the sandbox on?)" >&2; exit 1; }
  fi
  ./thaw evict sleeper > /dev/null
  for _ in 1 2 3 4; do
    thaw_http POST "$PORT" /functions/sleeper/invoke "$THAW_TOKEN" '{"ms":1500}' "X-Amz-Invocation-Type: Event" > /dev/null &
  done
  delay=0.$((RANDOM % 4))$((RANDOM % 10))
  sleep "$delay"
  pkill -KILL -f "up --port $PORT --data-dir $DATA/data"
  wait
  sleep 3
  read -r criu tasks < <(left_over)
  echo "round $i: killed ${delay}s after the restores began; CRIU left: $criu; tasks left in the node's cgroups: $tasks"
  if [ "$criu" != 0 ] || [ "$tasks" != 0 ]; then bad=$((bad + 1)); fi
done
echo "rounds that left something running: $bad of $ROUNDS"
