#!/usr/bin/env python3
"""What an instance that spins every core costs the node's API and another function's warm calls.

Usage: scripts/spinning-neighbour.py PORT FUNCTION [--spinners 6] [--calls 300] [--weights W[,W...]] [--rounds 2]
(a sandboxed node on 127.0.0.1:PORT with FUNCTION deployed; root; the API token from THAW_TOKEN, else from
.thaw/data/api-token)

Puts SPINNERS busy loops (`yes > /dev/null`) into a cgroup of their own beside the node's instance cgroups,
with the cpu weight of a 256 MB instance, as a function that starts threads which never stop would be, and
meanwhile times CALLS sequential GET /healthz and CALLS warm invocations of FUNCTION over keep-alive
connections. With --weights, the cgroup that holds every instance (v1 cpu.shares, v2 cpu.weight, of
CGROUP_PARENT, default thaw) is given each weight in turns, and the node's own value is written back at the end;
a weight of the form "idle" runs the calls with no spinner, as a baseline.
"""
import argparse
import http.client
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402

SPINNER_SHARES = {"cpu.shares": "148", "cpu.weight": "14"}  # a 256 MB instance's, as InstanceCgroup gives it


def node_cgroup(top):
    nodes = [d for d in os.listdir(top) if os.path.isdir(os.path.join(top, d))]
    if len(nodes) != 1:
        sys.exit("expected one node's cgroup under %s, found %s" % (top, nodes))
    return os.path.join(top, nodes[0])


def timed(conn, method, path, headers, body=None):
    start = time.perf_counter()
    conn.request(method, path, body=body, headers=headers)
    r = conn.getresponse()
    r.read()
    if r.status // 100 != 2:
        sys.exit("%s %s answered %d" % (method, path, r.status))
    return (time.perf_counter() - start) * 1000


def measure(port, function, calls, tok):
    headers = {"Authorization": "Bearer " + tok, "Content-Type": "application/json"}
    out = {}
    for name, method, path, body in (("healthz", "GET", "/healthz", None),
                                     ("invoke", "POST", "/functions/%s/invoke" % function, b'{"name":"Ada"}')):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for _ in range(20):
            timed(conn, method, path, headers, body)
        out[name] = [timed(conn, method, path, headers, body) for _ in range(calls)]
        conn.close()
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("port", type=int)
    p.add_argument("function")
    p.add_argument("--spinners", type=int, default=6)
    p.add_argument("--calls", type=int, default=300)
    p.add_argument("--weights", default="")
    p.add_argument("--rounds", type=int, default=2)
    a = p.parse_args()
    tok = benchlib.api_token()
    benchlib.header("spinning-neighbour")
    wfile = benchlib.instances_weight_file()
    knob = os.path.basename(wfile)
    node_weight = open(wfile).read().strip()
    spin_dir = os.path.join(node_cgroup(os.path.dirname(wfile)), "spinning-neighbour")
    print("%-8s %5s %-8s %8s %8s %8s" % ("weight", "round", "calls", "p50 ms", "p99 ms", "max ms"))
    try:
        for rnd in range(1, a.rounds + 1):
            for weight in ["idle"] + [w for w in a.weights.split(",") if w] if a.weights else ["idle", node_weight]:
                spinners = []
                if weight != "idle":
                    with open(wfile, "w") as f:
                        f.write(weight)
                    os.makedirs(spin_dir, exist_ok=True)
                    with open(os.path.join(spin_dir, knob), "w") as f:
                        f.write(SPINNER_SHARES[knob])
                    procs = os.path.join(spin_dir, "cgroup.procs")
                    for _ in range(a.spinners):
                        spinners.append(subprocess.Popen(
                            ["sh", "-c", 'echo $$ > "$0" && exec yes > /dev/null', procs]))
                    time.sleep(1)
                try:
                    for name, v in measure(a.port, a.function, a.calls, tok).items():
                        print("%-8s %5d %-8s %8.2f %8.2f %8.2f" % (weight, rnd, name, benchlib.pct(v, 50),
                                                                   benchlib.pct(v, 99), max(v)), flush=True)
                finally:
                    for s in spinners:
                        s.kill()
                        s.wait()
                    if spinners:
                        os.rmdir(spin_dir)
    finally:
        with open(wfile, "w") as f:
            f.write(node_weight)


if __name__ == "__main__":
    main()
