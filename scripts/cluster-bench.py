#!/usr/bin/env python3
"""A local cluster, measured: cold starts by where the snapshot is, forwarding, and a node's death.

Usage: scripts/cluster-bench.py [--port 8290] [--functions hello,json-transform] [--repeat 8]
                                [--warm-requests 1000] [--lease-ttl-s 2] [--parts cold,forwarding,warmed,death]
                                [--warm-snapshot-after 5000] [--keep]

Starts `./thaw cluster up --nodes 3` (etcd, the S3 server, three sandboxed nodes; data in
.thaw/bench-cluster, removed at the end unless --keep) and a single node (`./thaw up`, no cluster) beside
it, then, for each example function deployed through node 1 and booted there once:

cold starts  time to first response of an invocation run right on a node (X-Thaw-Forwarded pins it, as a
             front door that placed it there would), the function's instances evicted before each:
             node-1 (took the snapshot: its working copy), node-2 with the snapshot only in its disk tier
             (working copy and memory tier dropped), node-3 that has never seen it or has dropped it
             from every tier (fetched from S3), and the single node (its working copy); the four in turns.
forwarding   warm invocations of hello through node-2's front door, forwarded to the warm instance on
             node-1, against the same calls made to node-1 directly: p50 and p99 of the client's round trip.
warmed       hello deployed twice through node-1, as hello-init (warmSnapshotAfter 0: its clones restore the
             snapshot taken after init) and hello-warmed (warmSnapshotAfter N): both booted on node-1 and
             served N + 200 calls there, so node-1 warms hello-warmed's snapshot and the catalog names the
             warmed one. Then, the two in turns, clones on node-2 (which restores what the catalog names,
             from the store): instances evicted, 1.5 s of quiet, one call pinned to node-2 (the node's
             restore, the client's time to first response, the handler's first run), then the clone's
             next 200 calls on one connection (p50, p99).
node death   kill -9 of node-3, then node-1's view of the members polled every 20 ms until node-3 is
             gone: the time placement goes on choosing a dead node (bounded by the lease, --lease-ttl-s).

Prints the commit, date and machine, then one table per part.
"""
import argparse
import base64
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

from benchlib import header, pct

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = {
    "hello": ("examples/hello/target/thaw-examples-hello.jar", "dev.thaw.examples.hello.Hello::handle",
              '{"name":"Ada"}'),
    "json-transform": ("examples/json-transform/target/thaw-examples-json-transform.jar",
                       "dev.thaw.examples.json.OrderSummarizer::apply",
                       '{"id":"o-1","customer":"Ada","currency":"EUR","lines":[{"sku":"pen","quantity":3,"unitPrice":1.50}]}'),
}


class Api:
    def __init__(self, port, token):
        self.port = port
        self.token = token

    def request(self, method, path, body=None, headers=None, conn=None):
        own = conn is None
        c = conn or http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        h = {"Authorization": "Bearer " + self.token, "Content-Type": "application/json"}
        h.update(headers or {})
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        if own:
            c.close()
        return r.status, data, r

    def ok(self, method, path, body=None, headers=None):
        status, data, r = self.request(method, path, body, headers)
        if status // 100 != 2:
            sys.exit("%s %s on :%d answered %d: %s" % (method, path, self.port, status, data[:300]))
        return json.loads(data) if data else None

    def invoke(self, name, payload, pinned=False, conn=None):
        headers = {"X-Thaw-Forwarded": "bench"} if pinned else {}
        t0 = time.perf_counter()
        status, data, r = self.request("POST", "/functions/%s/invoke" % name, payload, headers, conn)
        ms = (time.perf_counter() - t0) * 1000
        if status != 200:
            raise RuntimeError("invoking %s on :%d answered %d: %s" % (name, self.port, status, data[:300]))
        self.last_headers = dict(r.getheaders())
        return ms, r.getheader("X-Thaw-Start"), r.getheader("X-Thaw-Node"), source(r)

    def healthy(self):
        try:
            return self.request("GET", "/healthz")[0] == 200
        except (OSError, http.client.HTTPException):
            return False


def source(r):
    """Where a restore's image came from: local (the working copy), or the store tiers that sent bytes."""
    where = r.getheader("X-Thaw-Restore-Source")
    fetched = r.getheader("X-Thaw-Fetch-Bytes") or ""
    tiers = [kv.split("=")[0] for kv in fetched.split(";") if "=" in kv and kv.split("=")[1] not in ("0", "")]
    return where if not tiers else "+".join(tiers)


