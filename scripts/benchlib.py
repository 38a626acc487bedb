"""What the benchmark scripts share: percentiles, the line that says which commit, when and where, the API token, the instances' cgroup."""
import os
import platform
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


LOADGEN_SOURCE = os.path.join(ROOT, "scripts", "loadgen.c")
LOADGEN = os.path.join(ROOT, ".thaw", "bin", "loadgen")


def loadgen():
    """scripts/loadgen.c built into .thaw/bin when missing or older than its source; returns its path."""
    if not os.path.exists(LOADGEN) or os.path.getmtime(LOADGEN) < os.path.getmtime(LOADGEN_SOURCE):
        os.makedirs(os.path.dirname(LOADGEN), exist_ok=True)
        subprocess.run(["cc", "-O2", "-o", LOADGEN, LOADGEN_SOURCE], check=True)
    return LOADGEN


def api_token():
    """The node's API token: THAW_TOKEN, else the default data directory's api-token."""
    token = os.environ.get("THAW_TOKEN")
    if token:
        return token.strip()
    try:
        with open(os.path.join(ROOT, ".thaw/data/api-token")) as f:
            return f.read().strip()
    except OSError:
        sys.exit("no API token: set THAW_TOKEN to the node's DATA_DIR/api-token")


def instances_weight_file():
    """The cpu weight file (v1 cpu.shares, v2 cpu.weight) of the cgroup that holds every instance: CGROUP_PARENT, default thaw."""
    parent = os.environ.get("CGROUP_PARENT", "thaw")
    for f in ("/sys/fs/cgroup/cpu/%s/cpu.shares" % parent, "/sys/fs/cgroup/%s/cpu.weight" % parent):
        if os.path.exists(f):
            return f
    sys.exit("no cpu weight for the instances' cgroup %s (a sandboxed node on a machine with the cpu controller)" % parent)


def pct(values, q):
    """The q-th percentile of values (nearest rank); nan when there are none."""
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q / 100.0 * (len(s) - 1))))] if s else float("nan")


def header(name):
    """Prints the script's name, the commit (marked when the tree is modified), the time and the machine."""
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout
    dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                           text=True).stdout
    cpu = "?"
    try:
        cpu = [l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")][0]
    except (OSError, IndexError):
        pass
    print("# %s: commit %s%s, %s, %s, %d cores (%s), kernel %s" % (
        name, commit.strip(), " (modified)" if dirty.strip() else "", time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        platform.node(), os.cpu_count(), cpu, platform.release()), flush=True)


def stop_group(proc, grace_s):
    """SIGTERM to the process group a benchmark started (start_new_session=True), SIGKILL after grace_s."""
    import signal
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(grace_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def restores_in_turns(cells, rounds, quiet_s, payload=b'{"name":"Ada"}', progress=False):
    """Cold starts in turns: per round, per cell (label, node, function): evict, quiet_s of quiet, invoke.

    Returns label -> [(the node's X-Thaw-Restore-Ms, the client's ms, the handler's run X-Thaw-Duration-Ms)] of
    the invocations that restored; one that started otherwise is named and not counted."""
    samples = {label: [] for label, _, _ in cells}
    for r in range(rounds):
        for label, node, function in cells:
            node.evict(function)
            time.sleep(quiet_s)
            ms, start, _, _ = node.invoke(function, payload)
            if start != "restore":
                print("%s: round %d started %s, not counted" % (label, r + 1, start))
                continue
            samples[label].append((float(node.last_headers.get("X-Thaw-Restore-Ms") or "nan"), ms,
                                   float(node.last_headers.get("X-Thaw-Duration-Ms") or "nan")))
        if progress:
            print("round %d of %d done" % (r + 1, rounds), flush=True)
    return samples


def ahead_bench():
    """scripts/ahead-bench.py as a module (its file name is not an importable one): its Node and helpers."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("ahead_bench", os.path.join(ROOT, "scripts", "ahead-bench.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def node_pid(port):
    """The pid of the process listening on 127.0.0.1:port (the node); None when ss cannot tell."""
    out = subprocess.run(["ss", "-Hltnp", "sport = :%d" % port], capture_output=True, text=True).stdout
    pids = [int(p) for p in re.findall(r"pid=(\d+)", out)]
    return pids[0] if pids else None


def _descends_from(pid, ancestor):
    while pid > 1:
        if pid == ancestor:
            return True
        stat = open("/proc/%d/stat" % pid).read()
        pid = int(stat[stat.rindex(")") + 2:].split()[1])
    return False


def thread_cpu(pid):
    """(name, CPU seconds so far) of each thread of process `pid`; a thread that ends meanwhile is left out.
    Raises OSError when the process itself is gone."""
    hz = os.sysconf("SC_CLK_TCK")
    for tid in os.listdir("/proc/%s/task" % pid):
        try:
            stat = open("/proc/%s/task/%s/stat" % (pid, tid)).read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        yield stat[stat.index("(") + 1:stat.rindex(")")], (int(fields[11]) + int(fields[12])) / hz


def compiler_cpu(function, under=None):
    """CPU seconds of the C2 and C1 compiler threads, summed over the function's running instances (those
    descending from the process `under` when given: a node's own, when several nodes run the same function)."""
    c2 = c1 = 0.0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if b"dev.thaw.runtime.Main" not in open("/proc/%s/cmdline" % pid, "rb").read():
                continue
            env = open("/proc/%s/environ" % pid, "rb").read().split(b"\0")
            if ("AWS_LAMBDA_FUNCTION_NAME=" + function).encode() not in env:
                continue
            if under is not None and not _descends_from(int(pid), under):
                continue
            for name, cpu in thread_cpu(pid):
                if name.startswith("C2 Compiler"):
                    c2 += cpu
                elif name.startswith("C1 Compiler"):
                    c1 += cpu
        except (OSError, ValueError):
            pass  # an instance that ended meanwhile
    return c2, c1
