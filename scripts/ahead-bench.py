#!/usr/bin/env python3
"""Work ahead of demand, measured: bursts, a predicted chain, and the warm path of a fresh node.

Usage: scripts/ahead-bench.py [--port 8190] [--sections overhead,bursts,chain,busy] [--bursts 1,8,32]
                              [--iats 100,1000] [--rounds 8] [--ways none,learned,learned+freshen] [--round-gap-s 2.5] [--object-mib 10] [--object-latency-ms 20]
                              [--overhead-requests 2000] [--quiet-s 60] [--overhead-runs 1] [--freshen-max-calls 60]
                              [--busy-rate 50] [--busy-s 20]
                              [--node-option=ARG]... [--cluster] [--keep]

Starts its own node (./thaw up, sandboxed, data in .thaw/bench-ahead, removed at the end unless --keep)
and an object server on this host's address (the node's egress allows exactly it), then runs, in this order:

overhead  warm node overhead on the node that just started (right after the first deploy's snapshot)
          and again after the node has been quiet for --quiet-s: sequential invocations of hello over one
          keep-alive connection; overhead = client round trip - X-Thaw-Duration-Ms (what the node adds).
          With --overhead-runs N, N fresh nodes one after another (each a restart with empty data), and
          then the p99 of all their calls pooled and the median of the runs' ratios: one run's p99 of
          2,000 calls moves by 2x from run to run on a noisy VM. Per fresh node it also says when its
          first snapshot was stored, from the start of its fresh calls, and how long its publish was
          held first (the function's log): a publish that runs under the calls makes most of the tail.
bursts    STeLLAR-style bursts of N concurrent invocations of hello, three ways: "zero" (the function
          scaled to zero before each burst: every request waits for a restore), "ramp" (bursts of 1, 2,
          4, ... N, 2 s apart, instances kept: the autoscaler scales up from what it saw), "prewarm"
          (deployed with --prewarm N; before each burst its instances are evicted and the clones
          refilled). p50, p99, max, tail-to-median, and how many were warm, prewarmed, restored, booted.
chain     a two-step chain A -> B at each inter-arrival time (A answered, then B invoked IAT ms later;
          A stays warm, B is evicted before each round; a round every --round-gap-s). B (testfunctions Prefetcher) needs a
          --object-mib object from the object server (first byte after --object-latency-ms) and caches
          it; three ways: "none" (B alone, no prediction), "learned" (the node learned A -> B),
          "learned+freshen" (and B's freshen hook prefetches the object). The first 3 rounds of each
          way teach the chain and are not counted (a round every 2.5 s predicts B more often than thaw up's
          default freshen limit allows, so the node runs with --freshen-max-calls 60 unless told otherwise).
          Beside them, B's warm p50 (cache filled), back to
          back and in rounds of the same shape (A, then B IAT ms later, B kept warm). B is
          primed (an event that fetches nothing), and A and B are called over a connection opened
          before the round, as the warm calls are. Its "handler" column is the median X-Thaw-Duration-Ms
          (from the node handing B the event to B's result, as the node saw it); the rest of a call's
          time is the node's and the client's.
busy      a learned chain whose first function is called often: A (hello) --busy-rate times a second,
          B (hello) once per --round-gap-s. After 3 rounds that teach the chain (A for 1 s, then B once),
          --busy-s of A at that rate with B once a round: the chain's predictions (predicted, used,
          wasted), the most pre-restored clones B held at once and its instances at the end. Each
          prediction pending counts as a clone of B wanted, so a predictor that predicts B at every
          call of A holds clones of B that nothing uses. Then a burst beyond what the history showed:
          C (hello) and D (hello) taught as C, then D 300 ms later, three times; then 60 calls of C
          back to back and D not at all: the C -> D predictions and D's clones and restores in the 5 s
          after. Not in the default sections.

With --cluster the node is a node of a cluster: the script starts a one-member etcd
(.thaw/etcd/bin/etcd, scripts/install-etcd.sh installs it) and `./thaw s3-server` on this machine,
writes the cluster's secrets as `thaw cluster up` does, and gives the node the options of a node
joining them (every restart joins the same cluster, so each fresh node deploys a new version).

Prints one table per section, with the commit, date and machine. Needs the project built (./thaw builds it).
"""
import argparse
import base64
import contextlib
import datetime
import http.client
import http.server
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time

