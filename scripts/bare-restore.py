#!/usr/bin/env python3
"""What a cold start costs beyond CRIU: a bare `criu restore` of each function's own image beside thaw's restore.

Usage: scripts/bare-restore.py [--port 8590] [--functions hello,json-transform,spring-boot] [--repeat 10] [--keep]

Starts its own node (--no-sandbox: a bare CRIU restore of a sandboxed image would need the launcher's
namespaces, which is thaw code), deploys each example, lets it boot and take its snapshot, then, in
turns per function and repetition:

thaw   evict the function, invoke it: a restore from the node's working copy, eager. Reports the node's
       restore phase (X-Thaw-Restore-Ms: from the start to the runtime's first `next`) and the
       client's time to the first response.
criu   `criu restore -d` of the same working copy with the options the node uses (--tcp-close, the
       image's stdin and stdout pipes inherited), no thaw code at all: from the spawn to CRIU's exit,
       when the restored process runs. The clone then waits on its stdin for a resume line that never
       comes and is killed.

Both read the image from tmpfs, so the difference is what thaw does around CRIU: launching it,
the resume line, reseeding, reconnecting, the handler's first run, HTTP. The working copy is found
where the node keeps it (/dev/shm/thaw-<hash of the data directory>/<function>/v<version>/images,
with the pipes' names in the snapshot's snapshot.json): a benchmark that reads the node's files.
Data in .thaw/bench-bare, removed at the end unless --keep. Needs root and the project built.
"""
import argparse
import json
import os
import shutil
import signal
import tempfile
import time

from benchlib import ahead_bench, header, pct

bench = ahead_bench()

EXAMPLES = {
    "hello": ("examples/hello/target/thaw-examples-hello.jar", "dev.thaw.examples.hello.Hello::handle", 512,
              b'{"name":"bench"}'),
    "json-transform": ("examples/json-transform/target/thaw-examples-json-transform.jar",
                       "dev.thaw.examples.json.OrderSummarizer::apply", 512,
                       b'{"id":"o-1","customer":"c","currency":"EUR","lines":[{"sku":"a","quantity":2,"unitPrice":1.5}]}'),
    "spring-boot": ("examples/spring-boot/target/thaw-examples-spring-boot.jar",
                    "dev.thaw.examples.springboot.QuoteHandler::apply", 1024,
                    b'{"customer":"bench","lines":[{"sku":"PEN-BLK","quantity":2}]}'),
}


def java_hash(s):
    """Java's String.hashCode, as the node names its working-copy directory."""
    h = 0
    for ch in s:
        h = (31 * h + ord(ch)) & 0xFFFFFFFF
    return h


def criu_command():
    argv = os.path.join(bench.ROOT, ".thaw", "criu", "bin", "criu.argv")
    if os.path.exists(argv):
        return [l.strip() for l in open(argv) if l.strip()]
    return [os.path.join(bench.ROOT, ".thaw", "criu", "bin", "criu")]


def bare_restore(images, pipes):
    """One `criu restore -d` of the images: ms from the spawn to CRIU's exit; the clone is killed after."""
    work = tempfile.mkdtemp(prefix="thaw-bare-")
    pidfile = os.path.join(work, "restored.pid")
    cmd = criu_command() + ["restore", "-D", images, "-W", work, "-o", os.path.join(work, "restore.log"), "-v2",
                            "--tcp-close", "--pidfile", pidfile, "--restore-detached",
                            "--inherit-fd", "fd[0]:" + pipes[0]]
    if pipes[1] != pipes[0]:
        cmd += ["--inherit-fd", "fd[1]:" + pipes[1]]
    stdin_r, stdin_w = os.pipe()
    out_r, out_w = os.pipe()
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        # posix_spawn, as the node starts CRIU: a fork of this interpreter would cost more than CRIU's start
        actions = [(os.POSIX_SPAWN_DUP2, stdin_r, 0), (os.POSIX_SPAWN_DUP2, out_w, 1), (os.POSIX_SPAWN_DUP2, devnull, 2)]
        t0 = time.perf_counter()
        child = os.posix_spawn(cmd[0], cmd, os.environ, file_actions=actions)
        _, status = os.waitpid(child, 0)
        ms = (time.perf_counter() - t0) * 1000
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            raise RuntimeError("criu restore exited with %d: %s" % (code, open(os.path.join(work, "restore.log")).read()[-600:]))
        pid = int(open(pidfile).read().strip())
        os.kill(pid, signal.SIGKILL)
        return ms
    finally:
        for fd in (stdin_r, stdin_w, out_r, out_w, devnull):
            os.close(fd)
        shutil.rmtree(work, ignore_errors=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--port", type=int, default=8590)
    p.add_argument("--functions", default="hello,json-transform,spring-boot")
    p.add_argument("--repeat", type=int, default=10)
    p.add_argument("--keep", action="store_true")
    a = p.parse_args()
    header("bare-restore")
    base = os.path.join(bench.ROOT, ".thaw", "bench-bare")
    data_dir = os.path.join(base, "node")
    node = None
    try:
        node = bench.Node(a.port, data_dir, extra=["--no-sandbox", "--no-predictions"])
        functions = a.functions.split(",")
        for f in functions:
            jar, handler, memory, payload = EXAMPLES[f]
            node.deploy(f, os.path.join(bench.ROOT, jar), handler, memory_mb=memory, first_payload=payload)
        hot = "/dev/shm/thaw-%x" % java_hash(data_dir)
        rows = {f: {"thaw restore": [], "thaw first response": [], "criu": []} for f in functions}
        for i in range(a.repeat + 1):  # the first round warms up and is not counted
            for f in functions:
                payload = EXAMPLES[f][3]
                node.evict(f)
                time.sleep(0.5)
                ms, start, _, _ = node.invoke(f, payload)
                restore = float(node.last_headers.get("X-Thaw-Restore-Ms") or "nan")
                if start != "restore":
                    raise RuntimeError("%s started %s, not restore" % (f, start))
                node.evict(f)
                time.sleep(0.5)
                meta = json.load(open(os.path.join(data_dir, "functions", f, "v1", "snapshot", "snapshot.json")))
                bare = bare_restore(os.path.join(hot, f, "v1", "images"), [meta["stdin"], meta["stdout"]])
                if i > 0:
                    rows[f]["thaw restore"].append(restore)
                    rows[f]["thaw first response"].append(ms)
                    rows[f]["criu"].append(bare)
            print("round %d of %d done" % (i, a.repeat), flush=True)
        print("\n## restore from the working copy (tmpfs), eager, no sandbox; median / p99 of %d, ms" % a.repeat)
        print("%-16s %18s %22s %26s %14s" % ("function", "bare criu restore", "thaw restore phase",
                                             "thaw first response", "thaw - criu"))
        for f in functions:
            r = rows[f]
            print("%-16s %8.1f / %7.1f %10.1f / %9.1f %14.1f / %9.1f %14.1f" % (
                f, pct(r["criu"], 50), pct(r["criu"], 99), pct(r["thaw restore"], 50), pct(r["thaw restore"], 99),
                pct(r["thaw first response"], 50), pct(r["thaw first response"], 99),
                pct(r["thaw first response"], 50) - pct(r["criu"], 50)))
    finally:
        if node:
            node.stop()
        if not a.keep:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
