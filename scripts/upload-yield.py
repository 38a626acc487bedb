#!/usr/bin/env python3
"""Warm latency while a snapshot goes up to S3, against the same node once it is durable.

Usage: scripts/upload-yield.py [--port 8690] [--turns 3] [--rate 200 | --connections N] [--hogs N]
                               [--settle-s 20] [--upload-timeout 300] [--against WORKTREE] [--keep]

A node uploads every new snapshot to its S3 tier (the embedded S3 server by default) in the
background, after storing it locally. Each turn, on each node: paced warm traffic to hello (--rate
requests per second over one keep-alive connection, as a pooling client sends it) runs while Spring
Boot is deployed again (a new version, so a new snapshot); the snapshot report is polled to find the
upload's window, from the snapshot being stored to it being durable in S3, and the window before it,
from the snapshot being taken to it being stored (the node cutting the image into chunks, sealing and
writing them: "publish"). Printed per node: how long each took, and hello's client round trip, p50
and p99, during the publish, during the upload and in as many seconds after the upload. With
--against, a node of that checkout (built: run its ./thaw once) runs beside this one's, in turns:
the comparison of two builds in one run. With --hogs N, N processes spin at
normal priority through each turn, as CPU-bound functions on a node that stays busy would: the
upload then shows whether background work still gets done (a turn whose upload is not durable
within --upload-timeout seconds prints that and goes on). With --connections N, N clients call hello
back to back instead of the paced one, each on its own keep-alive connection: a node kept busy by its
invocations, where what the background takes shows as calls per second lost (the req/s columns).

Node data in .thaw/bench-upload, removed at the end unless --keep. Needs the project built.
"""
import argparse
import base64
import http.client
import json
import os
import shutil
import subprocess
import sys
import threading
import time

from benchlib import ahead_bench, header, pct

bench = ahead_bench()
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPRING_JAR = os.path.join(ROOT, "examples/spring-boot/target/thaw-examples-spring-boot.jar")
SPRING_HANDLER = "dev.thaw.examples.springboot.QuoteHandler::apply"
# How often the snapshot report is asked for. Each answer lists the S3 tier's manifests and opens
# them (its figures of bytes shared with other snapshots): work for the node and its S3 server that
# would be measured as the upload's if it ran every few milliseconds.
POLL_S = 0.1


def paced(node, rate, stop, samples):
    """hello at `rate` a second until `stop` is set; appends (time, round trip ms)."""
    conn = http.client.HTTPConnection("127.0.0.1", node.port, timeout=60)
    gap = 1.0 / rate
    due = time.perf_counter()
    while not stop.is_set():
        ms = node.invoke("hello", b'{"name":"Ada"}', conn)[0]
        samples.append((time.perf_counter(), ms))
        due += gap
        time.sleep(max(0.0, due - time.perf_counter()))
    conn.close()


def closed_loop(node, connections, stop, samples):
    """hello back to back on `connections` connections until `stop` is set; appends (time, round trip ms)."""
    def one():
        conn = http.client.HTTPConnection("127.0.0.1", node.port, timeout=60)
        while not stop.is_set():
            ms = node.invoke("hello", b'{"name":"Ada"}', conn)[0]
            samples.append((time.perf_counter(), ms))
        conn.close()
    clients = [threading.Thread(target=one) for _ in range(connections)]
    for c in clients:
        c.start()
    for c in clients:
        c.join()


def report(node, name):
    status, data, _ = node.request("GET", "/snapshots/" + name)
    return json.loads(data) if status == 200 else {}


def deploy_again(node, turn):
    with open(SPRING_JAR, "rb") as f:
        code = base64.b64encode(f.read()).decode()
    manifest = {"handler": SPRING_HANDLER, "memoryMb": 1024, "environment": {"TURN": str(turn)}}
    status, data, _ = node.request("PUT", "/functions/spring", json.dumps({"manifest": manifest, "code": code}))
    if status not in (200, 201):
        sys.exit("deploying spring answered %d: %s" % (status, data[:300]))
    return json.loads(data)["version"]


