#!/usr/bin/env python3
"""Function-to-function transfers, inline, through S3 and by XDT reference, on a node as a user starts it.

Usage: scripts/transfer-bench.py [--port 8590] [--runs 3] [--requests 60] [--no-sandbox] [--cluster N] [--save] [--keep]

Starts its own node (./thaw up, sandboxed unless --no-sandbox, data in .thaw/bench-transfers, removed at
the end unless --keep) with egress allowed to exactly one address: this host's, on port+1, where the
benchmark's own S3 server listens (sandboxed functions reach an object store only through the node's
egress proxy, as they would reach S3). Then runs bench/scenarios/chain-transfer-xdt.yaml --runs times
(thaw bench run, --requests per payload size, split evenly over the three transfers), each run in
bench-results/transfers-<n>, and prints the commit, date and machine, each run's median end-to-end
latency of the 10 MiB and 100 MiB chains through S3 and by XDT, and the ratio of their effective
bandwidths (payload / median latency), the figure the XDT study reports. --save copies each run's
summary and samples to docs/benchmarks/transfers-<date>-<time>[-nosandbox][-clusterN]-runN-{summary,samples}.csv.

--cluster N runs the same on a local cluster of N nodes instead (./thaw cluster up --nodes N, data in
.thaw/bench-transfers-cluster, nodes on port+2, port+3, ...; the S3 server of the benchmark on port+1) with
bench/scenarios/chain-transfer-xdt-cluster.yaml, whose chains are spread: each chain's second function
runs on another node than the first, so every XDT reference is pulled across nodes (and every inline
payload and S3 URL is forwarded to that node). After each run it counts, from the nodes' metrics
(thaw_xdt_gets_total), how many of the second XDT function's reads were pulled from another node
("remote") rather than read on its own ("local").
Needs the project built
(./thaw builds it) and the workloads JAR (mvn -pl workloads -am package -DskipTests).
"""
import argparse
import csv
import http.client
import os
import re
import shutil
import subprocess
import sys
import time

from benchlib import ROOT, ahead_bench, header, stop_group

bench = ahead_bench()

SCENARIO = os.path.join(ROOT, "bench", "scenarios", "chain-transfer-xdt.yaml")
CLUSTER_SCENARIO = os.path.join(ROOT, "bench", "scenarios", "chain-transfer-xdt-cluster.yaml")
SIZES = {"10 MiB": 10485760, "100 MiB": 104857600}


def medians(out_dir):
    """{(payload bytes, transfer): median ms} from a run's transfers.csv."""
    result = {}
    with open(os.path.join(out_dir, "transfers.csv")) as f:
        for row in csv.DictReader(f):
            try:
                result[(int(row["payload_bytes"]), row["transfer"])] = float(row["p50_ms"])
            except (KeyError, ValueError):
                pass
    return result


