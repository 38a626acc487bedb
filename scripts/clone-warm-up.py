#!/usr/bin/env python3
"""How fast restored clones reach their steady state under warm traffic.

Usage: scripts/clone-warm-up.py PORT FUNCTION [--burst 8] [--connections 8,32] [--seconds 20] [--rounds 1]
                                [--body JSON] [--label TEXT] [--gc-log FILE] [--weights W[,W...]]
(a node on 127.0.0.1:PORT with FUNCTION deployed and its snapshot taken; the API token from THAW_TOKEN, else
from .thaw/data/api-token)

For each round and each connection count C: evicts the function's instances, sends a burst of BURST
concurrent invocations (the pool restores a clone per queued invocation, up to the function's
maxInstances), then runs closed-loop warm traffic with C keep-alive connections for SECONDS ("first":
the clones' first seconds), then SECONDS more on the same clones ("steady"). The traffic comes from
scripts/loadgen.c (one thread, epoll, in the manner of wrk), built into .thaw/bin on first use, so the
client takes little of a 2-core machine's CPU. Prints one line per phase: requests/s, p50, p99, max, the
clones the pool held and the CPU seconds their JIT compilers (C2, C1) spent in the phase; then the ratio first /
steady.

--gc-log FILE: the function's log file on the node (DATA/functions/FUNCTION/function.log) of a function
deployed with --env JAVA_TOOL_OPTIONS=-Xlog:gc:stderr; each phase line then also gives the clones' GC pauses
in it: how many, their sum, p99 and the longest.
--weights W,...: the cpu weight of the cgroup that holds every instance (v1 cpu.shares, v2 cpu.weight, of
CGROUP_PARENT, default thaw), set before each run in turns, so that weights are compared side by side on one
node; the node's own value is written back at the end. Needs root and a sandboxed node.
"""
import argparse
import http.client
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402

def call(port, token, method, path):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request(method, path, headers={"Authorization": "Bearer " + token})
    r = conn.getresponse()
    body = r.read()
    conn.close()
    if r.status // 100 != 2:
        sys.exit("%s %s answered %d: %s" % (method, path, r.status, body[:200]))
    return json.loads(body) if body else None


GC_PAUSE = re.compile(r"\] GC\(\d+\) Pause .* (\d+\.\d+)ms$")


class GcLog:
    """The GC pauses the function's instances logged since the last look (-Xlog:gc lines in its log file)."""

    def __init__(self, path):
        self.path = path
        self.offset = os.path.getsize(path) if path else 0
        self.inode = os.stat(path).st_ino if path else None

    def pauses(self):
        if not self.path:
            return None
        text = b""
        if os.stat(self.path).st_ino != self.inode:
            # the node rotated the log (FILE becomes FILE.1 at its size limit): the rest of the old one first
            with open(self.path + ".1", "rb") as f:
                f.seek(self.offset)
                text = f.read()
            self.offset, self.inode = 0, os.stat(self.path).st_ino
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            new = f.read()
        self.offset += len(new)
        text += new
        return [float(m.group(1)) for m in (GC_PAUSE.search(l) for l in text.decode("utf-8", "replace").splitlines()) if m]


def gc_columns(pauses):
    if pauses is None:
        return ""
    return " %5d %8.1f %7.2f %7.2f" % (len(pauses), sum(pauses), benchlib.pct(pauses, 99), max(pauses, default=0.0))


def instances(port, token, function):
    return call(port, token, "GET", "/functions/%s" % function)["instances"]


def run(port, token, function, body, args):
    cmd = [benchlib.loadgen(), "-p", str(port), "-u", "/functions/%s/invoke" % function, "-t", token, "-b", body] + args
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    total = [line for line in out.splitlines() if line.startswith("total ")][-1]
    return {k: v for k, v in re.findall(r"(\S+)=(\S+)", total)}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("port", type=int)
    p.add_argument("function")
    p.add_argument("--burst", type=int, default=8)
    p.add_argument("--connections", default="8,32")
    p.add_argument("--seconds", type=float, default=20)
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--body", default='{"name":"Ada"}')
    p.add_argument("--label", default="")
    p.add_argument("--gc-log")
    p.add_argument("--weights", default="")
    a = p.parse_args()
    token = benchlib.api_token()
    benchlib.header("clone-warm-up")
    node = benchlib.node_pid(a.port)
    gc = GcLog(a.gc_log)
    weights = [w for w in a.weights.split(",") if w]
    wfile = benchlib.instances_weight_file() if weights else None
    node_weight = open(wfile).read().strip() if wfile else None
    print("%-8s %5s %5s %-6s %8s %8s %8s %9s %7s %6s %6s%s" % (
        "label", "round", "conns", "phase", "req/s", "p50 ms", "p99 ms", "max ms", "clones", "C2 s", "C1 s",
        "    GC  GC ms GC p99  GC max" if a.gc_log else ""))
    try:
        for rnd in range(1, a.rounds + 1):
            for weight in weights or [None]:
                if weight:
                    with open(wfile, "w") as f:
                        f.write(weight)
                label = a.label + ("w" + weight if weight else "")
                for conns in [int(c) for c in a.connections.split(",")]:
                    one(a, token, node, gc, rnd, conns, label)
    finally:
        if wfile:
            with open(wfile, "w") as f:
                f.write(node_weight)


def one(a, token, node, gc, rnd, conns, label):
    call(a.port, token, "DELETE", "/functions/%s/instances" % a.function)
    deadline = time.time() + 30
    while sum(instances(a.port, token, a.function).values()) > 0 and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(1)
    burst = run(a.port, token, a.function, a.body, ["-c", str(a.burst), "-n", str(a.burst), "-s", "X-Thaw-Start"])
    if burst["errors"] != "0":
        sys.exit("the burst failed: %s" % burst)
    phases = {}
    jit = benchlib.compiler_cpu(a.function, node)
    gc.pauses()  # the burst's
    for phase in ("first", "steady"):
        r = run(a.port, token, a.function, a.body, ["-c", str(conns), "-d", str(a.seconds)])
        held = instances(a.port, token, a.function)
        phases[phase] = r
        before, jit = jit, benchlib.compiler_cpu(a.function, node)
        print("%-10s %5d %5d %-6s %8s %8s %8s %9s %7d %6.2f %6.2f%s" % (
            label, rnd, conns, phase, r["rps"], r["p50"], r["p99"], r["max"], held["idle"] + held["busy"],
            jit[0] - before[0], jit[1] - before[1], gc_columns(gc.pauses())), flush=True)
    f, s = phases["first"], phases["steady"]
    print("%-10s %5d %5d ratio  first/steady req/s %.2f  p99 %.2fx" % (
        label, rnd, conns, float(f["rps"]) / float(s["rps"]), float(f["p99"]) / float(s["p99"])), flush=True)


if __name__ == "__main__":
    main()
