package dev.thaw.lazy;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * The handful of libc calls the daemon needs, bound with the FFM API. Every call captures
 * {@code errno}; a wrapper returns the call's result, or {@code -errno} when the call failed, so
 * callers branch on a number instead of catching exceptions on the hot path.
 *
 * <p>An instance owns the segment errno is captured into, so it must be used by one thread at a time.
 */
final class Libc {
    static final int EPERM = 1;
    static final int ENOENT = 2;
    static final int ESRCH = 3;
    static final int EINTR = 4;
    static final int EBADF = 9;
    static final int EAGAIN = 11;
    static final int ENOMEM = 12;
    static final int EEXIST = 17;
    static final int EINVAL = 22;
    static final int ENOSPC = 28;

    static final int AF_UNIX = 1;
    static final int SOCK_STREAM = 1;
    static final int SOCK_NONBLOCK = 0x800;
    static final int SOCK_CLOEXEC = 0x80000;
    static final int MSG_CMSG_CLOEXEC = 0x40000000;
    static final int SOL_SOCKET = 1;
    static final int SCM_RIGHTS = 1;
    static final int EFD_NONBLOCK = 0x800;
    static final int EFD_CLOEXEC = 0x80000;

    static final int PROT_READ = 0x1;
    static final int PROT_WRITE = 0x2;
    static final int MAP_PRIVATE = 0x02;
    static final int MAP_ANONYMOUS = 0x20;
    private static final long MAP_FAILED = -1L;
    /** Back the range with transparent huge pages where the kernel can (THP mode "madvise" or "always"). */
    static final int MADV_HUGEPAGE = 14;
    /** Fault the range in for writing now, in the kernel, one call for all of it (Linux 5.14+). */
    static final int MADV_POPULATE_WRITE = 23;

    static final short POLLIN = 0x1;
    static final short POLLERR = 0x8;
    static final short POLLHUP = 0x10;
    static final short POLLNVAL = 0x20;

    /** {@code sizeof(struct sockaddr_un)}: a short family and 108 bytes of path. */
    static final int SOCKADDR_UN_SIZE = 110;
    /** The longest socket path: {@code sun_path} holds 108 bytes including the terminating NUL. */
    static final int MAX_SOCKET_PATH = 107;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CAPTURE_LAYOUT = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE_LAYOUT.varHandle(MemoryLayout.PathElement.groupElement("errno"));

    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT;
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG;
    private static final java.lang.foreign.AddressLayout PTR = ValueLayout.ADDRESS;

    private static final MethodHandle SOCKET = bind("socket", FunctionDescriptor.of(INT, INT, INT, INT));
    private static final MethodHandle BIND = bind("bind", FunctionDescriptor.of(INT, INT, PTR, INT));
    private static final MethodHandle LISTEN = bind("listen", FunctionDescriptor.of(INT, INT, INT));
    private static final MethodHandle ACCEPT4 = bind("accept4", FunctionDescriptor.of(INT, INT, PTR, PTR, INT));
    private static final MethodHandle RECVMSG = bind("recvmsg", FunctionDescriptor.of(LONG, INT, PTR, INT));
    private static final MethodHandle READ = bind("read", FunctionDescriptor.of(LONG, INT, PTR, LONG));
    private static final MethodHandle WRITE = bind("write", FunctionDescriptor.of(LONG, INT, PTR, LONG));
    private static final MethodHandle CLOSE = bind("close", FunctionDescriptor.of(INT, INT));
    private static final MethodHandle POLL = bind("poll", FunctionDescriptor.of(INT, PTR, LONG, INT));
    private static final MethodHandle EVENTFD = bind("eventfd", FunctionDescriptor.of(INT, INT, INT));
    private static final MethodHandle MMAP = bind("mmap", FunctionDescriptor.of(PTR, PTR, LONG, INT, INT, INT, LONG));
    private static final MethodHandle MUNMAP = bind("munmap", FunctionDescriptor.of(INT, PTR, LONG));
    private static final MethodHandle MADVISE = bind("madvise", FunctionDescriptor.of(INT, PTR, LONG, INT));
    private static final MethodHandle SCHED_YIELD = bind("sched_yield", FunctionDescriptor.of(INT));
    // ioctl(int fd, unsigned long request, ...): the argument pointer is variadic, which matters to the x86_64 ABI
    private static final MethodHandle IOCTL = bind("ioctl", FunctionDescriptor.of(INT, INT, LONG, PTR),
            Linker.Option.firstVariadicArg(2));