from benchlib import header, pct, stop_group

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HELLO_JAR = os.path.join(ROOT, "examples/hello/target/thaw-examples-hello.jar")
HELLO_HANDLER = "dev.thaw.examples.hello.Hello::handle"
TEST_JAR = os.path.join(ROOT, "testfunctions/target/thaw-testfunctions.jar")
LEARNING_ROUNDS = 3
# B is primed as a SnapStart function would be: its handler path runs before the snapshot, on an event
# that fetches nothing (testfunctions Prefetcher)
B_PRIMING = {"event": {"priming": True}, "rounds": 10}


def host_address():
    """This host's first non-loopback IPv4 address."""
    out = subprocess.run(["hostname", "-I"], capture_output=True, text=True).stdout.split()
    v4 = [a for a in out if "." in a and not a.startswith("127.")]
    if not v4:
        sys.exit("no non-loopback IPv4 address for the object server (hostname -I: %s)" % out)
    return v4[0]


class ObjectServer:
    """An object store's GET: one object of a fixed size, its first byte after a fixed latency."""

    def __init__(self, size, latency_ms):
        body = os.urandom(size)
        latency = latency_ms / 1000.0

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                time.sleep(latency)
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        # Not on loopback: instances reach the outside through the egress proxy, and their NO_PROXY
        # keeps loopback direct (to the Runtime API); an object store is another host anyway.
        self.host = host_address()
        self.server = http.server.ThreadingHTTPServer((self.host, 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


class Node:
    def __init__(self, port, data_dir, egress=None, extra=(), env=None, checkout=ROOT):
        self.port = port
        self.data_dir = data_dir
        shutil.rmtree(data_dir, ignore_errors=True)
        os.makedirs(os.path.dirname(data_dir), exist_ok=True)
        self.log = open(data_dir + ".log", "w")
        cmd = [os.path.join(checkout, "thaw"), "up", "--port", str(port), "--data-dir", data_dir]
        cmd += ["--egress-allow", egress] if egress else []
        self.proc = subprocess.Popen(cmd + list(extra), cwd=checkout, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True, env=dict(os.environ, **(env or {})))
        deadline = time.time() + 300
        said = False
        token_file = os.path.join(data_dir, "api-token")
        for i, arg in enumerate(extra):  # a cluster's node reads the cluster's token from a file of its own
            if arg.startswith("--api-token-file="):
                token_file = arg.split("=", 1)[1]
            elif arg == "--api-token-file" and i + 1 < len(extra):
                token_file = extra[i + 1]
        while True:
            said = said or self._say_aot_training(data_dir)
            if self.proc.poll() is not None:
                sys.exit("the node exited with %s; its output: %s.log" % (self.proc.returncode, data_dir))
            try:
                self.token = open(token_file).read().strip()
                if self.request("GET", "/healthz")[0] == 200:
                    break
            except (OSError, http.client.HTTPException):
                pass
            if time.time() > deadline:
                sys.exit("the node did not answer within 300 s; its output: %s.log" % data_dir)
            time.sleep(0.5)

    def _say_aot_training(self, data_dir):
        """Says so on stderr when `thaw up` makes the node's AOT cache first (once per build, about 50 s), which
        its output, in the node's log file, would otherwise keep from whoever waits for the node."""
        try:
            text = open(data_dir + ".log").read(4096)
        except OSError:
            return False
        if "making the node's AOT cache" not in text:
            return False
        print("# the node on port %d makes its AOT cache for this build first (about 50 s, once per build)"
              % self.port, file=sys.stderr, flush=True)
        return True

    def request(self, method, path, body=None, conn=None):
        own = conn is None
        c = conn or http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        headers = {"Authorization": "Bearer " + self.token, "Content-Type": "application/json"}
        c.request(method, path, body=body, headers=headers)
        r = c.getresponse()
        data = r.read()
        if own:
            c.close()
        return r.status, data, r

    def deploy(self, name, jar, handler, env=None, scaling=None, max_instances=8, priming=None, memory_mb=256,
               first_payload=b"{}", hurried=False):
        """Deploys and invokes once; the snapshot is the deploy's own unless hurried (then the invocation
        comes at once and the deploy's boot takes it after its baseline warm-up, for a waiting invocation)."""
        with open(jar, "rb") as f:
            code = base64.b64encode(f.read()).decode()
        manifest = {"handler": handler, "memoryMb": memory_mb, "environment": env or {}, "maxInstances": max_instances}
        if scaling:
            manifest["scaling"] = scaling
        if priming:
            manifest["priming"] = priming
        status, data, _ = self.request("PUT", "/functions/" + name, json.dumps({"manifest": manifest, "code": code}))
        if status not in (200, 201):
            sys.exit("deploying %s answered %d: %s" % (name, status, data[:300]))
        if not hurried:
            # as a user's first invocation usually comes: after the deploy's own boot took the snapshot
            self.await_snapshot(name, lambda state: state != "pending")
        self.invoke(name, first_payload)
        self.await_snapshot(name, lambda state: state == "ready")

    def await_snapshot(self, name, done):
        deadline = time.time() + 120
        while not done(self.describe(name)["snapshot"]["state"]):
            if time.time() > deadline:
                sys.exit("%s: its snapshot is still %s after 120 s" % (name, self.describe(name)["snapshot"]))
            time.sleep(0.2)

    def describe(self, name):
        status, data, _ = self.request("GET", "/functions/" + name)
        if status != 200:
            sys.exit("describing %s answered %d: %s" % (name, status, data[:300]))
        return json.loads(data)

    def invoke(self, name, payload=b"{}", conn=None):
        t0 = time.perf_counter()
        status, data, r = self.request("POST", "/functions/%s/invoke" % name, payload, conn)
        ms = (time.perf_counter() - t0) * 1000
        if status != 200:
            raise RuntimeError("invoking %s answered %d: %s" % (name, status, data[:300]))
        self.last_headers = dict(r.getheaders())
        return ms, r.getheader("X-Thaw-Start"), float(r.getheader("X-Thaw-Duration-Ms") or "nan"), data

    def evict(self, name):
        self.request("DELETE", "/functions/%s/instances" % name)
        deadline = time.time() + 30
        while sum(self.describe(name)["instances"].values()) > 0 and time.time() < deadline:
            time.sleep(0.1)

    def stop(self):
        stop_group(self.proc, 60)
        self.log.close()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def await_port(port, proc, what, log, timeout_s=120):
    deadline = time.time() + timeout_s
    while True:
        if proc.poll() is not None:
            sys.exit("%s exited with %s; its output: %s" % (what, proc.returncode, log))
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        if time.time() > deadline:
            sys.exit("%s did not listen on port %d within %d s; its output: %s" % (what, port, timeout_s, log))
        time.sleep(0.2)


class LocalCluster:
    """What a node needs to join a cluster, on this machine: a one-member etcd, `thaw s3-server`, and
    the cluster's secrets as owner-only files, written as `thaw cluster up` writes them."""

    def __init__(self, base):
        self.base = base
        shutil.rmtree(base, ignore_errors=True)
        os.makedirs(base)
        etcd = os.path.join(ROOT, ".thaw", "etcd", "bin", "etcd")
        if not os.path.exists(etcd):
            subprocess.run([os.path.join(ROOT, "scripts", "install-etcd.sh")], check=True, stdout=subprocess.DEVNULL)
        self.procs = []
        client, peer = free_port(), free_port()
        self.etcd_url = "http://127.0.0.1:%d" % client
        peer_url = "http://127.0.0.1:%d" % peer
        self._start("etcd", "etcd.log", [etcd, "--name", "bench", "--data-dir", os.path.join(base, "etcd"),
                                         "--listen-client-urls", self.etcd_url, "--advertise-client-urls", self.etcd_url,
                                         "--listen-peer-urls", peer_url, "--initial-advertise-peer-urls", peer_url,
                                         "--initial-cluster", "bench=" + peer_url], client)
        self.s3_keys = {"THAW_S3_ACCESS_KEY": "THAWS3" + secrets.token_hex(6), "THAW_S3_SECRET_KEY": secrets.token_urlsafe(30)}
        s3 = free_port()
        self.s3_url = "http://127.0.0.1:%d" % s3
        self._start("the S3 server", "s3.log", [os.path.join(ROOT, "thaw"), "s3-server", "--dir", os.path.join(base, "s3"),
                                                "--port", str(s3), "--bucket", "thaw-bench"], s3, self.s3_keys)
        d = os.path.join(base, "secrets")
        os.makedirs(d, mode=0o700)
        self.files = {
            "--api-token-file": self._secret(d, "api-token", secrets.token_urlsafe(32) + "\n"),
            "--aws-credentials-file": self._secret(d, "aws-credentials", "[thaw]\naws_access_key_id = AKTHAW%s\n"
                                                   "aws_secret_access_key = %s\n" % (secrets.token_hex(6).upper(),
                                                                                      secrets.token_urlsafe(30))),
            "--store-secret-file": self._secret(d, "store.secret", secrets.token_bytes(32)),
            "--xdt-key-file": self._secret(d, "xdt.key", base64.b64encode(secrets.token_bytes(32)).decode() + "\n"),
        }

    def _start(self, what, log_name, cmd, port, env=None):
        log = os.path.join(self.base, log_name)
        with open(log, "w") as out:
            proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True, env=dict(os.environ, **(env or {})))
        self.procs.append(proc)
        await_port(port, proc, what, log)

    @staticmethod
    def _secret(d, name, content):
        path = os.path.join(d, name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(content if isinstance(content, bytes) else content.encode())
        return path

    def node_options(self, port):
        """The `thaw up` options of a node of this cluster listening on port."""
        return (["--cluster=" + self.etcd_url, "--node-id=bench", "--advertise=http://127.0.0.1:%d" % port,
                 "--s3-endpoint=" + self.s3_url, "--s3-bucket=thaw-bench"]
                + ["%s=%s" % (k, v) for k, v in self.files.items()])

    def close(self, keep=False):
        for proc in reversed(self.procs):
            stop_group(proc, 20)
        if not keep:
            shutil.rmtree(self.base, ignore_errors=True)


@contextlib.contextmanager
def hello_nodes(base, port, variants, keep=False):
    """Nodes side by side, one per (label, extra `thaw up` arguments[, checkout whose ./thaw runs it]), on
    ports port, port+1, ...; each with hello deployed, yielded once past its first snapshot's background
    work as a dict label -> Node. Stopped at the end, their data (under base) removed unless keep."""
    nodes = {}
    try:
        for i, (label, extra, *checkout) in enumerate(variants):
            nodes[label] = Node(port + i, os.path.join(base, str(i)), extra=extra, checkout=(checkout or [ROOT])[0])
        for n in nodes.values():
            n.deploy("hello", HELLO_JAR, HELLO_HANDLER)
        time.sleep(10)  # every node past its start's background work alike
        yield nodes
    finally:
        for n in nodes.values():
            n.stop()
        if not keep:
            shutil.rmtree(base, ignore_errors=True)


def overhead(node, requests):
    conn = http.client.HTTPConnection("127.0.0.1", node.port, timeout=60)
    for _ in range(200):
        node.invoke("hello", b'{"name":"Ada"}', conn)
    rtt, over = [], []
    for _ in range(requests):
        ms, _, handler_ms, _ = node.invoke("hello", b'{"name":"Ada"}', conn)
        rtt.append(ms)
        over.append(ms - handler_ms)
    conn.close()
    return rtt, over


def publish_line(node, since):
    """When hello's snapshot was stored, relative to `since` (the client's wall clock), and how long its
    publish was held first: from the function's log (SNAPSHOT stored ...; held W ms first, ...)."""
    deadline = time.time() + 40  # a publish is held 30 s at most
    while True:  # a held publish is stored once the calls have stopped for a quiet spell
        status, data, _ = node.request("GET", "/functions/hello/logs?tail=10000")
        stored = [l for l in data.decode(errors="replace").splitlines() if " SNAPSHOT stored in " in l]
        if status == 200 and stored:
            break
        if time.time() > deadline:
            return "publish: not stored within 40 s of the calls"
        time.sleep(0.5)
    line = stored[-1]
    at = datetime.datetime.fromisoformat(line.split(" ", 1)[0][:26].rstrip("Z") + "+00:00").timestamp()
    held = re.search(r"held (\d+) ms first, (.*)$", line)
    return "publish: stored %+.2f s from the fresh calls' start%s" % (
        at - since, "; held %s ms, %s" % (held.group(1), held.group(2)) if held else "")


def section_overhead(node, a, restart):
    """With --overhead-runs N, restart() replaces the node N-1 times (and main's node with it)."""
    runs = a.overhead_runs
    print("\n## warm node overhead (hello, %d sequential calls after 200 unrecorded%s)" % (
        a.overhead_requests, ", on %d fresh nodes one after another" % runs if runs > 1 else ""))
    print("%-24s %9s %9s %11s %11s" % ("node", "rtt p50", "rtt p99", "overhead p50", "overhead p99"))
    pooled = {"fresh": [], "quiet": []}
    ratios = []
    for run in range(1, runs + 1):
        if run > 1:
            node = restart()
        node.deploy("hello", HELLO_JAR, HELLO_HANDLER)
        rows = {}
        for key, label, wait in (("fresh", "just started", 0), ("quiet", "quiet for %d s" % a.quiet_s, a.quiet_s)):
            time.sleep(wait)
            began = time.time()
            rtt, over = overhead(node, a.overhead_requests)
            if key == "fresh":
                took = time.time() - began
                publish = "%s (the calls took %.2f s)" % (publish_line(node, began), took)
            rows[key] = over
            pooled[key] += over
            shown = label if runs == 1 else "%d: %s" % (run, label)
            print("%-24s %9.2f %9.2f %11.2f %11.2f" % (shown, pct(rtt, 50), pct(rtt, 99), pct(over, 50), pct(over, 99)),
                  flush=True)
        # what a fresh node's tail depends on most: whether its first snapshot's publish ran under its calls
        print("  " + publish, flush=True)
        ratios.append(pct(rows["fresh"], 99) / pct(rows["quiet"], 99))
        print("fresh/quiet overhead p99: %.2fx (the bar: within 3x)" % ratios[-1], flush=True)
    if runs > 1:
        fresh, quiet = pct(pooled["fresh"], 99), pct(pooled["quiet"], 99)
        print("all %d runs' calls pooled: overhead p99 %.2f ms fresh, %.2f ms quiet: %.2fx; median of the runs' "
              "ratios %.2fx; runs within 3x: %d of %d" % (runs, fresh, quiet, fresh / quiet, pct(ratios, 50),
                                                        sum(r <= 3 for r in ratios), runs))


def burst(node, name, size):
    """size concurrent invocations, released together; returns [(ms, start)]."""
    conns = [http.client.HTTPConnection("127.0.0.1", node.port, timeout=120) for _ in range(size)]
    for c in conns:
        c.connect()
    gate = threading.Barrier(size)
    out = [None] * size

    def one(i):
        gate.wait()
        try:
            ms, start, _, _ = node.invoke(name, b'{"name":"Ada"}', conns[i])
            out[i] = (ms, start)
        except Exception as e:  # a failed request is reported, not hidden
            out[i] = (float("nan"), "error: %s" % e)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(size)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for c in conns:
        c.close()
    return out


def report_burst(way, size, results):
    ms = [r[0] for r in results if r[0] == r[0]]
    kinds = {}
    for _, k in results:
        kinds[k] = kinds.get(k, 0) + 1
    p50, p99 = pct(ms, 50), pct(ms, 99)
    print("%-8s %5d %9.1f %9.1f %9.1f %7.2f  %s" % (way, size, p50, p99, max(ms) if ms else float("nan"), p99 / p50,
                                                   " ".join("%s=%d" % kv for kv in sorted(kinds.items()))), flush=True)


def wait_clones(node, name, n, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        scaling = node.describe(name).get("scaling") or {}
        if scaling.get("preRestoredClones", 0) >= n and node.describe(name)["instances"]["starting"] == 0:
            return True
        time.sleep(0.2)
    return False


def section_bursts(node, a):
    sizes = [int(s) for s in a.bursts.split(",")]
    top = max(sizes)
    node.deploy("burst", HELLO_JAR, HELLO_HANDLER, max_instances=top)
    print("\n## bursts of hello (client round trip, ms)")
    print("%-8s %5s %9s %9s %9s %7s  %s" % ("way", "size", "p50", "p99", "max", "p99/p50", "starts"))
    for size in sizes:
        node.evict("burst")
        time.sleep(1)
        report_burst("zero", size, burst(node, "burst", size))
    node.evict("burst")
    time.sleep(1)
    size = 1
    while size <= top:
        results = burst(node, "burst", size)
        if size in sizes or size == top:
            report_burst("ramp", size, results)
        size *= 2
        time.sleep(2)
    # deployed only now: its clones, restored as soon as it has a snapshot, would compete with the
    # bursts above for the two cores
    node.evict("burst")
    node.deploy("burst-pw", HELLO_JAR, HELLO_HANDLER, max_instances=top, scaling={"prewarm": top})
    for size in sizes:
        node.evict("burst-pw")
        if not wait_clones(node, "burst-pw", size):
            print("prewarm  %5d  the clones were not ready within 120 s: %s" % (size, node.describe("burst-pw").get("scaling")))
            continue
        report_burst("prewarm", size, burst(node, "burst-pw", size))


def chain_round(node, a_name, b_name, iat_ms, invoke_a=True, evict_b=True):
    if evict_b:
        node.evict(b_name)
    time.sleep(0.3)
    # B is called over a connection opened beforehand, as a pooling client's would be and as the warm
    # figure it is compared with is measured: the TCP handshake is the client's, not the cold start's
    conn = http.client.HTTPConnection("127.0.0.1", node.port, timeout=60)
    conn.connect()
    if invoke_a:
        node.invoke(a_name, b'{"name":"Ada"}', conn)
    time.sleep(iat_ms / 1000.0)
    ms, start, handler_ms, body = node.invoke(b_name, b"{}", conn)
    conn.close()
    return ms, start, json.loads(body), handler_ms


def section_chain(node, obj, a):
    env = {"OBJECT_URL": "http://%s:%d/object" % (obj.host, obj.port)}
    print("\n## chain A -> B (B fetches a %d MiB object, first byte after %d ms; B's first response, ms)"
          % (a.object_mib, a.object_latency_ms))
    print("%-16s %6s %9s %9s %9s %9s %9s  %s" % ("way", "iat ms", "p50", "p99", "max", "fetch p50", "handler", "starts / cached"))
    warm_p50 = None
    for iat in [int(i) for i in a.iats.split(",")]:
        for way in a.ways.split(","):
            b = "b-%s-%d" % (way.replace("+", "-"), iat)
            a_name = "a-%s-%d" % (way.replace("+", "-"), iat)
            scaling = {"freshen": "prefetch"} if way == "learned+freshen" else None
            node.deploy(b, TEST_JAR, "dev.thaw.testfunctions.Prefetcher::handle", env=env, scaling=scaling,
                        priming=B_PRIMING)
            if way != "none":
                node.deploy(a_name, HELLO_JAR, HELLO_HANDLER)
            rows = []
            for r in range(LEARNING_ROUNDS + a.rounds):
                # A's rounds are the predictor's unit: one closes a window (2 s) after it opened, so
                # the chain runs once per gap, as a chain triggered every few seconds would
                next_round = time.time() + a.round_gap_s
                row = chain_round(node, a_name, b, iat, invoke_a=way != "none")
                time.sleep(max(0.0, next_round - time.time()))
                if r >= LEARNING_ROUNDS:
                    rows.append(row)
            ms = [r[0] for r in rows]
            kinds = {}
            for _, start, body, _ in rows:
                k = "%s/%s" % (start, "cached" if body.get("cached") else "fetched")
                kinds[k] = kinds.get(k, 0) + 1
            print("%-16s %6d %9.1f %9.1f %9.1f %9.1f %9.2f  %s" % (way, iat, pct(ms, 50), pct(ms, 99), max(ms),
                                                             pct([r[2]["fetchMs"] for r in rows], 50),
                                                             pct([r[3] for r in rows], 50),
                                                             " ".join("%s=%d" % kv for kv in sorted(kinds.items()))),
                  flush=True)
            if way == "learned+freshen":
                predicted = pct(ms, 50)
                warm, warm_handler = [], []
                conn = http.client.HTTPConnection("127.0.0.1", node.port, timeout=60)
                for i in range(60):
                    w = node.invoke(b, b"{}", conn)
                    if i >= 10:
                        warm.append(w[0])
                        warm_handler.append(w[2])
                conn.close()
                warm_p50 = pct(warm, 50)
                print("%-16s %6s %9.1f %9s %9s %9s %9.2f  (cache filled; back to back)" % ("warm B", "", warm_p50, "", "",
                                                                                   "", pct(warm_handler, 50)))
                # the same round as the predicted one (A, then B IAT ms later, over a connection opened
                # before the round), with B warm: what a warm B costs at this inter-arrival time
                paced = []
                for r in range(a.rounds):
                    next_round = time.time() + a.round_gap_s
                    paced.append(chain_round(node, a_name, b, iat, evict_b=False))
                    time.sleep(max(0.0, next_round - time.time()))
                paced_ms = [row[0] for row in paced]
                paced_p50 = pct(paced_ms, 50)
                paced_starts = sorted(set(row[1] for row in paced))
                print("%-16s %6d %9.1f %9.1f %9.1f %9s %9.2f  starts: %s" % ("warm B, rounds", iat, paced_p50,
                                                                     pct(paced_ms, 99), max(paced_ms), "",
                                                                     pct([row[3] for row in paced], 50),
                                                                     ",".join(paced_starts)))
                print("predicted cold start p50 / warm p50: %.2fx back to back, %.2fx in the same rounds (the bar:"
                      " within 2x)" % (predicted / warm_p50, predicted / paced_p50), flush=True)
                scaling = node.describe(b).get("scaling") or {}
                print("describe %s: predictions %s, freshen %s" % (b, json.dumps(scaling.get("predictions")),
                                                                  json.dumps(scaling.get("freshen"))))
                log = node.request("GET", "/functions/%s/logs?tail=2000" % b)[1].decode(errors="replace").splitlines()
                freshen_lines = [l for l in log if "FRESHEN" in l]
                print("freshen lines in %s's log: %d; %s" % (b, len(freshen_lines), " | ".join(freshen_lines[-2:])))


@contextlib.contextmanager
def most_seen(node, name, figures, every):
    """While the block runs, polls `describe` of name every `every` s and keeps the largest value of each
    figure (a function of the description); yields that dict. describe opens a connection of its own, so
    the block's calls keep theirs."""
    most = {k: 0 for k in figures}
    watching = [True]

    def watch():
        while watching[0]:
            d = node.describe(name)
            for k, figure in figures.items():
                most[k] = max(most[k], figure(d))
            time.sleep(every)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        yield most
    finally:
        watching[0] = False
        watcher.join()


def chain_from(description, first):
    """The prediction outcome of the chain from `first` to the described function, as JSON, or "none"."""
    chain = [p for p in (description.get("scaling") or {}).get("predictions") or [] if p["from"] == first]
    return json.dumps(chain[0]) if chain else "none"


def clones(d):
    return (d.get("scaling") or {}).get("preRestoredClones", 0)


def section_busy(node, a):
    node.deploy("busy-a", HELLO_JAR, HELLO_HANDLER)
    node.deploy("busy-b", HELLO_JAR, HELLO_HANDLER)
    conn = http.client.HTTPConnection("127.0.0.1", node.port, timeout=60)
    period = 1.0 / a.busy_rate
    calls = {"a": 0, "b": 0}

    def a_for(seconds):
        end = time.time() + seconds
        while time.time() < end:
            t = time.time()
            node.invoke("busy-a", b'{"name":"Ada"}', conn)
            calls["a"] += 1
            time.sleep(max(0.0, period - (time.time() - t)))

    for _ in range(LEARNING_ROUNDS):
        a_for(1.0)
        node.invoke("busy-b", b'{"name":"Ada"}', conn)
        time.sleep(a.round_gap_s)
    end = time.time() + a.busy_s
    with most_seen(node, "busy-b", {"clones": clones, "instances": lambda d: sum(d["instances"].values())},
                   0.25) as most:
        while time.time() < end:
            a_for(min(a.round_gap_s, end - time.time()))
            node.invoke("busy-b", b'{"name":"Ada"}', conn)
            calls["b"] += 1
        time.sleep(2.5)  # the last predictions' window passes
    conn.close()
    d = node.describe("busy-b")
    print("\n## a busy chain: A %d calls a second, B once per %.1f s, for %d s (after %d rounds that teach A -> B)"
          % (a.busy_rate, a.round_gap_s, a.busy_s, LEARNING_ROUNDS))
    print("calls: A %d, B %d; A -> B predictions: %s" % (calls["a"], calls["b"], chain_from(d, "busy-a")))
    print("B's pre-restored clones at most %d at once, its instances at most %d (at the end: %s)"
          % (most["clones"], most["instances"], json.dumps(d["instances"])), flush=True)
    section_burst_beyond_history(node)


def section_burst_beyond_history(node):
    node.deploy("burst-c", HELLO_JAR, HELLO_HANDLER)
    node.deploy("burst-d", HELLO_JAR, HELLO_HANDLER)
    conn = http.client.HTTPConnection("127.0.0.1", node.port, timeout=60)
    for _ in range(LEARNING_ROUNDS):
        node.invoke("burst-c", b'{"name":"Ada"}', conn)
        time.sleep(0.3)
        node.invoke("burst-d", b'{"name":"Ada"}', conn)
        time.sleep(3)
    restores = node.describe("burst-d")["snapshot"]["restores"]
    with most_seen(node, "burst-d", {"coming": lambda d: clones(d) + d["instances"]["starting"]}, 0.1) as most:
        for _ in range(60):
            node.invoke("burst-c", b'{"name":"Ada"}', conn)
        time.sleep(5)
    conn.close()
    d = node.describe("burst-d")
    print("\n## a burst beyond the history: C -> D taught one to one, then 60 calls of C back to back, no D")
    print("C -> D predictions: %s; D's clones starting or waiting at most %d at once, its restores %d"
          % (chain_from(d, "burst-c"), most["coming"], d["snapshot"]["restores"] - restores), flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--port", type=int, default=8190)
    p.add_argument("--sections", default="overhead,bursts,chain", help="of overhead, bursts, chain, busy")
    p.add_argument("--bursts", default="1,8,32")
    p.add_argument("--iats", default="100,1000")
    p.add_argument("--rounds", type=int, default=8)
    p.add_argument("--ways", default="none,learned,learned+freshen", help="the chain section's ways, in order")
    p.add_argument("--round-gap-s", type=float, default=2.5)
    p.add_argument("--object-mib", type=int, default=10)
    p.add_argument("--object-latency-ms", type=int, default=20)
    p.add_argument("--overhead-requests", type=int, default=2000)
    p.add_argument("--quiet-s", type=int, default=60)
    p.add_argument("--overhead-runs", type=int, default=1,
                   help="fresh nodes the overhead section measures one after another (a node restarted for each)")
    p.add_argument("--busy-rate", type=int, default=50, help="the busy section's calls of A a second")
    p.add_argument("--busy-s", type=int, default=20, help="how long the busy section's A is busy")
    p.add_argument("--freshen-max-calls", type=int, default=60,
                   help="the node's freshen calls per function per minute (thaw up's default is 10)")
    p.add_argument("--node-option", action="append", default=[],
                   help="an argument of `thaw up` for the node (repeatable), e.g. --node-option=--store-no-warm-up")
    p.add_argument("--cluster", action="store_true",
                   help="run the node as a node of a cluster: a one-member etcd and `thaw s3-server` on this machine")
    p.add_argument("--keep", action="store_true", help="keep the node's data directory")
    a = p.parse_args()
    sections = a.sections.split(",")
    unknown_ways = set(a.ways.split(",")) - {"none", "learned", "learned+freshen"}
    if unknown_ways:
        sys.exit("unknown way(s): %s (none, learned, learned+freshen)" % ", ".join(sorted(unknown_ways)))
    unknown = set(sections) - {"overhead", "bursts", "chain", "busy"}
    if unknown:
        sys.exit("unknown section(s): %s (overhead, bursts, chain, busy)" % ", ".join(sorted(unknown)))
    for jar in (HELLO_JAR, TEST_JAR):
        if not os.path.exists(jar):
            sys.exit("%s is missing: build the project first (./thaw builds it)" % jar)
    header("ahead-bench")
    obj = ObjectServer(a.object_mib << 20, a.object_latency_ms)
    data_dir = os.path.join(ROOT, ".thaw", "bench-ahead", "data")
    cluster = LocalCluster(os.path.join(ROOT, ".thaw", "bench-ahead", "cluster")) if a.cluster else None
    options = a.node_option + (cluster.node_options(a.port) if cluster else [])
    env = cluster.s3_keys if cluster else None
    # the chain's rounds predict B more often than the default freshen limit (10 a minute) allows
    print("node: thaw up --freshen-max-calls %d%s%s" % (a.freshen_max_calls, "".join(" " + o for o in a.node_option),
                                                       " (a node of a cluster: etcd and thaw s3-server on this machine)"
                                                       if cluster else ""))
    def start():
        return Node(a.port, data_dir, "%s:%d" % (obj.host, obj.port),
                    extra=["--freshen-max-calls", str(a.freshen_max_calls)] + options, env=env)

    try:
        node = start()
    except BaseException:
        if cluster:
            cluster.close()
        raise

    def restart():  # the later sections and the final stop use the node it started
        nonlocal node
        node.stop()
        node = start()
        return node

    try:
        if "overhead" in sections:
            section_overhead(node, a, restart)
        if "bursts" in sections:
            section_bursts(node, a)
        if "chain" in sections:
            section_chain(node, obj, a)
        if "busy" in sections:
            section_busy(node, a)
    finally:
        node.stop()
        obj.close()
        if cluster:
            cluster.close(a.keep)
        if not a.keep:
            shutil.rmtree(os.path.dirname(data_dir), ignore_errors=True)


if __name__ == "__main__":
    main()
