#!/usr/bin/env python3
"""How long the CLI's short commands take, wall clock, as a user types them (./thaw CMD).

Runs each command against a running node, in turns across one or more checkouts (each with its
own .thaw/lib and AOT caches: run `./thaw up` or scripts/node-aot-cache.sh in each first), so that
their figures come from the same minutes of the same machine. Prints the median and the slowest of
the rounds per checkout and command, with each checkout's commit.

Usage: scripts/cli-latency.py --url http://127.0.0.1:8080 [--token-file F] [--function hello]
                              [--rounds 7] [CHECKOUT ...]        (default: this checkout)
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

from benchlib import header


def commit(checkout):
    r = subprocess.run(["git", "-C", checkout, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return r.stdout.strip() or "?"


def timed(checkout, args, env):
    started = time.monotonic()
    r = subprocess.run([os.path.join(checkout, "thaw")] + args, cwd=checkout, env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.monotonic() - started
    if r.returncode != 0:
        sys.exit("cli-latency: '%s' in %s exited with %d: %s" % (" ".join(args), checkout, r.returncode,
                                                                r.stderr.strip()[-500:]))
    return elapsed


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", required=True, help="the node's URL")
    p.add_argument("--token-file", help="the node's API token (default: THAW_TOKEN, else each checkout's default)")
    p.add_argument("--function", default="hello", help="a deployed function to describe and invoke")
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("checkouts", nargs="*", default=["."])
    a = p.parse_args()
    env = dict(os.environ, THAW_URL=a.url)
    if a.token_file:
        with open(a.token_file) as f:
            env["THAW_TOKEN"] = f.read().strip()
    commands = [["--version"], ["list"], ["describe", a.function], ["invoke", a.function, "--data", "{}"]]
    checkouts = [os.path.abspath(c) for c in a.checkouts]
    for c in checkouts:
        timed(c, ["--version"], env)  # builds and publishes the JAR if its sources changed: not measured
    times = {(c, " ".join(cmd)): [] for c in checkouts for cmd in commands}
    for r in range(a.rounds):
        for c in checkouts:
            for cmd in commands:
                times[(c, " ".join(cmd))].append(timed(c, cmd, env))
        print("round %d of %d done" % (r + 1, a.rounds), file=sys.stderr)
    header("cli-latency")
    print("%d rounds in turns; wall clock of ./thaw CMD, seconds" % a.rounds)
    print("%-10s %-28s %8s %8s" % ("commit", "command", "median", "max"))
    for c in checkouts:
        for cmd in commands:
            t = times[(c, " ".join(cmd))]
            print("%-10s %-28s %8.3f %8.3f" % (commit(c), " ".join(cmd), statistics.median(t), max(t)))


if __name__ == "__main__":
    main()
