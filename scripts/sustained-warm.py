#!/usr/bin/env python3
"""Warm traffic held for longer than an invocation's timeout: does the node stay as fast as it started?

Usage: scripts/sustained-warm.py [--port 8700] [--turns 2] [--connections 4] [--seconds 90] [--window-s 15]
                                 [--quiet-s 40] [--against WORKTREE] [--keep]

A node arms a timer for every invocation (its timeout, 30 s by default) and cancels it when the answer
comes, so what the node keeps for each call it has answered shows only once a load has run for longer
than that. Each turn, on each node: closed-loop warm traffic to hello from scripts/loadgen.c (one
thread, epoll; built into .thaw/bin on first use) on --connections keep-alive connections for
--seconds, reported per --window-s window (requests/s, p50, p99, longest), and the CPU seconds the
node's own threads took in the turn: its timer thread, its garbage collector, its JIT compilers and all
of them. Then --quiet-s of no traffic, so that nothing a node does after its turn (timers of its calls
coming due) falls on the next node's. With --against, a node of that checkout (built: run its ./thaw
once) runs beside this one's, in turns: two builds compared in one run.

Node data in .thaw/bench-sustained, removed at the end unless --keep. Needs the project built.
"""
import argparse
import collections
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402

bench = benchlib.ahead_bench()
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WINDOW = re.compile(r"window t=(\S+)s requests=(\d+) errors=(\d+) rps=(\d+) p50=(\S+) p90=\S+ p99=(\S+) max=(\S+)")


def node_cpu(pid):
    """CPU seconds of the node's threads so far, by kind: timer, gc, jit, all."""
    cpu = collections.Counter()
    for name, seconds in benchlib.thread_cpu(pid):
        cpu["all"] += seconds
        if name == "thaw-timer":
            cpu["timer"] += seconds
        elif name.startswith(("GC Thread", "G1 ")):
            cpu["gc"] += seconds
        elif "Compiler" in name:
            cpu["jit"] += seconds
    return cpu


def load(node, connections, seconds, window_s):
    cmd = [benchlib.loadgen(), "-p", str(node.port), "-u", "/functions/hello/invoke", "-t", node.token,
           "-b", '{"name":"Ada"}', "-c", str(connections), "-d", str(seconds), "-w", str(int(window_s * 1000))]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    # each window by its start; the last, after the duration, holds only the calls then in flight
    return [m.groups() for m in map(WINDOW.match, out.splitlines()) if m and float(m.group(1)) < seconds]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--port", type=int, default=8700)
    p.add_argument("--turns", type=int, default=2)
    p.add_argument("--connections", type=int, default=4)
    p.add_argument("--seconds", type=int, default=90)
    p.add_argument("--window-s", type=float, default=15)
    p.add_argument("--quiet-s", type=float, default=40, help="seconds without traffic after each node's turn")
    p.add_argument("--against", help="a second checkout (a worktree, built) whose node runs in turns with this one")
    p.add_argument("--keep", action="store_true")
    a = p.parse_args()
    benchlib.header("sustained-warm")
    variants = [("this", ["--no-predictions"], ROOT)]
    if a.against:
        variants.append(("against", ["--no-predictions"], os.path.abspath(a.against)))
    with bench.hello_nodes(os.path.join(ROOT, ".thaw", "bench-sustained"), a.port, variants, a.keep) as nodes:
        pids = {label: benchlib.node_pid(node.port) for label, node in nodes.items()}
        print("%-8s %4s %8s %8s %8s %8s %8s %7s %7s %7s %7s" % (
            "node", "turn", "from", "req/s", "p50 ms", "p99 ms", "max ms", "timer s", "gc s", "jit s", "node s"))
        for k in range(1, a.turns + 1):
            for label, node in nodes.items():
                before = node_cpu(pids[label])
                windows = load(node, a.connections, a.seconds, a.window_s)
                cpu = node_cpu(pids[label])
                cpu.subtract(before)
                for i, (start, requests, errors, rps, p50, p99, longest) in enumerate(windows):
                    if int(errors):
                        print("%s turn %d: %s errors in the window from %s s" % (label, k, errors, start))
                    tail = " %7.2f %7.2f %7.2f %7.2f" % (cpu["timer"], cpu["gc"], cpu["jit"], cpu["all"]) \
                        if i == len(windows) - 1 else ""
                    print("%-8s %4d %7.0fs %8s %8s %8s %8s%s" % (label, k, float(start), rps, p50, p99, longest, tail),
                          flush=True)
                time.sleep(a.quiet_s)
        for label, _, checkout in variants:
            print("%s: %s" % (label, checkout))


if __name__ == "__main__":
    main()