def wait_until(what, predicate, timeout):
    deadline = time.time() + timeout
    while not predicate():
        if time.time() > deadline:
            sys.exit("%s: not within %d s" % (what, timeout))
        time.sleep(0.2)


def example_payload(name):
    jar, handler, payload = EXAMPLES[name]
    return jar, handler, payload.encode()


def deploy(api, name, example=None, settings=None):
    jar, handler, _ = example_payload(example or name)
    with open(os.path.join(ROOT, jar), "rb") as f:
        code = base64.b64encode(f.read()).decode()
    manifest = {"handler": handler, "memoryMb": 256}
    manifest.update(settings or {})
    api.ok("PUT", "/functions/" + name, json.dumps({"manifest": manifest, "code": code}))


def part_warmed(nodes, a):
    """hello-init against hello-warmed, clones on node-2 (see the module's comment)."""
    _, _, payload = example_payload("hello")
    n1, n2 = nodes[0], nodes[1]
    variants = (("hello-init", 0), ("hello-warmed", a.warm_snapshot_after))
    for name, after in variants:
        deploy(n1, name, "hello", {"warmSnapshotAfter": after})
        conn = http.client.HTTPConnection("127.0.0.1", n1.port, timeout=60)
        for _ in range(a.warm_snapshot_after + 200):  # one instance on node-1 serves them all
            n1.invoke(name, payload, True, conn)
        conn.close()
    wait_until("hello-warmed's warmed snapshot in the catalog",
               lambda: n2.ok("GET", "/functions/hello-warmed")["snapshot"].get("warmedAfterInvocations"), 120)
    warmed_after = n2.ok("GET", "/functions/hello-warmed")["snapshot"]["warmedAfterInvocations"]
    print("\n## clones on node-2 of hello's snapshot taken after init and of the one node-1 warmed after %d calls"
          " (%d each, in turns; then each clone's next 200 calls on one connection)" % (warmed_after, a.repeat))
    rows = {name: [] for name, _ in variants}
    for _ in range(a.repeat):
        for name, _ in variants:
            n2.ok("DELETE", "/functions/%s/instances" % name)
            wait_until("instances of %s evicted" % name,
                       lambda: sum(n2.ok("GET", "/functions/" + name)["instances"].values()) == 0, 30)
            time.sleep(1.5)
            conn = http.client.HTTPConnection("127.0.0.1", n2.port, timeout=60)
            ms, start, node, _ = n2.invoke(name, payload, True, conn)
            restore_ms = float(n2.last_headers.get("X-Thaw-Restore-Ms") or "nan")
            handler_ms = float(n2.last_headers.get("X-Thaw-Duration-Ms") or "nan")
            next_ms = [n2.invoke(name, payload, True, conn)[0] for _ in range(200)]
            conn.close()
            rows[name].append((start, node, restore_ms, ms, handler_ms, pct(next_ms, 50), pct(next_ms, 99)))
    print("%-14s %10s %10s %10s %10s %10s  %s" % ("function", "restore", "first", "handler", "next p50", "next p99",
                                                  "starts (medians, ms)"))
    for name, _ in variants:
        r = rows[name]
        kinds = {}
        for start, node, *_ in r:
            kinds["%s@%s" % (start, node)] = kinds.get("%s@%s" % (start, node), 0) + 1
        print("%-14s %10.1f %10.1f %10.2f %10.2f %10.2f  %s" % (
            name, pct([x[2] for x in r], 50), pct([x[3] for x in r], 50), pct([x[4] for x in r], 50),
            pct([x[5] for x in r], 50), pct([x[6] for x in r], 50), " ".join("%s=%d" % kv for kv in sorted(kinds.items()))),
              flush=True)


def cold(api, name, payload, pinned, repeat, before=None):
    rows = []
    for _ in range(repeat):
        api.ok("DELETE", "/functions/%s/instances" % name)
        wait_until("instances of %s evicted" % name,
                   lambda: sum(api.ok("GET", "/functions/" + name)["instances"].values()) == 0, 30)
        if before:
            before()
        time.sleep(0.3)
        rows.append(api.invoke(name, payload, pinned))
    return rows


def thaw_cgroups():
    """The node cgroups (/sys/fs/cgroup/*/thaw/<node key>) there are now."""
    import glob
    return set(glob.glob("/sys/fs/cgroup/*/thaw/*/"))


