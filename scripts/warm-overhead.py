#!/usr/bin/env python3
"""Warm-path overhead of a thaw node, measured with a minimal keep-alive HTTP client.

Usage: scripts/warm-overhead.py PORT FUNCTION [REQUESTS]   (a node on 127.0.0.1:PORT, FUNCTION deployed)
The node's API token comes from THAW_TOKEN, else from the repository's .thaw/data/api-token (the default data directory).

Sends REQUESTS sequential invocations over one keep-alive connection after 200 unrecorded warm-up
calls, and prints percentiles of: the client's round trip; X-Thaw-Duration-Ms (the handler round trip
as the node saw it: from handing the event to the instance to receiving its result); and the
difference, which is what the node's front door adds. Python's http.client keeps the client's own
cost small and constant, which the JVM clients (JIT, selector threads) do not on 2 shared cores.
"""
import http.client
import sys
import time

from benchlib import api_token, pct


def main():
    port, function = int(sys.argv[1]), sys.argv[2]
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 2000
    conn = http.client.HTTPConnection("127.0.0.1", port)
    auth = "Bearer " + api_token()
    totals, durations = [], []
    for i in range(n + 200):
        start = time.perf_counter()
        conn.request("POST", "/functions/%s/invoke" % function, body=b"{}",
                     headers={"Content-Type": "application/json", "Authorization": auth})
        response = conn.getresponse()
        response.read()
        elapsed = (time.perf_counter() - start) * 1000
        if response.status != 200:
            sys.exit("invocation failed with HTTP %d" % response.status)
        if i >= 200:
            totals.append(elapsed)
            durations.append(float(response.getheader("X-Thaw-Duration-Ms")))
    overhead = [t - d for t, d in zip(totals, durations)]
    for name, values in (("round trip", totals), ("handler round trip (node)", durations), ("node overhead", overhead)):
        print("%-26s p50 %7.3f ms  p90 %7.3f ms  p99 %7.3f ms" % (name, pct(values, 50), pct(values, 90), pct(values, 99)))


if __name__ == "__main__":
    main()
