package dev.thaw.linux;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/*
 * Why CRIU's restore is not started with ProcessBuilder: the JDK launches every process through a
 * helper, jspawnhelper (posix_spawn of the helper, which reads its instructions from a pipe and
 * then execs the command), and its start() returns once the command has exec'd. Two execs and a
 * handshake on every restore's critical path: 4.4 ms median in an idle JVM on this project's 2-core
 * VMs and 8-17 ms with both cores busy, against 0.7 and 4.4 ms for a direct vfork-style spawn
 * (measured with /bin/true, 30 starts each, docs/BENCHMARKS.md "Twelfth session"). glibc's
 * posix_spawn is that direct spawn (clone with CLONE_VM|CLONE_VFORK, then exec), safe in a
 * multithreaded process. What ProcessBuilder does for a child besides, this does too: the three
 * standard streams redirected, every other descriptor closed (closefrom, glibc 2.34+), the signal
 * mask emptied and every signal's disposition reset. The child is reaped by a thread of its own
 * (waitpid), the way the JDK reaps its children. Where glibc lacks a function this needs, spawn()
 * says so and the caller uses ProcessBuilder.
 *
 * Descriptors passed on (SpawnRequest.descriptors) are moved in two steps when a source number is
 * also a target number: every source is first duplicated above all numbers involved, then onto its
 * target, so that no dup2 overwrites a source a later one still needs. The numbers between 3 and
 * the highest target that are not targets are closed, and closefrom closes everything above.
 *
 * The parent-death signal: a process that arms PR_SET_PDEATHSIG is signalled when the thread that
 * spawned it exits. spawn() runs posix_spawn on the calling thread; Spawner runs it on a thread of
 * its own that lives as long as the spawner, and spawner() is one that lives as long as the JVM.
 */
/**
 * Starts processes with glibc's {@code posix_spawn} directly: the standard streams redirected to
 * files, chosen descriptors passed on, every other descriptor closed, an empty signal mask and
 * default signal dispositions, the given environment and working directory; each child reaped by a
 * thread of its own. About twice as fast as {@link ProcessBuilder} (no helper process in between).
 *
 * <p>{@link #spawn(SpawnRequest)} starts the process from the calling thread. A process that arms
 * {@code PR_SET_PDEATHSIG} (thaw's sandbox launcher does) dies when that thread exits: start those
 * through {@link #spawner()}, whose thread lives as long as the JVM.
 */
public final class NativeSpawn {
    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT;
    private static final java.lang.foreign.AddressLayout ADDR = ValueLayout.ADDRESS;

    // glibc x86-64: posix_spawn_file_actions_t is 80 bytes, posix_spawnattr_t 336, sigset_t 128
    private static final long FILE_ACTIONS_SIZE = 256;
    private static final long ATTR_SIZE = 512;
    private static final long SIGSET_SIZE = 128;
    private static final short POSIX_SPAWN_SETSIGDEF = 0x04;
    private static final short POSIX_SPAWN_SETSIGMASK = 0x08;
    private static final int O_RDONLY = 0;
    private static final int O_WRONLY = 1;
    private static final int O_CREAT = 0100;
    private static final int O_TRUNC = 01000;
    private static final int O_CLOEXEC = 02000000;
    private static final int EINTR = 4;
    private static final int SIGTERM = 15;
    private static final int SIGKILL = 9;

    private static final Optional<Functions> FUNCTIONS = Functions.lookUp();
    /** glibc 2.29+; looked up on its own, so that a glibc without it can still spawn without a directory. */
    private static final Optional<MethodHandle> ADD_CHDIR = optional("posix_spawn_file_actions_addchdir_np",
            FunctionDescriptor.of(INT, ADDR, ADDR));

    private NativeSpawn() {
    }

