package dev.thaw.node.instance;

import dev.thaw.core.StartKind;
import dev.thaw.node.function.Deployment;
import dev.thaw.node.pool.InstanceEvents;
import dev.thaw.node.pool.Invocation;
import dev.thaw.node.pool.PoolInstance;
import dev.thaw.node.pool.StartReport;
import dev.thaw.node.snapshot.LazyRestore;
import dev.thaw.node.snapshot.RestoreReport;
import java.io.BufferedReader;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalLong;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/*
 * One function instance: a process tree in its own pid namespace, started by booting or by
 * restoring a snapshot, serving one invocation at a time over the Runtime API.
 *
 * The node knows an instance by its supervisor (the unshare or criu restore process the node
 * started, which exits when the instance's root exits) and its root (the instance's pid-namespace
 * init: killing it kills the whole tree). Standard input and output are pipes the node owns (Pipe):
 * stdin carries the snapshot handshake's resume line, stdout carries the function's log and the
 * runtime's control lines.
 *
 * An invocation that captures its log (Lambda's LogType Tail) gets the lines the instance printed
 * while serving it. Which lines those are is decided in the pipe itself, not by the clock: the node
 * keeps a write end of the instance's stdout and writes a mark line (a token only the node knows,
 * "begin ID" or "end ID") into it when it hands the invocation over and when the invocation was
 * answered. Everything the handler printed before answering is in the pipe before the end mark, so
 * once the reader meets that mark every such line has been read; lines between the two marks are
 * the invocation's. The node's write end is closed when the instance exits, so the reader still
 * sees the end of the pipe.
 *
 * Scheduling state (idle, busy, which invocation) is the pool's (FunctionPool); this class moves
 * invocations to the runtime's `next`, and reports its life to two listeners: the pool
 * (InstanceEvents: ready, exited) and its starter (Lifecycle: log lines, control lines, the raw
 * exit, which the starter interprets before the pool hears of it).
 */
/** One instance process (see the comment above). */
public final class Instance implements PoolInstance {

    /** What an instance reports to the starter that made it. */
    interface Lifecycle {
        /**
         * @return whether the runtime's warm-up before its checkpoint may go on past its baseline: no
         *     invocation waits for the function, and the node serves none (background work yields)
         */
        default boolean warmUpMayRunLong(Instance instance) {
            return false;
        }

        void onControl(Instance instance, String message);

        void onLog(Instance instance, String line);

        /** The supervisor exited with this value (the JDK's convention: code, or 128 + signal). */
        void onExit(Instance instance, int exitValue);

        /** The runtime reported that init failed ({@code init/error}); the process exits next. */
        void initFailed(Instance instance, String errorType, String message, java.util.List<String> stack);

        /** The runtime's afterRestore hooks failed ({@code restore/error}). */
        void restoreFailed(Instance instance, String errorType, String message);

        /** @return the instance's next priming invocation, when it is primed and before its checkpoint */
        java.util.Optional<PrimingRounds.Round> primingStarted(Instance instance);

        /** @return whether the request id was the instance's priming invocation in progress */
        boolean primingEnded(Instance instance, String requestId);

        /**
         * The runtime called SnapStart's {@code restore/next}: when the instance is the one the
         * function's snapshot is to be taken of, it is dumped now, and this returns once the dump is
         * done (a clone calling it again, after its restore, returns at once).
         */
        void restoreNext(Instance instance);

        /** The runtime asks for work for the first time (before the instance is reported ready). */
        void firstNext(Instance instance);
    }

    /** Longest {@link #stop()} waits for a booting instance's root process to exist (see awaitBootedRoot). */
    private static final long ROOT_WAIT_MS = 500;