def sweep_killed_node(base, before):
    """What the node killed with SIGKILL left and no later start of it sweeps: its instances' scratch
    mounts under base, and its (empty, once the instances died with it) cgroups."""
    mounts = [line.split()[4] for line in open("/proc/self/mountinfo") if line.split()[4].startswith(base + "/")]
    for m in sorted(mounts, key=len, reverse=True):
        subprocess.run(["umount", "-l", m], check=False)
    time.sleep(1)
    for parent in thaw_cgroups() - before:
        for d in sorted((os.path.join(r, x) for r, ds, _ in os.walk(parent) for x in ds), key=len, reverse=True) + [parent]:
            try:
                os.rmdir(d)
            except OSError:
                pass


def listening_pid(port):
    """The pid of the process listening on 127.0.0.1:port (ss -ltnp)."""
    out = subprocess.run(["ss", "-ltnpH", "sport = :%d" % port], capture_output=True, text=True).stdout
    m = re.search(r"pid=(\d+)", out)
    return int(m.group(1)) if m else None


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--port", type=int, default=8290)
    p.add_argument("--functions", default="hello,json-transform")
    p.add_argument("--repeat", type=int, default=8)
    p.add_argument("--warm-requests", type=int, default=1000)
    p.add_argument("--lease-ttl-s", type=int, default=2)
    p.add_argument("--parts", default="cold,forwarding,warmed,death")
    p.add_argument("--warm-snapshot-after", type=int, default=5000, help="hello-warmed's setting (the warmed part)")
    p.add_argument("--keep", action="store_true")
    a = p.parse_args()
    functions = a.functions.split(",")
    parts = a.parts.split(",")
    unknown = set(parts) - {"cold", "forwarding", "warmed", "death"}
    if unknown:
        sys.exit("unknown parts %s (of cold, forwarding, warmed, death)" % ", ".join(sorted(unknown)))
    for f in functions:
        if f not in EXAMPLES:
            sys.exit("unknown function %s (one of %s)" % (f, ", ".join(EXAMPLES)))
        if not os.path.exists(os.path.join(ROOT, EXAMPLES[f][0])):
            sys.exit("%s is missing: build the project first (./thaw builds it)" % EXAMPLES[f][0])
    header("cluster-bench")
    base = os.path.join(ROOT, ".thaw", "bench-cluster")
    cgroups_before = thaw_cgroups()
    shutil.rmtree(base, ignore_errors=True)
    os.makedirs(base, exist_ok=True)
    log = open(os.path.join(base, "cluster.log"), "w")
    cluster = subprocess.Popen([os.path.join(ROOT, "thaw"), "cluster", "up", "--nodes", "3", "--port", str(a.port),
                                "--dir", os.path.join(base, "cluster"), "--fresh", "--lease-ttl-s", str(a.lease_ttl_s)],
                               cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.PIPE,
                               start_new_session=True)
    single_log = open(os.path.join(base, "single.log"), "w")
    single_port = a.port + 10
    single_dir = os.path.join(base, "single")
    single = None
    try:
        token_file = os.path.join(ROOT, ".thaw", "data", "api-token")
        wait_until("the cluster's API token", lambda: os.path.exists(token_file), 900)
        token = open(token_file).read().strip()
        nodes = [Api(a.port + i, token) for i in range(3)]
        # ./thaw builds the project first when its sources changed: the single node starts once that is done
        wait_until("three nodes answering", lambda: all(n.healthy() for n in nodes) and cluster.poll() is None, 900)
        wait_until("three members", lambda: len(nodes[0].ok("GET", "/cluster/nodes")["nodes"]) == 3, 60)
        if "cold" in parts:  # the single node is the cold starts' yardstick only
            single = subprocess.Popen([os.path.join(ROOT, "thaw"), "up", "--port", str(single_port), "--data-dir",
                                       single_dir], cwd=ROOT, stdout=single_log, stderr=subprocess.STDOUT,
                                      start_new_session=True)
            single_token_file = os.path.join(single_dir, "api-token")
            wait_until("the single node", lambda: os.path.exists(single_token_file)
                       and Api(single_port, open(single_token_file).read().strip()).healthy(), 300)
            lone = Api(single_port, open(single_token_file).read().strip())
        time.sleep(15)  # past the single node's start-up work, which would weigh on every node's figures

        if "cold" in parts:
            print("\n## cold start to first response, ms (eager restores; %d each, the cases in turns, instances evicted before each)" % a.repeat)
            print("%-16s %-34s %8s %8s %8s  %s" % ("function", "where", "p50", "p99", "max", "starts / sources"))
            for name in functions:
                _, _, payload = example_payload(name)
                deploy(nodes[0], name)
                deploy(lone, name)
                for api in (nodes[0], lone):
                    ms, start, _, _ = api.invoke(name, payload, pinned=True)
                    if start != "boot":
                        sys.exit("the first invocation of %s on :%d was a %s, not a boot" % (name, api.port, start))
                wait_until("%s's snapshot in the catalog" % name,
                           lambda: ("%s@v1" % name) in json.dumps(nodes[0].ok("GET", "/cluster/nodes")), 120)
                n2, n3 = nodes[1], nodes[2]
                cases = [
                    ("node-1 (took the snapshot)", nodes[0], None),
                    ("node-2 (its disk tier)", n2, lambda: n2.ok("POST", "/snapshots/%s/evict?tiers=working,memory" % name)),
                    ("node-3 (never seen: S3)", n3, lambda: n3.ok("POST", "/snapshots/%s/evict?tiers=working,memory,disk" % name)),
                    ("single node (working copy)", lone, None),
                ]
                # node-2 needs the snapshot in its disk tier first: one restore there fetches it from S3
                cold(n2, name, payload, True, 1)
                results = {label: [] for label, _, _ in cases}
                for _ in range(a.repeat):  # in turns, so every case sees the machine as the others do
                    for label, api, before in cases:
                        results[label] += cold(api, name, payload, True, 1, before)
                for label, api, before in cases:
                    rows = results[label]
                    ms = [r[0] for r in rows]
                    kinds = {}
                    for _, start, node, source in rows:
                        k = "%s/%s@%s" % (start, source, node or "single")
                        kinds[k] = kinds.get(k, 0) + 1
                    print("%-16s %-34s %8.1f %8.1f %8.1f  %s" % (name, label, pct(ms, 50), pct(ms, 99), max(ms),
                                                                 " ".join("%s=%d" % kv for kv in sorted(kinds.items()))),
                          flush=True)

        hello_deployed = "cold" in parts and "hello" in functions
        if ("forwarding" in parts or "death" in parts) and not hello_deployed:
            deploy(nodes[0], "hello")
            nodes[0].invoke("hello", example_payload("hello")[2], pinned=True)
        if "forwarding" in parts:
            print("\n## warm invocations of hello, %d sequential over one keep-alive connection each, ms" % a.warm_requests)
            print("%-40s %8s %8s  %s" % ("path", "p50", "p99", "ran on"))
            _, _, payload = example_payload("hello")
            for label, api, pinned in (("direct to node-1", nodes[0], True),
                                       ("through node-2's front door (forwarded)", nodes[1], False),
                                       ("direct to node-1 again", nodes[0], True)):
                conn = http.client.HTTPConnection("127.0.0.1", api.port, timeout=60)
                ran = {}
                for i in range(200 + a.warm_requests):
                    r = api.invoke("hello", payload, pinned, conn)
                    if i >= 200:
                        ran.setdefault("ms", []).append(r[0])
                        ran[r[2]] = ran.get(r[2], 0) + 1
                conn.close()
                ms = ran.pop("ms")
                print("%-40s %8.2f %8.2f  %s" % (label, pct(ms, 50), pct(ms, 99),
                                                 " ".join("%s=%d" % kv for kv in sorted(ran.items()))), flush=True)

        if "warmed" in parts:
            part_warmed(nodes, a)

        if "death" in parts:
            print("\n## kill -9 of node-3 (lease TTL %d s)" % a.lease_ttl_s)
            pid = listening_pid(a.port + 2)
            if pid is None:
                sys.exit("no process listens on node-3's port %d" % (a.port + 2))
            killed = time.perf_counter()
            os.kill(pid, signal.SIGKILL)
            while "node-3" in [n["id"] for n in nodes[0].ok("GET", "/cluster/nodes")["nodes"]]:
                if time.perf_counter() - killed > 60:
                    sys.exit("node-3 still a member 60 s after kill -9")
                time.sleep(0.02)
            print("node-3 gone from node-1's members %.0f ms after kill -9" % ((time.perf_counter() - killed) * 1000))
            ms, start, node, _ = nodes[0].invoke("hello", example_payload("hello")[2])
            print("then hello through node-1: %s on %s, %.1f ms" % (start, node, ms))
    finally:
        procs = [p for p in (cluster, single) if p is not None]
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(90)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()
        single_log.close()
        sweep_killed_node(base, cgroups_before)
        if not a.keep:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
