#!/usr/bin/env python3
"""Cold starts of a quiet node: restores a second or more apart, sandbox on and off, side by side.

Usage: scripts/quiet-restores.py [--port 8490] [--restores 10] [--quiet-s 1.5] [--busy N] [--keep]
                                 [--against DIR]

`thaw bench restore` runs its restores back to back. Some costs are paid only by the first of a
series (moving a process into a cgroup waited for an RCU grace period unless one had passed a
moment ago, before the node set favordynmods). A user's cold start usually comes after a quiet
moment, so this script restores hello on two nodes side by side, one sandboxed and one
--no-sandbox, in turns, each restore --quiet-s after the last one anywhere: evict, wait, invoke.
It prints the node's restore time (X-Thaw-Restore-Ms), the handler's first run in the clone
(X-Thaw-Duration-Ms) and the client's round trip, median and max.
--busy N keeps N processes spinning on the CPU during the restores (a node whose cores other work
also uses). --against DIR adds a third node, sandboxed, run by DIR/thaw: another checkout of the
project (a worktree at an earlier commit, built, its .thaw/lib in place), to compare two commits'
restores in one run. Nodes' data in .thaw/bench-quiet, removed at the end unless --keep. Needs the
project built (./thaw builds it).
"""
import argparse
import os
import subprocess

from benchlib import ahead_bench, header, pct, restores_in_turns

bench = ahead_bench()

VARIANTS = [
    ("sandbox", []),
    ("no sandbox", ["--no-sandbox"]),
]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--port", type=int, default=8490)
    p.add_argument("--restores", type=int, default=10)
    p.add_argument("--quiet-s", type=float, default=1.5)
    p.add_argument("--busy", type=int, default=0)
    p.add_argument("--keep", action="store_true")
    p.add_argument("--against", help="another built checkout of thaw: a sandboxed node of it joins the turns")
    a = p.parse_args()
    header("quiet-restores")
    base = os.path.join(bench.ROOT, ".thaw", "bench-quiet")
    variants = [(label, ["--no-predictions"] + extra) for label, extra in VARIANTS]
    if a.against:
        rev = subprocess.run(["git", "-C", a.against, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
        variants.append(("sandbox at " + (rev or a.against), ["--no-predictions"], os.path.abspath(a.against)))
    with bench.hello_nodes(base, a.port, variants, a.keep) as nodes:
        spinners = [subprocess.Popen(["sh", "-c", "while :; do :; done"]) for _ in range(a.busy)]
        try:
            samples = restores_in_turns([(label, n, "hello") for label, n in nodes.items()], a.restores, a.quiet_s,
                                        progress=True)
        finally:
            for s in spinners:
                s.kill()
                s.wait()
        print("\n## hello restored after %.1f s of quiet, %d busy process(es) beside (ms)" % (a.quiet_s, a.busy))
        print("%-24s %3s %13s %12s %13s %13s %12s" % ("node", "n", "restore p50", "restore max", "handler p50",
                                                     "client p50", "client max"))
        for label, rows in samples.items():
            if rows:
                rs, cs, hs = [x[0] for x in rows], [x[1] for x in rows], [x[2] for x in rows]
                print("%-24s %3d %13.1f %12.1f %13.1f %13.1f %12.1f" % (label, len(rows), pct(rs, 50), max(rs), pct(hs, 50),
                                                                      pct(cs, 50), max(cs)))


if __name__ == "__main__":
    main()