    /** The glibc functions this needs, all of them or none. */
    private record Functions(MethodHandle spawn, MethodHandle actionsInit, MethodHandle addDup2,
                             MethodHandle addCloseFrom, MethodHandle addClose, MethodHandle actionsDestroy, MethodHandle attrInit,
                             MethodHandle attrSetFlags, MethodHandle attrSetSigMask, MethodHandle attrSetSigDefault,
                             MethodHandle attrDestroy, MethodHandle sigEmptySet, MethodHandle sigFillSet, MethodHandle open,
                             MethodHandle close, MethodHandle waitpid, MethodHandle kill, MethodHandle strerror) {
        static Optional<Functions> lookUp() {
            try {
                SymbolLookup libc = LINKER.defaultLookup();
                Linker.Option errno = Linker.Option.captureCallState("errno");
                return Optional.of(new Functions(
                        handle(libc, "posix_spawn", FunctionDescriptor.of(INT, ADDR, ADDR, ADDR, ADDR, ADDR, ADDR)),
                        handle(libc, "posix_spawn_file_actions_init", FunctionDescriptor.of(INT, ADDR)),
                        handle(libc, "posix_spawn_file_actions_adddup2", FunctionDescriptor.of(INT, ADDR, INT, INT)),
                        handle(libc, "posix_spawn_file_actions_addclosefrom_np", FunctionDescriptor.of(INT, ADDR, INT)),
                        handle(libc, "posix_spawn_file_actions_addclose", FunctionDescriptor.of(INT, ADDR, INT)),
                        handle(libc, "posix_spawn_file_actions_destroy", FunctionDescriptor.of(INT, ADDR)),
                        handle(libc, "posix_spawnattr_init", FunctionDescriptor.of(INT, ADDR)),
                        handle(libc, "posix_spawnattr_setflags", FunctionDescriptor.of(INT, ADDR, ValueLayout.JAVA_SHORT)),
                        handle(libc, "posix_spawnattr_setsigmask", FunctionDescriptor.of(INT, ADDR, ADDR)),
                        handle(libc, "posix_spawnattr_setsigdefault", FunctionDescriptor.of(INT, ADDR, ADDR)),
                        handle(libc, "posix_spawnattr_destroy", FunctionDescriptor.of(INT, ADDR)),
                        handle(libc, "sigemptyset", FunctionDescriptor.of(INT, ADDR)),
                        handle(libc, "sigfillset", FunctionDescriptor.of(INT, ADDR)),
                        handle(libc, "open", FunctionDescriptor.of(INT, ADDR, INT, INT), Linker.Option.firstVariadicArg(2), errno),
                        handle(libc, "close", FunctionDescriptor.of(INT, INT)),
                        handle(libc, "waitpid", FunctionDescriptor.of(INT, INT, ADDR, INT), errno),
                        handle(libc, "kill", FunctionDescriptor.of(INT, INT, INT)),
                        handle(libc, "strerror", FunctionDescriptor.of(ADDR, INT))));
            } catch (RuntimeException | LinkageError e) {
                return Optional.empty(); // an older glibc (no closefrom), or no native access
            }
        }

        private static MethodHandle handle(SymbolLookup lookup, String name, FunctionDescriptor d, Linker.Option... options) {
            return LINKER.downcallHandle(lookup.find(name).orElseThrow(() -> new IllegalStateException("no " + name)), d,
                    options);
        }
    }

    private static Optional<MethodHandle> optional(String name, FunctionDescriptor d) {
        try {
            return LINKER.defaultLookup().find(name).map(address -> LINKER.downcallHandle(address, d));
        } catch (RuntimeException | LinkageError e) {
            return Optional.empty();
        }
    }

    /** @return whether processes can be started this way here (glibc 2.34+, native access granted) */
    public static boolean available() {
        return FUNCTIONS.isPresent();
    }

    /**
     * @return a spawner whose thread lives as long as this JVM: what processes that must die with
     *     the JVM, and only with it, are started from (see {@link Spawner})
     */
    public static Spawner spawner() {
        return SharedSpawner.INSTANCE;
    }

    private static final class SharedSpawner {
        static final Spawner INSTANCE = Spawner.create("thaw-spawner");
    }

    /**
     * Starts {@code command} from the calling thread with this process's environment, its standard
     * input read from {@code stdin}, its output written to {@code stdout} and its errors to
     * {@code stderr} (created or truncated), and no other descriptor.
     *
     * @throws IOException when a file cannot be opened or the kernel refuses the process
     * @throws IllegalStateException when {@link #available()} is false
     */
    public static Process spawn(List<String> command, Path stdin, Path stdout, Path stderr) throws IOException {
        return spawn(SpawnRequest.builder(command).stdin(stdin).stdout(stdout).stderr(stderr).build());
    }

