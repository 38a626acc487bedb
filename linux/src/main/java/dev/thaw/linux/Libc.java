package dev.thaw.linux;

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

/**
 * The libc calls thaw makes besides spawning processes, bound with the FFM API (x86-64 Linux,
 * glibc). Each call captures {@code errno}; a failure throws {@link NativeException} naming the
 * call, its argument and the system's reason. Constants carry the values of the x86-64 headers.
 *
 * <p>Namespace calls act on the calling thread only ({@code setns}, {@code unshare} of a network
 * namespace): run them on a platform thread that exists for that purpose (see
 * {@link NetworkNamespace}), never on a virtual thread, whose carrier would carry the namespace to
 * whatever runs on it next.
 */
public final class Libc {
    /** New mount namespace ({@code unshare}, {@code setns}). */
    public static final int CLONE_NEWNS = 0x00020000;
    /** New cgroup namespace. */
    public static final int CLONE_NEWCGROUP = 0x02000000;
    /** New UTS (host name) namespace. */
    public static final int CLONE_NEWUTS = 0x04000000;
    /** New IPC namespace. */
    public static final int CLONE_NEWIPC = 0x08000000;
    /** New user namespace. */
    public static final int CLONE_NEWUSER = 0x10000000;
    /** New pid namespace. */
    public static final int CLONE_NEWPID = 0x20000000;
    /** New network namespace. */
    public static final int CLONE_NEWNET = 0x40000000;

    /** Mount read-only. */
    public static final long MS_RDONLY = 1;
    /** Ignore set-user-ID and set-group-ID bits. */
    public static final long MS_NOSUID = 2;
    /** No device nodes. */
    public static final long MS_NODEV = 4;
    /** No program execution. */
    public static final long MS_NOEXEC = 8;
    /** Change the flags of an existing mount. */
    public static final long MS_REMOUNT = 32;
    /** Bind mount. */
    public static final long MS_BIND = 4096;
    /** Recursively (bind mounts, propagation changes). */
    public static final long MS_REC = 16384;
    /** Make a mount private: no propagation of mount events to or from it. */
    public static final long MS_PRIVATE = 1L << 18;
    /** Detach the mount now, clean up when it is no longer busy ({@code umount2}). */
    public static final int MNT_DETACH = 2;
    /** Do not follow a symbolic link as the last component of the target ({@code umount2}). */
    public static final int UMOUNT_NOFOLLOW = 8;

    /** Open for reading. */
    public static final int O_RDONLY = 0;
    /** Open for writing. */
    public static final int O_WRONLY = 1;
    /** Open for reading and writing. */
    public static final int O_RDWR = 2;
    /** Create the file if it does not exist. */
    public static final int O_CREAT = 0100;
    /** Truncate an existing file. */
    public static final int O_TRUNC = 01000;
    /** Fail unless the path is a directory. */
    public static final int O_DIRECTORY = 0200000;
    /** Fail if the last component is a symbolic link. */
    public static final int O_NOFOLLOW = 0400000;
    /** Close on exec: every descriptor thaw opens carries it, and spawns pass descriptors explicitly. */
    public static final int O_CLOEXEC = 02000000;

    /** Exclusive {@code flock}. */
    public static final int LOCK_EX = 2;
    /** Do not block in {@code flock}. */
    public static final int LOCK_NB = 4;
    /** Release a {@code flock}. */
    public static final int LOCK_UN = 8;

    /** Operation not permitted. */
    public static final int EPERM = 1;
    /** No such file or directory. */
    public static final int ENOENT = 2;
    /** No such process. */
    public static final int ESRCH = 3;
    /** Interrupted system call. */
    public static final int EINTR = 4;
    /** Try again ({@code EWOULDBLOCK}). */
    public static final int EAGAIN = 11;
    /** Device or resource busy. */
    public static final int EBUSY = 16;
    /** Invalid argument. */
    public static final int EINVAL = 22;

    /** Kill, not catchable. */
    public static final int SIGKILL = 9;
    /** Terminate, catchable. */
    public static final int SIGTERM = 15;

