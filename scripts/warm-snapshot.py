#!/usr/bin/env python3
"""Clones of a warmed snapshot against clones of the snapshot taken after init, side by side.

Usage: scripts/warm-snapshot.py [--port 8700] [--after 20000[,N...]] [--rounds 2] [--seconds 15] [--restores 10]
                                [--functions hello,json-transform] [--restore-mode eager|lazy|reap] [--keep]

Sandboxed nodes of this checkout side by side: "init" with `thaw up --warm-snapshot-after 0` (every clone
restores the snapshot its deploy took after init), and one "warmed-N" with `--warm-snapshot-after N` for
each N of --after. On each, every function is deployed (its snapshot taken by the deploy) and served
max(N) + 200 invocations on one connection: on "warmed-N" its one clone is snapshotted in the
deploy's snapshot's place once it has served N ("SNAPSHOT warmed" in its log), on "init" nothing
happens. Then, per round, in turns per function and node:

- quiet restores: evict, 1.5 s of quiet, one invocation, RESTORES times: the node's restore
  (X-Thaw-Restore-Ms), the client's time to the first response and the handler's first run;
- scripts/clone-warm-up.py FUNCTION --burst 8 --connections 8 --seconds SECONDS: a burst of 8 clones,
  then their first SECONDS and their next SECONDS of closed-loop warm traffic (requests/s, p99, the
  clones' JIT compiler CPU).

Prints the snapshots' sizes, then each node's rows; figures come from one run on one machine, the two
nodes taking turns, so their ratios are what to read.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ORDER = '{"id":"o-1","customer":"Ada","currency":"EUR","lines":[{"sku":"pen","quantity":3,"unitPrice":1.50}]}'
FUNCTIONS = {
    "hello": ("examples/hello/target/thaw-examples-hello.jar", "dev.thaw.examples.hello.Hello::handle", 256,
              '{"name":"Ada"}'),
    "json-transform": ("examples/json-transform/target/thaw-examples-json-transform.jar",
                       "dev.thaw.examples.json.OrderSummarizer::apply", 512, ORDER),
}


def serve(node, function, body, calls):
    """`calls` invocations on one keep-alive connection: one instance serves them all."""
    out = subprocess.run([benchlib.loadgen(), "-p", str(node.port), "-u", "/functions/%s/invoke" % function,
                          "-t", node.token, "-b", body, "-c", "1", "-n", str(calls)],
                         check=True, capture_output=True, text=True).stdout
    total = [line for line in out.splitlines() if line.startswith("total ")][-1]
    if " errors=0" not in total:
        sys.exit("%s: serving before the snapshot failed: %s" % (function, total))


def await_warmed(node, function, after, timeout_s=60):
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        snap = node.describe(function)["snapshot"]
        if snap.get("warmedAfterInvocations"):
            return snap
        time.sleep(0.5)
    log = open(os.path.join(node.data_dir, "functions", function, "function.log")).read()
    sys.exit("%s: no warmed snapshot within %d s of %d invocations; its log's SNAPSHOT lines:\n%s" % (
        function, timeout_s, after, "\n".join(l for l in log.splitlines() if "SNAPSHOT" in l)))


def quiet_restores(node, function, body, n):
    rows = []
    for _ in range(n):
        node.evict(function)
        time.sleep(1.5)
        ms, start, handler_ms, _ = node.invoke(function, body.encode())
        if start == "restore":
            rows.append((float(node.last_headers.get("X-Thaw-Restore-Ms") or "nan"), ms, handler_ms))
    return rows


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=8700)
    p.add_argument("--after", default="20000", help="thresholds of the warmed nodes, comma-separated")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--seconds", type=float, default=15)
    p.add_argument("--restores", type=int, default=10)
    p.add_argument("--functions", default="hello,json-transform")
    p.add_argument("--restore-mode", default="eager", help="every node's (thaw up --restore-mode)")
    p.add_argument("--keep", action="store_true", help="keep the nodes' data directories")
    a = p.parse_args()
    bench = benchlib.ahead_bench()
    benchlib.header("warm-snapshot")
    functions = a.functions.split(",")
    thresholds = [int(n) for n in a.after.split(",")]
    served = max(thresholds) + 200
    base = os.path.join(ROOT, ".thaw", "bench-warm-snapshot")
    nodes = {}
    try:
        variants = [("init", 0)] + [("warmed-%d" % n, n) for n in thresholds]
        for i, (label, after) in enumerate(variants):
            nodes[label] = bench.Node(a.port + i, os.path.join(base, label),
                                      extra=["--warm-snapshot-after", str(after), "--restore-mode", a.restore_mode])
        for label, node in nodes.items():
            for f in functions:
                jar, handler, memory, body = FUNCTIONS[f]
                node.deploy(f, os.path.join(ROOT, jar), handler, max_instances=16, memory_mb=memory,
                            first_payload=body.encode())
                serve(node, f, body, served)
        print("\n## snapshots (%d invocations on one connection after the deploy)" % served)
        for f in functions:
            init = nodes["init"].describe(f)["snapshot"]
            print("%-16s init: %.1f MB (dump %d ms)" % (f, init["sizeBytes"] / 1048576, init["checkpointMs"]))
            for n in thresholds:
                snap = await_warmed(nodes["warmed-%d" % n], f, n)
                print("%-16s warmed-%d: %.1f MB (dump %d ms) after %d invocations" % (
                    f, n, snap["sizeBytes"] / 1048576, snap["checkpointMs"], snap["warmedAfterInvocations"]))
        time.sleep(5)  # the warmed snapshots' uploads
        env = dict(os.environ)
        for rnd in range(1, a.rounds + 1):
            for f in functions:
                body = FUNCTIONS[f][3]
                for label, node in nodes.items():
                    rows = quiet_restores(node, f, body, a.restores)
                    print("\n## round %d, %s on %s: %d quiet restores, medians: restore %.1f ms, client %.1f ms,"
                          " handler's first run %.1f ms" % (rnd, f, label, len(rows),
                                                            statistics.median(r[0] for r in rows),
                                                            statistics.median(r[1] for r in rows),
                                                            statistics.median(r[2] for r in rows)), flush=True)
                    env["THAW_TOKEN"] = node.token
                    out = subprocess.run([os.path.join(ROOT, "scripts", "clone-warm-up.py"), str(node.port), f,
                                          "--burst", "8", "--connections", "8", "--seconds", str(a.seconds),
                                          "--body", body, "--label", label], env=env, capture_output=True, text=True)
                    print("\n".join(l for l in out.stdout.splitlines() if not l.startswith("#")), flush=True)
                    if out.returncode != 0:
                        sys.exit("clone-warm-up.py failed: " + out.stderr[-500:])
    finally:
        for node in nodes.values():
            node.stop()
        if not a.keep:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
