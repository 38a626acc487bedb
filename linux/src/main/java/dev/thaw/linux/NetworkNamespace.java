package dev.thaw.linux;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * A network namespace of its own, owned by the initial user namespace, with its loopback interface
 * up, held by a descriptor only: no {@code /run/netns} bind mount, so it ends when the descriptor
 * is closed and nothing uses it any more (no process, no socket), and a process that dies leaves
 * none behind.
 *
 * <p>Network namespaces belong to threads. Making one and working in one ({@link #call}) happen on
 * a fresh platform thread that exists for that work alone and ends with it, so no other code of the
 * process ever runs in the namespace by accident. A socket keeps the namespace it was made in:
 * {@code call(() -> ServerSocketChannel.open().bind(...))} returns a listener inside the namespace
 * that any thread can then use. Needs {@code CAP_SYS_ADMIN} (root).
 */
public final class NetworkNamespace implements AutoCloseable {
    private final int fd;
    private final long inode;
    private boolean closed;

    private NetworkNamespace(int fd, long inode) {
        this.fd = fd;
        this.inode = inode;
    }

    /**
     * Makes a network namespace and brings its loopback interface up.
     *
     * @throws NativeException when the kernel refuses (not root, no network namespaces)
     */
    public static NetworkNamespace create() {
        return onFreshThread("thaw-netns-new", () -> {
            Libc.unshare(Libc.CLONE_NEWNET);
            int fd = Libc.open("/proc/thread-self/ns/net", Libc.O_RDONLY | Libc.O_CLOEXEC, 0);
            try {
                Libc.interfaceUp("lo");
                return new NetworkNamespace(fd, inodeOf(fd));
            } catch (RuntimeException | Error e) {
                Libc.close(fd);
                throw e;
            }
        });
    }

    /**
     * @return the inode number of the network namespace process {@code pid} is in (to compare it
     *     with another's)
     * @throws NativeException when there is no such process
     */
    public static long inodeOf(long pid) {
        try {
            return parseInode(Files.readSymbolicLink(Path.of("/proc/" + pid + "/ns/net")).toString());
        } catch (IOException e) {
            throw new NativeException("readlink(/proc/" + pid + "/ns/net)", Libc.ENOENT);
        }
    }

    /** @return the descriptor that holds the namespace, for {@code setns} in another process */
    public int fd() {
        return fd;
    }

    /** @return the namespace's inode number, as in {@code net:[inode]} of {@code /proc/PID/ns/net} */
    public long inode() {
        return inode;
    }

    /**
     * Runs {@code action} on a fresh platform thread that has joined this namespace, and waits for
     * it: sockets it opens live in the namespace.
     *
     * @return what {@code action} returned
     * @throws NativeException when the thread cannot join the namespace
     * @throws IllegalStateException when the namespace was closed
     * @throws RuntimeException whatever {@code action} threw, unchecked ones as they are, checked
     *     ones wrapped in {@link java.io.UncheckedIOException} (I/O) or {@link IllegalStateException}
     */
    public <T> T call(Callable<T> action) {
        synchronized (this) {
            if (closed) {
                throw new IllegalStateException("network namespace net:[" + inode + "] was closed");
            }
        }
        return onFreshThread("thaw-netns-" + inode, () -> {
            Libc.setns(fd, Libc.CLONE_NEWNET);
            return action.call();
        });
    }

    /** Closes the descriptor; the namespace ends once nothing else uses it. Idempotent. */
    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            Libc.close(fd);
        }
    }

    @Override
    public String toString() {
        return "net:[" + inode + "]";
    }

    private static long inodeOf(int fd) {
        try {
            return parseInode(Files.readSymbolicLink(Path.of("/proc/thread-self/fd/" + fd)).toString());
        } catch (IOException e) {
            throw new NativeException("readlink(/proc/thread-self/fd/" + fd + ")", Libc.ENOENT);
        }
    }

    private static long parseInode(String link) {
        return Long.parseLong(link.substring(link.indexOf('[') + 1, link.indexOf(']')));
    }

    private static <T> T onFreshThread(String name, Callable<T> action) {
        CompletableFuture<T> result = new CompletableFuture<>();
        Thread t = Thread.ofPlatform().daemon().name(name).start(() -> {
            try {
                result.complete(action.call());
            } catch (Throwable e) {
                result.completeExceptionally(e);
            }
        });
        boolean interrupted = false;
        while (true) {
            try {
                t.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true; // the thread is in a namespace: never leave it running unattended
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        try {
            return result.get();
        } catch (InterruptedException e) {
            throw new IllegalStateException(e); // cannot happen: the thread has ended
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof RuntimeException r) {
                throw r;
            }
            if (cause instanceof Error err) {
                throw err;
            }
            if (cause instanceof IOException io) {
                throw new java.io.UncheckedIOException(io);
            }
            throw new IllegalStateException(cause);
        }
    }
}