    private static final int S_IFCHR = 0020000;
    private static final int SCHED_OTHER = 0;
    private static final int SCHED_IDLE = 5;
    private static final int AF_INET = 2;
    private static final int SOCK_DGRAM = 2;
    private static final int SOCK_CLOEXEC = O_CLOEXEC;
    private static final long SIOCGIFFLAGS = 0x8913;
    private static final long SIOCSIFFLAGS = 0x8914;
    private static final short IFF_UP = 0x1;
    /** {@code struct ifreq}: a 16-byte name, then a 24-byte union whose first member here is the flags. */
    private static final long IFREQ_SIZE = 40;
    private static final long IFREQ_FLAGS = 16;
    private static final int IFNAMSIZ = 16;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT;
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG;
    private static final java.lang.foreign.AddressLayout ADDR = ValueLayout.ADDRESS;

    private static final MethodHandle UNSHARE = bind("unshare", FunctionDescriptor.of(INT, INT));
    private static final MethodHandle SETNS = bind("setns", FunctionDescriptor.of(INT, INT, INT));
    private static final MethodHandle MOUNT = bind("mount", FunctionDescriptor.of(INT, ADDR, ADDR, ADDR, LONG, ADDR));
    private static final MethodHandle UMOUNT2 = bind("umount2", FunctionDescriptor.of(INT, ADDR, INT));
    private static final MethodHandle OPEN = bind("open", FunctionDescriptor.of(INT, ADDR, INT, INT), Linker.Option.firstVariadicArg(2));
    private static final MethodHandle MKNOD = bind("mknod", FunctionDescriptor.of(INT, ADDR, INT, LONG));
    private static final MethodHandle CLOSE = bind("close", FunctionDescriptor.of(INT, INT));
    private static final MethodHandle PIPE2 = bind("pipe2", FunctionDescriptor.of(INT, ADDR, INT));
    private static final MethodHandle FLOCK = bind("flock", FunctionDescriptor.of(INT, INT, INT));
    private static final MethodHandle KILL = bind("kill", FunctionDescriptor.of(INT, INT, INT));
    private static final MethodHandle SCHED_SETSCHEDULER = bind("sched_setscheduler", FunctionDescriptor.of(INT, INT, INT, ADDR));
    private static final MethodHandle SCHED_SETAFFINITY = bind("sched_setaffinity", FunctionDescriptor.of(INT, INT, LONG, ADDR));
    private static final MethodHandle SOCKET = bind("socket", FunctionDescriptor.of(INT, INT, INT, INT));
    private static final MethodHandle IOCTL = bind("ioctl", FunctionDescriptor.of(INT, INT, LONG, ADDR), Linker.Option.firstVariadicArg(2));
    private static final MethodHandle GETEUID = LINKER.downcallHandle(find("geteuid"), FunctionDescriptor.of(INT));
    private static final MethodHandle GETTID = LINKER.downcallHandle(find("gettid"), FunctionDescriptor.of(INT));
    private static final MethodHandle STRERROR = LINKER.downcallHandle(find("strerror"), FunctionDescriptor.of(ADDR, INT));

    private Libc() {
    }