    /**
     * Starts {@code request} from the calling thread.
     *
     * @throws IOException when a file or the working directory cannot be opened, or the kernel
     *     refuses the process
     * @throws IllegalStateException when {@link #available()} is false
     */
    public static Process spawn(SpawnRequest request) throws IOException {
        Functions f = FUNCTIONS.orElseThrow(() -> new IllegalStateException("posix_spawn is not usable here"));
        if (request.directory().isPresent() && ADD_CHDIR.isEmpty()) {
            throw new IllegalStateException("this glibc cannot start a process in another directory (no posix_spawn_file_actions_addchdir_np)");
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = arena.allocate(CAPTURE);
            int in = open(f, arena, errno, request.stdin(), O_RDONLY);
            int out = -1;
            int err = -1;
            try {
                out = open(f, arena, errno, request.stdout(), O_WRONLY | O_CREAT | O_TRUNC);
                err = open(f, arena, errno, request.stderr(), O_WRONLY | O_CREAT | O_TRUNC);
                Map<Integer, Integer> moves = new TreeMap<>(request.descriptors());
                moves.put(0, in);
                moves.put(1, out);
                moves.put(2, err);
                int pid = spawn(f, arena, request, moves);
                return new Spawned(f, pid);
            } finally {
                for (int fd : new int[] {in, out, err}) {
                    if (fd >= 0) {
                        call(f.close(), fd);
                    }
                }
            }
        }
    }

    /**
     * @param moves child fd to this process's fd, the three standard streams included
     */
    private static int spawn(Functions f, Arena arena, SpawnRequest request, Map<Integer, Integer> moves)
            throws IOException {
        List<String> command = request.command();
        MemorySegment actions = arena.allocate(FILE_ACTIONS_SIZE, 16);
        MemorySegment attr = arena.allocate(ATTR_SIZE, 16);
        MemorySegment none = arena.allocate(SIGSET_SIZE, 16);
        MemorySegment all = arena.allocate(SIGSET_SIZE, 16);
        check(f, "posix_spawn_file_actions_init", call(f.actionsInit(), actions));
        check(f, "posix_spawnattr_init", call(f.attrInit(), attr));
        try {
            int highestTarget = Collections.max(moves.keySet());
            boolean overlap = moves.values().stream().anyMatch(moves::containsKey);
            if (overlap) {
                // first every source above all numbers involved, then each onto its target
                int spare = Math.max(highestTarget, Collections.max(moves.values())) + 1;
                Map<Integer, Integer> staged = new TreeMap<>();
                for (var move : moves.entrySet()) {
                    check(f, "posix_spawn_file_actions_adddup2", call(f.addDup2(), actions, move.getValue(), spare));
                    staged.put(move.getKey(), spare++);
                }
                moves = staged;
            }
            for (var move : moves.entrySet()) {
                check(f, "posix_spawn_file_actions_adddup2", call(f.addDup2(), actions, move.getValue(), move.getKey()));
            }
            for (int fd = 3; fd < highestTarget; fd++) {
                if (!moves.containsKey(fd)) {
                    check(f, "posix_spawn_file_actions_addclose", call(f.addClose(), actions, fd));
                }
            }
            check(f, "posix_spawn_file_actions_addclosefrom_np", call(f.addCloseFrom(), actions, highestTarget + 1));
            if (request.directory().isPresent()) {
                check(f, "posix_spawn_file_actions_addchdir_np", call(ADD_CHDIR.orElseThrow(), actions,
                        arena.allocateFrom(request.directory().get().toString(), StandardCharsets.UTF_8)));
            }
            call(f.sigEmptySet(), none);
            call(f.sigFillSet(), all);
            check(f, "posix_spawnattr_setsigmask", call(f.attrSetSigMask(), attr, none));
            check(f, "posix_spawnattr_setsigdefault", call(f.attrSetSigDefault(), attr, all));
            check(f, "posix_spawnattr_setflags", call(f.attrSetFlags(), attr,
                    (short) (POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK)));
            MemorySegment pid = arena.allocate(INT);
            int result = (int) invoke(f.spawn(), pid, arena.allocateFrom(command.getFirst()), actions, attr,
                    strings(arena, command), strings(arena, environment(request.environment())));
            if (result != 0) {
                throw new IOException("cannot start " + command.getFirst()
                        + request.directory().map(d -> " in " + d).orElse("") + ": " + describe(f, result));
            }
            return pid.get(INT, 0);
        } finally {
            call(f.actionsDestroy(), actions);
            call(f.attrDestroy(), attr);
        }
    }