    final String id;
    final Deployment deployment;
    /** BOOT or RESTORE; a boot that was to checkpoint becomes a RESTORE when the cluster has the snapshot already. */
    volatile StartKind kind;
    /** The token of its runtime's control lines: the node's for a boot, its snapshot's for a clone. */
    volatile String controlToken;
    /** The instance's {@code AWS_LAMBDA_RUNTIME_API}; set once its endpoint listens. */
    volatile String runtimeApi;
    /** Its sandbox (namespaces, cgroup, scratch), null when the node runs instances without one. */
    volatile dev.thaw.sandbox.InstanceSandbox sandbox;
    /** Its Runtime API listener; closed once the instance is gone. */
    volatile RuntimeEndpoint endpoint;
    /** Its egress proxy, in its sandbox's network namespace; null without one. Closed once the instance is gone. */
    volatile dev.thaw.egress.EgressProxy egress;
    /** Figures of the restore that started this instance (unused for a boot). */
    final RestoreReport restoreReport = new RestoreReport();
    /** The page server of a lazy or REAP restore, null otherwise; closed once the process is gone. */
    volatile LazyRestore lazyRestore;
    /** Whether this booted instance is to be checkpointed after its init. */
    volatile boolean checkpointRequested;
    private final java.util.concurrent.atomic.AtomicBoolean checkpointClaimed = new java.util.concurrent.atomic.AtomicBoolean();
    /** How long the checkpoint of this (booted) instance took, NaN if it was not checkpointed. */
    volatile double checkpointMs = Double.NaN;
    /** The runtime's warm-up exchanges before its checkpoint (only its one thread counts them). */
    volatile int warmUpExchanges;
    /** The invocation the runtime took last, until it answered it: its transfers are tallied there. */
    volatile Invocation current;
    private final InstanceEvents events;
    private final Lifecycle lifecycle;
    private final LinkedBlockingQueue<Invocation> inbox = new LinkedBlockingQueue<>(1);

    private volatile Process supervisor;
    private volatile long rootPid = -1;
    private volatile Path pidFile;
    private volatile OutputStream stdin;
    /** The node's own write end of the instance's stdout: log marks go there (see the comment above). */
    private volatile OutputStream marks;
    private final String markToken = "THAW-LOG-" + java.util.UUID.randomUUID();
    /** Invocations whose marks were written and not yet read, by request id. */
    private final java.util.Map<String, Invocation> capturing = new java.util.concurrent.ConcurrentHashMap<>();
    /** The invocation whose lines the reader is reading now; the reader's thread only. */
    private volatile Invocation capture;
    private volatile boolean outputEnded;
    private volatile boolean dead;
    private volatile boolean ready;
    /** The instance's own last output lines, for the message of a crash. Guarded by itself. */
    private final java.util.ArrayDeque<String> lastPrinted = new java.util.ArrayDeque<>();
    private static final int LAST_PRINTED = 3;

    Instance(String id, Deployment deployment, StartKind kind, InstanceEvents events, Lifecycle lifecycle) {
        this.id = id;
        this.deployment = deployment;
        this.kind = kind;
        this.events = events;
        this.lifecycle = lifecycle;
    }

    // ---- PoolInstance --------------------------------------------------------------------------

    @Override
    public String id() {
        return id;
    }

    @Override
    public StartKind kind() {
        return kind;
    }

    @Override
    public void hand(Invocation invocation) {
        if (!inbox.offer(invocation)) {
            throw new IllegalStateException("instance " + id + " already has an invocation waiting");
        }
    }

    @Override
    public StartReport startReport() {
        return kind == StartKind.BOOT ? null : restoreReport;
    }

    @Override
    public double checkpointMs() {
        return checkpointMs;
    }

    @Override
    public void firstInvocationAnswered() {
        lifecycleFirstAnswer.run();
    }

    /** Set by the starter: what to do once the first invocation was answered (lazy restore figures). */
    volatile Runnable lifecycleFirstAnswer = () -> { };

    @Override
    public void resetMemoryPeak() {
        var box = sandbox;
        if (box != null) {
            box.resetMemoryPeak(); // the instance's own cgroup: heap, native memory, threads, page cache, /tmp
        }
    }

    @Override
    public OptionalLong memoryPeakBytes() {
        var box = sandbox;
        if (box == null) {
            return OptionalLong.empty();
        }
        long peak = box.memoryPeakBytes();
        return peak > 0 ? OptionalLong.of(peak) : OptionalLong.empty();
    }

    @Override
    public void stop() {
        stoppedByNode = true;
        kill();
    }