    /**
     * Moves the calling thread into new namespaces ({@code CLONE_NEW*} flags).
     *
     * @throws NativeException when the kernel refuses
     */
    public static void unshare(int flags) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CAPTURE);
            check((int) UNSHARE.invokeExact(state, flags), state, () -> "unshare(" + namespaces(flags) + ")");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * Moves the calling thread into the namespace {@code fd} refers to.
     *
     * @param nstype the namespace's {@code CLONE_NEW*} flag, or 0 for any
     * @throws NativeException when the kernel refuses
     */
    public static void setns(int fd, int nstype) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CAPTURE);
            check((int) SETNS.invokeExact(state, fd, nstype), state, () -> "setns(fd " + fd + ", " + namespaces(nstype) + ")");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code mount(2)}. An empty source, file system type or data stands for none (the kernel
     * ignores them where they do not apply: a remount, a propagation change, a bind mount's type).
     *
     * @throws NativeException when the kernel refuses
     */
    public static void mount(String source, String target, String fstype, long flags, String data) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CAPTURE);
            int r = (int) MOUNT.invokeExact(state, cString(arena, source), arena.allocateFrom(target, StandardCharsets.UTF_8),
                    cString(arena, fstype), flags, cString(arena, data));
            check(r, state, () -> "mount(" + (source.isEmpty() ? "" : source + " on ") + target
                    + (fstype.isEmpty() ? "" : ", " + fstype) + ", flags 0x" + Long.toHexString(flags) + ")");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code umount2(2)}.
     *
     * @param flags e.g. {@link #MNT_DETACH}
     * @throws NativeException when the kernel refuses
     */
    public static void umount2(String target, int flags) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CAPTURE);
            check((int) UMOUNT2.invokeExact(state, arena.allocateFrom(target, StandardCharsets.UTF_8), flags), state,
                    () -> "umount2(" + target + ")");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code open(2)}.
     *
     * @return the new descriptor; the caller closes it
     * @throws NativeException when it cannot be opened
     */
    public static int open(String path, int flags, int mode) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CAPTURE);
            return check((int) OPEN.invokeExact(state, arena.allocateFrom(path, StandardCharsets.UTF_8), flags, mode), state,
                    () -> "open(" + path + ")");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code mknod(2)} of a character device (the process's umask applies to {@code mode}).
     *
     * @param device the device number, as {@code stat}'s {@code st_rdev} gives it
     * @throws NativeException when the kernel refuses (no {@code CAP_MKNOD}, the file exists)
     */
    public static void mknodCharacter(String path, int mode, long device) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CAPTURE);
            check((int) MKNOD.invokeExact(state, arena.allocateFrom(path, StandardCharsets.UTF_8), S_IFCHR | mode, device), state,
                    () -> "mknod(" + path + ")");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code close(2)}.
     *
     * @throws NativeException for a descriptor that is not open
     */
    public static void close(int fd) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CAPTURE);
            check((int) CLOSE.invokeExact(state, fd), state, () -> "close(" + fd + ")");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code pipe2(2)}.
     *
     * @param flags e.g. {@link #O_CLOEXEC}
     * @return the read end, then the write end
     */
    public static int[] pipe2(int flags) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CAPTURE);
            MemorySegment fds = arena.allocate(INT, 2);
            check((int) PIPE2.invokeExact(state, fds, flags), state, () -> "pipe2");
            return new int[] {fds.getAtIndex(INT, 0), fds.getAtIndex(INT, 1)};
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code flock(2)}.
     *
     * @param operation {@link #LOCK_EX}, optionally with {@link #LOCK_NB}, or {@link #LOCK_UN}
     * @return false when {@link #LOCK_NB} was given and another open file description holds the lock
     */
    public static boolean flock(int fd, int operation) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CAPTURE);
            int r = (int) FLOCK.invokeExact(state, fd, operation);
            if (r < 0 && errno(state) == EAGAIN) {
                return false;
            }
            check(r, state, () -> "flock(" + fd + ")");
            return true;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * Gives the calling thread the {@code SCHED_IDLE} policy (it runs only when no other thread of
     * normal policy wants its CPU: background work that must not take the cores from invocations),
     * or back the normal one ({@code SCHED_OTHER}, nice 0).
     *
     * @throws NativeException when the kernel refuses
     */
    public static void scheduleIdle(boolean idle) {
        scheduleIdle(0, idle);
    }

    /**
     * {@link #scheduleIdle(boolean)} for thread {@code tid} of this process (0: the calling thread).
     *
     * @return false when there is no such thread (any more)
     * @throws NativeException when the kernel refuses
     */
    public static boolean scheduleIdle(int tid, boolean idle) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CAPTURE);
            MemorySegment param = arena.allocate(INT); // struct sched_param: its priority, 0 for both policies
            int r = (int) SCHED_SETSCHEDULER.invokeExact(state, tid, idle ? SCHED_IDLE : SCHED_OTHER, param);
            return unlessGone(r, state, () -> "sched_setscheduler(" + tid + ", " + (idle ? "SCHED_IDLE" : "SCHED_OTHER") + ")");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * Lets the calling thread run on CPU {@code cpu} only ({@code sched_setaffinity}): tests that need
     * threads to share one CPU, whatever the scheduler's balancing would do.
     *
     * @throws NativeException when the kernel refuses (no such CPU)
     */
    public static void runOnlyOn(int cpu) {
        if (cpu < 0 || cpu >= 1024) {
            throw new IllegalArgumentException("CPU " + cpu + " is outside 0-1023");
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CAPTURE);
            MemorySegment mask = arena.allocate(128); // cpu_set_t: 1024 bits
            mask.set(ValueLayout.JAVA_BYTE, cpu / 8, (byte) (1 << (cpu % 8)));
            check((int) SCHED_SETAFFINITY.invokeExact(state, 0, 128L, mask), state, () -> "sched_setaffinity(CPU " + cpu + ")");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** @return the calling thread's kernel thread id ({@code gettid(2)}) */
    public static int gettid() {
        try {
            return (int) GETTID.invokeExact();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code kill(2)}.
     *
     * @return false when there is no such process
     */
    public static boolean kill(long pid, int signal) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CAPTURE);
            int r = (int) KILL.invokeExact(state, Math.toIntExact(pid), signal);
            return unlessGone(r, state, () -> "kill(" + pid + ", " + signal + ")");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** @return false when a call on a process or thread failed because it is gone (ESRCH); else checks it */
    private static boolean unlessGone(int r, MemorySegment state, java.util.function.Supplier<String> what) {
        if (r < 0 && errno(state) == ESRCH) {
            return false;
        }
        check(r, state, what);
        return true;
    }

    /** @return the effective uid of this process */
    public static int geteuid() {
        try {
            return (int) GETEUID.invokeExact();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * Brings a network interface up ({@code SIOCGIFFLAGS}, then {@code SIOCSIFFLAGS} with
     * {@code IFF_UP}) in the calling thread's network namespace, e.g. {@code lo} of a new one.
     *
     * @throws NativeException when the interface does not exist or cannot be changed
     */
    public static void interfaceUp(String name) {
        byte[] bytes = name.getBytes(StandardCharsets.US_ASCII);
        if (bytes.length >= IFNAMSIZ) {
            throw new IllegalArgumentException("interface name too long: " + name);
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CAPTURE);
            int fd = check((int) SOCKET.invokeExact(state, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), state, () -> "socket(AF_INET)");
            try {
                MemorySegment ifreq = arena.allocate(IFREQ_SIZE, 8);
                MemorySegment.copy(bytes, 0, ifreq, ValueLayout.JAVA_BYTE, 0, bytes.length);
                check((int) IOCTL.invokeExact(state, fd, SIOCGIFFLAGS, ifreq), state, () -> "ioctl(SIOCGIFFLAGS, " + name + ")");
                short flags = ifreq.get(ValueLayout.JAVA_SHORT, IFREQ_FLAGS);
                ifreq.set(ValueLayout.JAVA_SHORT, IFREQ_FLAGS, (short) (flags | IFF_UP));
                check((int) IOCTL.invokeExact(state, fd, SIOCSIFFLAGS, ifreq), state, () -> "ioctl(SIOCSIFFLAGS, " + name + ")");
            } finally {
                int ignored = (int) CLOSE.invokeExact(state, fd);
            }
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** @return the system's text for {@code errno}, e.g. {@code No such file or directory} */
    public static String strerror(int errno) {
        try {
            MemorySegment text = (MemorySegment) STRERROR.invokeExact(errno);
            return text.reinterpret(1024).getString(0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** @return e.g. {@code CLONE_NEWNET} or {@code CLONE_NEWNS|CLONE_NEWNET} for the flags that are set */
    static String namespaces(int flags) {
        if (flags == 0) {
            return "0";
        }
        StringBuilder b = new StringBuilder();
        String[] names = {"CLONE_NEWNS", "CLONE_NEWCGROUP", "CLONE_NEWUTS", "CLONE_NEWIPC", "CLONE_NEWUSER", "CLONE_NEWPID", "CLONE_NEWNET"};
        int[] values = {CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET};
        int rest = flags;
        for (int i = 0; i < names.length; i++) {
            if ((flags & values[i]) != 0) {
                b.append(b.isEmpty() ? "" : "|").append(names[i]);
                rest &= ~values[i];
            }
        }
        if (rest != 0) {
            b.append(b.isEmpty() ? "" : "|").append("0x").append(Integer.toHexString(rest));
        }
        return b.toString();
    }

    private static MemorySegment cString(Arena arena, String s) {
        return s.isEmpty() ? MemorySegment.NULL : arena.allocateFrom(s, StandardCharsets.UTF_8);
    }

    private static int check(int result, MemorySegment state, java.util.function.Supplier<String> call) {
        if (result < 0) {
            throw new NativeException(call.get(), errno(state));
        }
        return result;
    }

    static int errno(MemorySegment state) {
        return (int) ERRNO.get(state, 0L);
    }

    private static MemorySegment find(String name) {
        SymbolLookup libc = LINKER.defaultLookup();
        return libc.find(name).orElseThrow(() -> new UnsatisfiedLinkError("libc has no " + name));
    }

    private static MethodHandle bind(String name, FunctionDescriptor descriptor, Linker.Option... options) {
        Linker.Option[] all = java.util.Arrays.copyOf(options, options.length + 1);
        all[options.length] = Linker.Option.captureCallState("errno");
        return LINKER.downcallHandle(find(name), descriptor, all);
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) {
            throw r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        throw new IllegalStateException(t);
    }
}
