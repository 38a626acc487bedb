#!/usr/bin/env python3
"""The snapshot a deploy takes on its own against one taken for a waiting invocation, side by side.

Usage: scripts/snapshot-on-deploy.py [--port 8490] [--restores 15] [--rounds 2] [--seconds 15] [--keep]

A deploy boots the new version and takes its snapshot before any invocation; no one waits for that
boot, so its runtime warms the invocation path up for long and lets the JVM release its compilers'
scratch memory before the dump (docs/DESIGN.md, "The snapshot is taken on deploy"). An invocation
that arrives during the boot ends that warm-up at its baseline instead. One node (sandboxed,
--no-predictions) gets hello twice: "on deploy" is left alone until its snapshot is ready, "waited
for" is invoked right after its deploy. Then, in turns:

1. the two snapshots: size and warm-up exchanges, from the node's log;
2. quiet restores: evict, --quiet-s of quiet, invoke (the node's X-Thaw-Restore-Ms and the client's
   round trip, medians);
3. clones after a burst (scripts/clone-warm-up.py): a burst of 8 restores clones, then --seconds of
   closed-loop traffic at 8 connections ("first") and --seconds more ("steady"), and the CPU the
   clones' JIT compiler threads used meanwhile (from /proc: run it as the user the node runs as).

Node data in .thaw/bench-deploy-snapshot, removed at the end unless --keep. Needs the project built
(./thaw builds it) and a C compiler for the load generator.
"""
import argparse
import os
import re
import subprocess
import sys
import time

from benchlib import ahead_bench, compiler_cpu, header, pct, restores_in_turns

bench = ahead_bench()
WAYS = [("on deploy", "hello-deploy"), ("waited for", "hello-waited")]
TAKEN = re.compile(r"SNAPSHOT taken in (\d+) ms: ([0-9.]+) MB, after (\d+) warm-up exchanges")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--port", type=int, default=8490)
    p.add_argument("--restores", type=int, default=15)
    p.add_argument("--quiet-s", type=float, default=1.5)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--seconds", type=int, default=15)
    p.add_argument("--keep", action="store_true")
    a = p.parse_args()
    header("snapshot-on-deploy")
    base = os.path.join(bench.ROOT, ".thaw", "bench-deploy-snapshot")
    node = bench.Node(a.port, os.path.join(base, "data"), extra=["--no-predictions"])
    try:
        deploy_both(node)
        print("\n## the snapshots")
        print("%-12s %10s %10s %12s" % ("way", "image MB", "exchanges", "dump ms"))
        for label, name in WAYS:
            dump_ms, mb, exchanges = snapshot_line(node, name)
            print("%-12s %10.1f %10d %12d" % (label, mb, exchanges, dump_ms))
        restores(node, a)
        clones(node, a)
    finally:
        node.stop()
        if not a.keep:
            import shutil
            shutil.rmtree(base, ignore_errors=True)


def deploy_both(node):
    """The first deploy left alone until its snapshot is ready; the second invoked at once, during its boot."""
    for label, name in WAYS:
        node.deploy(name, bench.HELLO_JAR, bench.HELLO_HANDLER, max_instances=16, hurried=label == "waited for")
    time.sleep(10)  # past the snapshots' background work (store puts)


def snapshot_line(node, name):
    status, data, _ = node.request("GET", "/functions/%s/logs?tail=200" % name)
    m = TAKEN.search(data.decode())
    if not m:
        sys.exit("no SNAPSHOT taken line in %s's log" % name)
    return int(m.group(1)), float(m.group(2)), int(m.group(3))


def restores(node, a):
    samples = restores_in_turns([(name, node, name) for _, name in WAYS], a.restores, a.quiet_s)
    print("\n## quiet restores, %.1f s of quiet before each (ms)" % a.quiet_s)
    print("%-12s %3s %13s %13s" % ("way", "n", "restore p50", "client p50"))
    for label, name in WAYS:
        rows = samples[name]
        if rows:
            print("%-12s %3d %13.1f %13.1f" % (label, len(rows), pct([r[0] for r in rows], 50),
                                               pct([r[1] for r in rows], 50)))


def clones(node, a):
    script = os.path.join(bench.ROOT, "scripts", "clone-warm-up.py")
    env = dict(os.environ, THAW_TOKEN=node.token)
    print("\n## clones after a burst of 8, 8 connections, %d s first and %d s steady" % (a.seconds, a.seconds))
    for r in range(a.rounds):
        for label, name in WAYS:
            out = subprocess.run([sys.executable, script, str(a.port), name, "--burst", "8", "--connections", "8",
                                  "--seconds", str(a.seconds), "--label", label.replace(" ", "-")],
                                 capture_output=True, text=True, env=env)
            if out.returncode != 0:
                sys.exit("clone-warm-up.py failed: " + out.stderr[-2000:])
            for line in out.stdout.splitlines():
                if re.search(r"\b(first|steady|ratio)\b", line):
                    print("round %d  %s" % (r + 1, line), flush=True)
            print("round %d  %-12s clones' JIT CPU over both phases: C2 %.2f s, C1 %.2f s" % (
                (r + 1, label) + compiler_cpu(name)), flush=True)


if __name__ == "__main__":
    main()