    /**
     * Set when the pool stopped the instance (closed at shutdown, a version's retirement or a delete;
     * an instance retired or evicted): an exit before it was ready is then no failed start, and says
     * nothing against its snapshot.
     */
    volatile boolean stoppedByNode;

    // ---- process -------------------------------------------------------------------------------

    /**
     * Wires the instance to a started supervisor: the node's ends of the two pipes are opened as
     * streams, the raw descriptors closed, and a reader thread follows stdout.
     */
    void attach(Process supervisor, Pipe stdinPipe, Pipe stdoutPipe, Path pidFile) throws IOException {
        this.supervisor = supervisor;
        this.pidFile = pidFile;
        this.stdin = new FileOutputStream(stdinPipe.writeEnd().toFile());
        this.marks = new FileOutputStream(stdoutPipe.writeEnd().toFile());
        FileInputStream out = new FileInputStream(stdoutPipe.readEnd().toFile());
        stdinPipe.close();
        stdoutPipe.close();
        // A platform thread: a virtual one blocked in a pipe read would pin one of the few carriers.
        Thread.ofPlatform().daemon().name("thaw-log-" + id).start(() -> follow(out));
        supervisor.onExit().thenAccept(p -> {
            dead = true;
            inbox.clear();
            closeMarks(); // the reader sees the pipe's end once the instance's own ends are closed too
            lifecycle.onExit(this, p.exitValue());
        });
        if (dead) {
            // stopped while its process was being started (node shutting down, function deleted)
            kill();
        }
    }

    /** @return whether a process was attached (its exit will be reported) */
    boolean hasProcess() {
        return supervisor != null;
    }

