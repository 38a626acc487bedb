#!/usr/bin/env python3
"""Warm calls after idle gaps: how long a warm invocation takes as the time since the last one grows.

Usage: scripts/idle-gap.py [--port 8490] [--calls 25] [--gaps 0,0.002,0.01,0.03,0.1,0.3,1] [--spinners] [--bare] [--keep]

A predicted cold start is compared with a warm call, and what a warm call costs depends on how long
the machine was idle before it: on a VM whose vCPUs halt while idle, every hand-off between threads
(client, node, runtime) waits for a wake-up, and caches and predictors are cold. This script starts
one sandboxed node with hello (and a second function, other), and measures sequential warm calls of
hello after each idle gap (median of --calls). Then, with 1 s of idle before each call, it calls
either hello or other 50 ms before the measured call ("a touch"), to show how much of the cost a
call just before removes, and whether it must be the same function. The client is Python's
http.client on one kept-alive connection (its own wake-ups are part of every figure). --spinners
measures the gaps again, in turns with none, while a busy loop at SCHED_IDLE runs on every core:
vCPUs that never halt, which tells the guest's idle wake-ups from the rest of what idleness costs
(caches, the host's other work). --bare measures the same gaps, in turns with hello, against a bare
HTTP server in another process (Python's http.server answering a constant, no thaw): what idleness
costs any client-server round trip on the machine, as a ratio to its own back-to-back figure. Node data in
.thaw/bench-gap and its output in .thaw/bench-gap.log, both removed at the end unless --keep. Needs the project built (./thaw builds it).
"""
import argparse
import http.client
import os
import shutil
import socket
import subprocess
import sys
import time

from benchlib import ahead_bench, header, pct

bench = ahead_bench()
EVENT = b'{"name":"Ada"}'


def p50s_after_gaps(node, conn, gaps, calls):
    """Per idle gap, the median client round trip of calls warm calls of hello, each after that gap."""
    out = []
    for gap in gaps:
        xs = []
        for _ in range(calls):
            time.sleep(gap)
            xs.append(node.invoke("hello", EVENT, conn)[0])
        out.append(pct(xs, 50))
    return out


BARE_SERVER = r"""
import http.server, socket, socketserver, sys
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = b'{"greeting":"Hello, Ada!"}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    def get_request(self):
        conn, addr = self.socket.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # headers and body in separate writes
        return conn, addr
server = Server(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
"""


def bare_p50s_after_gaps(port, gaps, calls):
    """As p50s_after_gaps, against the bare server: the same client, one kept-alive connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.connect()
    conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def call():
        t0 = time.perf_counter()
        conn.request("POST", "/", body=EVENT, headers={"Content-Type": "application/json"})
        conn.getresponse().read()
        return (time.perf_counter() - t0) * 1000

    for _ in range(500):
        call()
    out = []
    for gap in gaps:
        xs = []
        for _ in range(calls):
            time.sleep(gap)
            xs.append(call())
        out.append(pct(xs, 50))
    conn.close()
    return out


def section_bare(node, conn, gaps, calls):
    server = subprocess.Popen([sys.executable, "-c", BARE_SERVER], stdout=subprocess.PIPE, text=True)
    try:
        port = int(server.stdout.readline())
        print("\n## the same gaps, in turns: hello through thaw, and a bare HTTP server in another process (p50, ms;"
              " in brackets, ÷ the same row's first gap)")
        print("%-10s %s" % ("turn", " ".join("%15s" % ("%gs" % g) for g in gaps)))
        for _ in range(2):
            for name, row in (("hello", lambda: p50s_after_gaps(node, conn, gaps, calls)),
                              ("bare", lambda: bare_p50s_after_gaps(port, gaps, calls))):
                xs = row()
                print("%-10s %s" % (name, " ".join("%7.3f (%4.1fx)" % (x, x / xs[0]) for x in xs)), flush=True)
    finally:
        server.kill()
        server.wait()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--port", type=int, default=8490)
    p.add_argument("--calls", type=int, default=25)
    p.add_argument("--gaps", default="0,0.002,0.01,0.03,0.1,0.3,1")
    p.add_argument("--spinners", action="store_true")
    p.add_argument("--bare", action="store_true")
    p.add_argument("--keep", action="store_true")
    a = p.parse_args()
    header("idle-gap")
    base = os.path.join(bench.ROOT, ".thaw", "bench-gap")
    node = bench.Node(a.port, base, extra=["--no-predictions"])
    try:
        node.deploy("hello", bench.HELLO_JAR, bench.HELLO_HANDLER)
        node.deploy("other", bench.HELLO_JAR, bench.HELLO_HANDLER)
        time.sleep(8)  # past the node's first background work
        conn = http.client.HTTPConnection("127.0.0.1", node.port, timeout=60)
        node.invoke("other", EVENT, conn)
        for _ in range(500):
            node.invoke("hello", EVENT, conn)
        gaps = [float(g) for g in a.gaps.split(",")]
        print("\n## warm hello after an idle gap (client round trip, ms)")
        print("%10s %5s %8s" % ("gap s", "n", "p50"))
        for gap, p50 in zip(gaps, p50s_after_gaps(node, conn, gaps, a.calls)):
            print("%10.3f %5d %8.3f" % (gap, a.calls, p50))
        if a.spinners:
            print("\n## the same, in turns: cores left idle, and a SCHED_IDLE busy loop on every core (p50, ms)")
            print("%-10s %s" % ("turn", " ".join("%8s" % ("%gs" % g) for g in gaps)))
            for turn in range(2):
                for spin in (False, True):
                    loops = [subprocess.Popen(["chrt", "--idle", "0", "sh", "-c", "while :; do :; done"])
                             for _ in range(os.cpu_count() if spin else 0)]
                    try:
                        time.sleep(0.5)
                        row = p50s_after_gaps(node, conn, gaps, a.calls)
                    finally:
                        for loop in loops:
                            loop.kill()
                            loop.wait()
                    print("%-10s %s" % ("spinning" if spin else "idle", " ".join("%8.3f" % x for x in row)), flush=True)
        if a.bare:
            section_bare(node, conn, gaps, a.calls)
        print("\n## warm hello after 1 s of idle, with a call 50 ms before it (ms)")
        print("%-22s %5s %8s" % ("before it", "n", "p50"))
        for touch in (None, "hello", "other"):
            xs = []
            for _ in range(a.calls):
                if touch:
                    time.sleep(0.95)
                    node.invoke(touch, EVENT, conn)
                    time.sleep(0.05)
                else:
                    time.sleep(1.0)
                xs.append(node.invoke("hello", EVENT, conn)[0])
            print("%-22s %5d %8.3f" % ("nothing" if touch is None else "a call of " + touch, len(xs), pct(xs, 50)))
        conn.close()
    finally:
        node.stop()
        if not a.keep:
            shutil.rmtree(base, ignore_errors=True)
            if os.path.exists(base + ".log"):  # the node's output, beside its data directory
                os.remove(base + ".log")


if __name__ == "__main__":
    main()