    private static List<String> environment(Map<String, String> environment) {
        return environment.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).toList();
    }

    /** @return a NULL-terminated array of C strings */
    private static MemorySegment strings(Arena arena, List<String> values) {
        MemorySegment array = arena.allocate(ADDR, values.size() + 1L);
        for (int i = 0; i < values.size(); i++) {
            array.setAtIndex(ADDR, i, arena.allocateFrom(values.get(i), StandardCharsets.UTF_8));
        }
        array.setAtIndex(ADDR, values.size(), MemorySegment.NULL);
        return array;
    }

    private static int open(Functions f, Arena arena, MemorySegment errno, Path file, int flags) throws IOException {
        int fd = (int) invoke(f.open(), errno, arena.allocateFrom(file.toString()), flags | O_CLOEXEC, 0644);
        if (fd < 0) {
            throw new IOException("cannot open " + file + ": " + describe(f, (int) ERRNO.get(errno, 0L)));
        }
        return fd;
    }

    private static void check(Functions f, String what, int result) throws IOException {
        if (result != 0) {
            throw new IOException(what + " failed: " + describe(f, result));
        }
    }

    /** @return e.g. {@code No such file or directory (errno 2)} */
    private static String describe(Functions f, int errno) {
        MemorySegment text = (MemorySegment) invoke(f.strerror(), errno);
        return text.reinterpret(1024).getString(0) + " (errno " + errno + ")";
    }

    private static int call(MethodHandle h, Object... args) {
        return (int) invoke(h, args);
    }

    private static Object invoke(MethodHandle h, Object... args) {
        try {
            return h.invokeWithArguments(args);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** A process started by {@link #spawn}: reaped by a thread of its own, its streams redirected. */
    private static final class Spawned extends Process {
        private final Functions f;
        private final int pid;
        private final ProcessHandle handle;
        private final CompletableFuture<Integer> exit = new CompletableFuture<>();

        Spawned(Functions f, int pid) {
            this.f = f;
            this.pid = pid;
            this.handle = ProcessHandle.of(pid).orElse(null);
            Thread.ofPlatform().daemon().name("thaw-reap-" + pid).start(this::reap);
        }

        /** Blocks in waitpid until the child exits; the exit value is the JDK's: the code, or 128 + signal. */
        private void reap() {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment errno = arena.allocate(CAPTURE);
                MemorySegment status = arena.allocate(INT);
                while (true) {
                    int r = (int) invoke(f.waitpid(), errno, pid, status, 0);
                    if (r == pid) {
                        int s = status.get(INT, 0);
                        int signal = s & 0x7f;
                        exit.complete(signal == 0 ? (s >> 8) & 0xff : 128 + signal);
                        return;
                    }
                    if (r < 0 && (int) ERRNO.get(errno, 0L) != EINTR) {
                        exit.complete(-1); // ECHILD: reaped elsewhere; its status is lost
                        return;
                    }
                }
            }
        }

        @Override
        public OutputStream getOutputStream() {
            return OutputStream.nullOutputStream();
        }

        @Override
        public InputStream getInputStream() {
            return InputStream.nullInputStream();
        }

        @Override
        public InputStream getErrorStream() {
            return InputStream.nullInputStream();
        }

        @Override
        public int waitFor() throws InterruptedException {
            try {
                return exit.get();
            } catch (java.util.concurrent.ExecutionException e) {
                throw new IllegalStateException(e.getCause());
            }
        }

        @Override
        public boolean waitFor(long timeout, TimeUnit unit) throws InterruptedException {
            try {
                exit.get(timeout, unit);
                return true;
            } catch (java.util.concurrent.TimeoutException e) {
                return false;
            } catch (java.util.concurrent.ExecutionException e) {
                throw new IllegalStateException(e.getCause());
            }
        }

        @Override
        public int exitValue() {
            Integer value = exit.getNow(null);
            if (value == null) {
                throw new IllegalThreadStateException("process " + pid + " has not exited");
            }
            return value;
        }

        @Override
        public void destroy() {
            signal(SIGTERM);
        }

        @Override
        public Process destroyForcibly() {
            signal(SIGKILL);
            return this;
        }

        /** Only before the child is reaped: after that its pid may be another process's. */
        private synchronized void signal(int signal) {
            if (!exit.isDone()) {
                call(f.kill(), pid, signal);
            }
        }

        @Override
        public boolean supportsNormalTermination() {
            return true;
        }

        @Override
        public boolean isAlive() {
            return !exit.isDone();
        }

        @Override
        public long pid() {
            return pid;
        }

        @Override
        public ProcessHandle toHandle() {
            if (handle == null) {
                throw new IllegalStateException("process " + pid + " exited before its handle was taken");
            }
            return handle;
        }

        @Override
        public CompletableFuture<Process> onExit() {
            return exit.thenApply(code -> this);
        }

        @Override
        public String toString() {
            return "Process[pid=" + pid + ", exitValue=" + (exit.isDone() ? exit.getNow(null) : "\"not exited\"") + "]";
        }
    }
}
