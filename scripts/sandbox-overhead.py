#!/usr/bin/env python3
"""What the sandbox costs on the warm path: two nodes side by side, one sandboxed, one --no-sandbox.

Usage: scripts/sandbox-overhead.py [--port 8390] [--requests 2000] [--rounds 3] [--keep]

Starts both nodes (data in .thaw/bench-sandbox, removed at the end unless --keep), deploys hello on each,
and measures them in turns (on, off, on, off, ...), so both see the same machine: sequential warm calls
over one keep-alive connection after 200 unrecorded ones; round trip and node overhead (round trip minus
X-Thaw-Duration-Ms) at p50 and p99. The restore side is `thaw bench restore --variants
enc-512k,enc-512k-nosandbox`.
"""
import argparse
import os

from benchlib import ahead_bench, header, pct

bench = ahead_bench()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--port", type=int, default=8390)
    p.add_argument("--requests", type=int, default=2000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--keep", action="store_true")
    a = p.parse_args()
    header("sandbox-overhead")
    base = os.path.join(bench.ROOT, ".thaw", "bench-sandbox")
    with bench.hello_nodes(base, a.port, [("sandbox", []), ("no sandbox", ["--no-sandbox"])], a.keep) as nodes:
        print("\n## warm hello, %d sequential calls per turn, ms" % a.requests)
        print("%-12s %5s %9s %9s %12s %12s" % ("node", "turn", "rtt p50", "rtt p99", "overhead p50", "overhead p99"))
        sums = {k: [] for k in nodes}
        for turn in range(1, a.rounds + 1):
            for label, n in nodes.items():
                rtt, over = bench.overhead(n, a.requests)
                sums[label].append((pct(rtt, 50), pct(rtt, 99), pct(over, 50), pct(over, 99)))
                print("%-12s %5d %9.3f %9.3f %12.3f %12.3f" % ((label, turn) + sums[label][-1]), flush=True)
        on, off = sums["sandbox"], sums["no sandbox"]
        med = lambda rows, i: sorted(r[i] for r in rows)[len(rows) // 2]
        print("median of turns: sandbox - no sandbox: rtt p50 %+.3f ms, rtt p99 %+.3f ms (the bar: +0.2 ms at most)"
              % (med(on, 0) - med(off, 0), med(on, 1) - med(off, 1)))


if __name__ == "__main__":
    main()