    /**
     * Reads the instance's output line by line. The runtime starts each control line with a newline
     * of its own (the function may have printed half a line before it); the empty line that makes
     * when nothing was half printed is dropped, so the function's log has no blank line per
     * handshake. Any other empty line is the function's and is kept, a line late.
     */
    private void follow(FileInputStream out) {
        boolean blankHeld = false;
        try (BufferedReader r = new BufferedReader(new InputStreamReader(out, StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) {
                int at = line.indexOf(markToken);
                if (at < 0 && line.isEmpty()) {
                    if (blankHeld) {
                        lifecycle.onLog(this, line);
                    }
                    blankHeld = true;
                    continue;
                }
                String token = controlToken;
                if (blankHeld && !(at < 0 && token != null && line.startsWith(token))) {
                    lifecycle.onLog(this, "");
                }
                blankHeld = false;
                if (at < 0) {
                    lifecycle.onLog(this, line);
                    continue;
                }
                if (at > 0) {
                    lifecycle.onLog(this, line.substring(0, at)); // printed without a newline before the mark
                }
                readMark(line.substring(at + markToken.length()).strip());
            }
        } catch (IOException e) {
            // the pipe broke: the instance is gone, which the supervisor's exit reports
        } finally {
            if (blankHeld) {
                lifecycle.onLog(this, "");
            }
            outputEnded = true;
            capture = null;
            capturing.values().forEach(Invocation::logCaptureDone);
            capturing.clear();
        }
    }

    /** A mark the node wrote into the pipe: "begin ID" or "end ID". */
    private void readMark(String mark) {
        int space = mark.indexOf(' ');
        String what = space < 0 ? mark : mark.substring(0, space);
        Invocation inv = space < 0 ? null : capturing.get(mark.substring(space + 1));
        if (inv == null) {
            return;
        }
        if (what.equals("begin")) {
            capture = inv;
        } else {
            capturing.remove(inv.requestId());
            if (capture == inv) {
                capture = null;
            }
            inv.logCaptureDone();
        }
    }

    /** Writes a mark into the instance's stdout; false when the pipe cannot take it (the instance is gone). */
    private boolean writeMark(String what, Invocation inv) {
        OutputStream m = marks;
        if (m == null) {
            return false;
        }
        byte[] line = (markToken + " " + what + " " + inv.requestId() + "\n").getBytes(StandardCharsets.UTF_8);
        try {
            synchronized (m) {
                m.write(line); // one write of less than PIPE_BUF bytes: never interleaved with the instance's
            }
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private void closeMarks() {
        OutputStream m = marks;
        marks = null;
        if (m != null) {
            try {
                m.close();
            } catch (IOException e) {
                // already closed
            }
        }
    }

    @Override
    public void endLogCapture(Invocation invocation) {
        if (!invocation.capturesLog()) {
            return;
        }
        if (capturing.get(invocation.requestId()) != invocation || !writeMark("end", invocation)) {
            // never begun, or the node's write end is closed: the pipe's end (when the reader gets
            // there) stands for the mark, unless the reader is past it already
            if (outputEnded || capturing.get(invocation.requestId()) != invocation) {
                capturing.remove(invocation.requestId());
                invocation.logCaptureDone();
            }
        }
    }

    /** Keeps one of the instance's own output lines among its last few, and gives it to the invocation it belongs to. */
    void printed(String line) {
        Invocation c = capture;
        if (c != null) {
            c.logLine(line);
        }
        if (line.isBlank()) {
            return;
        }
        synchronized (lastPrinted) {
            if (lastPrinted.size() == LAST_PRINTED) {
                lastPrinted.removeFirst();
            }
            lastPrinted.addLast(line.length() > 300 ? line.substring(0, 300) + "…" : line);
        }
    }

    /** @return the instance's own last output lines, oldest first */
    java.util.List<String> lastPrinted() {
        synchronized (lastPrinted) {
            return java.util.List.copyOf(lastPrinted);
        }
    }

    /** The spare sandbox this instance was given, when one was ready at its start (else it makes its own). */
    volatile SpareSandbox.Prepared spare;
    /** A pre-restored clone: once restored, it rehearses its invocation path before it asks for work. */
    volatile boolean rehearse;

    /** Writes the snapshot handshake's resume line. */
    void resume(boolean restored) throws IOException {
        String line = "{\"" + dev.thaw.protocol.RuntimeProtocol.Resume.RESTORED + "\":" + restored + ",\""
                + dev.thaw.protocol.RuntimeProtocol.Resume.RUNTIME_API + "\":\"" + runtimeApi + "\",\""
                + dev.thaw.protocol.RuntimeProtocol.Resume.REHEARSE + "\":" + (restored && rehearse) + "}\n";
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
        if (!ready) {
            lifecycle.firstNext(this);
            ready = true;
            events.ready(this);
        }
        while (!dead) {
            Invocation inv = inbox.poll(1, TimeUnit.SECONDS);
            if (inv != null) {
                if (inv.capturesLog()) {
                    capturing.put(inv.requestId(), inv);
                    writeMark("begin", inv);
                }
                inv.markStarted(System.nanoTime());
                current = inv;
                return inv;
            }
        }
        return null;
    }

    /** @return true for the first caller only: the instance's one checkpoint (or the decision that there is none) */
    boolean claimCheckpoint() {
        return checkpointClaimed.compareAndSet(false, true);
    }

    boolean isDead() {
        return dead;
    }

    boolean wasReady() {
        return ready;
    }

    InstanceEvents events() {
        return events;
    }

    Lifecycle lifecycle() {
        return lifecycle;
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
        if (kind == StartKind.BOOT) {
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
     * supervisor then exits and its exit is reported.
     */
    void kill() {
        dead = true;
        long pid = rootPid();
        if (pid <= 0 && kind == StartKind.BOOT) {
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
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(ROOT_WAIT_MS);
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
     * every other process of the namespace is gone.
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
     *     supervisor was killed too) it then waits for the host's init to reap it.
     */
    private static boolean running(ProcessHandle p) {
        if (!p.isAlive()) {
            return false;
        }
        return dev.thaw.linux.ProcStat.read(Path.of("/proc", Long.toString(p.pid()), "stat"))
                .map(s -> s.state() != 'Z' && s.state() != 'X')
                .orElse(false); // gone meanwhile
    }

    @Override
    public String toString() {
        return "instance " + id + " of " + deployment.name() + " v" + deployment.version() + " (" + kind.wireName() + ")";
    }
}
