package dev.thaw.lazy;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The Unix socket a lazy-pages daemon listens on, bound before the daemon itself starts.
 *
 * <p>Why apart from the daemon: CRIU connects to this socket once it has created the tasks'
 * mappings, tens of milliseconds after it was started. With the socket bound first, a restore can
 * start CRIU at once and set the daemon up (load the image's index, map its buffers, start its
 * thread) while CRIU works; CRIU's connection and the userfaultfds it sends wait in the socket's
 * backlog meanwhile. Setting the daemon up first put that work, 5-35 ms on a loaded 2-core VM, in
 * front of every lazy restore.
 *
 * <p>{@link LazyPages#start(LazyPages.Options, LazyPagesSocket)} adopts the socket: the daemon then
 * closes and unlinks it. Closing a socket no daemon adopted does both here.
 */
public final class LazyPagesSocket implements AutoCloseable {
    private final Path path;
    private final Libc libc;
    private int fd;

    private LazyPagesSocket(Path path, Libc libc, int fd) {
        this.path = path;
        this.libc = libc;
        this.fd = fd;
    }

    /**
     * Binds and listens on {@code lazy-pages.socket} in the work directory, where
     * {@code criu restore --lazy-pages --work-dir} looks for it.
     *
     * @throws LazyPagesException when the path is too long for a socket address, or the kernel refuses
     */
    public static LazyPagesSocket listen(Path workDir) {
        Path socket = workDir.toAbsolutePath().resolve(LazyPagesDaemon.SOCKET_NAME);
        byte[] name = socket.toString().getBytes(StandardCharsets.UTF_8);
        if (name.length > Libc.MAX_SOCKET_PATH) {
            throw new LazyPagesException("the lazy-pages socket path " + socket + " is " + name.length
                    + " bytes, more than the " + Libc.MAX_SOCKET_PATH + " an AF_UNIX address holds: use a shorter work directory");
        }
        try {
            Files.createDirectories(socket.getParent());
            Files.deleteIfExists(socket);
        } catch (IOException e) {
            throw new LazyPagesException("cannot prepare " + socket + ": " + e, e);
        }
        Arena arena = Arena.ofAuto(); // only errno and the address: freed by the collector
        Libc libc = new Libc(arena);
        int fd = libc.socket(Libc.AF_UNIX, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC | Libc.SOCK_NONBLOCK, 0);
        LazyPagesDaemon.check(fd, "socket(AF_UNIX)");
        MemorySegment address = arena.allocate(Libc.SOCKADDR_UN_SIZE, 8);
        address.set(ValueLayout.JAVA_SHORT, 0, (short) Libc.AF_UNIX);
        MemorySegment.copy(name, 0, address, ValueLayout.JAVA_BYTE, 2, name.length);
        LazyPagesSocket bound = new LazyPagesSocket(socket, libc, fd);
        try {
            LazyPagesDaemon.check(libc.bind(fd, address, 2 + name.length + 1), "bind " + socket);
            LazyPagesDaemon.check(libc.listen(fd, 4), "listen on " + socket);
        } catch (LazyPagesException e) {
            bound.close();
            throw e;
        }
        return bound;
    }

    /** @return where the socket is bound */
    public Path path() {
        return path;
    }

    /**
     * Hands the listening descriptor to a daemon, which closes it from now on.
     *
     * @throws IllegalStateException when it was closed or adopted before
     */
    synchronized int adopt() {
        if (fd < 0) {
            throw new IllegalStateException("the lazy-pages socket " + path + " was closed or is served already");
        }
        int adopted = fd;
        fd = -1;
        return adopted;
    }

    /** Closes and unlinks the socket unless a daemon adopted it. */
    @Override
    public synchronized void close() {
        if (fd < 0) {
            return;
        }
        libc.close(fd);
        fd = -1;
        try {
            Files.deleteIfExists(path);
        } catch (IOException e) {
            // a stale socket file in a work directory that is deleted with the instance
        }
    }
}