    private final MemorySegment errnoState;

    /** @param arena where the errno capture segment lives; must outlive this instance's use */
    Libc(Arena arena) {
        this.errnoState = arena.allocate(CAPTURE_LAYOUT);
    }

    int socket(int domain, int type, int protocol) {
        try {
            return check((int) SOCKET.invokeExact(errnoState, domain, type, protocol));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    int bind(int fd, MemorySegment address, int length) {
        try {
            return check((int) BIND.invokeExact(errnoState, fd, address, length));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    int listen(int fd, int backlog) {
        try {
            return check((int) LISTEN.invokeExact(errnoState, fd, backlog));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    int accept4(int fd, int flags) {
        try {
            return check((int) ACCEPT4.invokeExact(errnoState, fd, MemorySegment.NULL, MemorySegment.NULL, flags));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    long recvmsg(int fd, MemorySegment msghdr, int flags) {
        try {
            return check((long) RECVMSG.invokeExact(errnoState, fd, msghdr, flags));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    long read(int fd, MemorySegment buffer, long count) {
        try {
            return check((long) READ.invokeExact(errnoState, fd, buffer, count));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    long write(int fd, MemorySegment buffer, long count) {
        try {
            return check((long) WRITE.invokeExact(errnoState, fd, buffer, count));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    int close(int fd) {
        try {
            return check((int) CLOSE.invokeExact(errnoState, fd));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    int poll(MemorySegment fds, long count, int timeoutMillis) {
        try {
            return check((int) POLL.invokeExact(errnoState, fds, count, timeoutMillis));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    int schedYield() {
        try {
            return check((int) SCHED_YIELD.invokeExact(errnoState));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * Maps {@code bytes} of private anonymous memory, which the kernel zero-fills page by page on
     * first touch (not up front, as an arena's allocation does).
     *
     * @return the mapping's address, or a negative errno
     */
    long mmapAnonymous(long bytes) {
        try {
            MemorySegment address = (MemorySegment) MMAP.invokeExact(errnoState, MemorySegment.NULL, bytes,
                    PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0L);
            return address.address() == MAP_FAILED ? -errno() : address.address();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    int munmap(long address, long bytes) {
        try {
            return check((int) MUNMAP.invokeExact(errnoState, MemorySegment.ofAddress(address), bytes));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** @return 0, or a negative errno (a kernel without the advice says {@code EINVAL}) */
    int madvise(long address, long bytes, int advice) {
        try {
            return check((int) MADVISE.invokeExact(errnoState, MemorySegment.ofAddress(address), bytes, advice));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    int eventfd(int initial, int flags) {
        try {
            return check((int) EVENTFD.invokeExact(errnoState, initial, flags));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    int ioctl(int fd, long request, MemorySegment argument) {
        try {
            return check((int) IOCTL.invokeExact(errnoState, fd, request, argument));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** @return a name for an errno value, for messages */
    static String errnoName(int errno) {
        return switch (errno) {
            case EPERM -> "EPERM";
            case ENOENT -> "ENOENT";
            case ESRCH -> "ESRCH";
            case EINTR -> "EINTR";
            case EBADF -> "EBADF";
            case EAGAIN -> "EAGAIN";
            case ENOMEM -> "ENOMEM";
            case EEXIST -> "EEXIST";
            case EINVAL -> "EINVAL";
            case ENOSPC -> "ENOSPC";
            default -> "errno " + errno;
        };
    }

    private int check(int result) {
        return result == -1 ? -errno() : result;
    }

    private long check(long result) {
        return result == -1 ? -errno() : result;
    }

    private int errno() {
        return (int) ERRNO.get(errnoState, 0L);
    }

    @SuppressWarnings("restricted") // binding libc is this class's purpose; the JVM runs with --enable-native-access
    private static MethodHandle bind(String name, FunctionDescriptor descriptor, Linker.Option... options) {
        MemorySegment symbol = LINKER.defaultLookup().find(name)
                .orElseThrow(() -> new UnsatisfiedLinkError("libc has no " + name));
        Linker.Option[] all = java.util.Arrays.copyOf(options, options.length + 1);
        all[options.length] = Linker.Option.captureCallState("errno");
        return LINKER.downcallHandle(symbol, descriptor, all);
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) {
            throw r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new IllegalStateException("native call failed", t);
    }
}
