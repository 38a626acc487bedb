#!/usr/bin/env python3
"""Bursts from zero, and refills of pre-restored clones, with paced and unbounded starts, side by side.

Usage: scripts/burst-pacing.py [--port 8690] [--bursts 4,8,32] [--rounds 5] [--prewarm 16] [--keep]

Starts two sandboxed nodes side by side (./thaw up): one with the default bound on a function's
concurrent starts (--max-starting: this machine's cores, at least 2), one without (--max-starting 0,
one restore per waiting invocation, as before the bound). Each gets hello deployed (max 32
instances) and its snapshot. Then, --rounds times, for each burst size and each node in turns (the
order alternating from round to round): the function scaled to zero (evicted, 1 s of quiet), N
concurrent invocations released together. Prints, per node and size, the median over the rounds of
each burst's p50 and p99 (client round trip) and of its slowest, and how the burst's invocations
started, summed over the rounds. Then the refill of --prewarm pre-restored clones (a second
function, deployed with --prewarm N): its instances evicted, the time until N clones are ready
again, and one invocation sent 150 ms into the refill (its round trip and how it started), the
nodes in turns, --rounds times. Data in .thaw/bench-pacing, removed at the end unless --keep.
"""
import argparse
import os
import time

from benchlib import ROOT, ahead_bench, header, pct

bench = ahead_bench()

VARIANTS = [
    ("paced (default)", []),
    ("unbounded", ["--max-starting", "0"]),
]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--port", type=int, default=8690)
    p.add_argument("--bursts", default="4,8,32")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--prewarm", type=int, default=16)
    p.add_argument("--keep", action="store_true")
    a = p.parse_args()
    sizes = [int(s) for s in a.bursts.split(",") if s.strip()]  # --bursts "": refills only
    header("burst-pacing")
    results = {}
    with bench.hello_nodes(os.path.join(ROOT, ".thaw", "bench-pacing"), a.port, VARIANTS, keep=a.keep) as nodes:
        for node in nodes.values():
            if sizes:
                node.deploy("burst", bench.HELLO_JAR, bench.HELLO_HANDLER, max_instances=max(sizes))
        order = list(nodes)
        for r in range(a.rounds):
            for size in sizes:
                for label in (order if r % 2 == 0 else list(reversed(order))):
                    node = nodes[label]
                    node.evict("burst")
                    time.sleep(1)
                    out = bench.burst(node, "burst", size)
                    results.setdefault((label, size), []).append(out)
        refills = {}
        if a.prewarm > 0:
            for node in nodes.values():
                if sizes:
                    node.evict("burst")
                # one more than the clones: the instance a clone became by serving the call stays beside them
                node.deploy("pw", bench.HELLO_JAR, bench.HELLO_HANDLER, max_instances=a.prewarm + 1,
                             scaling={"prewarm": a.prewarm})
                bench.wait_clones(node, "pw", a.prewarm)
            for r in range(a.rounds):
                for label in (order if r % 2 == 0 else list(reversed(order))):
                    refills.setdefault(label, []).append(refill(nodes[label], a.prewarm))
    print()
    print("| node | burst | p50 ms | p99 ms | slowest ms | started as (%d bursts) |" % a.rounds)
    print("|---|---|---|---|---|---|")
    for size in sizes:
        for label in nodes:
            bursts = results[(label, size)]
            p50s = [pct([x[0] for x in b], 50) for b in bursts]
            p99s = [pct([x[0] for x in b], 99) for b in bursts]
            maxes = [max(x[0] for x in b) for b in bursts]
            kinds = {}
            for b in bursts:
                for _, k in b:
                    kinds[k] = kinds.get(k, 0) + 1
            print("| %s | %d | %.1f | %.1f | %.1f | %s |" % (label, size, pct(p50s, 50), pct(p99s, 50), pct(maxes, 50),
                                                          ", ".join("%s %d" % kv for kv in sorted(kinds.items()))))
    if refills:
        print()
        print("| node | %d clones ready again after an evict, s (median, max) | a call 150 ms into the refill: ms (median, max), started as |" % a.prewarm)
        print("|---|---|---|")
        for label, rs in refills.items():
            ready = [x[0] for x in rs]
            call = [x[1] for x in rs]
            kinds = {}
            for x in rs:
                kinds[x[2]] = kinds.get(x[2], 0) + 1
            print("| %s | %.2f, %.2f | %.1f, %.1f, %s |" % (label, pct(ready, 50), max(ready), pct(call, 50), max(call),
                                                          ", ".join("%s %d" % kv for kv in sorted(kinds.items()))))


def refill(node, n):
    """Evicts pw's instances; returns (s until n clones are ready again, ms of a call 150 ms in, its start)."""
    node.evict("pw")
    t0 = time.time()
    time.sleep(0.15)
    ms, start, _, _ = node.invoke("pw", b'{"name":"Ada"}')
    if not bench.wait_clones(node, "pw", n):
        raise RuntimeError("the clones were not refilled within 120 s")
    ready = time.time() - t0
    time.sleep(1)
    return ready, ms, start


if __name__ == "__main__":
    main()