def windows(node, version, timeout_s):
    """Polls until the new version's snapshot is durable; returns (taken at, stored at, durable at) perf_counter
    times, durable at None when it was not durable within timeout_s."""
    taken = stored = None
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        r = report(node, "spring")
        store = r.get("store")
        if r.get("version") == version:
            if (r.get("snapshot") or {}).get("state") == "ready":
                taken = taken or time.perf_counter()
            if store:
                stored = stored or time.perf_counter()
                taken = taken or stored
                if store.get("durable"):
                    return taken, stored, time.perf_counter()
        time.sleep(POLL_S)
    if stored is None:
        sys.exit("the snapshot of spring v%d was not stored within %d s: %s" % (version, timeout_s, report(node, "spring")))
    return taken, stored, None


def turn(node, k, rate, connections, hogs, timeout_s):
    samples, stop = [], threading.Event()
    t = threading.Thread(target=closed_loop, args=(node, connections, stop, samples)) if connections \
        else threading.Thread(target=paced, args=(node, rate, stop, samples))
    t.start()
    spinning = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(hogs)]
    try:
        version = deploy_again(node, k)
        taken, stored, durable = windows(node, version, timeout_s)
        if durable is None:
            return None
        # after: as long a window as the upload's (at least 2 s), starting 2 s after it ended (its last chunk's fsyncs)
        after_s = max(2.0, durable - stored)
        time.sleep(after_s + 2.0)
    finally:
        for h in spinning:
            h.kill()
            h.wait()
        stop.set()
        t.join()
    publishing = [ms for at, ms in samples if taken <= at <= stored]
    during = [ms for at, ms in samples if stored <= at <= durable]
    after = [ms for at, ms in samples if durable + 2.0 <= at <= durable + 2.0 + after_s]
    return stored - taken, publishing, durable - stored, during, after, after_s


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--port", type=int, default=8690)
    p.add_argument("--turns", type=int, default=3)
    p.add_argument("--rate", type=int, default=200)
    p.add_argument("--connections", type=int, default=0, help="clients calling back to back instead of --rate")
    p.add_argument("--hogs", type=int, default=0, help="processes spinning at normal priority through each turn")
    p.add_argument("--settle-s", type=float, default=20, help="seconds between the nodes' start and turn 1")
    p.add_argument("--upload-timeout", type=int, default=300, help="seconds a turn waits for the upload")
    p.add_argument("--against", help="a second checkout (a worktree, built) whose node runs in turns with this one")
    p.add_argument("--keep", action="store_true")
    a = p.parse_args()
    for jar in (bench.HELLO_JAR, SPRING_JAR):
        if not os.path.exists(jar):
            sys.exit("%s is missing: build the project first (./thaw builds it)" % jar)
    header("upload-yield")
    base = os.path.join(ROOT, ".thaw", "bench-upload")
    checkouts = [("this", ROOT)] + ([("against", os.path.abspath(a.against))] if a.against else [])
    nodes = []
    try:
        for i, (label, checkout) in enumerate(checkouts):
            node = bench.Node(a.port + i, os.path.join(base, label), extra=["--no-predictions"], checkout=checkout)
            nodes.append((label, checkout, node))
            node.deploy("hello", bench.HELLO_JAR, bench.HELLO_HANDLER)
        # every node's own start-up work (its store's warm-up, hello's snapshot going up) done before turn 1
        time.sleep(a.settle_s)
        print("%-8s %4s %9s %6s %8s %8s %9s %6s %8s %8s %6s %8s %8s %8s %8s" % (
            "node", "turn", "publish s", "calls", "p50 ms", "p99 ms", "upload s", "calls", "p50 ms", "p99 ms", "after",
            "p50 ms", "p99 ms", "up req/s", "aft req/s"))
        for k in range(1, a.turns + 1):
            for label, checkout, node in nodes:
                seen = turn(node, k, a.rate, a.connections, a.hogs, a.upload_timeout)
                if seen is None:
                    print("%-8s %4d  not durable within %d s" % (label, k, a.upload_timeout), flush=True)
                    continue
                published, publishing, uploaded, during, after, after_s = seen
                print("%-8s %4d %9.2f %6d %8.2f %8.2f %9.2f %6d %8.2f %8.2f %6d %8.2f %8.2f %8.0f %8.0f" % (
                    label, k, published, len(publishing), pct(publishing, 50), pct(publishing, 99), uploaded,
                    len(during), pct(during, 50), pct(during, 99), len(after), pct(after, 50), pct(after, 99),
                    len(during) / uploaded if uploaded > 0 else 0, len(after) / after_s), flush=True)
        for label, checkout, _ in nodes:
            print("%s: %s" % (label, checkout))
    finally:
        for _, _, node in nodes:
            node.stop()
        if not a.keep:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
