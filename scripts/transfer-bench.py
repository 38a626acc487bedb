#!/usr/bin/env python3
"""Function-to-function transfers, inline, through S3 and by XDT reference, on a node as a user starts it.

Usage: scripts/transfer-bench.py [--port 8590] [--runs 3] [--requests 60] [--no-sandbox] [--save] [--keep]

Starts its own node (./thaw up, sandboxed unless --no-sandbox, data in .thaw/bench-transfers, removed at
the end unless --keep) with egress allowed to exactly one address: this host's, on port+1, where the
benchmark's own S3 server listens (sandboxed functions reach an object store only through the node's
egress proxy, as they would reach S3). Then runs bench/scenarios/chain-transfer-xdt.yaml --runs times
(thaw bench run, --requests per payload size, split evenly over the three transfers), each run in
bench-results/transfers-<n>, and prints the commit, date and machine, each run's median end-to-end
latency of the 10 MiB and 100 MiB chains through S3 and by XDT, and the ratio of their effective
bandwidths (payload / median latency), the figure the XDT study reports. --save copies each run's
summary and samples to docs/benchmarks/transfers-<date>-<time>[-nosandbox]-runN-{summary,samples}.csv.
Needs the project built
(./thaw builds it) and the workloads JAR (mvn -pl workloads -am package -DskipTests).
"""
import argparse
import csv
import importlib.util
import os
import shutil
import subprocess
import sys
import time

from benchlib import ROOT, header

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("ahead_bench", os.path.join(HERE, "ahead-bench.py"))
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)

SCENARIO = os.path.join(ROOT, "bench", "scenarios", "chain-transfer-xdt.yaml")
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


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--port", type=int, default=8590)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--requests", type=int, default=60)
    p.add_argument("--no-sandbox", action="store_true")
    p.add_argument("--save", action="store_true")
    p.add_argument("--keep", action="store_true")
    a = p.parse_args()
    if not os.path.exists(os.path.join(ROOT, "workloads", "target", "thaw-workloads.jar")):
        sys.exit("workloads/target/thaw-workloads.jar is missing: mvn -pl workloads -am package -DskipTests")
    store = "%s:%d" % (bench.host_address(), a.port + 1)
    base = os.path.join(ROOT, ".thaw", "bench-transfers")
    header("transfer-bench" + (" (no sandbox)" if a.no_sandbox else ""))
    extra = ["--no-sandbox"] if a.no_sandbox else []
    node = bench.Node(a.port, base, egress=store, extra=extra)
    rows = []
    stamp = time.strftime("%Y-%m-%d-%H%M", time.gmtime())
    try:
        for run in range(1, a.runs + 1):
            out = os.path.join(ROOT, "bench-results", "transfers-%d" % run)
            shutil.rmtree(out, ignore_errors=True)
            cmd = [os.path.join(ROOT, "thaw"), "bench", "run", SCENARIO, "--url", "http://127.0.0.1:%d" % a.port,
                   "--transfer-store", store, "--requests", str(a.requests), "--output", out]
            print("run %d of %d: %s" % (run, a.runs, " ".join(os.path.relpath(c, ROOT) if c.startswith(ROOT) else c
                                                            for c in cmd)), flush=True)
            r = subprocess.run(cmd, cwd=ROOT, env=dict(os.environ, THAW_TOKEN=node.token), stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
            if r.returncode != 0:
                sys.exit("thaw bench run failed (%d): %s" % (r.returncode, r.stderr[-2000:]))
            if a.save:
                name = "transfers-%s%s-run%d" % (stamp, "-nosandbox" if a.no_sandbox else "", run)
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
