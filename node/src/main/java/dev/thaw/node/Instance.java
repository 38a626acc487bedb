package dev.thaw.node;

import java.io.BufferedReader;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * One function instance: a process tree in its own pid namespace, started by booting or by
 * restoring a snapshot, serving one invocation at a time over the Runtime API.
 *
 * <p>The node knows an instance by its <em>supervisor</em> (the {@code unshare} or {@code criu
 * restore} process the JDK started, which exits when the instance's root exits) and its
 * <em>root</em> (the instance's pid-namespace init: killing it kills the whole tree). Standard
 * input and output are pipes the node owns ({@link Pipe}): stdin carries the snapshot handshake's
 * resume line, stdout carries the function's log and the runtime's control lines.
 *
 * <p>State changes are reported to a {@link Listener} (the function's pool), which holds the
 * scheduling policy; this class only moves bytes and processes.
 */
final class Instance {

    enum Kind { BOOT, RESTORE }

    enum State { STARTING, IDLE, BUSY, DEAD }

    /** What an instance reports to its pool. */
    interface Listener {
        void onReady(Instance instance);

        void onControl(Instance instance, String message);

        void onLog(Instance instance, String line);

        void onExit(Instance instance, int exitCode);
    }

    /** Longest {@link #kill()} waits for a booting instance's root process to exist (see awaitBootedRoot). */
    private static final long ROOT_WAIT_MS = 500;

    final String id;
    final Deployment deployment;
    final Kind kind;
    final String runtimeApi;
    final long startedNanos = System.nanoTime();
    /** Figures of the restore that started this instance (unused for a boot). */
    final RestoreReport restoreReport = new RestoreReport();
    /** The page server of a lazy or REAP restore, null otherwise; closed once the process is gone. */
    volatile LazyRestore lazyRestore;
    private final Listener listener;
    private final LinkedBlockingQueue<Invocation> inbox = new LinkedBlockingQueue<>(1);

    private volatile Process supervisor;
    private volatile long rootPid = -1;
    private volatile Path pidFile;
    private volatile OutputStream stdin;
    private volatile State state = State.STARTING;
    private volatile long readyNanos;
    private volatile Invocation current;
    private volatile int served;

    Instance(String id, Deployment deployment, Kind kind, String runtimeApi, Listener listener) {
        this.id = id;
        this.deployment = deployment;
        this.kind = kind;
        this.runtimeApi = runtimeApi;
        this.listener = listener;
    }

    /**
     * Wires the instance to a started supervisor: the node's ends of the two pipes are opened as
     * streams, the raw descriptors closed, and a reader thread follows stdout.
     */
    void attach(Process supervisor, Pipe stdinPipe, Pipe stdoutPipe, Path pidFile) throws IOException {
        this.supervisor = supervisor;
        this.pidFile = pidFile;
        this.stdin = new FileOutputStream(stdinPipe.writeEnd().toFile());
        FileInputStream out = new FileInputStream(stdoutPipe.readEnd().toFile());
        stdinPipe.close();
        stdoutPipe.close();
        // A platform thread: a virtual one blocked in a pipe read would pin one of the few carriers.
        Thread.ofPlatform().daemon().name("thaw-log-" + id).start(() -> follow(out));
        supervisor.onExit().thenAccept(p -> {
            state = State.DEAD;
            inbox.clear();
            listener.onExit(this, p.exitValue());
        });
        if (state == State.DEAD) {
            // killed while its process was being started (node shutting down, function deleted)
            kill();
        }
    }

    /** @return whether a process was attached (its exit will be reported to the listener) */
    boolean hasProcess() {
        return supervisor != null;
    }

    private void follow(FileInputStream out) {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(out, StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) {
                listener.onLog(this, line);
            }
        } catch (IOException e) {
            // the pipe broke: the instance is gone, which onExit reports
        }
    }

    /** Writes the snapshot handshake's resume line. */
    void resume(boolean restored) throws IOException {
        String line = "{\"restored\":" + restored + ",\"runtimeApi\":\"" + runtimeApi + "\"}\n";
        OutputStream s = stdin;
        s.write(line.getBytes(StandardCharsets.UTF_8));
        s.flush();
    }

    /**
     * Called by the Runtime API's {@code next}: marks the instance ready on its first call, then
     * waits for work.
     *
     * @return the next invocation, or {@code null} once the instance is dead
     */
    Invocation awaitNext() throws InterruptedException {
        if (readyNanos == 0) {
            readyNanos = System.nanoTime();
            listener.onReady(this);
        }
        while (state != State.DEAD) {
            Invocation inv = inbox.poll(1, TimeUnit.SECONDS);
            if (inv != null) {
                inv.startedNanos = System.nanoTime();
                return inv;
            }
        }
        return null;
    }

    /** Hands an invocation to this (idle) instance. */
    void assign(Invocation invocation) {
        current = invocation;
        state = State.BUSY;
        served++;
        if (!inbox.offer(invocation)) {
            throw new IllegalStateException("instance " + id + " already has an invocation waiting");
        }
    }

    /** @return the invocation being served, if its request id matches */
    Invocation current(String requestId) {
        Invocation inv = current;
        return inv != null && inv.requestId.equals(requestId) ? inv : null;
    }

    void markIdle() {
        current = null;
        if (state != State.DEAD) {
            state = State.IDLE;
        }
    }

    State state() {
        return state;
    }

    Invocation current() {
        return current;
    }

    /** @return whether no invocation was assigned to this instance yet (its next one is its first) */
    boolean servedNone() {
        return served == 0;
    }

    boolean wasReady() {
        return readyNanos != 0;
    }

    double coldStartMs() {
        return (readyNanos - startedNanos) / 1e6;
    }

    /** @return the root pid (the namespace's init), once known */
    long rootPid() {
        if (rootPid > 0) {
            return rootPid;
        }
        Process s = supervisor;
        if (s == null) {
            return -1;
        }
        if (kind == Kind.BOOT) {
            rootPid = s.toHandle().children().findFirst().map(ProcessHandle::pid).orElse(-1L);
        } else {
            try {
                rootPid = Long.parseLong(Files.readString(pidFile).strip());
            } catch (IOException | NumberFormatException e) {
                return -1;
            }
        }
        return rootPid;
    }

    /** @return the {@code pipe:[inode]} names of the root's fd 0 and fd 1, for a dump */
    String[] pipeNames() throws IOException {
        long pid = rootPid();
        return new String[] {
            Files.readSymbolicLink(Path.of("/proc/" + pid + "/fd/0")).toString(),
            Files.readSymbolicLink(Path.of("/proc/" + pid + "/fd/1")).toString()
        };
    }

    /**
     * Kills the whole tree: SIGKILL to the namespace's init takes every process in it along; the
     * supervisor then exits and {@link Listener#onExit} follows.
     */
    void kill() {
        state = State.DEAD;
        long pid = rootPid();
        if (pid <= 0 && kind == Kind.BOOT) {
            pid = awaitBootedRoot();
        }
        if (pid > 0) {
            ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
        } else if (supervisor != null) {
            // a restore still in progress has no pid file yet: its tasks are CRIU's descendants
            supervisor.toHandle().descendants().forEach(ProcessHandle::destroyForcibly);
        }
        Process s = supervisor;
        if (s != null) {
            s.destroyForcibly();
        }
        try {
            OutputStream in = stdin;
            if (in != null) {
                in.close();
            }
        } catch (IOException e) {
            // already closed
        }
    }

    /**
     * Waits briefly for a booting instance's root process. {@code unshare --kill-child} forks it and
     * only then does the child ask to die with its parent: killing unshare between the two leaves
     * the child running, reparented to the host's init, out of the node's reach (seen in CI, as a
     * custom runtime's bootstrap that outlived its node). Killing the child itself has no such gap.
     *
     * @return the root pid, or -1 if none appeared (unshare died or never forked)
     */
    private long awaitBootedRoot() {
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(ROOT_WAIT_MS);
        Process s = supervisor;
        while (s != null && s.isAlive() && System.nanoTime() < deadline) {
            long pid = rootPid();
            if (pid > 0) {
                return pid;
            }
            try {
                Thread.sleep(2);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        return rootPid();
    }

    /**
     * Waits until the supervisor has exited and so has the instance's root (after {@link #kill()}).
     * The supervisor, killed too, can be gone while the root, the init of the instance's pid
     * namespace, is still tearing the namespace down; once the root has exited (a zombie counts),
     * every other process of the namespace is gone (seen in CI: a custom runtime's {@code curl}
     * outlived {@code node.close()} by a moment).
     */
    boolean awaitExit(long millis) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        Process s = supervisor;
        if (s != null && !s.waitFor(millis, TimeUnit.MILLISECONDS)) {
            return false;
        }
        long pid = rootPid;
        java.util.Optional<ProcessHandle> root = pid > 0 ? ProcessHandle.of(pid) : java.util.Optional.empty();
        // polled: the JDK's onExit() of a process that is not our child polls far more coarsely
        while (root.isPresent() && running(root.get())) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            Thread.sleep(2);
        }
        return true;
    }

    /**
     * @return whether the process still runs: a zombie does not. The init of a pid namespace turns
     *     zombie only once every other process of its namespace is gone; as an orphan (its
     *     supervisor was killed too) it then waits for the host's init to reap it, which takes a
     *     second or two on some machines.
     */
    private static boolean running(ProcessHandle p) {
        if (!p.isAlive()) {
            return false;
        }
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(p.pid()), "stat"));
            char state = stat.charAt(stat.lastIndexOf(')') + 2);
            return state != 'Z' && state != 'X';
        } catch (IOException | RuntimeException e) {
            return false; // gone meanwhile
        }
    }

    /** @return the pool this instance reports to */
    FunctionPool pool() {
        return (FunctionPool) listener;
    }

    @Override
    public String toString() {
        return "instance " + id + " of " + deployment.name() + " v" + deployment.version() + " (" + kind + ", " + state + ")";
    }
}
