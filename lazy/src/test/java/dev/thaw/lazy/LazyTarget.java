package dev.thaw.lazy;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;

/**
 * The process the tests checkpoint and restore: a JVM holding a large array and an mmap'ed native
 * region, both filled with known patterns, that then waits for commands.
 *
 * <p>Commands arrive as files, because regular files at the same path survive dump and restore
 * while pipes and sockets would need re-wiring: the target polls {@code cmd-<host pid>} every
 * millisecond (its host pid is read from {@code /proc/self} each time, since a restored clone has a
 * new one; several clones of one image share the directory), and answers in {@code answer-<host pid>} (written aside and renamed, so a reader
 * never sees half an answer). It never writes to stdout or stderr after start-up: CRIU refuses to
 * restore a process whose open log file changed size.
 */
@SuppressWarnings("restricted") // it maps, remaps and forks through libc on purpose
public final class LazyTarget {
    /** Size of the native region mapped before the dump (the REMAP/REMOVE/UNMAP playground). */
    static final long NATIVE_BYTES = 8L << 20;
    static final long MB = 1L << 20;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle MMAP = libc("mmap", FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.ADDRESS,
            ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG));
    private static final MethodHandle MUNMAP = libc("munmap", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS,
            ValueLayout.JAVA_LONG));
    private static final MethodHandle MADVISE = libc("madvise", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS,
            ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));
    private static final MethodHandle MREMAP = LINKER.downcallHandle(LINKER.defaultLookup().find("mremap").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG,
                    ValueLayout.JAVA_INT, ValueLayout.ADDRESS), Linker.Option.firstVariadicArg(4));
    // int clone(int (*fn)(void *), void *stack, int flags, void *arg, ...)
    private static final MethodHandle CLONE = LINKER.downcallHandle(LINKER.defaultLookup().find("clone").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_INT,
                    ValueLayout.ADDRESS), Linker.Option.firstVariadicArg(4));
    private static final MemorySegment STRLEN = LINKER.defaultLookup().find("strlen").orElseThrow();
    private static final MethodHandle WAITPID = libc("waitpid", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
            ValueLayout.ADDRESS, ValueLayout.JAVA_INT));

    private static final int PROT_RW = 0x1 | 0x2;
    private static final int PROT_NONE = 0;
    private static final int MAP_PRIVATE_ANON = 0x02 | 0x20;
    private static final int SIGCHLD = 17;
    /** Where the NUL ends the fork window: 1 MB less 214 bytes, so its low byte (the child's exit code) is 42. */
    static final int FORK_WINDOW_LENGTH = (1 << 20) - 256 + 42;
    private static final int MADV_DONTNEED = 4;
    private static final int MREMAP_MAYMOVE = 1;
    private static final int MREMAP_FIXED = 2;

    private static long[] array;
    private static MemorySegment region;
    private static MemorySegment forkWindow;
    private static MemorySegment fresh;
    private static List<long[]> ballast = new ArrayList<>();

    private LazyTarget() {
    }

    /** @param args the command directory and the array size in MB */
    public static void main(String[] args) throws Throwable {
        Path dir = Path.of(args[0]);
        int mb = Integer.parseInt(args[1]);
        array = new long[(int) (mb * MB / 8)];
        fillArray(array);
        region = mapRegion();
        forkWindow = mapForkWindow();
        fresh = mapFreshRegion();
        String ready = "sum=" + Long.toHexString(checksum(array, 0, array.length))
                + " region=" + Long.toHexString(regionChecksum(region, 0, NATIVE_BYTES))
                + " regionAddress=" + Long.toHexString(region.address());
        System.out.println("target ready: " + ready);
        System.out.flush();
        writeAtomically(dir.resolve("ready"), ready);
        serve(dir);
    }

    /** Pattern of the Java array: element i. */
    static long arrayValue(long i) {
        return i * 0xC2B2AE3D27D4EB4FL + 1;
    }

    /** Pattern of the native region: the long at byte offset 8*i. */
    static long regionValue(long i) {
        return i * 0x9E3779B97F4A7C15L + 7;
    }

    static void fillArray(long[] a) {
        for (int i = 0; i < a.length; i++) {
            a[i] = arrayValue(i);
        }
    }

    /** A hash of a[from, to), sensitive to order and to zeros. */
    static long checksum(long[] a, int from, int to) {
        long h = 17;
        for (int i = from; i < to; i++) {
            h = h * 31 + a[i];
        }
        return h;
    }

    static long regionChecksum(MemorySegment s, long fromByte, long toByte) {
        long h = 17;
        for (long off = fromByte; off < toByte; off += 8) {
            h = h * 31 + s.get(ValueLayout.JAVA_LONG_UNALIGNED, off);
        }
        return h;
    }

    /** The checksum a region slice must have if it holds the pattern starting at byte {@code patternOffset}. */
    static long expectedRegionChecksum(long patternOffset, long bytes) {
        long h = 17;
        for (long off = 0; off < bytes; off += 8) {
            h = h * 31 + regionValue((patternOffset + off) / 8);
        }
        return h;
    }

    static long expectedArrayChecksum(int length) {
        long h = 17;
        for (int i = 0; i < length; i++) {
            h = h * 31 + arrayValue(i);
        }
        return h;
    }

    private static MemorySegment mapRegion() throws Throwable {
        MemorySegment s = mmap(MemorySegment.NULL, NATIVE_BYTES, PROT_RW, MAP_PRIVATE_ANON);
        for (long i = 0; i < NATIVE_BYTES / 8; i++) {
            s.set(ValueLayout.JAVA_LONG_UNALIGNED, i * 8, regionValue(i));
        }
        return s;
    }

    /** 1 MB of non-zero bytes that differ from page to page, then a NUL: what the forked child strlen()s. */
    private static MemorySegment mapForkWindow() throws Throwable {
        MemorySegment s = mmap(MemorySegment.NULL, MB, PROT_RW, MAP_PRIVATE_ANON);
        for (long i = 0; i < MB; i++) {
            s.set(ValueLayout.JAVA_BYTE, i, (byte) ((i / 4096) % 255 + 1));
        }
        s.set(ValueLayout.JAVA_BYTE, FORK_WINDOW_LENGTH, (byte) 0);
        return s;
    }

    /** Pages of the fresh region written before the dump; the rest of it never is. */
    static final int FRESH_WRITTEN_PAGES = 64;
    /** Size of the fresh region: memory the process has mapped but mostly not touched, as a JVM's eden. */
    static final long FRESH_BYTES = 16 * MB;

    private static MemorySegment mapFreshRegion() throws Throwable {
        MemorySegment s = mmap(MemorySegment.NULL, FRESH_BYTES, PROT_RW, MAP_PRIVATE_ANON);
        for (long page = 0; page < FRESH_WRITTEN_PAGES; page++) {
            s.set(ValueLayout.JAVA_LONG, page * 4096, regionValue(page));
        }
        return s;
    }

    /**
     * Touches every page of the fresh region that was never written before the dump, in order (as
     * an allocator does): each must read zero and keep what is written; then checks that the
     * written pages, which are lazy and touched only now, still hold their values.
     */
    private static String touchFreshRegion() {
        long pages = FRESH_BYTES / 4096;
        for (long page = FRESH_WRITTEN_PAGES; page < pages; page++) {
            long at = page * 4096;
            if (fresh.get(ValueLayout.JAVA_LONG, at) != 0 || fresh.get(ValueLayout.JAVA_LONG, at + 4088) != 0) {
                return "fresh page " + page + " is not zero";
            }
            fresh.set(ValueLayout.JAVA_LONG, at, page);
        }
        for (long page = FRESH_WRITTEN_PAGES; page < pages; page++) {
            if (fresh.get(ValueLayout.JAVA_LONG, page * 4096) != page) {
                return "fresh page " + page + " lost its write";
            }
        }
        for (long page = 0; page < FRESH_WRITTEN_PAGES; page++) {
            if (fresh.get(ValueLayout.JAVA_LONG, page * 4096) != regionValue(page)) {
                return "written page " + page + " of the fresh region lost its value";
            }
        }
        return "fresh=ok pages=" + (pages - FRESH_WRITTEN_PAGES);
    }

    private static MemorySegment mmap(MemorySegment at, long bytes, int prot, int flags) throws Throwable {
        MemorySegment s = (MemorySegment) MMAP.invokeExact(at, bytes, prot, flags, -1, 0L);
        if (s.address() == -1L) {
            throw new IllegalStateException("mmap failed");
        }
        return s.reinterpret(bytes);
    }

    private static void serve(Path dir) throws Exception {
        while (true) {
            String me = Files.readSymbolicLink(Path.of("/proc/self")).toString();
            String command = readAndDelete(dir.resolve("cmd-" + me));
            if (command != null) {
                writeAtomically(dir.resolve("answer-" + me), execute(command.strip()));
            }
            Thread.sleep(1);
        }
    }

    private static String readAndDelete(Path cmd) {
        try {
            String c = Files.readString(cmd);
            Files.deleteIfExists(cmd);
            return c;
        } catch (java.io.IOException e) {
            return null; // no command yet
        }
    }

    private static String execute(String command) {
        try {
            return switch (command) {
                case "sum" -> "sum=" + Long.toHexString(checksum(array, 0, array.length));
                case "part" -> "part=" + Long.toHexString(checksum(array, 0, array.length / 16));
                case "churn" -> churn();
                case "busysum" -> busySum();
                case "fresh" -> touchFreshRegion();
                default -> "unknown command " + command;
            };
        } catch (Throwable t) {
            return "error " + t;
        }
    }

    /**
     * "sum" while two more threads keep both CPUs of a small machine busy, as a starting application's
     * other threads (JIT, GC, its own) do: the daemon then competes for a CPU on every fault.
     */
    private static String busySum() throws InterruptedException {
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        List<Thread> spinners = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            Thread t = new Thread(() -> {
                long x = 0;
                while (!stop.get()) {
                    x = x * 31 + 7;
                }
                spinSink = x;
            }, "spinner-" + i);
            t.start();
            spinners.add(t);
        }
        try {
            return "sum=" + Long.toHexString(checksum(array, 0, array.length));
        } finally {
            stop.set(true);
            for (Thread t : spinners) {
                t.join();
            }
        }
    }

    private static volatile long spinSink;

    /**
     * Exercises what a lazily restored process does to its memory: two threads faulting at once, heap
     * growth and shrinking, MADV_DONTNEED (REMOVE), mremap (REMAP), munmap (UNMAP), and fork (FORK).
     * Every check is done here; the answer lists each one as ok or with what was found.
     */
    private static String churn() throws Throwable {
        List<String> results = new ArrayList<>();
        results.add(twoThreadSum());
        results.add(growAndShrinkHeap());
        results.add(removeRemapUnmap());
        results.add(forkedChildReads());
        return String.join(" ", results);
    }

    private static String twoThreadSum() throws InterruptedException {
        int half = array.length / 2;
        long[] second = new long[1];
        Thread t = new Thread(() -> second[0] = checksum(array, half, array.length), "second-half");
        t.start();
        long first = checksum(array, 0, half);
        t.join();
        boolean ok = first == expectedSlice(0, half) && second[0] == expectedSlice(half, array.length);
        return "threads=" + (ok ? "ok" : "bad");
    }

    private static long expectedSlice(int from, int to) {
        long h = 17;
        for (int i = from; i < to; i++) {
            h = h * 31 + arrayValue(i);
        }
        return h;
    }

    private static String growAndShrinkHeap() {
        for (int i = 0; i < 48; i++) {
            long[] chunk = new long[(int) (MB / 8)];
            chunk[chunk.length - 1] = i;
            ballast.add(chunk);
        }
        long total = 0;
        for (long[] chunk : ballast) {
            total += chunk[chunk.length - 1];
        }
        ballast = new ArrayList<>();
        System.gc();
        boolean ok = total == 47 * 48 / 2 && checksum(array, 0, array.length) == expectedArrayChecksum(array.length);
        return "heap=" + (ok ? "ok" : "bad");
    }

    /**
     * On the pre-dump region: drops [0, 1 MB) with MADV_DONTNEED (must read as zeros), moves
     * [6 MB, 8 MB) elsewhere with mremap (must keep its pattern), unmaps [4 MB, 5 MB), and checks
     * [1 MB, 4 MB) and [5 MB, 6 MB) still hold the pattern. None of these pages is touched before.
     */
    private static String removeRemapUnmap() throws Throwable {
        int rc = (int) MADVISE.invokeExact(region, MB, MADV_DONTNEED);
        boolean removedZero = rc == 0 && regionChecksum(region, 0, MB) == zeroChecksum(MB);

        MemorySegment placeholder = mmap(MemorySegment.NULL, 2 * MB, PROT_NONE, MAP_PRIVATE_ANON);
        MemorySegment moved = ((MemorySegment) MREMAP.invokeExact(region.asSlice(6 * MB), 2 * MB, 2 * MB,
                MREMAP_MAYMOVE | MREMAP_FIXED, placeholder)).reinterpret(2 * MB);
        boolean remapOk = moved.address() == placeholder.address()
                && regionChecksum(moved, 0, 2 * MB) == expectedRegionChecksum(6 * MB, 2 * MB);

        rc = (int) MUNMAP.invokeExact(region.asSlice(4 * MB), MB);
        boolean unmapOk = rc == 0;
        boolean restOk = regionChecksum(region, MB, 4 * MB) == expectedRegionChecksum(MB, 3 * MB)
                && regionChecksum(region, 5 * MB, 6 * MB) == expectedRegionChecksum(5 * MB, MB);
        return "remove=" + (removedZero ? "ok" : "bad") + " remap=" + (remapOk ? "ok" : "bad")
                + " unmap=" + (unmapOk ? "ok" : "bad") + " rest=" + (restOk ? "ok" : "bad");
    }

    private static long zeroChecksum(long bytes) {
        long h = 17;
        for (long off = 0; off < bytes; off += 8) {
            h = h * 31;
        }
        return h;
    }

    /**
     * Forks (the kernel then sends the daemon a FORK event with the child's userfaultfd): the child,
     * made with {@code clone(strlen, stack, SIGCHLD, window)}, runs nothing but {@code strlen} over
     * the fork window, whose pages the parent never touched since the restore, so it faults them in
     * through its own uffd; it exits with the length as status. (A forked JVM may not run Java code:
     * it has none of the VM's threads, and waits forever on their locks.)
     */
    private static String forkedChildReads() throws Throwable {
        MemorySegment stack = mmap(MemorySegment.NULL, 256 * 1024, PROT_RW, MAP_PRIVATE_ANON);
        MemorySegment stackTop = stack.asSlice(stack.byteSize() - 64);
        int pid = (int) CLONE.invokeExact(STRLEN, stackTop, SIGCHLD, forkWindow);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment status = arena.allocate(ValueLayout.JAVA_INT);
            int waited = (int) WAITPID.invokeExact(pid, status, 0);
            int code = status.get(ValueLayout.JAVA_INT, 0);
            boolean exited = (code & 0x7f) == 0;
            int exitCode = (code >> 8) & 0xff;
            boolean ok = pid > 0 && waited == pid && exited && exitCode == (FORK_WINDOW_LENGTH & 0xff);
            return "fork=" + (ok ? "ok" : "bad(pid " + pid + " status 0x" + Integer.toHexString(code) + ")");
        } finally {
            int rc = (int) MUNMAP.invokeExact(stack, stack.byteSize());
            assert rc == 0;
        }
    }

    static void writeAtomically(Path file, String content) throws java.io.IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(tmp, content, StandardCharsets.UTF_8);
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    private static MethodHandle libc(String name, FunctionDescriptor fd) {
        return LINKER.downcallHandle(LINKER.defaultLookup().find(name).orElseThrow(), fd);
    }
}