class Cluster:
    """./thaw cluster up in the background: its nodes on port+2, port+3, ... (port+1 is the benchmark's S3 server)."""

    def __init__(self, nodes, port, base, egress, extra):
        shutil.rmtree(base, ignore_errors=True)
        os.makedirs(base, exist_ok=True)
        self.log = open(os.path.join(base, "cluster.log"), "w")
        self.ports = [port + 2 + i for i in range(nodes)]
        self.port = self.ports[0]
        cmd = [os.path.join(ROOT, "thaw"), "cluster", "up", "--nodes", str(nodes), "--fresh", "--dir", base,
               "--port", str(self.port), "--node-option=--egress-allow=" + egress]
        cmd += ["--node-option=" + e for e in extra]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 300
        while True:
            if self.proc.poll() is not None:
                sys.exit("the cluster exited with %s; its output: %s" % (self.proc.returncode, self.log.name))
            try:
                self.token = open(os.path.join(ROOT, ".thaw", "data", "api-token")).read().strip()
                if all(self.request(p, "GET", "/healthz")[0] == 200 for p in self.ports):
                    break
            except (OSError, http.client.HTTPException):
                pass
            if time.time() > deadline:
                sys.exit("the cluster did not answer within 300 s; its output: %s" % self.log.name)
            time.sleep(0.5)

    def request(self, port, method, path):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            c.request(method, path, headers={"Authorization": "Bearer " + self.token})
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()

    def xdt_gets(self, function):
        """{source: reads} of the function's XDT reads on every node, from the nodes' metrics (local, remote, s3)."""
        counts = {}
        pattern = re.compile(r'^thaw_xdt_gets_total\{([^}]*)\} ([0-9.eE+]+)$')
        for p in self.ports:
            status, body = self.request(p, "GET", "/metrics")
            if status != 200:
                continue
            for line in body.decode(errors="replace").splitlines():
                m = pattern.match(line)
                if not m:
                    continue
                labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
                if labels.get("function_name") == function:
                    source = labels.get("source", "?")
                    counts[source] = counts.get(source, 0) + int(float(m.group(2)))
        return counts

    def stop(self):
        stop_group(self.proc, 120)
        self.log.close()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--port", type=int, default=8590)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--requests", type=int, default=60)
    p.add_argument("--no-sandbox", action="store_true")
    p.add_argument("--cluster", type=int, default=0, help="run on a local cluster of this many nodes (2 or more)")
    p.add_argument("--save", action="store_true")
    p.add_argument("--keep", action="store_true")
    a = p.parse_args()
    if not os.path.exists(os.path.join(ROOT, "workloads", "target", "thaw-workloads.jar")):
        sys.exit("workloads/target/thaw-workloads.jar is missing: mvn -pl workloads -am package -DskipTests")
    store = "%s:%d" % (bench.host_address(), a.port + 1)
    if a.cluster == 1 or a.cluster < 0:
        sys.exit("--cluster takes 2 or more nodes")
    base = os.path.join(ROOT, ".thaw", "bench-transfers-cluster" if a.cluster else "bench-transfers")
    header("transfer-bench" + (" (no sandbox)" if a.no_sandbox else "") + (" (cluster of %d)" % a.cluster if a.cluster else ""))
    extra = ["--no-sandbox"] if a.no_sandbox else []
    node = Cluster(a.cluster, a.port, base, store, extra) if a.cluster else bench.Node(a.port, base, egress=store, extra=extra)
    scenario = CLUSTER_SCENARIO if a.cluster else SCENARIO
    rows = []
    stamp = time.strftime("%Y-%m-%d-%H%M", time.gmtime())
    before = node.xdt_gets("xdt-2") if a.cluster else {}
    try:
        for run in range(1, a.runs + 1):
            out = os.path.join(ROOT, "bench-results", "transfers-%d" % run)
            shutil.rmtree(out, ignore_errors=True)
            cmd = [os.path.join(ROOT, "thaw"), "bench", "run", scenario, "--url", "http://127.0.0.1:%d" % node.port,
                   "--transfer-store", store, "--requests", str(a.requests), "--output", out]
            print("run %d of %d: %s" % (run, a.runs, " ".join(os.path.relpath(c, ROOT) if c.startswith(ROOT) else c
                                                            for c in cmd)), flush=True)
            r = subprocess.run(cmd, cwd=ROOT, env=dict(os.environ, THAW_TOKEN=node.token), stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
            if r.returncode != 0:
                sys.exit("thaw bench run failed (%d): %s" % (r.returncode, r.stderr[-2000:]))
            if a.cluster:
                # the benchmark deletes its functions at the end of a run; the nodes' counters stay
                after = node.xdt_gets("xdt-2")
                delta = {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0)}
                before = after
                print("  XDT reads of the second function, by where the data came from: %s" % delta, flush=True)
            if a.save:
                name = "transfers-%s%s%s-run%d" % (stamp, "-nosandbox" if a.no_sandbox else "",
                                                  "-cluster%d" % a.cluster if a.cluster else "", run)
                docs = os.path.join(ROOT, "docs", "benchmarks")
                shutil.copy(os.path.join(out, "transfers.csv"), os.path.join(docs, name + "-summary.csv"))
                shutil.copy(os.path.join(out, "requests.csv"), os.path.join(docs, name + "-samples.csv"))
            m = medians(out)
            for label, size in SIZES.items():
                s3, xdt = m.get((size, "store")), m.get((size, "xdt"))
                rows.append((run, label, s3, xdt, s3 / xdt if s3 and xdt else float("nan"), out))
    finally:
        node.stop()
        if not a.keep:
            shutil.rmtree(base, ignore_errors=True)
    print()
    print("| run | payload | S3 p50 ms | XDT p50 ms | XDT / S3 bandwidth | results |")
    print("|---|---|---|---|---|---|")
    for run, label, s3, xdt, ratio, out in rows:
        print("| %d | %s | %.1f | %.1f | %.2fx | %s |" % (run, label, s3, xdt, ratio, os.path.relpath(out, ROOT)))


if __name__ == "__main__":
    main()
