package dev.thaw.node.instance;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;

/**
 * An anonymous pipe made with {@code pipe2(2)} through the FFM API.
 *
 * <p>Why not {@link ProcessBuilder}'s own pipes: the JDK drains and closes a child's stdout pipe
 * when the child exits, but a restored instance outlives the {@code criu restore} process that
 * created it and keeps writing to the same pipe. Owning both ends lets the node hand one end to a
 * child as {@code /proc/self/fd/N} (which {@link ProcessBuilder} opens like a file) and keep
 * reading the other for as long as any process holds the write end. Both raw descriptors are
 * closed once the child has its end and the node has reopened its own as a stream.
 */
final class Pipe implements AutoCloseable {
    private static final MethodHandle PIPE2;
    private static final MethodHandle CLOSE;
    private static final int O_CLOEXEC = 0x80000;

    static {
        Linker linker = Linker.nativeLinker();
        PIPE2 = linker.downcallHandle(linker.defaultLookup().find("pipe2").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
        CLOSE = linker.downcallHandle(linker.defaultLookup().find("close").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
    }

    private final int readFd;
    private final int writeFd;
    private boolean closed;

    private Pipe(int readFd, int writeFd) {
        this.readFd = readFd;
        this.writeFd = writeFd;
    }

    static Pipe open() throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment fds = arena.allocate(ValueLayout.JAVA_INT, 2);
            int rc = (int) PIPE2.invokeExact(fds, O_CLOEXEC);
            if (rc != 0) {
                throw new IOException("pipe2 failed: too many open files?");
            }
            return new Pipe(fds.getAtIndex(ValueLayout.JAVA_INT, 0), fds.getAtIndex(ValueLayout.JAVA_INT, 1));
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException("pipe2 failed", t);
        }
    }

    /** @return a path that opens the read end (for a child's stdin or the node's reader) */
    Path readEnd() {
        return Path.of("/proc/self/fd/" + readFd);
    }

    /** @return a path that opens the write end (for a child's stdout or the node's writer) */
    Path writeEnd() {
        return Path.of("/proc/self/fd/" + writeFd);
    }

    /** Closes the raw descriptors; streams opened on {@link #readEnd()}/{@link #writeEnd()} stay open. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        closeFd(readFd);
        closeFd(writeFd);
    }

    private static void closeFd(int fd) {
        try {
            int ignored = (int) CLOSE.invokeExact(fd);
        } catch (Throwable t) {
            // Nothing sensible to do: the descriptor is leaked at worst.
        }
    }
}
